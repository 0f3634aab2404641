"""Alerts through the API: listing, history, acknowledge and resolve, per device."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest import alerts, store
from ingest.alerts import RuleInfo, Transition
from tests.api.access import bearer, issue_key
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

DEV = "0004a30b001c0530"
T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture
def client(env: ServiceEnv) -> Iterator[TestClient]:
    env.query("insert into tenants (id) values ('lyon')")
    env.query("insert into devices (dev_eui, tenant_id) values ($1, 'lyon')", DEV)
    env.query("insert into rules (id, tenant_id, definition) values ('bin-full', 'lyon', '{}')")
    rule = RuleInfo("lyon", "bin full", "warning", [])

    async def fire() -> None:
        conn = await asyncpg.connect(env.settings.database_url)
        await store.prepare_connection(conn)
        try:
            for minutes, kind in ((0, "fired"), (30, "cleared"), (60, "fired")):
                moment = T0 + timedelta(minutes=minutes)
                await alerts.apply_transitions(
                    conn, [Transition("bin-full", DEV, "", kind, moment, 90.0)], {"bin-full": rule}
                )
        finally:
            await conn.close()

    asyncio.run(fire())
    with TestClient(create_app(env.settings), headers=bearer(issue_key(env))) as c:
        yield c


def test_open_alerts_and_a_devices_history(client: TestClient) -> None:
    open_alerts = client.get("/alerts", params={"status": "open"}).json()
    history = client.get(f"/devices/{DEV}/alerts").json()

    assert [a["status"] for a in open_alerts] == ["firing"]
    assert [a["status"] for a in history] == ["firing", "resolved"]
    assert history[1]["resolved_by"] == "auto"


def test_acknowledge_then_resolve_records_who_and_when(client: TestClient) -> None:
    alert_id = client.get("/alerts", params={"status": "firing"}).json()[0]["id"]

    acknowledged = client.post(f"/alerts/{alert_id}/acknowledge", json={"actor": "agent.proprete"})
    again = client.post(f"/alerts/{alert_id}/acknowledge", json={"actor": "agent.proprete"})
    resolved = client.post(f"/alerts/{alert_id}/resolve", json={"actor": "agent.proprete"})

    assert acknowledged.status_code == 200
    assert acknowledged.json()["acknowledged_by"] == "agent.proprete"
    assert again.status_code == 409
    assert resolved.json()["status"] == "resolved"
    assert [e["kind"] for e in resolved.json()["events"]] == ["fired", "acknowledged", "resolved"]


def test_unknown_alert_and_device_are_404_and_bad_status_is_422(client: TestClient) -> None:
    assert client.post("/alerts/999999/resolve", json={}).status_code == 404
    assert client.get("/devices/0000000000000001/alerts").status_code == 404
    response = client.get("/alerts", params={"status": "burning"})
    assert response.status_code == 422
    assert "status" in response.text
