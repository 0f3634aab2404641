"""`urbanpulse bench query` at a tiny scale: the city it loads is the one the writer would
have stored, settled as maintenance leaves it, and every query kind is timed through the
real API."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from api.bench_city import CityPlan, expected_readings, plan_city
from api.bench_load import LoadedCity, Settled, load, settle
from api.benchmark import measure
from simulators.scenario import load_scenario, parse_scenario
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

TINY_TOWN = """
name: tiny-town
city: {name: Tiny, latitude: 45.76, longitude: 4.83, timezone: Europe/Paris}
zones:
  - {name: centre, kind: centre, box: [45.760, 4.830, 45.768, 4.842]}
  - {name: parc, kind: park, box: [45.752, 4.830, 45.760, 4.842]}
gateways:
  - {name: mairie, latitude: 45.7645, longitude: 4.8360}
fleets:
  - {class: streetlight, model: milesight-ws558, count: 12, interval_s: 1800}
  - {class: waste_bin, model: milesight-em310-udl, count: 4, interval_s: 3600}
  - {class: air_quality, model: decentlab-dl-pm, count: 2, interval_s: 900, zones: [centre]}
  - {class: people_counter, model: imbuildings-people-counter, count: 2, interval_s: 900}
"""


def tiny_plan(readings: int = 4000) -> CityPlan:
    return plan_city(parse_scenario(TINY_TOWN, "tiny-town"), readings, 2)


def load_tiny(env: ServiceEnv, plan: CityPlan, reload: bool = False) -> LoadedCity:
    return asyncio.run(load(env.settings.database_url, plan, reload))


def settle_tiny(env: ServiceEnv, now: datetime) -> Settled:
    return asyncio.run(
        settle(env.settings.database_url, ZoneInfo("Europe/Paris"), now, timedelta(hours=1))
    )


# The daily rollups must hold the readings of each closed day in Paris.
DAYS_OF_READINGS = """
select date_trunc('day', time, 'Europe/Paris') as day, dev_eui, quantity, channel,
       count(*) as count, sum(value) as sum, min(value) as min, max(value) as max,
       last(value, time) as last, max(time) as last_time
from readings where time < (select next_day from rollups_daily_watermark)
group by 1, 2, 3, 4 order by dev_eui, quantity, channel, day
"""
DAILY = """
select day, dev_eui, quantity, channel, count, sum, min, max, last, last_time
from rollups_daily order by dev_eui, quantity, channel, day
"""
CLUSTERED = """
select c.hypertable_name as hypertable, c.range_end, i.indisclustered as clustered
from timescaledb_information.chunks c
join pg_index i on i.indrelid = format('%I.%I', c.chunk_schema, c.chunk_name)::regclass
               and i.indisprimary
