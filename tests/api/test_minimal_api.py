"""The minimal API over a real database filled through the ingest pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest import store
from ingest.pipeline import Message, ModelResolver, process
from simulators.simulate import messages
from tests.api.access import bearer, issue_key
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

START = datetime(2026, 11, 1, tzinfo=UTC)
MODELS = ["milesight-ws558", "decentlab-dl-pm"]


def ingest_directly(env: ServiceEnv, count: int) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(env.settings.database_url)
        try:
            await store.prepare_connection(conn)
            batch = [Message(t, p) for t, p in messages(4, count, 5, START, "json", "", MODELS)]
            await store.write(conn, process(batch, ModelResolver({}, {})).batch)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture
def client(env: ServiceEnv) -> Iterator[TestClient]:
    ingest_directly(env, 40)
    with TestClient(create_app(env.settings), headers=bearer(issue_key(env))) as c:
        yield c


def test_health_reports_database_and_broker(client: TestClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    usage = body.pop("notify_queue_usage")
    assert body == {"status": "ok", "database": True, "broker": True}
    assert 0 <= usage < 0.01  # the queue is cluster-wide: other databases' listeners count


def test_devices_are_listed_and_filtered_by_class(client: TestClient) -> None:
    everything = client.get("/devices").json()
    lights = client.get("/devices", params={"class": "streetlight"}).json()

    assert len(everything) == 4
    assert {d["device_class"] for d in lights} == {"streetlight"}
    assert len(lights) == 2


def test_one_device_has_its_latest_values_with_units(client: TestClient) -> None:
    dev_eui = client.get("/devices", params={"model": "decentlab-dl-pm"}).json()[0]["dev_eui"]

    device = client.get(f"/devices/{dev_eui}").json()

    latest = {r["quantity"]: r for r in device["latest"]}
    assert latest["pm2_5"]["unit"] == "µg/m³"
    assert "temperature" in latest


def test_readings_of_a_range_are_ordered_and_bounded(client: TestClient) -> None:
    dev_eui = client.get("/devices", params={"model": "milesight-ws558"}).json()[0]["dev_eui"]
    params = {"start": "2026-11-01T00:00:00+00:00", "end": "2026-11-01T01:00:00+00:00"}

    readings = client.get(f"/devices/{dev_eui}/readings", params=params).json()

    times = [r["time"] for r in readings]
    assert readings
    assert times == sorted(times)
    assert all("2026-11-01T00" in t for t in times)


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        (
            "/devices/xyz/readings",
            {"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"},
            "dev_eui",
        ),
        (
            "/devices/0101010101010101/readings",
            {"start": "2026-11-02T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
            "end",
        ),
        (
            "/devices/0101010101010101/readings",
            {"start": "yesterday", "end": "2026-11-01T00:00:00Z"},
            "start",
        ),
        (
            "/devices/0101010101010101/readings",
            {"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z", "quantity": "warp"},
            "quantity",
        ),
    ],
)
def test_bad_parameters_get_a_422_naming_the_parameter(
    client: TestClient, path: str, params: dict[str, str], parameter: str
) -> None:
    response = client.get(path, params=params)

    assert response.status_code == 422
    assert parameter in response.text


def test_unknown_device_is_404(client: TestClient) -> None:
    assert client.get("/devices/0000000000000000").status_code == 404
