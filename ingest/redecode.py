"""`urbanpulse redecode`: decode stored raw uplinks again once a decoder exists or is fixed.

Chunk by chunk, in one transaction each: the uplinks' readings are replaced by what the
decoder gives now, their decode status is updated, and the hourly rollups of the
touched (device, hour) buckets are recomputed from the readings, and so are the latest
values the replaced readings were, or the new ones beat. Running it twice gives
the same rows: it is idempotent. Readings on channel "network" come from ChirpStack's
status events, not from the payload, and are left alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import numpy as np

import decoders
from ingest import rollups_daily, store

SELECT = """
select u.time, u.deduplication_id, u.dev_eui, u.f_port, u.payload,
       coalesce(d.model, u.model) as model, d.params
from uplinks u left join devices d using (dev_eui)
where (u.time, u.deduplication_id) > ($1, $2)
  and ($3::timestamptz is null or u.time >= $3)
  and ($4::text is null or coalesce(d.model, u.model) = $4)
  and ($5 or u.decode_status <> 'ok')
  and length(u.payload) > 0
order by u.time, u.deduplication_id
limit $6
"""

REPLACE = """
with targets as (
    select distinct dev_eui, time from stage_redecoded),
removed as (
    delete from readings r using targets t
    where r.dev_eui = t.dev_eui and r.time = t.time and r.channel <> 'network'
    returning 1),
updated as (
    update uplinks u set model = s.model, decode_status = s.status, decode_error = s.error
    from stage_redecoded s
    where u.deduplication_id = s.deduplication_id and u.time = s.time
    returning 1)
select (select count(*) from removed), (select count(*) from updated)
"""

CLEAR_ROLLUPS = """
delete from rollups_hourly r
using (select distinct dev_eui, time_bucket('1 hour', time) as bucket from stage_redecoded) b
where r.dev_eui = b.dev_eui and r.bucket = b.bucket
"""

RECOMPUTE_ROLLUPS = """
with buckets as (
    select distinct dev_eui, time_bucket('1 hour', time) as bucket from stage_redecoded)
insert into rollups_hourly (bucket, dev_eui, quantity, channel, count, sum, min, max, last, last_time)
select time_bucket('1 hour', r.time) as bk, r.dev_eui, r.quantity, r.channel, count(*), sum(r.value),
       min(r.value), max(r.value), last(r.value, r.time), max(r.time)
from readings r join buckets b
  on r.dev_eui = b.dev_eui and r.time >= b.bucket and r.time < b.bucket + interval '1 hour'
group by bk, r.dev_eui, r.quantity, r.channel
order by r.dev_eui, r.quantity, r.channel, bk
"""

# A latest value that came from a replaced uplink falls back to the newest reading left
# (the new ones included), looked up in the readings' key order.
REFILL_LATEST = """
with gone as (
    delete from readings_latest l
    using (select distinct dev_eui, time from stage_redecoded) t
    where l.dev_eui = t.dev_eui and l.time = t.time and l.channel <> 'network'
    returning l.dev_eui, l.quantity, l.channel)
insert into readings_latest (dev_eui, quantity, channel, time, value)
select g.dev_eui, g.quantity, g.channel, newest.time, newest.value
from gone g
cross join lateral (
    select time, value from readings r
    where r.dev_eui = g.dev_eui and r.quantity = g.quantity and r.channel = g.channel
    order by time desc limit 1) newest
"""

# New readings newer than what is kept, e.g. of a quantity the device never had decoded
RAISE_LATEST = """
insert into readings_latest as l (dev_eui, quantity, channel, time, value)
select distinct on (dev_eui, quantity, channel) dev_eui, quantity, channel, time, value
from stage_readings order by dev_eui, quantity, channel, time desc
on conflict (dev_eui, quantity, channel) do update set time = excluded.time, value = excluded.value
where excluded.time > l.time
"""

STAGE = """create temp table if not exists stage_redecoded (
    time timestamptz, deduplication_id uuid, dev_eui text, model text, status text, error text
) on commit delete rows"""


@dataclass
class RedecodeTotals:
    uplinks: int = 0
    ok: int = 0
    errors: int = 0
    no_decoder: int = 0
    readings: int = 0


def decode_chunk(rows: list[asyncpg.Record]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(uplink outcomes, readings) of a chunk, with the batch decoder of each model."""
    outcomes: list[tuple[Any, ...]] = []
    readings: list[tuple[Any, ...]] = []
    by_model: dict[str | None, list[asyncpg.Record]] = {}
    for row in rows:
        by_model.setdefault(row["model"], []).append(row)
    for model, group in by_model.items():
        if model is None or model not in decoders.MODELS:
            reason = f"no decoder for model {model!r}" if model else "no model known"
            outcomes += [
                (r["time"], r["deduplication_id"], r["dev_eui"], model, "no_decoder", reason)
                for r in group
            ]
            continue
        heights = np.array([bin_height(r["params"]) for r in group])
        result = decoders.decode_batch(
            model, [r["f_port"] or 0 for r in group], [r["payload"] for r in group], heights
        )
        for i, r in enumerate(group):
            error = result.errors.get(i)
            status = "error" if error else "ok"
            outcomes.append((r["time"], r["deduplication_id"], r["dev_eui"], model, status, error))
        found = result.readings
        for i, key, value in zip(
            found.row.tolist(), found.key.tolist(), found.value.tolist(), strict=True
        ):
            quantity, channel = found.keys[key]
            r = group[i]
            readings.append((r["time"], r["dev_eui"], quantity, channel, value, None))
    return outcomes, readings


def bin_height(params: Any) -> float:
    if isinstance(params, dict) and isinstance(params.get("bin_height_mm"), (int, float)):
        return float(params["bin_height_mm"])
    return float("nan")


async def redecode(
    conn: asyncpg.Connection,
    model: str | None = None,
    since: datetime | None = None,
    include_ok: bool = False,
    chunk: int = 20000,
) -> RedecodeTotals:
    """Decode again the stored uplinks that failed or had no decoder (all of them with
    include_ok), optionally of one model and from a time on."""
    await store.prepare_connection(conn)
    await conn.execute(STAGE)
    totals = RedecodeTotals()
    last_time, last_id = datetime(1, 1, 1, tzinfo=UTC), uuid.UUID(int=0)
    while True:
        rows = await conn.fetch(SELECT, last_time, last_id, since, model, include_ok, chunk)
        if not rows:
            return totals
        outcomes, readings = decode_chunk(rows)
        async with conn.transaction():
            await conn.copy_records_to_table("stage_redecoded", records=outcomes)
            await conn.execute(REPLACE)
            if readings:
                await store.copy(conn, "stage_readings", store.READING_COLUMNS, readings)
                await conn.execute(
                    "insert into readings select time, dev_eui, quantity, channel, value from stage_readings "
                    "order by dev_eui, quantity, channel, time on conflict do nothing"
                )
            await conn.execute(CLEAR_ROLLUPS)
            await conn.execute(RECOMPUTE_ROLLUPS)
            # hourly rollups of closed days changed: their daily sums are summed again
            await rollups_daily.mark_stale(conn, sorted({o[0] for o in outcomes}))
            await conn.execute(REFILL_LATEST)
            if readings:
                await conn.execute(RAISE_LATEST)
        totals.uplinks += len(rows)
        totals.readings += len(readings)
        for outcome in outcomes:
            status = outcome[4]
            totals.ok += status == "ok"
            totals.errors += status == "error"
            totals.no_decoder += status == "no_decoder"
        last_time, last_id = rows[-1]["time"], rows[-1]["deduplication_id"]
