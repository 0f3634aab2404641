"""Open-data exports: devices as CSV and GeoJSON, readings as CSV, streamed and scoped."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from fastapi.testclient import TestClient

from api import exports
from api.app import init_connection
from tests.api.access import bearer, issue_key
from tests.api.test_devices_api import AIR, BIN, LIGHT, LYON, OTHER, fill, full_app
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

T0 = datetime(2026, 11, 1, tzinfo=UTC)
RANGE = {"start": "2026-11-01T00:00:00Z", "end": "2026-11-03T00:00:00Z"}
READINGS = [
    *((T0 + timedelta(minutes=10 * i), LIGHT, "active_power", "", 100.0 + i) for i in range(10)),
    *((T0 + timedelta(minutes=10 * i), OTHER, "filling_level", "", 50.0 + i) for i in range(5)),
    *((T0 + timedelta(days=1, hours=i), BIN, "filling_level", "", 20.0 + i) for i in range(3)),
    (T0 + timedelta(days=3), BIN, "filling_level", "", 90.0),  # after the range
]


@pytest.fixture
def app(env: ServiceEnv) -> Iterator[TestClient]:
    fill(env)
    env.query(
        "insert into readings (time, dev_eui, quantity, channel, value) "
        "select * from unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::float8[])",
        *(list(column) for column in zip(*READINGS, strict=True)),
    )
    with TestClient(full_app(env.settings)) as c:
        yield c


def table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_readings_of_a_range_as_csv_scoped_to_the_caller(env: ServiceEnv, app: TestClient) -> None:
    response = app.get(
        "/exports/readings.csv", params=RANGE, headers=bearer(issue_key(env, "viewer", ["lyon"]))
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="readings_20261101T0000Z_20261103T0000Z.csv"'
    )
    rows = table(response.text)
    assert len(rows) == 13
    assert {r["dev_eui"] for r in rows} == {LIGHT, BIN}
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    assert rows[0] == {
        "time": "2026-11-01T00:00:00+00:00",
        "dev_eui": LIGHT,
        "quantity": "active_power",
        "channel": "",
        "value": "100.0",
        "unit": "W",
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"class": "waste_bin"}, {(BIN, 3), (OTHER, 5)}),
        ({"quantity": "active_power"}, {(LIGHT, 10)}),
        ({"dev_eui": OTHER.upper()}, {(OTHER, 5)}),
        ({"class": "air_quality"}, set()),
    ],
)
def test_readings_filters(
    env: ServiceEnv, app: TestClient, params: dict[str, str], expected: set[tuple[str, int]]
) -> None:
    response = app.get(
        "/exports/readings.csv",
        params={**RANGE, **params},
        headers=bearer(issue_key(env, "viewer")),
    )

    rows = table(response.text)
    assert {(d, sum(r["dev_eui"] == d for r in rows)) for d in {r["dev_eui"] for r in rows}} == (
        expected
    )


def test_a_device_of_another_tenant_is_not_found(env: ServiceEnv, app: TestClient) -> None:
    response = app.get(
        "/exports/readings.csv",
        params={**RANGE, "dev_eui": OTHER},
        headers=bearer(issue_key(env, "viewer", ["lyon"])),
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"end": "2026-11-03T00:00:00Z"}, "start"),
        ({"start": "2025-11-01T00:00:00Z", "end": "2026-11-03T00:00:00Z"}, "end"),
        ({"start": "2026-11-01T00:00:00", "end": "2026-11-03T00:00:00Z"}, "start"),
        ({"start": "2026-11-03T00:00:00Z", "end": "2026-11-01T00:00:00Z"}, "end"),
        ({**RANGE, "quantity": "warp"}, "quantity"),
        ({**RANGE, "class": "lamp"}, "class"),
        ({**RANGE, "dev_eui": "nope"}, "dev_eui"),
    ],
)
def test_a_bad_range_or_filter_is_a_422(
    env: ServiceEnv, app: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = app.get(
        "/exports/readings.csv", params=params, headers=bearer(issue_key(env, "viewer"))
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["parameter"] == parameter


def test_a_year_and_a_day_is_the_longest_range(env: ServiceEnv, app: TestClient) -> None:
    params = {"start": "2025-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"}

    response = app.get("/exports/readings.csv", params=params, headers=bearer(issue_key(env)))

    assert response.status_code == 200
    assert len(table(response.text)) == 15  # the range ends before the bin readings


async def test_readings_are_read_from_a_cursor_in_chunks(
    env: ServiceEnv, app: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "CHUNK_ROWS", 4)
    pool = await asyncpg.create_pool(
        env.settings.database_url, min_size=1, max_size=1, init=init_connection
    )
    args = (T0, T0 + timedelta(days=2), None, None, None, None)
    try:
        sizes = [len(rows) async for rows in exports.chunks(pool, exports.READINGS, *args)]
    finally:
        await pool.close()

    assert sizes == [4, 4, 4, 4, 2]


def test_the_stream_holds_every_chunk(
    env: ServiceEnv, app: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "CHUNK_ROWS", 4)

    response = app.get("/exports/readings.csv", params=RANGE, headers=bearer(issue_key(env)))

    values = [float(r["value"]) for r in table(response.text)]
    assert sorted(values) == sorted(v for t, *_, v in READINGS if t < T0 + timedelta(days=2))


def test_devices_as_csv_in_the_import_format(env: ServiceEnv, app: TestClient) -> None:
    response = app.get("/exports/devices.csv", headers=bearer(issue_key(env, "viewer", ["lyon"])))

    assert response.headers["content-disposition"] == 'attachment; filename="devices.csv"'
    rows = {r["dev_eui"]: r for r in table(response.text)}
    assert set(rows) == LYON
    assert rows[BIN]["tags"] == "quartier=nord;reseau=est"
    assert rows[BIN]["param.bin_height_mm"] == "1200"
    assert rows[BIN]["param.report_interval_s"] == "600"
    assert rows[LIGHT]["param.bin_height_mm"] == ""
    assert (rows[AIR]["latitude"], rows[LIGHT]["longitude"]) == ("", "4.8357")


def test_an_exported_file_imports_back_unchanged(env: ServiceEnv, app: TestClient) -> None:
    admin = bearer(issue_key(env, "admin"))
    registry = "select dev_eui, tenant_id, model, device_class, name, latitude, longitude, zone, tags, params from devices order by dev_eui"
    before = env.query(registry)

    exported = app.get("/exports/devices.csv", headers=admin).text
    imported = app.post(
        "/devices/import", content=exported, headers={**admin, "Content-Type": "text/csv"}
    )

    assert imported.json() == {"created": 0, "updated": 5}
    assert env.query(registry) == before


def test_devices_as_geojson(env: ServiceEnv, app: TestClient) -> None:
    response = app.get(
        "/exports/devices.geojson",
        params={"class": "streetlight"},
        headers=bearer(issue_key(env, "viewer", ["lyon"])),
    )
    everything = app.get(
        "/exports/devices.geojson", headers=bearer(issue_key(env, "viewer", ["lyon"]))
    )

    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["content-disposition"] == 'attachment; filename="devices.geojson"'
    body = json.loads(response.text)
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == [LIGHT]
    assert body["features"][0]["geometry"]["coordinates"] == [4.8357, 45.764]
    features = {f["id"]: f for f in everything.json()["features"]}
    assert set(features) == LYON
    assert features[AIR]["geometry"] is None


def test_an_empty_export_is_still_a_collection(env: ServiceEnv, app: TestClient) -> None:
    response = app.get(
        "/exports/devices.geojson",
        params={"zone": "nowhere"},
        headers=bearer(issue_key(env, "viewer")),
    )

    assert response.json() == {"type": "FeatureCollection", "features": []}
