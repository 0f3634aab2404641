"""Closed chunks rewritten in primary-key order (CLUSTER), so that a series' rows lie on a
few pages instead of one page per bucket, as the writer leaves them. The Apache build of
TimescaleDB has no reorder_chunk: plain CLUSTER, one chunk per run, in quiet hours.

A chunk is closed once its range ended `closed_after` ago, or, for rollups_daily, once
every day of it is below the watermark and none is stale. CLUSTER locks the chunk against
reads and writes for as long as it runs (about 40 s for a month of a 32 000-device city's
hourly rollups); it gives up at once if the chunk is busy. Late writes into a clustered
chunk leave it a little less ordered, and it is not clustered again."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from ingest.store import Conn

log = logging.getLogger(__name__)

HYPERTABLES = ("readings", "rollups_hourly", "rollups_daily")

# Any constant: one bridge clusters at a time, the others skip their turn.
LOCK_KEY = 0x636C7573
# How long CLUSTER may wait for the chunk's lock: queued, it would also hold up every
# query and batch that comes after it.
LOCK_TIMEOUT = "1s"

# The newest closed chunk whose primary key is not the one it is clustered on.
NEXT_CHUNK = """
select format('%I.%I', c.chunk_schema, c.chunk_name) as chunk, quote_ident(ic.relname) as index
from timescaledb_information.chunks c
join pg_index i on i.indrelid = to_regclass(format('%I.%I', c.chunk_schema, c.chunk_name))
               and i.indisprimary  -- to_regclass: a chunk retention drops meanwhile is no error
join pg_class ic on ic.oid = i.indexrelid
where c.hypertable_name = any($1::text[]) and not i.indisclustered
  and c.range_end <= case when c.hypertable_name <> 'rollups_daily' then $2
      else (select least(w.next_day, (select min(day) from rollups_daily_stale))
            from rollups_daily_watermark w) end
order by c.range_end desc, c.hypertable_name
limit 1
"""


@dataclass(frozen=True)
class QuietHours:
    """Hours of the city's clock, [start, end); it may wrap past midnight (22-04), 00-24
    is the whole day."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        start, sep, end = text.partition("-")
        if not (sep and start.isdigit() and end.isdigit()):
            raise ValueError(f"quiet hours {text!r}: from-to in hours, e.g. 02-05")
        hours = cls(int(start), int(end))
        if not (0 <= hours.start <= 24 and 0 <= hours.end <= 24):
            raise ValueError(f"quiet hours {text!r}: hours from 00 to 24")
        return hours

    def hold(self, t: datetime, zone: ZoneInfo) -> bool:
        hour = t.astimezone(zone).hour
        if self.start <= self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end


@dataclass(frozen=True)
class ClusterRun:
    chunk: str | None  # None: every closed chunk is clustered, or another bridge is at it
    clustered: bool  # False: the chunk was busy, left for a later run
    seconds: float


async def cluster_next_chunk(conn: Conn, now: datetime, closed_after: timedelta) -> ClusterRun:
    """CLUSTER the newest closed chunk not clustered yet on its primary key."""
    began = time.perf_counter()
    chunk = None
    try:
        async with conn.transaction():
            if not await conn.fetchval("select pg_try_advisory_xact_lock($1)", LOCK_KEY):
                return ClusterRun(None, False, 0.0)
            row = await conn.fetchrow(NEXT_CHUNK, list(HYPERTABLES), now - closed_after)
            if row is None:
                return ClusterRun(None, False, time.perf_counter() - began)
            chunk = row["chunk"]
            await conn.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
            await conn.execute(f"cluster {chunk} using {row['index']}")
    except asyncpg.LockNotAvailableError:
        log.info("chunk %s is busy: clustering it later", chunk)
        return ClusterRun(chunk, False, time.perf_counter() - began)
    except asyncpg.UndefinedTableError:
        if await conn.fetchval("select to_regclass($1)", chunk) is not None:
            raise
        log.info("chunk %s was dropped before it was clustered", chunk)
        return ClusterRun(chunk, False, time.perf_counter() - began)
    return ClusterRun(chunk, True, time.perf_counter() - began)


async def cluster_closed_chunks(conn: Conn, now: datetime, closed_after: timedelta) -> list[str]:
    """Every closed chunk not clustered yet, one after the other, whatever the hour; stops
    at a busy one. Returns the chunks clustered."""
    done = []
    while (run := await cluster_next_chunk(conn, now, closed_after)).clustered:
        assert run.chunk is not None
        done.append(run.chunk)
    return done
