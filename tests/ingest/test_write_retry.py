"""The writer's retry on the real TimescaleDB: which failures are retried."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from ingest import bridge, store
from ingest.pipeline import Message, ModelResolver, process
from simulators.simulate import messages
from tests.services import ServiceEnv

pytestmark = pytest.mark.services


def test_a_connection_broken_mid_operation_is_retried_on_a_new_one(
    env: ServiceEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncpg raises InternalClientError ("cannot switch to state …") when the server goes
    away in the middle of an operation (seen with the database stopped under a bridge): the
    batch is written again on a fresh connection instead of stopping the bridge."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    batch = process(
        [Message(t, p) for t, p in messages(3, 5, 1, start, "json")], ModelResolver({}, {})
    ).batch
    real_write = store.write
    failures: list[asyncpg.Connection] = []

    async def write_once_broken(conn: store.Conn, *args: object) -> store.WriteCounts:
        if not failures:
            failures.append(conn)
            raise asyncpg.InternalClientError(
                "cannot switch to state 15; another operation (2) is in progress"
            )
        return await real_write(conn, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "write", write_once_broken)

    async def run() -> store.WriteCounts:
        pool = await asyncpg.create_pool(
            env.settings.database_url, min_size=1, max_size=2, init=store.prepare_connection
        )
        try:
            return await bridge.write_with_retry(pool, batch)
        finally:
            await pool.close()

    assert asyncio.run(run()).uplinks == 5
    assert len(failures) == 1
    assert env.scalar("select count(*) from uplinks") == 5
