"""readings_latest, kept by the writer: the newest reading of every (device, quantity,
channel), whatever the order in which batches arrive and however often they are redelivered."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ingest import store
from ingest.pipeline import Message, ModelResolver, process
from simulators.simulate import messages
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

START = datetime(2026, 11, 1, tzinfo=UTC)
MODELS = ["milesight-ws558", "decentlab-dl-pm", "milesight-em310-udl"]
DEV_EUI = "0004a30b001c0530"

NEWEST_OF_READINGS = """
select distinct on (dev_eui, quantity, channel) dev_eui, quantity, channel, time, value
from readings order by dev_eui, quantity, channel, time desc
"""
LATEST = "select dev_eui, quantity, channel, time, value from readings_latest order by 1, 2, 3"


def write_all(env: ServiceEnv, batches: list[store.WriteBatch]) -> list[store.WriteCounts]:
    async def run() -> list[store.WriteCounts]:
        conn = await asyncpg.connect(env.settings.database_url)
        try:
            await store.prepare_connection(conn)
            return [await store.write(conn, batch) for batch in batches]
        finally:
            await conn.close()

    return asyncio.run(run())


def decoded(uplinks: list[Message]) -> store.WriteBatch:
    return process(uplinks, ModelResolver({}, {})).batch


def fleet_uplinks(count: int) -> list[Message]:
    return [Message(t, p) for t, p in messages(6, count, 11, START, "json", "", MODELS)]


def temperatures(*readings: tuple[int, float]) -> store.WriteBatch:
    """Readings of one series, each (minutes after START, value)."""
    return store.WriteBatch(
        readings=[
            (START + timedelta(minutes=m), DEV_EUI, "temperature", "", v, None) for m, v in readings
        ]
    )


def latest_temperature(env: ServiceEnv) -> tuple[datetime, float]:
    row = env.query(
        "select time, value from readings_latest where dev_eui = $1 and quantity = 'temperature'",
        DEV_EUI,
    )[0]
    return row["time"], row["value"]


def test_two_batches_leave_the_newest_reading_of_every_series(env: ServiceEnv) -> None:
    uplinks = fleet_uplinks(120)

    write_all(env, [decoded(uplinks[:60]), decoded(uplinks[60:])])

    latest = env.query(LATEST)
    assert len(latest) > 6
    assert latest == env.query(NEWEST_OF_READINGS)
    assert max(r["time"] for r in latest) == env.scalar("select max(time) from readings")


def test_a_redelivered_batch_changes_nothing(env: ServiceEnv) -> None:
    uplinks = fleet_uplinks(80)
    write_all(env, [decoded(uplinks[:40]), decoded(uplinks[40:])])
    before = env.query(LATEST)

    counts = write_all(env, [decoded(uplinks[:40]), decoded(uplinks[40:])])

    assert [c.readings for c in counts] == [0, 0]
    assert env.query(LATEST) == before


def test_a_late_reading_does_not_replace_a_newer_one(env: ServiceEnv) -> None:
    write_all(env, [temperatures((30, 21.0)), temperatures((10, 5.0), (20, 6.0))])

    assert latest_temperature(env) == (START + timedelta(minutes=30), 21.0)
    assert env.scalar("select count(*) from readings") == 3


def test_the_newest_reading_of_a_batch_wins_wherever_it_stands_in_it(env: ServiceEnv) -> None:
    write_all(env, [temperatures((10, 1.0)), temperatures((40, 4.0), (20, 2.0), (30, 3.0))])

    assert latest_temperature(env) == (START + timedelta(minutes=40), 4.0)


def test_batches_in_any_order_agree_with_the_readings(env: ServiceEnv) -> None:
    uplinks = fleet_uplinks(200)
    random.Random(3).shuffle(uplinks)
    batches = [decoded(uplinks[i : i + 25]) for i in range(0, 200, 25)]

    write_all(env, [*batches, batches[2], batches[0]])

    assert env.query(LATEST) == env.query(NEWEST_OF_READINGS)
