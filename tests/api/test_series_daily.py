"""Calendar buckets over the daily rollups: days below the watermark come from there, the
others and the stale ones from the hourly rollups, and the answer is the one the hourly
rollups and the readings themselves give, whatever the watermark, the late readings and
the days of 23 and 25 hours. Values are in quarters, so that every sum is exact and the
answers can be compared whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from ingest import rollups_daily, store
from tests.api.access import bearer, issue_key
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

PARIS = ZoneInfo("Europe/Paris")
HOUR = timedelta(hours=1)
LAMP = "0004a30b001c0301"
BIN = "0004a30b001c0302"
# (device, quantity, channel)
SERIES = [(LAMP, "active_power", ""), (LAMP, "circuit_state", "1"), (BIN, "filling_level", "")]
BUCKETS = ["1d", "1w", "1mo"]
AGGS = ["avg", "min", "max", "sum", "count", "last"]


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


# Two weeks around each change of clock and the end of a month: the 25th of October
# 2026 has 25 hours, the 28th of March 2027 has 23.
SEASONS = {"autumn": paris("2026-10-20T00:00"), "spring": paris("2027-03-22T00:00")}
SPAN_DAYS = 14
ASKED = {
    "autumn": {"start": "2026-10-01T00:00:00+02:00", "end": "2026-12-01T00:00:00+01:00"},
    "spring": {"start": "2027-03-01T00:00:00+01:00", "end": "2027-05-01T00:00:00+02:00"},
}


def write(env: ServiceEnv, rows: list[store.ReadingRow]) -> None:
    env.on(lambda conn: store.write(conn, store.WriteBatch(readings=rows)))


def refresh(env: ServiceEnv, now: datetime) -> rollups_daily.DailyRefresh:
    return env.on(lambda conn: rollups_daily.refresh(conn, PARIS, now, HOUR))


def every_20_minutes(start: datetime, days: int) -> list[store.ReadingRow]:
    return [
        (start + i * timedelta(minutes=20), d, q, c, ((i * 7 + n) % 41) / 4, None)
        for i in range(days * 72)
        for n, (d, q, c) in enumerate(SERIES)
    ]


def add_devices(env: ServiceEnv) -> None:
    env.query("insert into tenants (id) values ('lyon')")
    env.query(
        "insert into devices (dev_eui, tenant_id, device_class) "
        "values ($1, 'lyon', 'streetlight'), ($2, 'lyon', 'waste_bin')",
        LAMP, BIN,
    )  # fmt: skip


def make_client(env: ServiceEnv, timezone: str = "Europe/Paris") -> TestClient:
    app = create_app(env.settings.model_copy(update={"timezone": timezone}))
    return TestClient(app, headers=bearer(issue_key(env)))


@pytest.fixture
def client(env: ServiceEnv) -> Iterator[TestClient]:
    add_devices(env)
    with make_client(env) as c:
        yield c


def answer(client: TestClient, season: str, bucket: str, agg: str, source: str) -> Any:
    params = {
        "dev_eui": [LAMP, BIN], "quantity": ["active_power", "circuit_state", "filling_level"],
        "bucket": bucket, "agg": agg, "source": source, **ASKED[season],
    }  # fmt: skip
    response = client.get("/series", params=params)
    assert response.status_code == 200, response.text
    return response.json()["series"]


def answers(client: TestClient, season: str, source: str = "rollups") -> dict[str, Any]:
    return {
        f"{bucket} {agg}": answer(client, season, bucket, agg, source)
        for bucket in BUCKETS
        for agg in AGGS
    }


def test_summing_days_changes_no_answer_late_readings_included(
    env: ServiceEnv, client: TestClient
) -> None:
    write(env, every_20_minutes(SEASONS["autumn"], SPAN_DAYS))
    hourly_only = answers(client, "autumn")
    assert sum(len(s["points"]) for s in hourly_only["1d count"]) == 3 * SPAN_DAYS
    assert answers(client, "autumn", "readings") == hourly_only

    # the watermark within the week of the 26th and within October
    refresh(env, paris("2026-10-28T01:30"))
    assert env.scalar("select count(distinct day) from rollups_daily") == 8
    assert answers(client, "autumn") == hourly_only

    late = [
        (paris("2026-10-25T02:30"), LAMP, "active_power", "", 99.25, None),  # the 25-hour day
        (paris("2026-10-22T23:59"), BIN, "filling_level", "", -3.5, None),
        (paris("2026-10-28T12:00"), LAMP, "circuit_state", "1", 1.0, None),  # after the watermark
    ]
    write(env, late)
    assert env.scalar("select count(*) from rollups_daily_stale") == 2
    with_late = answers(client, "autumn", "readings")
    assert with_late != hourly_only
    assert answers(client, "autumn") == with_late

    refresh(env, paris("2026-12-01T00:00"))
    assert env.scalar("select count(*) from rollups_daily_stale") == 0
    assert answers(client, "autumn") == with_late


def daily_max(client: TestClient) -> float:
    [lamp, _, _] = answer(client, "autumn", "1d", "max", "rollups")
    day = "2026-10-21T22:00:00+00:00"  # the 22nd in Paris
    return float(next(v for t, v in lamp["points"] if t == day))


def test_days_below_the_watermark_are_read_from_the_daily_rollups_unless_stale(
    env: ServiceEnv, client: TestClient
) -> None:
    write(env, every_20_minutes(SEASONS["autumn"], SPAN_DAYS))
    refresh(env, paris("2026-10-28T01:30"))
    hourly = daily_max(client)
    the_22nd = paris("2026-10-22T00:00")

    env.query("update rollups_daily set max = 1000 where day = $1 and dev_eui = $2", the_22nd, LAMP)
    from_daily = daily_max(client)
    with make_client(env, "UTC") as elsewhere:
        # days of another clock are not these days: the hourly rollups answer
        utc_max = elsewhere.get(
            "/series",
            params={
                "dev_eui": LAMP, "quantity": "active_power", "bucket": "1d", "agg": "max",
                "start": "2026-10-22T00:00:00Z", "end": "2026-10-23T00:00:00Z",
            },
        ).json()["series"][0]["points"]  # fmt: skip
    env.query("insert into rollups_daily_stale values ($1)", the_22nd)
    stale = daily_max(client)

    assert hourly < 1000
    assert from_daily == 1000
    assert utc_max[0][1] < 1000
    assert stale == hourly


POINTS = st.lists(
    st.tuples(
        st.integers(0, SPAN_DAYS * 24 * 60 - 1),  # minutes into the season's two weeks
        st.integers(-40, 400),  # quarters
        st.sampled_from(SERIES),
    ),
    min_size=1,
    max_size=60,
)


def rows_of(season: str, points: list[tuple[int, int, tuple[str, str, str]]]) -> list[Any]:
    start = SEASONS[season]
    return [(start + timedelta(minutes=m), d, q, c, v / 4, None) for m, v, (d, q, c) in points]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    season=st.sampled_from(sorted(SEASONS)),
    points=POINTS,
    closed_days=st.integers(0, SPAN_DAYS + 1),
    late=POINTS,
    recompute=st.booleans(),
)
def test_calendar_buckets_give_the_readings_own_answer(
    env: ServiceEnv,
    client: TestClient,
    season: str,
    points: list[tuple[int, int, tuple[str, str, str]]],
    closed_days: int,
    late: list[tuple[int, int, tuple[str, str, str]]],
    recompute: bool,
) -> None:
    env.query("truncate readings, rollups_hourly, readings_latest")
    env.on(rollups_daily.forget)
    write(env, rows_of(season, points))
    day = (SEASONS[season].astimezone(PARIS) + timedelta(days=closed_days)).date()
    now = rollups_daily.local_midnight(day, PARIS) + HOUR

    refresh(env, now)
    write(env, rows_of(season, late))
    if recompute:
        refresh(env, now)

    for bucket in BUCKETS:
        for agg in AGGS:
            expected = answer(client, season, bucket, agg, "readings")
            assert answer(client, season, bucket, agg, "rollups") == expected, (bucket, agg)


def test_a_range_reaching_years_ahead_gives_the_readings_answer(
    env: ServiceEnv, client: TestClient
) -> None:
    write(env, every_20_minutes(SEASONS["autumn"], SPAN_DAYS))
    refresh(env, paris("2026-10-28T01:30"))
    asked = {
        "dev_eui": [LAMP, BIN], "quantity": ["active_power", "filling_level"], "bucket": "1d",
        "agg": "sum", "start": "2026-10-01T00:00:00+02:00", "end": "2050-01-01T00:00:00+01:00",
    }  # fmt: skip

    rollups = client.get("/series", params={**asked, "source": "rollups"})
    readings = client.get("/series", params={**asked, "source": "readings"})

    assert rollups.status_code == readings.status_code == 200
    assert rollups.json()["series"] == readings.json()["series"]
    assert len(rollups.json()["series"][0]["points"]) == SPAN_DAYS
