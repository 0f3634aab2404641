"""Devices of the registry with their status, as JSON or GeoJSON; one device with its
latest values; its readings over a range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

import decoders
from api import geojson
from api.auth import Viewer
from api.deps import Pool
from api.scope import in_scope, visible_device

router = APIRouter(prefix="/devices", tags=["devices"])

DevEui = Annotated[
    str,
    Path(pattern="^[0-9a-fA-F]{16}$", description="16 hex digits", examples=["0101010101010101"]),
]
DeviceClass = Literal["streetlight", "waste_bin", "air_quality", "people_counter"]
Status = Literal["online", "silent", "never_seen", "battery_low"]

# Three missed reports make a device silent, as rules/presets.py `device_silent` counts.
SILENT_INTERVALS = 3
SILENT_AFTER_DEFAULT_S = 7200.0
# The battery_low preset alerts at 15 %; the list flags devices earlier, to plan a round.
BATTERY_LOW_PCT = 20.0

STATUS_DESCRIPTION = (
    f"`online`: an uplink within the silence threshold; `silent`: none for longer; "
    f"`never_seen`: no uplink yet; `battery_low`: the latest `battery_level` below "
    f"{BATTERY_LOW_PCT:g} %. The silence threshold is {SILENT_INTERVALS} × the device's "
    f"`params.report_interval_s`, or {SILENT_AFTER_DEFAULT_S / 3600:g} h when it has none. "
    "Repeated, every status given must hold."
)


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
    status: list[Status]
    silent_after_s: float
    battery_pct: float | None


class Reading(BaseModel):
    time: datetime
    quantity: str
    channel: str
    value: float
    unit: str


class DeviceDetail(Device):
    latest: list[Reading]


SELECT = f"""
select d.dev_eui, d.tenant_id, d.model, d.device_class, d.name, d.latitude, d.longitude,
       d.zone, d.tags, d.params, d.last_seen_at, s.silent_after_s, b.value as battery_pct,
       array_remove(array[
           case when d.last_seen_at is null then 'never_seen'
                when d.last_seen_at >= now() - make_interval(secs => s.silent_after_s) then 'online'
                else 'silent' end,
           case when b.value < {BATTERY_LOW_PCT} then 'battery_low' end], null) as status
