"""Open-data exports, scoped to the caller: the devices as CSV (the import format, so an
export can be edited and imported back) and as GeoJSON, the readings of a range as CSV.
Each is streamed from a server-side cursor: a year of readings never sits in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import StreamingResponse

from api import device_csv, geojson
from api.auth import Viewer
from api.deps import Pool
from api.devices import (
    FILTERED,
    DeviceClass,
    Filter,
    check_quantity,
    check_range,
    unit,
)
from api.scope import in_scope, visible_device

router = APIRouter(prefix="/exports", tags=["exports"])

CHUNK_ROWS = 5000
RANGE_MAX = timedelta(days=366)
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
READINGS_HEADER = ("time", "dev_eui", "quantity", "channel", "value", "unit")

READINGS = f"""
select r.time, r.dev_eui, r.quantity, r.channel, r.value
from readings r join devices d on d.dev_eui = r.dev_eui
where r.time >= $1 and r.time < $2 and ($3::text is null or d.device_class = $3)
  and ($4::text is null or r.quantity = $4) and ($5::text is null or r.dev_eui = $5)
  and {in_scope(6)}
order by r.time, r.dev_eui, r.quantity, r.channel
"""


async def chunks(pool: asyncpg.Pool, sql: str, *args: Any) -> AsyncIterator[list[asyncpg.Record]]:
    """Rows CHUNK_ROWS at a time from a cursor, which lives in a transaction."""
    async with pool.acquire() as conn, conn.transaction():
        cursor = await conn.cursor(sql, *args)
        while rows := await cursor.fetch(CHUNK_ROWS):
            yield rows


async def opened(pool: asyncpg.Pool, sql: str, *args: Any) -> AsyncIterator[list[asyncpg.Record]]:
    """The chunks of a query that has already run to its first chunk: a query the database
    refuses is an error status, not a file cut short after its header."""
    rows = chunks(pool, sql, *args)
    first: list[asyncpg.Record] = await anext(rows, [])

    async def every() -> AsyncIterator[list[asyncpg.Record]]:
        if first:
            yield first
        async for more in rows:
            yield more

    return every()


def csv_text(rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def download(body: AsyncIterator[bytes], media_type: str, filename: str) -> StreamingResponse:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(body, media_type=media_type, headers=headers)


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}
}


@router.get(
    "/devices.csv",
    summary="The devices as CSV, in the format POST /devices/import reads",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
)
async def devices_csv(pool: Pool, who: Viewer, where: Filter) -> StreamingResponse:
    args = where.args(who.scope)
    names = await pool.fetch(
        f"select distinct k from ({FILTERED}) f, jsonb_object_keys(f.params) k order by k", *args
    )
    params = [r["k"] for r in names]
    devices = await opened(pool, f"{FILTERED} order by dev_eui", *args)

    async def body() -> AsyncIterator[bytes]:
        yield csv_text([device_csv.header(params)])
        async for rows in devices:
            yield csv_text(device_csv.render(dict(r), params) for r in rows)

    return download(body(), CSV_MEDIA_TYPE, "devices.csv")


@router.get(
    "/devices.geojson",
    summary="The devices as a GeoJSON FeatureCollection",
    description="Coordinates [longitude, latitude]; geometry null for a device without a position.",
    response_class=StreamingResponse,
    responses={200: {"content": geojson.OPENAPI_CONTENT, "description": "GeoJSON"}},
)
async def devices_geojson(pool: Pool, who: Viewer, where: Filter) -> StreamingResponse:
    devices = await opened(pool, f"{FILTERED} order by dev_eui", *where.args(who.scope))

    async def body() -> AsyncIterator[bytes]:
        yield b'{"type":"FeatureCollection","features":['
        separator = b""
        async for rows in devices:
            for row in rows:
                yield separator + orjson.dumps(geojson.feature(dict(row)))
                separator = b","
        yield b"]}"

    return download(body(), geojson.MEDIA_TYPE, "devices.geojson")


@router.get(
    "/readings.csv",
    summary="Readings of a time range as CSV",
    description=f"At most {RANGE_MAX.days} days; ordered by time. Columns: "
    + ", ".join(READINGS_HEADER)
    + ".",
    response_class=StreamingResponse,
    responses=CSV_RESPONSE,
)
async def readings_csv(
    pool: Pool,
    who: Viewer,
    start: Annotated[datetime, Query(description="inclusive, RFC 3339")],
    end: Annotated[datetime, Query(description="exclusive, RFC 3339")],
    device_class: Annotated[DeviceClass | None, Query(alias="class")] = None,
    quantity: Annotated[str | None, Query(description="a quantity of the vocabulary")] = None,
    dev_eui: Annotated[str | None, Query(pattern="^[0-9a-fA-F]{16}$")] = None,
) -> StreamingResponse:
    check_range(start, end)
    if end - start > RANGE_MAX:
        message = f"at most {RANGE_MAX.days} days from start"
        raise HTTPException(422, {"parameter": "end", "message": message})
    check_quantity(quantity)
    if dev_eui is not None:
        dev_eui = (await visible_device(pool, who, dev_eui))["dev_eui"]
    readings = await opened(pool, READINGS, start, end, device_class, quantity, dev_eui, who.scope)

    async def body() -> AsyncIterator[bytes]:
        yield csv_text([READINGS_HEADER])
        async for rows in readings:
            yield csv_text(
                (r["time"].isoformat(), r["dev_eui"], r["quantity"], r["channel"], r["value"],
                 unit(r["quantity"]))
                for r in rows
            )  # fmt: skip

    first, last = start.astimezone(UTC), end.astimezone(UTC)
    filename = f"readings_{first:%Y%m%dT%H%MZ}_{last:%Y%m%dT%H%MZ}.csv"
    return download(body(), CSV_MEDIA_TYPE, filename)
