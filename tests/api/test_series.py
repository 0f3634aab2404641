"""Time series in buckets and the latest values of a class, over a real database filled by
the real writer: rollups and raw readings agree, calendar buckets follow Paris time,
every device outside the key's tenants is not found."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api.app import create_app
from api.series import BUCKETS, floor, following, whole_buckets
from ingest import store
from ingest.pipeline import Message, ModelResolver, process
from simulators.simulate import messages
from tests.api.access import bearer, issue_key
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

START = datetime(2026, 11, 1, tzinfo=UTC)
MODELS = ["pepperl-fuchs-wilsen-sonic-level", "milesight-em400-mud", "imbuildings-people-counter"]
AGGS = ["avg", "min", "max", "sum", "count", "last"]
LYON = "0004a30b001c0001"
VILLEURBANNE = "0004a30b001c0002"
SILENT = "0004a30b001c0003"
PARIS = ZoneInfo("Europe/Paris")
INSTANTS = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
)


def write(env: ServiceEnv, batch: store.WriteBatch) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(env.settings.database_url)
        try:
            await store.prepare_connection(conn)
            await store.write(conn, batch)
        finally:
            await conn.close()

    asyncio.run(run())


def readings(
    dev_eui: str, quantity: str, *points: tuple[str, float], channel: str = ""
) -> list[store.ReadingRow]:
    return [(datetime.fromisoformat(t), dev_eui, quantity, channel, v, None) for t, v in points]


def add_devices(env: ServiceEnv) -> None:
    """Devices of two communes, and readings through the writer around the change to winter
    time in Paris (2026-10-25, a day of 25 hours) and a month boundary."""
    env.query("insert into tenants (id) values ('lyon'), ('villeurbanne')")
    env.query(
        "insert into devices (dev_eui, tenant_id, device_class, name, zone, latitude, longitude) "
        "values ($1, 'lyon', 'air_quality', 'Place \"Bellecour\" \\ nord', 'presqu''île', 45.757, 4.832), "
        "($2, 'villeurbanne', 'air_quality', 'Gratte-Ciel', 'centre', null, null), "
        "($3, 'lyon', 'air_quality', 'muet', 'presqu''île', 45.76, 4.83)",
        LYON, VILLEURBANNE, SILENT,
    )  # fmt: skip
    hourly = [
        ((datetime(2026, 10, 24, 20, tzinfo=UTC) + timedelta(hours=h)).isoformat(), float(h))
        for h in range(31)  # 20:00Z on the 24th to 02:00Z on the 26th
    ]
    rows = [
        *readings(LYON, "temperature", *hourly),
        *readings(LYON, "pm2_5", ("2026-10-31T22:30:00+00:00", 10.0)),  # Oct 31, 23:30 Paris
        *readings(LYON, "pm2_5", ("2026-10-31T23:30:00+00:00", 20.0)),  # Nov 1, 00:30 Paris
        *readings(LYON, "pm2_5", ("2026-11-15T12:00:00+00:00", 30.0)),
        *readings(LYON, 'object.odd"key', ("2026-11-15T12:00:00+00:00", 1.5)),
        *readings(LYON, "battery_level", ("2026-11-15T12:00:00+00:00", 80.0), channel="1"),
        *readings(VILLEURBANNE, "temperature", ("2026-10-25T12:00:00+00:00", 9.0)),
    ]
    write(env, store.WriteBatch(readings=rows))


def ingest_city(env: ServiceEnv) -> None:
    """Through the real pipeline: three decoded devices (their sample payloads vary little)
    and two without a decoder whose ChirpStack `object` carries random values."""
    decoded = [Message(t, p) for t, p in messages(3, 120, 5, START, "json", "", MODELS)]
    rng = random.Random(7)
    generic = []
    for topic, payload in messages(2, 120, 9, START, "json", "", ["milesight-ws558"]):
        doc = orjson.loads(payload)
        doc["deviceInfo"]["tags"] = {}
        doc["object"] = {"level": round(rng.uniform(0, 100), 3), "count": rng.randint(0, 50)}
        generic.append(Message(topic, orjson.dumps(doc)))
    write(env, process(decoded + generic, ModelResolver({}, {})).batch)


@pytest.fixture
def client(env: ServiceEnv) -> Iterator[TestClient]:
    add_devices(env)
    with TestClient(create_app(env.settings), headers=bearer(issue_key(env))) as c:
        yield c


def series(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/series", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def points_of(body: dict[str, Any]) -> list[list[Any]]:
    assert len(body["series"]) == 1
    points: list[list[Any]] = body["series"][0]["points"]
    return points


@pytest.mark.parametrize("source", ["rollups", "readings"])
def test_daily_buckets_are_days_in_paris_even_the_day_of_25_hours(
    client: TestClient, source: str
) -> None:
    body = series(
        client, dev_eui=LYON, quantity="temperature", bucket="1d", agg="count",
        start="2026-10-24T12:00:00+02:00", end="2026-10-27T00:00:00+01:00", source=source,
    )  # fmt: skip

    assert body["source"] == source
    assert points_of(body) == [
        ["2026-10-23T22:00:00+00:00", 2],  # the 24th from 22:00 local: 20:00Z, 21:00Z
        ["2026-10-24T22:00:00+00:00", 25],
        ["2026-10-25T23:00:00+00:00", 4],
    ]


@pytest.mark.parametrize("source", ["rollups", "readings"])
def test_month_buckets_start_on_the_first_at_midnight_in_paris(
    client: TestClient, source: str
) -> None:
    body = series(
        client, dev_eui=LYON, quantity="pm2_5", bucket="1mo", agg="sum",
        start="2026-10-01T00:00:00+02:00", end="2026-12-01T00:00:00+01:00", source=source,
    )  # fmt: skip

    assert points_of(body) == [
        ["2026-09-30T22:00:00+00:00", 10.0],
        ["2026-10-31T23:00:00+00:00", 50.0],
    ]


def test_week_buckets_start_on_monday_in_paris(client: TestClient) -> None:
    body = series(
        client, dev_eui=LYON, quantity="pm2_5", bucket="1w", agg="count",
        start="2026-10-26T00:00:00+01:00", end="2026-11-16T00:00:00+01:00",
    )  # fmt: skip

    # Sunday 1 November 00:30 in Paris belongs to the week of Monday 26 October
    assert points_of(body) == [
        ["2026-10-25T23:00:00+00:00", 2],
        ["2026-11-08T23:00:00+00:00", 1],
    ]


def test_the_buckets_holding_start_and_end_are_returned_whole(client: TestClient) -> None:
    body = series(
        client, dev_eui=LYON, quantity="temperature", bucket="3h", agg="count",
        start="2026-10-25T04:59:00Z", end="2026-10-25T06:01:00Z",
    )  # fmt: skip

    assert points_of(body) == [["2026-10-25T03:00:00+00:00", 3], ["2026-10-25T06:00:00+00:00", 3]]


def test_sub_hour_buckets_come_from_the_readings_and_empty_ones_are_absent(
    client: TestClient,
) -> None:
    body = series(
        client, dev_eui=LYON, quantity="temperature", bucket="15m", agg="max",
        start="2026-10-25T10:00:00Z", end="2026-10-25T12:00:00Z",
    )  # fmt: skip

    assert body["source"] == "readings"
    assert body["series"][0]["unit"] == "°C"
    assert points_of(body) == [
        ["2026-10-25T10:00:00+00:00", 14.0],
        ["2026-10-25T11:00:00+00:00", 15.0],
    ]


def test_channels_and_quantities_make_separate_series(client: TestClient) -> None:
    body = series(
        client, dev_eui=[LYON, SILENT], quantity=["pm2_5", "battery_level"], bucket="1d",
        agg="last", start="2026-11-15T00:00:00+01:00", end="2026-11-16T00:00:00+01:00",
    )  # fmt: skip

    assert [(s["dev_eui"], s["quantity"], s["channel"], s["unit"]) for s in body["series"]] == [
        (LYON, "battery_level", "1", "%"),
        (LYON, "pm2_5", "", "µg/m³"),
    ]
    only_one = series(
        client, dev_eui=LYON, quantity="battery_level", channel="0", bucket="1d",
        start="2026-11-15T00:00:00+01:00", end="2026-11-16T00:00:00+01:00",
    )  # fmt: skip
    assert only_one["series"] == []


@pytest.mark.parametrize("bucket", ["1h", "3h", "1d"])
def test_rollups_and_raw_readings_give_the_same_answer(
    env: ServiceEnv, client: TestClient, bucket: str
) -> None:
    ingest_city(env)
    devices = [r["dev_eui"] for r in env.query("select distinct dev_eui from uplinks")]
    asked = {
        "dev_eui": devices,
        "quantity": ["object.level", "object.count", "filling_level", "distance", "people_out"],
        "start": "2026-10-31T23:00:00Z",
        "end": "2026-11-01T12:00:00Z",
        "bucket": bucket,
    }

    for agg in AGGS:
        rollups = series(client, **asked, agg=agg)
        raw = series(client, **asked, agg=agg, source="readings")

        assert (rollups["source"], raw["source"]) == ("rollups", "readings")
        assert len(rollups["series"]) == 8
        for a, b in zip(rollups["series"], raw["series"], strict=True):
            assert {**a, "points": None} == {**b, "points": None}
            assert [t for t, _ in a["points"]] == [t for t, _ in b["points"]]
            assert [v for _, v in a["points"]] == pytest.approx([v for _, v in b["points"]])
            if agg in ("min", "max", "count", "last"):
                assert a["points"] == b["points"]


def test_hourly_rollups_match_the_readings_themselves(env: ServiceEnv, client: TestClient) -> None:
    ingest_city(env)
    dev_eui = env.scalar("select min(dev_eui) from readings where quantity = 'object.level'")

    body = series(
        client, dev_eui=dev_eui, quantity="object.level", bucket="1h", agg="avg",
        start="2026-11-01T00:00:00Z", end="2026-11-02T00:00:00Z",
    )  # fmt: skip

    expected = env.query(
        "select time_bucket('1 hour', time) as t, avg(value) as v from readings "
        "where dev_eui = $1 and quantity = 'object.level' group by t order by t",
        dev_eui,
    )
    assert len(expected) >= 10
    assert len({r["v"] for r in expected}) == len(expected)
    assert [datetime.fromisoformat(t) for t, _ in points_of(body)] == [r["t"] for r in expected]
    assert [v for _, v in points_of(body)] == pytest.approx([r["v"] for r in expected])


def test_a_device_of_another_commune_is_not_found(env: ServiceEnv, client: TestClient) -> None:
    lyon = bearer(issue_key(env, "viewer", ["lyon"]))
    asked = {
        "quantity": "temperature",
        "start": "2026-10-25T00:00:00Z",
        "end": "2026-10-26T00:00:00Z",
    }

    mine = client.get("/series", params={**asked, "dev_eui": LYON}, headers=lyon)
    theirs = client.get("/series", params={**asked, "dev_eui": [LYON, VILLEURBANNE]}, headers=lyon)
    unknown = client.get("/series", params={**asked, "dev_eui": "FFFFFFFFFFFFFFFF"}, headers=lyon)

    assert mine.status_code == 200
    assert theirs.status_code == 404
    assert theirs.json()["detail"] == f"no device {VILLEURBANNE}"
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no device ffffffffffffffff"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"quantity": "warp"}, "quantity"),
        ({"quantity": "object.\x01"}, "quantity"),
        ({"start": "2026-10-26T00:00:00Z", "end": "2026-10-25T00:00:00Z"}, "end"),
        ({"start": "2026-10-25T00:00:00"}, "start"),
        ({"start": "yesterday"}, "start"),
        (
            {"bucket": "1m", "start": "2026-10-01T00:00:00Z", "end": "2026-10-31T00:00:00Z"},
            "bucket",
        ),
        ({"bucket": "2h"}, "bucket"),
        ({"dev_eui": "xyz"}, "dev_eui"),
        ({"dev_eui": [f"{i:016x}" for i in range(101)]}, "dev_eui"),
        ({"agg": "median"}, "agg"),
        ({"bucket": "5m", "source": "rollups"}, "source"),
        ({"end": "9999-12-31T23:00:00Z"}, "end"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(
    client: TestClient, params: dict[str, Any], parameter: str
) -> None:
    asked = {
        "dev_eui": LYON, "quantity": "temperature", "bucket": "1h",
        "start": "2026-10-25T00:00:00Z", "end": "2026-10-26T00:00:00Z", **params,
    }  # fmt: skip

    response = client.get("/series", params=asked)

    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["parameter"] == parameter


def test_a_range_of_ten_thousand_buckets_is_the_most_allowed(client: TestClient) -> None:
    asked = {"dev_eui": LYON, "quantity": "temperature", "bucket": "1m", "agg": "count"}
    just_enough = {"start": "2026-10-20T00:00:00Z", "end": "2026-10-26T22:40:00Z"}
    one_more = {"start": "2026-10-20T00:00:00Z", "end": "2026-10-26T22:40:01Z"}

    body = series(client, **asked, **just_enough)
    refused = client.get("/series", params={**asked, **one_more})

    assert len(points_of(body)) == 31
    assert refused.status_code == 422
    assert refused.json()["details"][0] == {
        "parameter": "bucket",
        "message": "10001 buckets from start to end; at most 10000",
    }


def latest(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/latest", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = orjson.loads(response.content)
    return body


def test_latest_lists_every_device_of_the_class_with_its_newest_values(
    client: TestClient,
) -> None:
    body = latest(client, **{"class": "air_quality"})

    assert body["class"] == "air_quality"
    by_eui = {d["dev_eui"]: d for d in body["devices"]}
    assert list(by_eui) == [LYON, VILLEURBANNE, SILENT]
    lyon = by_eui[LYON]
    assert (lyon["name"], lyon["zone"]) == ('Place "Bellecour" \\ nord', "presqu'île")
    assert (lyon["latitude"], lyon["longitude"]) == (45.757, 4.832)
    assert lyon["values"] == {
        "temperature": {"time": "2026-10-26T02:00:00+00:00", "value": 30.0, "unit": "°C"},
        "pm2_5": {"time": "2026-11-15T12:00:00+00:00", "value": 30.0, "unit": "µg/m³"},
        "battery_level:1": {"time": "2026-11-15T12:00:00+00:00", "value": 80.0, "unit": "%"},
        'object.odd"key': {"time": "2026-11-15T12:00:00+00:00", "value": 1.5, "unit": ""},
    }
    assert by_eui[VILLEURBANNE]["latitude"] is None
    assert by_eui[SILENT]["values"] == {}


def test_latest_filters_by_quantity_zone_and_tenant(client: TestClient) -> None:
    pm = latest(client, **{"class": "air_quality", "quantity": ["pm2_5", "co2"]})
    centre = latest(client, **{"class": "air_quality", "zone": "centre"})
    lyon = latest(client, **{"class": "air_quality", "tenant": "lyon"})
    bins = latest(client, **{"class": "waste_bin"})

    assert [list(d["values"]) for d in pm["devices"]] == [["pm2_5"], [], []]
    assert [d["dev_eui"] for d in centre["devices"]] == [VILLEURBANNE]
    assert [d["dev_eui"] for d in lyon["devices"]] == [LYON, SILENT]
    assert bins == {"class": "waste_bin", "devices": []}


def test_latest_shows_only_the_devices_of_the_keys_communes(
    env: ServiceEnv, client: TestClient
) -> None:
    villeurbanne = bearer(issue_key(env, "viewer", ["villeurbanne"]))

    response = client.get("/latest", params={"class": "air_quality"}, headers=villeurbanne)
    asked_for_lyon = client.get(
        "/latest", params={"class": "air_quality", "tenant": "lyon"}, headers=villeurbanne
    )

    assert [d["dev_eui"] for d in response.json()["devices"]] == [VILLEURBANNE]
    assert asked_for_lyon.json()["devices"] == []


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"class": "lamp"}, "class"),
        ({"class": "air_quality", "quantity": "warp"}, "quantity"),
        ({}, "class"),
    ],
)
def test_latest_refuses_bad_parameters(
    client: TestClient, params: dict[str, Any], parameter: str
) -> None:
    response = client.get("/latest", params=params)

    assert response.status_code == 422
    assert response.json()["details"][0]["parameter"] == parameter


def test_the_latest_values_follow_the_writer(env: ServiceEnv, client: TestClient) -> None:
    write(
        env,
        store.WriteBatch(readings=readings(SILENT, "co2", ("2026-11-20T08:00:00+00:00", 612.0))),
    )
    write(
        env,
        store.WriteBatch(readings=readings(SILENT, "co2", ("2026-11-20T07:00:00+00:00", 580.0))),
    )

    silent = latest(client, **{"class": "air_quality"})["devices"][2]

    assert silent["values"] == {
        "co2": {"time": "2026-11-20T08:00:00+00:00", "value": 612.0, "unit": "ppm"}
    }


@given(t=INSTANTS, name=st.sampled_from(sorted(BUCKETS)))
def test_every_instant_lies_in_the_bucket_floor_gives_it(t: datetime, name: str) -> None:
    bucket = BUCKETS[name]
    lo = floor(t, bucket, PARIS)
    hi = following(lo, bucket, PARIS)

    assert lo <= t < hi
    assert floor(hi, bucket, PARIS) == hi
    if bucket.calendar:
        assert lo.astimezone(PARIS).time().isoformat() == "00:00:00"


@given(t=INSTANTS, days=st.integers(1, 800), name=st.sampled_from(sorted(BUCKETS)))
def test_whole_buckets_counts_the_buckets_it_spans(t: datetime, days: int, name: str) -> None:
    bucket = BUCKETS[name]
    lo, hi, count = whole_buckets(t, t + timedelta(days=days), bucket, PARIS)

    steps, edge = 0, lo
    while edge < hi and steps <= 20_000:
        edge, steps = following(edge, bucket, PARIS), steps + 1
    assert (edge, steps) == (hi, count) or (steps > 20_000 and count > 20_000)


def test_buckets_start_where_timescaledb_starts_them(env: ServiceEnv) -> None:
    instants = [
        datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC) + timedelta(minutes=37 * i)
        for i in range(-60, 60)
    ] + [datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)]
    for name, bucket in BUCKETS.items():
        zone = "Europe/Paris" if bucket.calendar else "UTC"
        placed = env.query(
            "select time_bucket($1::text::interval, t, $2::text) as b from unnest($3::timestamptz[]) t",
            bucket.interval, zone, instants,
        )  # fmt: skip

        assert [r["b"] for r in placed] == [floor(t, bucket, PARIS) for t in instants], name