from devices d
cross join lateral (
    select coalesce(
        case when jsonb_typeof(d.params->'report_interval_s') = 'number'
             then least({SILENT_INTERVALS} * (d.params->>'report_interval_s')::float8, 1e9) end,
        {SILENT_AFTER_DEFAULT_S}) as silent_after_s
) s
left join lateral (
    select l.value from readings_latest l
    where l.dev_eui = d.dev_eui and l.quantity = 'battery_level'
    order by l.time desc limit 1
) b on true
"""

# Binds the seven parameters of DeviceFilter.args; the caller's scope is the sixth.
FILTERED = f"""
select * from ({SELECT}
    where ($1::text is null or d.device_class = $1) and ($2::text is null or d.model = $2)
      and ($3::text is null or d.tenant_id = $3) and ($4::text is null or d.zone = $4)
      and d.tags @> $5::jsonb and {in_scope(6)}
) x
where ($7::text[] is null or x.status @> $7)
"""


@dataclass(frozen=True)
class DeviceFilter:
    device_class: str | None
    model: str | None
    tenant: str | None
    zone: str | None
    tags: dict[str, str]
    status: list[Status] | None

    def args(self, scope: list[str] | None) -> tuple[Any, ...]:
        return (
            self.device_class, self.model, self.tenant, self.zone, self.tags, scope, self.status,
        )  # fmt: skip


def parse_tags(pairs: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for pair in pairs:
        key, colon, value = pair.partition(":")
        if not colon or not key:
            raise HTTPException(422, {"parameter": "tag", "message": f"{pair!r} is not key:value"})
        if tags.get(key, value) != value:
            raise HTTPException(
                422, {"parameter": "tag", "message": f"tag {key!r} given two values"}
            )
        tags[key] = value
    return tags


def device_filter(
    device_class: Annotated[DeviceClass | None, Query(alias="class")] = None,
    model: Annotated[str | None, Query(description="a decoder model")] = None,
    tenant: Annotated[str | None, Query(description="a tenant id")] = None,
    zone: str | None = None,
    tag: Annotated[
        list[str] | None,
        Query(description="`key:value`, matched against the device's tags; repeated, all hold"),
    ] = None,
    status: Annotated[list[Status] | None, Query(description=STATUS_DESCRIPTION)] = None,
) -> DeviceFilter:
    return DeviceFilter(device_class, model, tenant, zone, parse_tags(tag or []), status or None)


Filter = Annotated[DeviceFilter, Depends(device_filter)]


def unit(quantity: str) -> str:
    known = decoders.QUANTITIES.get(quantity)
    return known.unit if known else ""


def check_quantity(quantity: str | None) -> None:
    if (
        quantity is not None
        and quantity not in decoders.QUANTITIES
        and not quantity.startswith("object.")
    ):
        raise HTTPException(
            422, {"parameter": "quantity", "message": f"unknown quantity {quantity!r}"}
        )


def check_range(start: datetime, end: datetime) -> None:
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None:
            raise HTTPException(422, {"parameter": name, "message": "timestamps need an offset"})
    if end <= start:
        raise HTTPException(422, {"parameter": "end", "message": "end must be after start"})


def json_response(
    content: Any, media_type: str = "application/json", status_code: int = 200
) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type=media_type)


async def device_row(pool: Pool, scope: list[str] | None, dev_eui: str) -> dict[str, Any]:
    """One device with its status, or 404 when the caller may not see it."""
    row = await pool.fetchrow(
        f"{SELECT} where d.dev_eui = $1 and {in_scope(2)}", dev_eui.lower(), scope
    )
    if row is None:
        raise HTTPException(404, f"no device {dev_eui.lower()}")
    return dict(row)


@router.get(
    "",
    summary="List devices, as JSON or GeoJSON",
    description="`format=geojson` or `Accept: application/geo+json` gives a GeoJSON "
    "FeatureCollection: coordinates [longitude, latitude], geometry null for a device "
    "without a position. " + STATUS_DESCRIPTION,
    response_model=list[Device],
    responses={200: {"content": geojson.OPENAPI_CONTENT}},
)
async def list_devices(
    pool: Pool,
    who: Viewer,
    where: Filter,
    output: Annotated[Literal["json", "geojson"] | None, Query(alias="format")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    rows = await pool.fetch(
        f"{FILTERED} order by dev_eui limit $8 offset $9", *where.args(who.scope), limit, offset
    )
    devices = [dict(r) for r in rows]
    if geojson.wanted(output, accept):
        return json_response(geojson.collection(devices), geojson.MEDIA_TYPE)
    return json_response(devices)


@router.get("/{dev_eui}", summary="One device with its latest values", response_model=DeviceDetail)
async def get_device(pool: Pool, who: Viewer, dev_eui: DevEui) -> Response:
    device = await device_row(pool, who.scope, dev_eui)
    latest = await pool.fetch(
        "select time, quantity, channel, value from readings_latest where dev_eui = $1 "
        "order by quantity, channel",
        device["dev_eui"],
    )
    return json_response(
        {**device, "latest": [{**dict(r), "unit": unit(r["quantity"])} for r in latest]}
    )


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
    check_range(start, end)
    check_quantity(quantity)
    await visible_device(pool, who, dev_eui)
    rows = await pool.fetch(
        "select time, quantity, channel, value from readings where dev_eui = $1 and time >= $2 and time < $3 "
        "and ($4::text is null or quantity = $4) order by time, quantity, channel limit $5",
        dev_eui.lower(), start, end, quantity, limit,
    )  # fmt: skip
    return [{**dict(r), "unit": unit(r["quantity"])} for r in rows]