"""


def assert_daily_rollups_are_the_readings(env: ServiceEnv) -> None:
    expected, daily = env.query(DAYS_OF_READINGS), env.query(DAILY)
    assert expected
    assert [tuple(r)[:5] for r in daily] == [tuple(r)[:5] for r in expected]
    for got, want in zip(daily, expected, strict=True):
        assert got["sum"] == pytest.approx(want["sum"])
        assert tuple(got)[6:] == tuple(want)[6:]


def test_the_streetlights_take_what_the_other_fleets_leave_of_the_budget() -> None:
    plan = plan_city(load_scenario("scenarios/city-200k.yaml"), 100_000_000, 365)
    intervals = {f.model: f.interval_s for f in plan.fleets}

    assert sum(f.count for f in plan.fleets) == 32_060
    assert intervals["milesight-em310-udl"] == 3600
    assert intervals["decentlab-dl-pm"] == 900
    assert 40_000 < intervals["milesight-ws558"] == intervals["dragino-lt-22222-l"] < 60_000
    assert expected_readings(plan) == pytest.approx(100_000_000, rel=0.001)


def test_a_budget_the_other_fleets_alone_exceed_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot hold 2 days of tiny-town"):
        tiny_plan(readings=1000)


def test_the_loaded_city_is_what_the_writer_would_have_stored(env: ServiceEnv) -> None:
    plan = tiny_plan()
    city = load_tiny(env, plan)
    readings = env.query("select time, dev_eui, quantity, channel, value from readings")

    assert city.loaded_now
    assert city.readings == len(readings) == expected_readings(plan)
    assert 3600 < len(readings) < 4400
    assert min(r["time"] for r in readings) >= city.origin
    assert max(r["time"] for r in readings) < city.origin + timedelta(seconds=plan.span_s)

    series: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    hourly: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for r in readings:
        key = (r["dev_eui"], r["quantity"], r["channel"])
        series[key].append(r)
        hourly[(*key, r["time"].replace(minute=0, second=0, microsecond=0))].append(r)

    rollups = {
        (r["dev_eui"], r["quantity"], r["channel"], r["bucket"]): r
        for r in env.query("select * from rollups_hourly")
    }
    assert city.rollups == len(rollups)
    assert rollups.keys() == hourly.keys()
    for key, rows in hourly.items():
        newest = max(rows, key=lambda r: r["time"])
        rollup = rollups[key]
        assert rollup["count"] == len(rows)
        assert rollup["sum"] == pytest.approx(sum(r["value"] for r in rows))
        assert rollup["min"] == min(r["value"] for r in rows)
        assert rollup["max"] == max(r["value"] for r in rows)
        assert (rollup["last"], rollup["last_time"]) == (newest["value"], newest["time"])

    latest = {
        (r["dev_eui"], r["quantity"], r["channel"]): (r["time"], r["value"])
        for r in env.query("select * from readings_latest")
    }
    newest_of = {k: max(rows, key=lambda r: r["time"]) for k, rows in series.items()}
    assert latest == {k: (r["time"], r["value"]) for k, r in newest_of.items()}


def test_devices_have_their_class_zone_tenant_and_last_report(env: ServiceEnv) -> None:
    plan = tiny_plan()
    load_tiny(env, plan)
    devices = env.query("select * from devices order by dev_eui")
    last_report = dict(env.query("select dev_eui, max(time) from readings group by dev_eui"))

    assert [d["dev_eui"] for d in devices] == sorted(
        f.dev_eui(n) for f in plan.fleets for n in range(f.count)
    )
    assert {d["device_class"] for d in devices} == {f.device_class for f in plan.fleets}
    assert {d["zone"] for d in devices if d["device_class"] == "air_quality"} == {"centre"}
    assert all(45.752 <= d["latitude"] <= 45.768 for d in devices)
    assert all(d["tenant_id"] for d in devices)
    assert {d["dev_eui"]: d["last_seen_at"] for d in devices} == last_report
    assert env.scalar("select count(*) from tenants") == 3


def test_a_city_already_loaded_with_the_same_plan_is_reused(env: ServiceEnv) -> None:
    first = load_tiny(env, tiny_plan())
    again = load_tiny(env, tiny_plan())
    bigger = load_tiny(env, tiny_plan(readings=8000))

    assert not again.loaded_now
    assert (again.origin, again.readings) == (first.origin, first.readings)
    assert bigger.loaded_now
    assert bigger.readings == env.scalar("select count(*) from readings") > first.readings
    assert env.scalar("select count(*) from devices") == 20


def test_a_load_cut_short_loads_only_the_days_it_misses(env: ServiceEnv) -> None:
    plan = tiny_plan()
    whole = load_tiny(env, plan)
    newest = "select dev_eui, quantity, channel, time from readings_latest order by 1, 2, 3"
    latest = env.query(newest)
    second_day = whole.origin + timedelta(days=1)
    env.query("update bench_query_city set loaded_at = null")
    day_two = env.scalar("select count(*) from readings where time >= $1", second_day)
    env.query("delete from readings where time >= $1", second_day)
    env.query("delete from rollups_hourly where bucket >= $1", second_day)

    resumed = load_tiny(env, plan)

    assert resumed.loaded_now
    assert resumed.origin == whole.origin
    assert resumed.resumed_days == 1
    assert resumed.written[0] == day_two > 0
    assert (resumed.readings, resumed.rollups) == (whole.readings, whole.rollups)
    assert env.query(newest) == latest  # values are drawn again, their times are not


def test_the_settled_city_has_its_closed_days_summed_and_its_closed_chunks_clustered(
    env: ServiceEnv,
) -> None:
    plan = tiny_plan()
    city = load_tiny(env, plan)
    later = city.origin + timedelta(days=40)  # every day and every chunk closed

    settled = settle_tiny(env, later)
    again = settle_tiny(env, later)

    # every day up to the 40th, most of them without readings
    assert settled.days >= 40 > env.scalar("select count(distinct day) from rollups_daily") >= 2
    assert settled.chunks == len(env.query(CLUSTERED)) >= 3
    assert all(c["clustered"] for c in env.query(CLUSTERED))
    assert (again.days, again.chunks) == (0, 0)
    assert_daily_rollups_are_the_readings(env)


def test_a_city_loaded_again_is_summed_again(env: ServiceEnv) -> None:
    city = load_tiny(env, tiny_plan())
    settle_tiny(env, city.origin + timedelta(days=40))
    assert env.scalar("select count(*) from rollups_daily") > 0

    bigger = load_tiny(env, tiny_plan(readings=8000))
    assert env.scalar("select count(*) from rollups_daily") == 0
    assert env.scalar("select next_day from rollups_daily_watermark") is None

    settle_tiny(env, bigger.origin + timedelta(days=40))
    assert_daily_rollups_are_the_readings(env)


def test_a_city_settled_now_leaves_the_open_day_and_chunks_alone(env: ServiceEnv) -> None:
    city = load_tiny(env, tiny_plan())
    now = city.origin + timedelta(days=2)  # the load's own time: the last day is open

    settle_tiny(env, now)

    watermark = env.scalar("select next_day from rollups_daily_watermark")
    assert city.origin < watermark <= now
    assert env.scalar("select max(day) from rollups_daily") < watermark
    for chunk in env.query(CLUSTERED):
        closed_at = (
            watermark if chunk["hypertable"] == "rollups_daily" else now - timedelta(hours=1)
        )
        assert chunk["clustered"] == (chunk["range_end"] <= closed_at)
    assert_daily_rollups_are_the_readings(env)


def test_every_query_kind_is_timed_through_the_api(env: ServiceEnv) -> None:
    plan = tiny_plan()
    city = load_tiny(env, plan)
    settle_tiny(env, city.origin + timedelta(days=40))

    result = measure(env.settings, env.settings.database_url, plan, city.origin, 10)

    assert set(result) == {
        "series_1_device_30d_hourly",
        "series_100_devices_7d_daily",
        "latest_streetlights",
        "latest_streetlights_one_quantity",
    }
    for timing in result.values():
        assert 0 < timing["p50_ms"] <= timing["p99_ms"] <= timing["max_ms"]
        assert timing["mean_bytes"] > 0
    # the whole two days: one hourly point per dense device, two or three days of four bins
    assert result["series_1_device_30d_hourly"]["mean_items"] == plan.span_s // 3600
    assert 4 * 2 <= result["series_100_devices_7d_daily"]["mean_items"] <= 4 * 3
    assert result["latest_streetlights"]["mean_items"] == 12
    assert result["latest_streetlights"]["requests"] == 5
    one_value = result["latest_streetlights_one_quantity"]
    assert one_value["mean_items"] == 12
    assert one_value["mean_bytes"] < result["latest_streetlights"]["mean_bytes"]
    assert env.scalar("select count(*) from api_keys where revoked_at is null") == 0
