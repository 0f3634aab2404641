"""Two bridges write batches at once: what one batch locks must not stop the other."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from ingest import store
from ingest.pipeline import Message, ModelResolver, process
from simulators.simulate import messages
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

START = datetime(2026, 11, 1, tzinfo=UTC)


def batches_of_one_tenant() -> tuple[store.WriteBatch, store.WriteBatch, store.WriteBatch]:
    """Three batches of the simulated commune, each with devices the others do not have."""
    uplinks = [Message(t, p) for t, p in messages(9, 9, 3, START, "json")]
    first, second, third = (
        process(uplinks[i : i + 3], ModelResolver({}, {})).batch for i in (0, 3, 6)
    )
    tenants = {row[1] for b in (first, second, third) for row in b.devices}
    assert len(tenants) == 1
    assert {row[0] for row in first.devices}.isdisjoint(row[0] for row in second.devices)
    return first, second, third


def test_a_batch_in_flight_does_not_hold_its_tenant_against_another_bridge(
    env: ServiceEnv,
) -> None:
    first, second, third = batches_of_one_tenant()

    async def run(conn: asyncpg.Connection) -> int:
        await store.write(conn, first)  # the tenant exists, named
        other = await asyncpg.connect(env.settings.database_url)
        try:
            await store.prepare_connection(other)
            await other.execute("set lock_timeout = '2s'")
            async with conn.transaction():  # a batch written, not yet committed
                await store.write(conn, second)
                counts = await store.write(other, third)  # would wait for the tenant row
            return counts.uplinks
        finally:
            await other.close()

    assert env.on(run) == 3


def test_a_tenant_first_seen_without_a_name_gets_it_later(env: ServiceEnv) -> None:
    first, second, _ = batches_of_one_tenant()
    first.devices = [(row[0], row[1], "", *row[3:]) for row in first.devices]

    async def run(conn: asyncpg.Connection) -> list[str]:
        await store.write(conn, first)
        unnamed = await conn.fetchval("select name from tenants")
        await store.write(conn, second)
        return [unnamed, await conn.fetchval("select name from tenants")]

    assert env.on(run) == ["", "Ville simulée"]
