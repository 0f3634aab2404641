"""Daily rollups, summed from the hourly ones for the closed days of the city's clock.

Two steps, both safe to run from every bridge at once:

- hand over: the days closed since the last run (a day is closed `closed_after` past its
  end) move below the watermark and into the stale set, in one short transaction. It
  locks the watermark row FOR UPDATE, so it waits for the writer batches that read the
  old watermark (each locks it FOR SHARE) and the ones after it see the new one.
- recompute: the earliest stale day, taken out of the stale set and summed again from the
  hourly rollups, in one transaction per day. Taking it out waits for any batch that
  marked it stale (the writer locks the stale row), and a batch marking it stale again
  waits for the recompute to commit, then inserts it again: no late reading is missed.

Readers take the days below the watermark that are not stale from rollups_daily and every
other day from rollups_hourly, so an answer never depends on how far these steps are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as midnight
from zoneinfo import ZoneInfo

from ingest.store import Conn

log = logging.getLogger(__name__)

LOCK_WATERMARK = "select next_day, timezone from rollups_daily_watermark for update"

FIRST_HOURLY = "select min(bucket) from rollups_hourly"

HAND_OVER = """
with stale as (
    insert into rollups_daily_stale (day, first_time) select unnest($1::timestamptz[]), true
    order by 1 on conflict do nothing)
update rollups_daily_watermark set next_day = $2, timezone = $3
"""

# The earliest stale day no batch is marking right now (those are skipped: they come
# back once the batch commits), with the end of that day on the stored clock.
TAKE_STALE_DAY = """
delete from rollups_daily_stale s using rollups_daily_watermark w
where s.day = (select day from rollups_daily_stale order by day limit 1 for update skip locked)
returning s.day, (s.day at time zone w.timezone + interval '1 day') at time zone w.timezone as day_end,
          s.first_time
"""

# a scan of the day's chunk: rollups_daily has no index on day alone (see 0007)
CLEAR_DAY = "delete from rollups_daily where day = $1"

# The hourly rows of a day, combined the way a query over them would combine them.
SUM_DAY = """
insert into rollups_daily (day, dev_eui, quantity, channel, count, sum, min, max, last, last_time)
select $1, dev_eui, quantity, channel, sum(count)::bigint, sum(sum), min(min), max(max),
       last(last, last_time), max(last_time)
from rollups_hourly where bucket >= $1 and bucket < $2
group by dev_eui, quantity, channel
order by dev_eui, quantity, channel
"""

# For a job that changes hourly rollups of past days outside the writer (redecode): the
# same marking as the writer's, with the same locks.
MARK_STALE = """
with mark as (
    select next_day, timezone from rollups_daily_watermark for share)
insert into rollups_daily_stale (day)
select distinct date_trunc('day', t, m.timezone) from unnest($1::timestamptz[]) t, mark m
where t < m.next_day order by 1
on conflict (day) do update set day = excluded.day where false
"""


@dataclass(frozen=True)
class DailyRefresh:
    handed_over: int  # days that moved below the watermark
    recomputed: list[datetime]  # the days summed again, in order


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, midnight(), zone).astimezone(UTC)


def day_start(t: datetime, zone: ZoneInfo) -> datetime:
    """Midnight on the city's clock that starts the day holding `t`."""
    return local_midnight(t.astimezone(zone).date(), zone)


def closed_until(now: datetime, zone: ZoneInfo, closed_after: timedelta) -> datetime:
    """The start of the first day not closed yet: every day before it ended at least
    `closed_after` before `now`."""
    return day_start(now - closed_after, zone)


def days_from(first: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """The start of every day from the one holding `first` up to `end`, exclusive."""
    days, day = [], first.astimezone(zone).date()
    while (start := local_midnight(day, zone)) < end:
        days.append(start)
        day += timedelta(days=1)
    return days


async def hand_over(conn: Conn, zone: ZoneInfo, now: datetime, closed_after: timedelta) -> int:
    """Move the watermark to the first day not closed yet; the days it passes become
    stale, to be recomputed. Returns how many days it passed."""
    end = closed_until(now, zone, closed_after)
    clock = await conn.fetchval("select timezone from rollups_daily_watermark")
    if clock is not None and clock != zone.key:
        log.warning("daily rollups were of %s, now of %s: summing them again", clock, zone.key)
        await forget(conn)
    async with conn.transaction():
        row = await conn.fetchrow(LOCK_WATERMARK)
        assert row is not None, "migration 0007 inserts the watermark row"
        next_day, timezone = row["next_day"], row["timezone"]
        if timezone is not None and timezone != zone.key:
            log.warning("another bridge keeps the daily rollups of %s", timezone)
            return 0
        if next_day is None:
            first = await conn.fetchval(FIRST_HOURLY)
            days = days_from(first, end, zone) if first is not None else []
        elif next_day < end:
            days = days_from(next_day, end, zone)
        else:
            return 0
        await conn.execute(HAND_OVER, days, end, zone.key)
    return len(days)


async def recompute_stale_day(conn: Conn) -> datetime | None:
    """Sum the earliest stale day again from the hourly rollups; None if none is left."""
    async with conn.transaction():
        row = await conn.fetchrow(TAKE_STALE_DAY)
        if row is None:
            return None
        # new statements, new snapshots: they see every batch the delete waited for
        if not row["first_time"]:
            await conn.execute(CLEAR_DAY, row["day"])
        await conn.execute(SUM_DAY, row["day"], row["day_end"])
        day: datetime = row["day"]
        return day


async def refresh(
    conn: Conn,
    zone: ZoneInfo,
    now: datetime,
    closed_after: timedelta,
    max_days: int | None = None,
) -> DailyRefresh:
    """Hand over the closed days, then recompute stale days, at most `max_days` of them."""
    handed_over = await hand_over(conn, zone, now, closed_after)
    recomputed: list[datetime] = []
    while max_days is None or len(recomputed) < max_days:
        day = await recompute_stale_day(conn)
        if day is None:
            break
        recomputed.append(day)
    return DailyRefresh(handed_over, recomputed)


async def mark_stale(conn: Conn, times: list[datetime]) -> None:
    """Mark stale the days holding `times` that are already below the watermark; for a job
    that changes hourly rollups of past days, inside its transaction."""
    await conn.execute(MARK_STALE, times)


async def forget(conn: Conn) -> None:
    """No daily rollups at all: the next hand-over starts from the first hourly rollup.
    For data written around the writer (a benchmark's load) or a change of clock."""
    async with conn.transaction():
        # the tables first: a batch holds the stale table from its start, and waits for the
        # watermark row only after
        await conn.execute("truncate rollups_daily, rollups_daily_stale")
        await conn.execute("update rollups_daily_watermark set next_day = null, timezone = null")
