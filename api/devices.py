"""Devices of the registry, one device with its latest values, its readings over a range."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel

import decoders
from api.auth import Viewer
from api.deps import Pool
from api.scope import in_scope, visible_device

router = APIRouter(prefix="/devices", tags=["devices"])

DevEui = Annotated[
    str,
    Path(pattern="^[0-9a-fA-F]{16}$", description="16 hex digits", examples=["0101010101010101"]),
]


class Device(BaseModel):
    dev_eui: str
    tenant_id: str | None
    model: str | None
    device_class: str | None
    name: str
    latitude: float | None
    longitude: float | None
    zone: str | None
    tags: dict[str, str]
    params: dict[str, Any]
    last_seen_at: datetime | None


class Reading(BaseModel):
    time: datetime
    quantity: str
    channel: str
    value: float
    unit: str


class DeviceDetail(Device):
    latest: list[Reading]


COLUMNS = "dev_eui, tenant_id, model, device_class, name, latitude, longitude, zone, tags, params, last_seen_at"


def unit(quantity: str) -> str:
    known = decoders.QUANTITIES.get(quantity)
    return known.unit if known else ""


@router.get("", summary="List devices", response_model=list[Device])
async def list_devices(
    pool: Pool,
    who: Viewer,
    device_class: Annotated[
        str | None, Query(alias="class", description="waste_bin, air_quality, …")
    ] = None,
    model: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"select {COLUMNS} from devices where ($1::text is null or device_class = $1) "
        f"and ($2::text is null or model = $2) and {in_scope(5)} order by dev_eui limit $3 offset $4",
        device_class, model, limit, offset, who.scope,
    )  # fmt: skip
    return [dict(r) for r in rows]


@router.get("/{dev_eui}", summary="One device with its latest values", response_model=DeviceDetail)
async def get_device(pool: Pool, who: Viewer, dev_eui: DevEui) -> dict[str, Any]:
    row = await visible_device(pool, who, dev_eui, COLUMNS)
    latest = await pool.fetch(
        "select distinct on (quantity, channel) time, quantity, channel, value from readings "
        "where dev_eui = $1 and time > now() - interval '400 days' order by quantity, channel, time desc",
        dev_eui.lower(),
    )
    return {**dict(row), "latest": [{**dict(r), "unit": unit(r["quantity"])} for r in latest]}


@router.get(
    "/{dev_eui}/readings",
    summary="Readings of one device over a time range",
    response_model=list[Reading],
)
async def device_readings(
    pool: Pool,
    who: Viewer,
    dev_eui: DevEui,
    start: Annotated[datetime, Query(description="inclusive, RFC 3339")],
    end: Annotated[datetime, Query(description="exclusive, RFC 3339")],
    quantity: Annotated[str | None, Query(description="a quantity of the vocabulary")] = None,
    limit: Annotated[int, Query(ge=1, le=100000)] = 10000,
) -> list[dict[str, Any]]:
    if end <= start:
        raise HTTPException(422, {"parameter": "end", "message": "end must be after start"})
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(422, {"parameter": "start", "message": "timestamps need an offset"})
    if (
        quantity is not None
        and quantity not in decoders.QUANTITIES
        and not quantity.startswith("object.")
    ):
        raise HTTPException(
            422, {"parameter": "quantity", "message": f"unknown quantity {quantity!r}"}
        )
    await visible_device(pool, who, dev_eui)
    rows = await pool.fetch(
        "select time, quantity, channel, value from readings where dev_eui = $1 and time >= $2 and time < $3 "
        "and ($4::text is null or quantity = $4) order by time, quantity, channel limit $5",
        dev_eui.lower(), start, end, quantity, limit,
    )  # fmt: skip
    return [{**dict(r), "unit": unit(r["quantity"])} for r in rows]
