"""Daily rollups: closed days of the city's clock summed from the hourly rollups, late
readings marking their day stale in the writer's transaction, and the locks that keep a
batch committing during a hand-over or a recompute from being missed."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from asyncpg.transaction import Transaction
from hypothesis import given
from hypothesis import strategies as st

from ingest import rollups_daily, store
from ingest.rollups_daily import DailyRefresh, closed_until, days_from, local_midnight
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

PARIS = ZoneInfo("Europe/Paris")
HOUR = timedelta(hours=1)
LAMP = "0004a30b001c0101"
BIN = "0004a30b001c0102"
INSTANTS = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
)

# What the daily rollups must hold: the readings themselves, per day of the clock $1
EXPECTED = """
select date_trunc('day', time, $1) as day, dev_eui, quantity, channel, count(*) as count,
       sum(value) as sum, min(value) as min, max(value) as max, last(value, time) as last,
       max(time) as last_time
from readings where time < $2
group by 1, 2, 3, 4 order by dev_eui, quantity, channel, day
"""
DAILY = """
select day, dev_eui, quantity, channel, count, sum, min, max, last, last_time
from rollups_daily order by dev_eui, quantity, channel, day
"""


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


def reading(
    t: datetime, value: float, dev_eui: str = LAMP, quantity: str = "active_power"
) -> store.ReadingRow:
    return (t, dev_eui, quantity, "", value, None)


def around_the_change_to_winter_time() -> store.WriteBatch:
    """Every 20 minutes from the 24th to the 27th of October 2026 in Paris (the 25th has
    25 hours), two devices; values in quarters, so that every sum is exact."""
    start = paris("2026-10-24T00:00")
    rows = []
    for i in range(4 * 72):
        t = start + i * timedelta(minutes=20)
        rows.append(reading(t, (i % 37) / 4))
        rows.append(reading(t, (i % 11) / 4 - 1, BIN, "filling_level"))
    return store.WriteBatch(readings=rows)


def write(env: ServiceEnv, batch: store.WriteBatch) -> store.WriteCounts:
    return env.on(lambda conn: store.write(conn, batch))


def refresh(env: ServiceEnv, now: datetime, zone: ZoneInfo = PARIS) -> DailyRefresh:
    return env.on(lambda conn: rollups_daily.refresh(conn, zone, now, HOUR))


def watermark(env: ServiceEnv) -> datetime | None:
    next_day: datetime | None = env.scalar("select next_day from rollups_daily_watermark")
    return next_day


def stale_days(env: ServiceEnv) -> list[datetime]:
    return [r["day"] for r in env.query("select day from rollups_daily_stale order by day")]


def assert_daily_is_exact(env: ServiceEnv, zone: ZoneInfo = PARIS) -> None:
    expected = env.query(EXPECTED, zone.key, watermark(env))
    assert expected
    assert env.query(DAILY) == expected


@given(now=INSTANTS, closed_after_min=st.integers(0, 180))
def test_a_day_is_closed_once_it_ended_the_delay_before(
    now: datetime, closed_after_min: int
) -> None:
    closed_after = timedelta(minutes=closed_after_min)

    until = closed_until(now, PARIS, closed_after)
    next_day = local_midnight(until.astimezone(PARIS).date() + timedelta(days=1), PARIS)

    assert until.astimezone(PARIS).time().isoformat() == "00:00:00"
    assert until <= now - closed_after < next_day


def test_days_are_those_of_the_city_with_23_and_25_hours() -> None:
    spring = days_from(paris("2027-03-27T12:00"), paris("2027-03-30T00:00"), PARIS)
    autumn = days_from(paris("2026-10-24T00:00"), paris("2026-10-26T00:00"), PARIS)

    assert spring == [
        paris("2027-03-27T00:00"),
        paris("2027-03-28T00:00"),
        paris("2027-03-29T00:00"),
    ]
    assert [b - a for a, b in itertools.pairwise(spring)] == [24 * HOUR, 23 * HOUR]
    assert autumn[1] - autumn[0] == 24 * HOUR
    assert paris("2026-10-26T00:00") - autumn[1] == 25 * HOUR


def test_closed_days_are_summed_from_the_hourly_rollups_in_order(env: ServiceEnv) -> None:
    write(env, around_the_change_to_winter_time())

    done = refresh(env, paris("2026-10-27T01:30"))

    assert done.handed_over == 3
    assert done.recomputed == [paris(f"2026-10-{d}T00:00") for d in (24, 25, 26)]
    assert watermark(env) == paris("2026-10-27T00:00")
    assert stale_days(env) == []
    assert_daily_is_exact(env)
    assert (
        env.scalar(
            "select count from rollups_daily where day = $1 and dev_eui = $2",
            paris("2026-10-25T00:00"),
            LAMP,
        )
        == 75
    )
    assert refresh(env, paris("2026-10-27T01:30")) == DailyRefresh(0, [])


def test_a_day_is_summed_only_once_it_is_closed(env: ServiceEnv) -> None:
    write(env, around_the_change_to_winter_time())

    early = refresh(env, paris("2026-10-27T00:59"))
    closed = refresh(env, paris("2026-10-27T01:00"))

    assert early.recomputed == [paris("2026-10-24T00:00"), paris("2026-10-25T00:00")]
    assert closed == DailyRefresh(1, [paris("2026-10-26T00:00")])
    assert_daily_is_exact(env)


def test_a_late_reading_marks_its_day_stale_until_it_is_summed_again(env: ServiceEnv) -> None:
    write(env, around_the_change_to_winter_time())
    refresh(env, paris("2026-10-27T01:30"))
    before = env.query(DAILY)
    late = store.WriteBatch(
        readings=[
            reading(paris("2026-10-25T02:30"), 100.0),
            reading(paris("2026-10-27T00:10"), 7.0),
        ]
    )

    write(env, late)
    again = write(env, late)  # redelivered: nothing inserted, nothing marked

    assert again.readings == 0
    assert stale_days(env) == [paris("2026-10-25T00:00")]
    assert env.query(DAILY) == before
    assert refresh(env, paris("2026-10-27T01:30")).recomputed == [paris("2026-10-25T00:00")]
    assert stale_days(env) == []
    assert_daily_is_exact(env)


def test_the_first_hand_over_starts_at_the_first_hourly_rollup_even_without_any(
    env: ServiceEnv,
) -> None:
    assert refresh(env, paris("2026-10-27T01:30")) == DailyRefresh(0, [])
    assert watermark(env) == paris("2026-10-27T00:00")

    write(env, around_the_change_to_winter_time())  # all late now

    assert stale_days(env) == [paris(f"2026-10-{d}T00:00") for d in (24, 25, 26)]
    assert len(refresh(env, paris("2026-10-27T01:30")).recomputed) == 3
    assert_daily_is_exact(env)


def test_another_clock_sums_every_day_again(env: ServiceEnv) -> None:
    write(env, around_the_change_to_winter_time())
    refresh(env, paris("2026-10-27T01:30"))

    done = refresh(env, paris("2026-10-27T01:30"), ZoneInfo("UTC"))

    assert done.recomputed == [datetime(2026, 10, d, tzinfo=UTC) for d in (23, 24, 25)]
    assert env.scalar("select timezone from rollups_daily_watermark") == "UTC"
    assert_daily_is_exact(env, ZoneInfo("UTC"))


def test_marking_days_stale_for_a_job_other_than_the_writer(env: ServiceEnv) -> None:
    write(env, around_the_change_to_winter_time())
    refresh(env, paris("2026-10-26T01:30"))
    times = [paris("2026-10-24T23:59"), paris("2026-10-24T03:00"), paris("2026-10-26T12:00")]

    env.on(lambda conn: rollups_daily.mark_stale(conn, times))

    assert stale_days(env) == [paris("2026-10-24T00:00")]


async def connections(env: ServiceEnv) -> tuple[asyncpg.Connection, asyncpg.Connection]:
    url = env.settings.database_url
    return await asyncpg.connect(url), await asyncpg.connect(url)


async def open_write(conn: asyncpg.Connection, batch: store.WriteBatch) -> Transaction:
    """The batch written in a transaction left open, as a batch still being evaluated."""
    await store.prepare_connection(conn)
    pending = conn.transaction()
    await pending.start()
    await store.write(conn, batch)
    return pending


async def still_waiting(task: asyncio.Task[object]) -> bool:
    await asyncio.sleep(0.5)
    return not task.done()


def test_a_hand_over_waits_for_the_batch_that_read_the_old_watermark(env: ServiceEnv) -> None:
    write(env, around_the_change_to_winter_time())
    refresh(env, paris("2026-10-26T01:30"))
    on_the_26th = store.WriteBatch(readings=[reading(paris("2026-10-26T23:30"), 50.0)])

    async def race() -> tuple[bool, DailyRefresh]:
        writer, maintainer = await connections(env)
        try:
            pending = await open_write(writer, on_the_26th)
            task = asyncio.create_task(
                rollups_daily.refresh(maintainer, PARIS, paris("2026-10-27T01:30"), HOUR)
            )
            waited = await still_waiting(task)
            await pending.commit()
            return waited, await task
        finally:
            await writer.close()
            await maintainer.close()

    waited, done = asyncio.run(race())

    assert waited
    assert done.recomputed == [paris("2026-10-26T00:00")]
    assert_daily_is_exact(env)


def test_a_recompute_never_misses_a_batch_marking_its_day(env: ServiceEnv) -> None:
    write(env, around_the_change_to_winter_time())
    refresh(env, paris("2026-10-27T01:30"))
    day = paris("2026-10-25T00:00")

    def late(value: float) -> store.WriteBatch:
        return store.WriteBatch(
            readings=[reading(paris("2026-10-25T09:00") + value * HOUR / 1000, value)]
        )

    async def race() -> tuple[datetime | None, bool, datetime | None]:
        writer, maintainer = await connections(env)
        try:
            # a batch marking a day already stale: the recompute leaves the day for later
            pending = await open_write(writer, late(1.0))
            skipped = await rollups_daily.recompute_stale_day(maintainer)
            await pending.commit()
            # a recompute under way: a batch marking its day waits, then marks it again
            recompute = maintainer.transaction()
            await recompute.start()
            taken = await rollups_daily.recompute_stale_day(maintainer)
            task = asyncio.create_task(store.write(writer, late(2.0)))
            waited = await still_waiting(task)
            await recompute.commit()
            await task
            return skipped, waited, taken
        finally:
            await writer.close()
            await maintainer.close()

    write(env, late(0.5))
    skipped, waited, taken = asyncio.run(race())

    assert (skipped, waited, taken) == (None, True, day)
    assert stale_days(env) == [day]
    assert refresh(env, paris("2026-10-27T01:30")).recomputed == [day]
    assert_daily_is_exact(env)
