"""The transactional writer: one batch, one transaction, COPY into staging tables, then
`INSERT … ON CONFLICT`. Rollups and latest values are derived from the readings that were
really inserted (`RETURNING`), so a redelivered message changes nothing, rollups included."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import astuple, dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

Conn = asyncpg.Connection | PoolConnectionProxy

UPLINK_COLUMNS = (
    "time", "deduplication_id", "dev_eui", "tenant_id", "application_id", "model", "f_cnt",
    "f_port", "dr", "adr", "confirmed", "payload", "object", "rssi", "snr", "gateway_count",
    "radio", "decode_status", "decode_error",
)  # fmt: skip
EVENT_COLUMNS = ("time", "kind", "event_key", "dev_eui", "tenant_id", "body")
READING_COLUMNS = ("time", "dev_eui", "quantity", "channel", "value", "uplink_id")
REJECTED_COLUMNS = ("message_key", "topic", "payload", "reason")
DEVICE_COLUMNS = (
    "dev_eui", "tenant_id", "tenant_name", "name", "application_id", "device_profile_name",
    "tags", "model", "device_class", "last_seen_at", "last_f_cnt",
)  # fmt: skip

STAGING = {
    "stage_uplinks": "create temp table stage_uplinks (like uplinks including defaults) on commit delete rows",
    "stage_events": "create temp table stage_events (like device_events including defaults) on commit delete rows",
    "stage_readings": """create temp table stage_readings (
        time timestamptz, dev_eui text, quantity text, channel text, value double precision,
        uplink_id uuid) on commit delete rows""",
    "stage_devices": """create temp table stage_devices (
        dev_eui text, tenant_id text, tenant_name text, name text, application_id text,
        device_profile_name text, tags jsonb, model text, device_class text,
        last_seen_at timestamptz, last_f_cnt bigint) on commit delete rows""",
}

ROLLUP = """
  {name} as (
    insert into {table} as r (bucket, dev_eui, quantity, channel, count, sum, min, max, last, last_time)
    select time_bucket('1 hour', time) as b, dev_eui, quantity, channel, count(*), sum(value),
           min(value), max(value), last(value, time), max(time)
    from inserted group by b, dev_eui, quantity, channel
    order by dev_eui, quantity, channel, b  -- one lock order for every bridge
    on conflict (dev_eui, quantity, channel, bucket) do update set
        count = r.count + excluded.count,
        sum = r.sum + excluded.sum,
        min = least(r.min, excluded.min),
        max = greatest(r.max, excluded.max),
        last = case when excluded.last_time >= r.last_time then excluded.last else r.last end,
        last_time = greatest(r.last_time, excluded.last_time)
    returning 1)"""

# The newest reading of the batch per (device, quantity, channel), so that no row is
# updated twice; a late reading leaves a newer stored value alone.
LATEST = """
  latest as (
    insert into readings_latest as l (dev_eui, quantity, channel, time, value)
    select distinct on (dev_eui, quantity, channel) dev_eui, quantity, channel, time, value
    from inserted order by dev_eui, quantity, channel, time desc  -- also the lock order
    on conflict (dev_eui, quantity, channel) do update set time = excluded.time, value = excluded.value
    where excluded.time > l.time
    returning 1)"""

# The local days of readings older than the daily rollups' watermark: rollups_daily no
# longer holds their sums, until maintenance recomputes them. The watermark row is locked
# FOR SHARE, so that handing days over waits for this batch; the stale rows are locked
# (DO UPDATE … WHERE false), so that a recompute of the day waits for it too. See
# ingest/rollups_daily.py.
STALE_DAYS = """
  mark as (
    select next_day, timezone from rollups_daily_watermark for share),
  stale as (
    insert into rollups_daily_stale (day)
    select distinct date_trunc('day', time, (select timezone from mark)) from inserted
    where time < (select next_day from mark)
    order by 1  -- one lock order for every bridge
    on conflict (day) do update set day = excluded.day where false
    returning 1)"""

INSERT_READINGS = f"""
with fresh as (
    insert into uplinks select * from stage_uplinks on conflict do nothing
    returning deduplication_id),
inserted as (
    -- only the readings of uplinks stored now: a redelivery adds nothing, even if its
    -- payload were to decode differently
    insert into readings
    select time, dev_eui, quantity, channel, value from stage_readings
    where uplink_id is null or uplink_id in (select deduplication_id from fresh)
    order by dev_eui, quantity, channel, time
    on conflict do nothing
    returning time, dev_eui, quantity, channel, value),
{ROLLUP.format(name="hourly", table="rollups_hourly")},
{LATEST},
{STALE_DAYS}
select (select count(*) from fresh) as uplinks, (select count(*) from inserted) as readings,
       (select count(*) from hourly) as hourly, (select count(*) from latest) as latest,
       (select count(*) from stale) as stale_days,
       array(select deduplication_id::text from fresh) as fresh_ids
"""

# A tenant row is written only when it is new or its name is still to be filled in:
# ON CONFLICT DO UPDATE locks the row even when its WHERE is false, and that lock would
# stop every other bridge's batch with a device of this tenant (the devices' foreign key
# reads it) until this batch commits.
UPSERT_DEVICES = """
with tenants_seen as (
    insert into tenants (id, name)
    select distinct on (tenant_id) tenant_id, tenant_name from stage_devices s
    where tenant_id <> ''
      and not exists (select from tenants t
                      where t.id = s.tenant_id and (t.name <> '' or s.tenant_name = ''))
    order by tenant_id, tenant_name desc
    on conflict (id) do update set name = excluded.name
    where tenants.name = '' and excluded.name <> '')
