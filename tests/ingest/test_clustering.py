"""Closed chunks clustered on their primary key, one per run, only in quiet hours, never
waiting long for a busy chunk; and the bridge's maintenance running it with the daily
rollups."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import rollups_daily, store
from ingest.clustering import LOCK_KEY, ClusterRun, QuietHours, cluster_next_chunk
from ingest.engine import RuleEngine
from ingest.maintenance import RollupUpkeep, maintain
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

PARIS = ZoneInfo("Europe/Paris")
HOUR = timedelta(hours=1)
START = datetime(2026, 9, 1, tzinfo=UTC)
NOW = datetime(2026, 10, 20, 12, tzinfo=UTC)
DEVICES = ["0004a30b001c0201", "0004a30b001c0202", "0004a30b001c0203"]

CHUNKS = """
select c.hypertable_name as hypertable, format('%I.%I', c.chunk_schema, c.chunk_name) as chunk,
       c.range_end, i.indisclustered as clustered
from timescaledb_information.chunks c
join pg_index i on i.indrelid = format('%I.%I', c.chunk_schema, c.chunk_name)::regclass
               and i.indisprimary
order by c.range_end desc, c.hypertable_name
"""


def write_seven_weeks(env: ServiceEnv) -> None:
    """Every three hours from 1 September to 20 October 2026, a batch a day as the writer
    gets them: each chunk in time order, the devices' rows interleaved."""

    async def run(conn: asyncpg.Connection) -> None:
        for day in range(49):
            rows: list[store.ReadingRow] = [
                (START + timedelta(days=day, hours=h), d, "temperature", "", float(h + i), None)
                for h in range(0, 24, 3)
                for i, d in enumerate(DEVICES)
            ]
            await store.write(conn, store.WriteBatch(readings=rows))

    env.on(run)


def chunks(env: ServiceEnv) -> list[dict[str, Any]]:
    return [dict(r) for r in env.query(CHUNKS)]


def cluster(env: ServiceEnv, now: datetime = NOW) -> ClusterRun:
    return env.on(lambda conn: cluster_next_chunk(conn, now, HOUR))


async def connections(env: ServiceEnv) -> tuple[asyncpg.Connection, asyncpg.Connection]:
    url = env.settings.database_url
    return await asyncpg.connect(url), await asyncpg.connect(url)


def in_physical_order(env: ServiceEnv, chunk: str, time: str) -> list[tuple[Any, ...]]:
    rows = env.query(f"select dev_eui, quantity, channel, {time} from {chunk} order by ctid")
    return [tuple(r) for r in rows]


@given(start=st.integers(0, 24), end=st.integers(0, 24), hour=st.integers(0, 23))
def test_quiet_hours_hold_from_start_to_end_past_midnight_too(
    start: int, end: int, hour: int
) -> None:
    hours = QuietHours.parse(f"{start:02d}-{end:02d}")
    t = datetime(2026, 7, 1, hour, 30, tzinfo=PARIS)

    expected = hour in (range(start, end) if start <= end else [*range(start, 24), *range(end)])
    assert hours.hold(t, PARIS) == expected


def test_the_default_quiet_hours_are_early_morning_in_paris() -> None:
    hours = QuietHours.parse("02-05")

    assert hours.hold(datetime(2026, 1, 10, 1, 0, tzinfo=UTC), PARIS)  # 02:00 in winter
    assert not hours.hold(datetime(2026, 7, 10, 3, 0, tzinfo=UTC), PARIS)  # 05:00 in summer
    assert QuietHours.parse("00-24").hold(datetime(2026, 7, 10, 23, 59, tzinfo=UTC), PARIS)
    with pytest.raises(ValueError, match="from-to"):
        QuietHours.parse("2h-5h")


def test_closed_chunks_are_clustered_newest_first_one_per_run(env: ServiceEnv) -> None:
    write_seven_weeks(env)
    closed = [c for c in chunks(env) if c["range_end"] <= NOW - HOUR]
    oldest = min(closed, key=lambda c: c["range_end"])
    rows = in_physical_order(env, oldest["chunk"], "time")
    assert rows != sorted(rows)  # as the writer left it

    runs = []
    while (run := cluster(env)).chunk is not None:
        runs.append(run)

    assert [r.chunk for r in runs] == [
        c["chunk"] for c in closed if c["hypertable"] != "rollups_daily"
    ]
    assert all(r.clustered for r in runs)
    assert {c["hypertable"] for c in closed} >= {"readings", "rollups_hourly"}
    after = {c["chunk"]: c["clustered"] for c in chunks(env)}
    assert [c for c, clustered in after.items() if clustered] == [r.chunk for r in runs]
    assert in_physical_order(env, oldest["chunk"], "time") == sorted(rows)
    hourly = next(c["chunk"] for c in closed if c["hypertable"] == "rollups_hourly")
    bucketed = in_physical_order(env, hourly, "bucket")
    assert bucketed == sorted(bucketed)


