"""The latest value of every device of a class: a map of 30 000 streetlights in one call.

Its 10 MB body takes PostgreSQL a few hundred milliseconds to write, so each API process
serves a snapshot of it (api/snapshots.py), rebuilt once older than `latest_max_age_s`,
or at once when a device changed hands (migration 0008's registry generation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

import decoders
from api.auth import Viewer
from api.deps import Pool
from api.keys import Caller
from api.scope import in_scope
from api.series import DeviceClass, known_quantities
from api.snapshots import Limits, Snapshot, SnapshotCache, matches
from urbanpulse.settings import Settings

router = APIRouter(tags=["series"])


def finite(number: str) -> str:
    """SQL: a float8 as JSON text; null for NULL and what JSON cannot hold (NaN, ±inf)."""
    return f"case when {number} > '-Infinity' and {number} < 'Infinity' then {number}::text else 'null' end"


# The whole body as one value, written by PostgreSQL: 30 000 devices are too many for a
# Python object each. Devices and their latest values are both read in dev_eui order by
# their primary keys and merged, so nothing is sorted; a quantity of the vocabulary finds
# its key and unit already in JSON ($6, $7), other keys are escaped here.
LATEST_BODY = f"""
with d as (
    select dev_eui, name, zone, latitude, longitude from devices
    where device_class = $1 and {in_scope(2)}
      and ($3::text is null or zone = $3) and ($4::text is null or tenant_id = $4)),
docs as (
    select d.dev_eui,
        '{{"dev_eui":"' || d.dev_eui || '","name":' || to_json(d.name)::text
        || ',"zone":' || coalesce(to_json(d.zone)::text, 'null')
        || ',"latitude":' || {finite("d.latitude")} || ',"longitude":' || {finite("d.longitude")}
        || ',"values":{{' || coalesce(string_agg(
            coalesce(case when l.channel = '' then $6::jsonb ->> l.quantity end,
                     to_json(case when l.channel = '' then l.quantity
                                  else l.quantity || ':' || l.channel end)::text || ':{{"time":')
            || left(to_json(l.time at time zone 'UTC')::text, -1) || '+00:00","value":'
            || {finite("l.value")} || coalesce($7::jsonb ->> l.quantity, ',"unit":""}}'), ','), '')
        || '}}}}' as doc
    from d
    left join readings_latest l on l.dev_eui = d.dev_eui and ($5::text[] is null or l.quantity = any($5))
    group by d.dev_eui, d.name, d.zone, d.latitude, d.longitude)
select convert_to('{{"class":' || to_json($1::text)::text || ',"devices":['
                  || coalesce(string_agg(doc, ',' order by dev_eui), '') || ']}}', 'UTF8')
from docs
"""
HEADS = {q: orjson.dumps(q).decode() + ':{"time":' for q in decoders.QUANTITIES}
TAILS = {
    q: ',"unit":' + orjson.dumps(kind.unit).decode() + "}"
    for q, kind in decoders.QUANTITIES.items()
}


@dataclass(frozen=True, slots=True)
class LatestKey:
    """All the answer depends on. The build reads nothing else, so that a snapshot made
    for one scope of tenants can only ever be served to that scope."""

    device_class: str
    quantities: tuple[str, ...] | None
    zone: str | None
    tenant: str | None
    scope: tuple[str, ...] | None  # the key's tenants, sorted; None: every tenant
    registry: int  # the registry's generation: a device that changed hands makes a new key


def scope_of(who: Caller) -> tuple[str, ...] | None:
    return None if who.tenants is None else tuple(sorted(set(who.tenants)))


async def build_body(pool: asyncpg.Pool, key: LatestKey) -> bytes:
    async with pool.acquire() as conn, conn.transaction():
        # Filtered by tenant or quantity, the plan sorts up to 17 MB of joined rows for
        # 30 000 devices: spilled to disk with the default 4 MB, that took 40% longer.
        await conn.execute("set local work_mem = '64MB'")
        body: bytes = await conn.fetchval(
            LATEST_BODY,
            key.device_class,
            None if key.scope is None else list(key.scope),
            key.zone,
            key.tenant,
            None if key.quantities is None else list(key.quantities),
            HEADS,
            TAILS,
        )
    return body


def snapshot_cache(settings: Settings) -> SnapshotCache[LatestKey]:
    """The process's snapshots of /latest: for the app's lifespan."""
    return SnapshotCache(
        Limits(
            max_age_s=settings.latest_max_age_s,
            stale_s=settings.latest_stale_s,
            max_entries=settings.latest_cache_max_entries,
            max_bytes=settings.latest_cache_max_bytes,
        )
    )


def snapshots(request: Request) -> SnapshotCache[LatestKey]:
    cache: SnapshotCache[LatestKey] = request.app.state.latest_snapshots
    return cache


Snapshots = Annotated[SnapshotCache[LatestKey], Depends(snapshots)]


def freshness_headers(cache: SnapshotCache[LatestKey], snapshot: Snapshot) -> dict[str, str]:
    return {
        "Age": str(int(snapshot.age_s(cache.clock()))),
        "ETag": snapshot.etag,
        # private: the body depends on the API key, a shared cache must not keep it
        "Cache-Control": f"private, max-age={int(cache.limits.max_age_s)}",
        "Vary": "Authorization, X-API-Key",
    }


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


HEADERS = {
    "Age": {
        "description": "seconds since the answer's data was read",
        "schema": {"type": "integer"},
    },
    "ETag": {"description": "the answer's tag, for If-None-Match", "schema": {"type": "string"}},
    "Cache-Control": {
        "description": "private, max-age=latest_max_age_s",
        "schema": {"type": "string"},
    },
}


@router.get(
    "/latest",
    summary="The latest values of every device of a class",
    description=(
        "Served from a snapshot of the whole answer that each API process keeps per class, "
        "filters and key scope: values may be up to `latest_max_age_s` (5 s by default) old, "
        "plus the time to build the snapshot (under a second for 30 000 devices). The first "
        "call after a quiet spell may get one up to `latest_max_age_s + latest_stale_s` old "
        "(30 s) while a new one is built. The `Age` header tells the answer's age in seconds; "
        "with `If-None-Match` and the `ETag` of the last answer, an unchanged answer is "
        "304 Not Modified, without a body. A device moved to another tenant, class or zone, "
        "or removed, leaves every snapshot at once."
    ),
    response_model=LatestAnswer,
    responses={
        200: {"headers": HEADERS},
        304: {"description": "the answer still has the ETag of If-None-Match", "headers": HEADERS},
    },
)
async def latest(
    pool: Pool,
    who: Viewer,
    cache: Snapshots,
    device_class: Annotated[DeviceClass, Query(alias="class")],
    quantity: Annotated[
        list[str] | None, Query(max_length=50, description="only these quantities")
    ] = None,
    zone: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
    tenant: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
    if_none_match: Annotated[
        str | None, Header(description="the ETag of an answer already held")
    ] = None,
) -> Response:
    quantities = tuple(known_quantities(quantity)) if quantity else None
    registry: int = await pool.fetchval("select generation from registry_generation")
    key = LatestKey(device_class, quantities, zone, tenant, scope_of(who), registry)
    snapshot = await cache.get(key, lambda: build_body(pool, key))
    headers = freshness_headers(cache, snapshot)
    if matches(if_none_match, snapshot.etag):
        return Response(status_code=304, headers=headers)
    return Response(snapshot.body, media_type="application/json", headers=headers)