insert into devices as d (dev_eui, tenant_id, name, application_id, device_profile_name, tags,
                          model, device_class, last_seen_at, last_f_cnt)
select distinct on (dev_eui) dev_eui, nullif(tenant_id, ''), name, application_id,
       device_profile_name, tags, model, device_class, last_seen_at, last_f_cnt
from stage_devices order by dev_eui, last_f_cnt is null, last_seen_at desc
on conflict (dev_eui) do update set
    tenant_id = coalesce(d.tenant_id, excluded.tenant_id),
    name = case when d.name = '' then excluded.name else d.name end,
    application_id = excluded.application_id,
    device_profile_name = excluded.device_profile_name,
    tags = d.tags || excluded.tags,
    model = coalesce(d.model, excluded.model),
    device_class = coalesce(d.device_class, excluded.device_class),
    last_f_cnt = case when excluded.last_f_cnt is not null
                       and excluded.last_seen_at >= coalesce(d.last_seen_at, '-infinity')
                      then excluded.last_f_cnt else d.last_f_cnt end,
    last_seen_at = greatest(d.last_seen_at, excluded.last_seen_at),
    updated_at = now()
"""


# ChirpStack echoes our downlink id as queueItemId in txack and ack events.
TRACK_DOWNLINKS = """
update downlinks d set
    status = case when e.kind = 'txack' then 'transmitted'
                  when (e.body->>'acknowledged')::boolean then 'acknowledged'
                  else 'not_acknowledged' end,
    updated_at = now()
from stage_events e
where e.kind in ('txack', 'ack') and d.id::text = e.body->>'queueItemId'
  and not (e.kind = 'txack' and d.status in ('acknowledged', 'not_acknowledged'))
"""


# (time, dev_eui, quantity, channel, value, deduplication id of its uplink or None)
ReadingRow = tuple[datetime, str, str, str, float, str | None]


@dataclass
class WriteBatch:
    """Rows of one batch, in the column order of the tables above."""

    uplinks: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    readings: list[ReadingRow] = field(default_factory=list)
    rejected: list[tuple[str, str, bytes, str]] = field(default_factory=list)
    devices: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class WriteCounts:
    uplinks: int
    events: int
    readings: int
    rejected: int
    alerts_fired: int = 0
    alerts_resolved: int = 0

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


# Called inside the batch's transaction with its fresh readings (those of uplinks stored
# for the first time); returns (alerts fired, alerts resolved).
Evaluate = Callable[[Conn, list[ReadingRow]], Awaitable[tuple[int, int]]]


async def prepare_connection(conn: Conn) -> None:
    """Per-connection set-up: JSON codecs and the staging tables."""
    # Binary format, so that COPY can carry jsonb: a version byte, then the JSON text.
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda v: b"\x01" + orjson.dumps(v),
        decoder=lambda b: orjson.loads(b[1:]),
        format="binary",
    )
    # Aggregating a batch for the rollups must not spill to disk.
    await conn.execute("set work_mem = '64MB'")
    for sql in STAGING.values():
        await conn.execute(sql)


async def write(conn: Conn, batch: WriteBatch, evaluate: Evaluate | None = None) -> WriteCounts:
    """Write a batch in one transaction; run it again and nothing changes. `evaluate` (the
    rule engine) sees the fresh readings, and its alerts commit with them."""
    fired = resolved = 0
    async with conn.transaction():
        if batch.devices:
            await copy(conn, "stage_devices", DEVICE_COLUMNS, batch.devices)
            await conn.execute(UPSERT_DEVICES)
        uplinks = events = readings = rejected = 0
        if batch.uplinks:
            await copy(conn, "stage_uplinks", UPLINK_COLUMNS, batch.uplinks)
        if batch.readings:
            await copy(conn, "stage_readings", READING_COLUMNS, batch.readings)
        if batch.uplinks or batch.readings:
            row = await conn.fetchrow(INSERT_READINGS)
            assert row is not None
            uplinks, readings = int(row["uplinks"]), int(row["readings"])
            if evaluate is not None:
                fresh_ids = set(row["fresh_ids"])
                fresh = [r for r in batch.readings if r[5] is None or str(r[5]) in fresh_ids]
                fired, resolved = await evaluate(conn, fresh)
        if batch.events:
            await copy(conn, "stage_events", EVENT_COLUMNS, batch.events)
            events = await count(
                conn, "insert into device_events select * from stage_events on conflict do nothing"
            )
            await conn.execute(TRACK_DOWNLINKS)
        if batch.rejected:
            keys, topics, payloads, reasons = (list(c) for c in zip(*batch.rejected, strict=True))
            rejected = await count(
                conn,
                "insert into rejected (message_key, topic, payload, reason) "
                "select * from unnest($1::text[], $2::text[], $3::bytea[], $4::text[]) "
                "on conflict (message_key) do nothing",
                keys,
                topics,
                payloads,
                reasons,
            )
    return WriteCounts(uplinks, events, readings, rejected, fired, resolved)


async def copy(conn: Conn, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    await conn.copy_records_to_table(table, records=rows, columns=list(columns))


async def count(conn: Conn, sql: str, *args: Any) -> int:
    status: str = await conn.execute(sql, *args)
    return int(status.rsplit(" ", 1)[-1])