def test_daily_chunks_are_clustered_once_every_day_of_them_is_summed(env: ServiceEnv) -> None:
    write_seven_weeks(env)
    while cluster(env).chunk is not None:
        pass
    env.on(lambda conn: rollups_daily.refresh(conn, PARIS, NOW, HOUR, max_days=10))

    # days of September are left to sum: only the daily chunk that ends before them is closed
    stale = env.scalar("select min(day) from rollups_daily_stale")
    first = cluster(env)
    assert cluster(env).chunk is None
    daily = [c for c in chunks(env) if c["hypertable"] == "rollups_daily"]
    assert [c["chunk"] for c in daily if c["clustered"]] == [first.chunk]
    assert all(c["range_end"] <= stale for c in daily if c["clustered"])
    assert any(c["range_end"] > stale for c in daily)

    env.on(lambda conn: rollups_daily.refresh(conn, PARIS, NOW, HOUR))
    while cluster(env).chunk is not None:
        pass
    watermark = env.scalar("select next_day from rollups_daily_watermark")
    daily = [c for c in chunks(env) if c["hypertable"] == "rollups_daily"]
    assert any(c["clustered"] for c in daily)
    assert all(c["clustered"] == (c["range_end"] <= watermark) for c in daily)


def test_a_busy_chunk_is_left_for_a_later_run(env: ServiceEnv) -> None:
    write_seven_weeks(env)
    newest_closed = next(c for c in chunks(env) if c["range_end"] <= NOW - HOUR)

    async def while_read() -> ClusterRun:
        reader, conn = await connections(env)
        try:
            async with reader.transaction():
                await reader.execute(f"lock table {newest_closed['chunk']} in access share mode")
                return await cluster_next_chunk(conn, NOW, HOUR)
        finally:
            await reader.close()
            await conn.close()

    refused = asyncio.run(while_read())
    later = cluster(env)

    assert (refused.chunk, refused.clustered) == (newest_closed["chunk"], False)
    assert 0.9 < refused.seconds < 5
    assert (later.chunk, later.clustered) == (newest_closed["chunk"], True)


def test_one_bridge_clusters_at_a_time(env: ServiceEnv) -> None:
    write_seven_weeks(env)

    async def while_another_clusters() -> ClusterRun:
        other, conn = await connections(env)
        try:
            async with other.transaction():
                await other.execute("select pg_advisory_xact_lock($1)", LOCK_KEY)
                return await cluster_next_chunk(conn, NOW, HOUR)
        finally:
            await other.close()
            await conn.close()

    assert asyncio.run(while_another_clusters()) == ClusterRun(None, False, 0.0)
    assert not any(c["clustered"] for c in chunks(env))


def test_late_writes_into_a_clustered_chunk_do_not_bring_it_back(env: ServiceEnv) -> None:
    write_seven_weeks(env)
    first = cluster(env)
    late = store.WriteBatch(
        readings=[(NOW - timedelta(days=40), DEVICES[0], "temperature", "", 1.5, None)]
    )

    env.on(lambda conn: store.write(conn, late))
    runs = []
    while (run := cluster(env)).chunk is not None:
        runs.append(run.chunk)

    assert first.chunk not in runs
    assert all(c["clustered"] for c in chunks(env) if c["chunk"] == first.chunk)


def test_the_bridges_maintenance_sums_days_and_clusters_in_quiet_hours_only(
    env: ServiceEnv,
) -> None:
    write_seven_weeks(env)
    now = datetime.now(UTC)

    def closed_chunks() -> list[dict[str, Any]]:
        return [
            c for c in chunks(env)
            if c["hypertable"] != "rollups_daily" and c["range_end"] <= now - 2 * HOUR
        ]  # fmt: skip

    def settled(clustering: bool) -> bool:
        summed = env.scalar(
            "select count(*) > 0 and not exists (select from rollups_daily_stale) "
            "from rollups_daily"
        )
        return bool(summed) and (not clustering or all(c["clustered"] for c in closed_chunks()))

    def run_maintenance(hours: str) -> None:
        async def main() -> None:
            pool = await asyncpg.create_pool(
                env.settings.database_url, min_size=1, max_size=4, init=store.prepare_connection
            )
            stopping = asyncio.Event()
            upkeep = RollupUpkeep(PARIS, HOUR, QuietHours.parse(hours))
            task = asyncio.create_task(
                maintain(
                    pool, RuleEngine(), lambda topic, payload: None, stopping,
                    upkeep=upkeep, rollups_s=0.1, cluster_s=0.1,
                )
            )  # fmt: skip
            try:
                deadline = asyncio.get_running_loop().time() + 30
                clustering = hours == "00-24"
                while not await asyncio.to_thread(settled, clustering):
                    assert asyncio.get_running_loop().time() < deadline, "maintenance stalled"
                    await asyncio.sleep(0.2)
                await asyncio.sleep(0.5)  # a few more runs, with nothing left to do
            finally:
                stopping.set()
                await task
                await pool.close()

        asyncio.run(main())

    run_maintenance("05-05")  # never quiet
    assert env.scalar("select count(*) from rollups_daily") == 49 * len(DEVICES)
    assert not any(c["clustered"] for c in chunks(env))

    run_maintenance("00-24")
    assert closed_chunks()
    assert all(c["clustered"] for c in closed_chunks())
