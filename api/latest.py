"""The latest value of every device of a class: a map of 30 000 streetlights in one call."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

import decoders
from api.auth import Viewer
from api.deps import Pool
from api.scope import in_scope
from api.series import DeviceClass, known_quantities

router = APIRouter(tags=["series"])


def finite(number: str) -> str:
    """SQL: a float8 as JSON text; null for NULL and what JSON cannot hold (NaN, ±inf)."""
    return f"case when {number} > '-Infinity' and {number} < 'Infinity' then {number}::text else 'null' end"


# One row of JSON text per device, written by PostgreSQL: 30 000 devices are too many for
# a Python object each. A quantity of the vocabulary comes with its key and unit already
# in JSON (`head`, `tail`); other keys are escaped here.
LATEST_DEVICES = f"""
with d as (
    select dev_eui, name, zone, latitude, longitude from devices
    where device_class = $1 and {in_scope(2)}
      and ($3::text is null or zone = $3) and ($4::text is null or tenant_id = $4)),
known as (select * from unnest($6::text[], $7::text[], $8::text[]) as k (quantity, head, tail))
select convert_to(
    '{{"dev_eui":"' || d.dev_eui || '","name":' || to_json(d.name)::text
    || ',"zone":' || coalesce(to_json(d.zone)::text, 'null')
    || ',"latitude":' || {finite("d.latitude")} || ',"longitude":' || {finite("d.longitude")}
    || ',"values":{{' || coalesce(string_agg(
        case when l.channel = '' and k.head is not null then k.head
             else to_json(case when l.channel = '' then l.quantity
                               else l.quantity || ':' || l.channel end)::text || ':{{"time":' end
        || left(to_json(l.time at time zone 'UTC')::text, -1) || '+00:00","value":'
        || {finite("l.value")} || coalesce(k.tail, ',"unit":""}}'), ','), '')
    || '}}}}', 'UTF8')
from d
left join readings_latest l on l.dev_eui = d.dev_eui and ($5::text[] is null or l.quantity = any($5))
left join known k on k.quantity = l.quantity
group by d.dev_eui, d.name, d.zone, d.latitude, d.longitude
order by d.dev_eui
"""
KNOWN = list(decoders.QUANTITIES)
HEADS = [orjson.dumps(q).decode() + ':{"time":' for q in KNOWN]
TAILS = [',"unit":' + orjson.dumps(decoders.QUANTITIES[q].unit).decode() + "}" for q in KNOWN]


class LatestValue(BaseModel):
    time: datetime
    value: float | None
    unit: str


class DeviceLatest(BaseModel):
    dev_eui: str
    name: str
    zone: str | None
    latitude: float | None
    longitude: float | None
    values: dict[str, LatestValue] = Field(
        description='by quantity, or "quantity:channel" when the channel is not empty',
        examples=[
            {"active_power": {"time": "2026-11-01T18:00:00+00:00", "value": 41.5, "unit": "W"}}
        ],
    )


class LatestAnswer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    device_class: DeviceClass = Field(alias="class")
    devices: list[DeviceLatest]


@router.get(
    "/latest",
    summary="The latest values of every device of a class",
    response_model=LatestAnswer,
)
async def latest(
    pool: Pool,
    who: Viewer,
    device_class: Annotated[DeviceClass, Query(alias="class")],
    quantity: Annotated[
        list[str] | None, Query(max_length=50, description="only these quantities")
    ] = None,
    zone: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
    tenant: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
) -> Response:
    quantities = known_quantities(quantity) if quantity else None
    rows = await pool.fetch(
        LATEST_DEVICES,
        device_class, who.scope, zone, tenant, quantities, KNOWN, HEADS, TAILS,
    )  # fmt: skip
    devices = b",".join(r[0] for r in rows)
    head = orjson.dumps({"class": device_class})[:-1]
    return Response(head + b',"devices":[' + devices + b"]}", media_type="application/json")
