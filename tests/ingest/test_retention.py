"""Retention drops what each data class keeps no longer, and nothing else."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ingest.retention import apply_retention
from tests.services import ServiceEnv

pytestmark = pytest.mark.services


def run(env: ServiceEnv) -> dict[str, int]:
    async def main() -> dict[str, int]:
        conn = await asyncpg.connect(env.settings.database_url)
        try:
            return await apply_retention(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


def test_old_uplinks_and_rejected_input_go_recent_ones_and_rollups_stay(env: ServiceEnv) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=500), now - timedelta(days=1)
    for i, moment in enumerate((old, recent)):
        env.query(
            "insert into uplinks (time, deduplication_id, dev_eui, payload, decode_status) "
            "values ($1, gen_random_uuid(), $2, '\\x01', 'ok')",
            moment, f"{i:016x}",
        )  # fmt: skip
        env.query(
            "insert into rollups_hourly values ($1, $2, 'temperature', '', 1, 1, 1, 1, 1, $1)",
            moment,
            f"{i:016x}",
        )
        env.query(
            "insert into rollups_daily values ($1, $2, 'temperature', '', 1, 1, 1, 1, 1, $1)",
            moment,
            f"{i:016x}",
        )
        env.query(
            "insert into rejected (message_key, received_at, topic, payload, reason) values ($1, $2, 't', '', 'r')",
            str(i), moment,
        )  # fmt: skip

    dropped = run(env)

    assert dropped["uplinks"] >= 1
    assert dropped["rejected"] == 1
    assert env.scalar("select count(*) from uplinks") == 1
    assert env.scalar("select min(time) from uplinks") > now - timedelta(days=2)
    assert env.scalar("select count(*) from rollups_hourly") == 2  # kept for ever
    assert env.scalar("select count(*) from rollups_daily") == 2
    assert "rollups_daily" not in dropped
    assert run(env)["rejected"] == 0


def test_daily_rollups_go_once_given_a_time_to_keep(env: ServiceEnv) -> None:
    now = datetime.now(UTC)
    for i, moment in enumerate((now - timedelta(days=800), now - timedelta(days=1))):
        env.query(
            "insert into rollups_daily values ($1, $2, 'temperature', '', 1, 1, 1, 1, 1, $1)",
            moment,
            f"{i:016x}",
        )
    env.query("update retention set keep = interval '2 years' where relation = 'rollups_daily'")

    dropped = run(env)

    assert dropped["rollups_daily"] == 1
    assert env.scalar("select min(day) from rollups_daily") > now - timedelta(days=2)
