"""Stored raw uplinks decoded again once their model is known: idempotent, rollups too."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import orjson
import pytest

from ingest import rollups_daily, store
from ingest.pipeline import Message, ModelResolver, process
from ingest.redecode import RedecodeTotals, redecode
from simulators.simulate import messages
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

START = datetime(2026, 11, 1, tzinfo=UTC)
MODELS = ["milesight-em310-udl", "decentlab-dl-pm", "milesight-ws558"]


def without_model_tag(payload: bytes) -> bytes:
    doc = orjson.loads(payload)
    doc["deviceInfo"]["tags"] = {}
    return orjson.dumps(doc)


async def ingest(env: ServiceEnv, batch: list[Message]) -> None:
    conn = await asyncpg.connect(env.settings.database_url)
    try:
        await store.prepare_connection(conn)
        await store.write(conn, process(batch, ModelResolver({}, {})).batch)
    finally:
        await conn.close()


async def run_redecode(env: ServiceEnv, **options: object) -> RedecodeTotals:
    conn = await asyncpg.connect(env.settings.database_url)
    try:
        return await redecode(conn, chunk=70, **options)  # type: ignore[arg-type]
    finally:
        await conn.close()


def close_days(env: ServiceEnv) -> None:
    """Hand every day of the stream over to the daily rollups and sum the stale ones."""
    now, closed_after = START + timedelta(days=3), timedelta(hours=1)
    env.on(lambda conn: rollups_daily.refresh(conn, ZoneInfo("UTC"), now, closed_after))


def snapshot(env: ServiceEnv) -> tuple[object, ...]:
    return (
        env.query(
            "select dev_eui, quantity, channel, time, value from readings order by 1, 2, 3, 4"
        ),
        # a sum of floats depends on its order: compare it rounded
        env.query(
            "select bucket, dev_eui, quantity, channel, count, round(sum::numeric, 6), min, max, last, last_time "
            "from rollups_hourly order by dev_eui, quantity, channel, bucket"
        ),
        env.query("select deduplication_id, decode_status, model from uplinks order by 1"),
        env.query("select * from readings_latest order by 1, 2, 3"),
    )


def latest_is_the_newest_reading(env: ServiceEnv) -> bool:
    kept = env.query(
        "select dev_eui, quantity, channel, time, value from readings_latest order by 1, 2, 3"
    )
    newest = env.query(
        "select distinct on (dev_eui, quantity, channel) dev_eui, quantity, channel, time, value "
        "from readings order by 1, 2, 3, time desc"
    )
    return bool(kept) and kept == newest


def test_uplinks_without_a_model_decode_once_the_registry_names_it(env: ServiceEnv) -> None:
    stream = [
        Message(t, without_model_tag(p)) for t, p in messages(6, 300, 4, START, "json", "", MODELS)
    ]
    asyncio.run(ingest(env, stream))
    assert env.scalar("select count(*) from uplinks where decode_status = 'no_decoder'") == 300
    assert env.scalar("select count(*) from readings") == 0

    env.query(
        "update devices set model = split_part(name, '-0', 1), params = '{\"bin_height_mm\": 1500}'"
    )
    totals = asyncio.run(run_redecode(env))

    assert (totals.uplinks, totals.ok, totals.errors) == (300, 300, 0)
    assert env.scalar("select count(*) from uplinks where decode_status = 'ok'") == 300
    assert env.scalar("select count(*) from readings where quantity = 'filling_level'") == 100
    assert env.scalar("select sum(count) from rollups_hourly") == env.scalar(
        "select count(*) from readings"
    )
    assert latest_is_the_newest_reading(env)


def test_latest_values_follow_a_changed_bin_height(env: ServiceEnv) -> None:
    asyncio.run(
        ingest(env, [Message(t, p) for t, p in messages(6, 300, 5, START, "json", "", MODELS)])
    )
    fill_levels = (
        "select dev_eui, value from readings_latest where quantity = 'filling_level' order by 1"
    )
    heights = []
    for height_mm in (1500, 4000):
        env.query(f"update devices set params = '{{\"bin_height_mm\": {height_mm}}}'")
        asyncio.run(run_redecode(env, include_ok=True))
        assert latest_is_the_newest_reading(env)
        heights.append(env.query(fill_levels))

    assert heights[0]
    assert [r[0] for r in heights[1]] == [r[0] for r in heights[0]]
    assert all(tall[1] > short[1] for short, tall in zip(heights[0], heights[1], strict=True))


def test_redecoding_everything_twice_changes_nothing(env: ServiceEnv) -> None:
    asyncio.run(
        ingest(env, [Message(t, p) for t, p in messages(6, 300, 5, START, "json", "", MODELS)])
    )
    before = snapshot(env)

    asyncio.run(run_redecode(env, include_ok=True))
    asyncio.run(run_redecode(env, include_ok=True))

    assert snapshot(env) == before


def test_only_the_chosen_model_and_period_are_redecoded(env: ServiceEnv) -> None:
    stream = [
        Message(t, without_model_tag(p)) for t, p in messages(6, 300, 6, START, "json", "", MODELS)
    ]
    asyncio.run(ingest(env, stream))
    env.query("update devices set model = split_part(name, '-0', 1)")

    totals = asyncio.run(
        run_redecode(env, model="milesight-ws558", since=datetime(2026, 11, 1, 1, tzinfo=UTC))
    )

    assert totals.uplinks == totals.ok > 0
    assert env.scalar("select count(distinct model) from uplinks where decode_status = 'ok'") == 1
    assert env.scalar("select min(time) from uplinks where decode_status = 'ok'") >= datetime(
        2026, 11, 1, 1, tzinfo=UTC
    )


def daily_equals_hourly(env: ServiceEnv) -> bool:
    daily = env.query(
        "select day, dev_eui, quantity, channel, count from rollups_daily order by 1, 2, 3, 4"
    )
    hourly = env.query(
        "select date_trunc('day', bucket, 'UTC'), dev_eui, quantity, channel, sum(count) "
        "from rollups_hourly group by 1, 2, 3, 4 order by 1, 2, 3, 4"
    )
    return daily == hourly


def test_closed_days_are_summed_again_after_a_redecode(env: ServiceEnv) -> None:
    stream = [
        Message(t, without_model_tag(p))
        for t, p in messages(6, 300, 7, START - timedelta(days=1), "json", "", MODELS)
    ]
    asyncio.run(ingest(env, stream))

    close_days(env)
    assert env.scalar("select count(*) from rollups_daily") == 0  # nothing decoded yet

    env.query("update devices set model = split_part(name, '-0', 1)")
    asyncio.run(run_redecode(env))
    assert env.scalar("select count(*) from rollups_daily_stale") > 0

    close_days(env)
    assert env.scalar("select count(*) from rollups_daily") > 0
    assert daily_equals_hourly(env)
