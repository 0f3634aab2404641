"""The departments' views over a real database: readings written by the ingest writer,
alerts and rules inserted as the engine stores them. Days are Paris days; 2026-01-15 is a
winter Thursday (UTC+1), so its local day runs from 2026-01-14T23:00Z."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.views_air import longest_run_above
from api.views_common import local_day
from api.views_mobility import period
from api.views_waste import classify
from ingest import store
from tests.api.access import bearer, issue_key
from tests.api.test_minimal_api import ingest_directly
from tests.services import ServiceEnv

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2026, 1, 15)
DAY_START = datetime(2026, 1, 14, 23, tzinfo=UTC)
HOUR = timedelta(hours=1)

Row = tuple[datetime, str, str, str, float]


def add_devices(env: ServiceEnv, *devices: dict[str, Any]) -> None:
    env.query("insert into tenants (id) values ('lyon'), ('villeurbanne') on conflict do nothing")
    for d in devices:
        env.query(
            "insert into devices (dev_eui, tenant_id, device_class, name, zone, latitude, "
            "longitude, tags) values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
            d["dev_eui"], d.get("tenant", "lyon"), d["class"], d.get("name", d["dev_eui"]),
            d.get("zone"), d.get("lat", 45.76), d.get("lon", 4.88), json.dumps(d.get("tags", {})),
        )  # fmt: skip


def write(env: ServiceEnv, rows: list[Row]) -> None:
    """Through the ingest writer: readings, hourly rollups and latest values."""

    async def run() -> None:
        conn = await asyncpg.connect(env.settings.database_url)
        try:
            await store.prepare_connection(conn)
            await store.write(conn, store.WriteBatch(readings=[(*r, None) for r in rows]))
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture
def lyon(env: ServiceEnv) -> Iterator[TestClient]:
    """A viewer of the commune of Lyon only."""
    with TestClient(
        create_app(env.settings), headers=bearer(issue_key(env, "viewer", ["lyon"]))
    ) as c:
        yield c


# --- pure parts --------------------------------------------------------------------------


def test_a_winter_paris_day_starts_at_23_utc_the_day_before() -> None:
    day = local_day(DAY, PARIS)

    assert (day.start, day.end) == (DAY_START, DAY_START + 24 * HOUR)


def test_a_summer_day_starts_at_22_utc_and_the_autumn_change_lasts_25_hours() -> None:
    assert local_day(date(2026, 7, 1), PARIS).start == datetime(2026, 6, 30, 22, tzinfo=UTC)
    change = local_day(date(2026, 10, 25), PARIS)
    assert change.end - change.start == 25 * HOUR


def test_a_bin_full_at_23_30_utc_in_winter_is_for_tomorrow_s_round() -> None:
    now = datetime(2026, 1, 15, 20, tzinfo=UTC)
    end = local_day(DAY, PARIS).end
    bins = [
        {"dev_eui": "a", "zone": "z", "filling_level_pct": 50.0, "hours_to_full": 2.5,
         "predicted_full_at": datetime(2026, 1, 15, 22, 30, tzinfo=UTC)},
        {"dev_eui": "b", "zone": "z", "filling_level_pct": 50.0, "hours_to_full": 3.5,
         "predicted_full_at": datetime(2026, 1, 15, 23, 30, tzinfo=UTC)},
    ]  # fmt: skip

    lists = classify(bins, 80.0, 24.0, now, end)

    assert [b["dev_eui"] for b in lists["to_collect_today"]] == ["a"]
    assert [b["dev_eui"] for b in lists["full_soon"]] == ["a", "b"]


def test_consecutive_hours_above_are_counted_per_series() -> None:
    hourly = np.array([[401, 401, np.nan, 401, 401, 401, 10], [1, 500, 1, 1, 1, 1, 1]], float)

    assert longest_run_above(hourly, 400).tolist() == [3, 1]


def test_counting_stops_now_today_and_covers_a_past_day_whole() -> None:
    now = datetime(2026, 1, 15, 10, 20, tzinfo=UTC)

    today = period(DAY, now, PARIS)
    past = period(date(2026, 1, 10), now, PARIS)
    future = period(date(2026, 1, 16), now, PARIS)

    assert today == (DAY_START, datetime(2026, 1, 15, 10, tzinfo=UTC), now)
    assert past[2] - past[0] == 24 * HOUR
    assert future[0] == future[2]


# --- waste -------------------------------------------------------------------------------


def levels(dev_eui: str, values: list[float], now: datetime) -> list[Row]:
    """One level per hour, the last an hour before now."""
    n = len(values)
    return [(now - (n - i) * HOUR, dev_eui, "filling_level", "", v) for i, v in enumerate(values)]


@pytest.mark.services
def test_waste_lists_full_bins_by_zone_then_fuller_and_forecasts_the_others(
    env: ServiceEnv, lyon: TestClient
) -> None:
    names = ("nord90", "centre85", "centre95", "filling", "slow", "other95")
    euis = {n: f"00000000000000{i:02x}" for i, n in enumerate(names)}
    add_devices(
        env,
        *({"dev_eui": euis[n], "class": "waste_bin", "zone": n.rstrip("0123456789")}
          for n in names[:-1]),
        {"dev_eui": euis["other95"], "class": "waste_bin", "zone": "centre", "tenant": "villeurbanne"},
    )  # fmt: skip
    now = datetime.now(UTC).replace(microsecond=0)
    write(
        env,
        levels(euis["nord90"], [90], now)
        + levels(euis["centre85"], [85], now)
        + levels(euis["centre95"], [95], now)
        + levels(euis["filling"], [97, 98, 99], now)  # +1 %/h: 100 % now
        + levels(euis["slow"], [10, 11, 12], now)  # +1 %/h: 100 % in 87 h
        + levels(euis["other95"], [95], now),
    )

    view = lyon.get("/views/waste").json()
    strict = lyon.get("/views/waste", params={"threshold_pct": 99.5, "horizon_h": 100}).json()

    assert [b["dev_eui"] for b in view["full_now"]] == [
        euis["centre95"], euis["centre85"], euis["filling"], euis["nord90"],
    ]  # fmt: skip
    assert view["full_now"][0]["latitude"] == 45.76
    assert view["full_soon"] == []  # every rising bin is either full already or far off
    assert [b["dev_eui"] for b in strict["full_now"]] == []
    soon = {b["dev_eui"]: b for b in strict["full_soon"]}
    assert list(soon) == [euis["filling"], euis["slow"]]
    assert soon[euis["slow"]]["fill_rate_pct_per_h"] == pytest.approx(1.0)
    assert soon[euis["slow"]]["hours_to_full"] == pytest.approx(87.0, abs=0.02)
    assert soon[euis["filling"]]["hours_to_full"] == pytest.approx(0.0, abs=0.02)
    assert [b["dev_eui"] for b in strict["to_collect_today"]] == [euis["filling"]]


@pytest.mark.services
def test_the_forecast_starts_after_the_last_collection_however_old(
    env: ServiceEnv, lyon: TestClient
) -> None:
    early, late = "00000000000000a5", "00000000000000a6"
    add_devices(env, *({"dev_eui": d, "class": "waste_bin"} for d in (early, late)))
    now = datetime.now(UTC).replace(microsecond=0)

    def at(dev_eui: str, points: list[tuple[int, float]]) -> list[Row]:
        return [(now - h * HOUR, dev_eui, "filling_level", "", v) for h, v in points]

    # emptied 99 h ago: the fit over the four readings since (+1 %/h over the last two days
    # alone) is 0.495 %/h and 100 % in 92.9 h; emptied 29 h ago, +0.5 %/h: 100 % in 151 h
    write(
        env,
        at(early, [(100, 90), (99, 5), (3, 52), (2, 53), (1, 54)])
        + at(late, [(100, 40), (30, 95), (29, 10), (3, 23), (2, 23.5), (1, 24)]),
    )

    soon = lyon.get("/views/waste", params={"horizon_h": 200}).json()["full_soon"]

    assert [(b["dev_eui"], b["fill_rate_pct_per_h"]) for b in soon] == [
        (early, pytest.approx(0.494988)),
        (late, pytest.approx(0.5)),
    ]
    assert soon[0]["hours_to_full"] == pytest.approx(92.945, abs=0.02)
    assert soon[1]["hours_to_full"] == pytest.approx(151.0, abs=0.02)


@pytest.mark.services
def test_waste_filters_by_zone_and_refuses_a_tenant_out_of_scope(
    env: ServiceEnv, lyon: TestClient
) -> None:
    add_devices(
        env,
        {"dev_eui": "00000000000000a1", "class": "waste_bin", "zone": "nord"},
        {"dev_eui": "00000000000000a2", "class": "waste_bin", "zone": "sud"},
    )
    now = datetime.now(UTC)
    write(env, levels("00000000000000a1", [90], now) + levels("00000000000000a2", [90], now))

    nord = lyon.get("/views/waste", params={"zone": "nord"}).json()
    refused = lyon.get("/views/waste", params={"tenant": "villeurbanne"})

    assert [b["dev_eui"] for b in nord["full_now"]] == ["00000000000000a1"]
    assert refused.status_code == 422
    assert refused.json()["details"] == [
        {"parameter": "tenant", "message": "no tenant 'villeurbanne'"}
    ]


# --- air ---------------------------------------------------------------------------------

INDOOR, OUTDOOR, ELSEWHERE = "00000000000000b1", "00000000000000b2", "00000000000000b3"


def hourly(dev_eui: str, quantity: str, values: list[float]) -> list[Row]:
    """One reading at half past each hour of the local day, the first at 23:30Z the day before."""
    return [
        (DAY_START + h * HOUR + HOUR / 2, dev_eui, quantity, "", v) for h, v in enumerate(values)
    ]


@pytest.mark.services
def test_air_reports_latest_values_thresholds_crossed_and_the_zone_index(
    env: ServiceEnv, lyon: TestClient
) -> None:
    add_devices(
        env,
        {"dev_eui": INDOOR, "class": "air_quality", "zone": "centre", "tags": {"setting": "indoor"}},
        {"dev_eui": OUTDOOR, "class": "air_quality", "zone": "centre"},
        {"dev_eui": ELSEWHERE, "class": "air_quality", "zone": "centre", "tenant": "villeurbanne"},
    )  # fmt: skip
    write(
        env,
        hourly(INDOOR, "pm2_5", [30.0] * 24)
        + hourly(INDOOR, "pm10", [20.0] * 24)
        + hourly(INDOOR, "no2", [20.0] * 12 + [210.0] + [20.0] * 11)
        + hourly(INDOOR, "co2", [600.0] * 23 + [900.0])
        + hourly(OUTDOOR, "pm2_5", [12.0] * 24)
        + hourly(OUTDOOR, "co2", [900.0] * 24)
        + hourly(ELSEWHERE, "pm2_5", [80.0] * 24),
    )

    view = lyon.get("/views/air", params={"day": "2026-01-15"}).json()
    day_before = lyon.get("/views/air", params={"day": "2026-01-14"}).json()

    sensors = {s["dev_eui"]: s for s in view["sensors"]}
    assert set(sensors) == {INDOOR, OUTDOOR}
    latest = {v["quantity"]: v for v in sensors[INDOOR]["latest"]}
    assert latest["pm2_5"]["value"] == 30.0
    assert latest["co2"]["unit"] == "ppm"
    crossed = {(c["source"], c["name"]): c["value"] for c in sensors[INDOOR]["crossed"]}
    assert crossed == {
        ("eu_limits_2008", "NO2 hourly limit value"): 210.0,
        ("eu_limits_2030", "PM2.5 daily limit value 2030 [verify]"): 30.0,
        ("eu_limits_2030", "NO2 hourly limit value 2030"): 210.0,
        ("who_2021", "WHO AQG PM2.5 24 h"): 30.0,
        ("who_2021", "WHO AQG NO2 24 h"): pytest.approx((23 * 20 + 210) / 24),
        ("indoor_co2", "indoor CO2 above 800 ppm [verify]"): 900.0,
    }
    assert sensors[OUTDOOR]["crossed"] == []  # 900 ppm outdoors is no indoor threshold
    assert view["index_name"] == "indicative air index (ATMO-style)"
    assert view["zones"] == [
        {"tenant_id": "lyon", "zone": "centre", "sensors": 2, "level": 4, "label": "poor",
         "sub_indices": {"no2": 4, "pm10": 1, "pm2_5": 4}},
    ]  # fmt: skip
    # the first reading, at 23:30Z on the 14th, belongs to the 15th: the 14th has no data
    assert all(s["crossed"] == [] for s in day_before["sensors"])
    assert day_before["zones"][0]["level"] is None


# --- lighting ----------------------------------------------------------------------------

LIGHT, DARK, OTHER_LIGHT = "00000000000000c1", "00000000000000c2", "00000000000000c3"


def energy_meter() -> list[Row]:
    """A cumulative meter read hourly: +100 Wh an hour, +1000 Wh in the hour before 23:30Z
    on the 14th (00:30 local on the 15th), no reading in the last hour of the 10th (local),
    and a reset to 50 Wh at 12:30Z on the 12th, after which that day counts 50 Wh and ten
    hours."""
    rows, value, t = [], 10_000.0, datetime(2026, 1, 5, 0, 30, tzinfo=UTC)
    while t < DAY_START + 24 * HOUR:
        if t == datetime(2026, 1, 12, 12, 30, tzinfo=UTC):
            value = 50.0
        else:
            value += 1000.0 if t == DAY_START + HOUR / 2 else 100.0
        if t != datetime(2026, 1, 10, 22, 30, tzinfo=UTC):
            rows.append((t, LIGHT, "energy", "", value))
        t += HOUR
    return rows


def circuits() -> list[Row]:
    """Circuit 1 on until 07:00 and from 17:00 local, one state an hour; circuit 2 on for
    half of each hour from 18:00 to 22:00, two states an hour."""
    one = [(DAY_START + h * HOUR + HOUR / 2, LIGHT, "circuit_state", "1", float(h < 7 or h >= 17))
           for h in range(24)]  # fmt: skip
    two = [
        (DAY_START + h * HOUR + m * timedelta(minutes=1), LIGHT, "circuit_state", "2", on)
        for h in range(18, 22)
        for m, on in ((10, 1.0), (40, 0.0))
    ]
    return one + two


@pytest.mark.services
def test_lighting_energy_per_local_day_and_burning_hours(env: ServiceEnv, lyon: TestClient) -> None:
    add_devices(
        env,
        {"dev_eui": LIGHT, "class": "streetlight", "zone": "centre"},
        {"dev_eui": OTHER_LIGHT, "class": "streetlight", "tenant": "villeurbanne"},
    )
    other = [(t, OTHER_LIGHT, q, c, v * 7) for t, _, q, c, v in energy_meter() + circuits()]
    write(env, energy_meter() + circuits() + other)

    view = lyon.get("/views/lighting", params={"day": "2026-01-15"}).json()

    assert [c["dev_eui"] for c in view["controllers"]] == [LIGHT]
    light = view["controllers"][0]
    by_day = {d["day"]: d["energy_wh"] for d in light["energy_by_day"]}
    assert by_day == {
        "2026-01-08": 2400.0, "2026-01-09": 2400.0, "2026-01-10": 2300.0, "2026-01-11": 2500.0,
        "2026-01-12": 50.0 + 10 * 100.0, "2026-01-13": 2400.0, "2026-01-14": 2400.0,
        "2026-01-15": 23 * 100.0 + 1000.0,
    }  # fmt: skip
    assert light["energy_wh"] == 3300.0
    assert view["energy_by_day"] == light["energy_by_day"]
    burning = {c["channel"]: c for c in light["circuits"]}
    assert burning["1"]["burning_hours"] == pytest.approx(14.0)
    assert burning["2"]["burning_hours"] == pytest.approx(2.0)
    assert burning["1"]["on_now"] is True
    assert burning["2"]["on_now"] is False


@pytest.mark.services
def test_lighting_failures_come_from_open_alerts_and_lamp_fault_codes(
    env: ServiceEnv, lyon: TestClient
) -> None:
    add_devices(
        env,
        {"dev_eui": LIGHT, "class": "streetlight", "zone": "centre"},
        {"dev_eui": DARK, "class": "streetlight", "zone": "nord"},
        {"dev_eui": OTHER_LIGHT, "class": "streetlight", "tenant": "villeurbanne"},
    )
    env.query(
        "insert into rules (id, tenant_id, definition) values "
        "('streetlight-failure', null, '{\"quantity\": \"lamp_fault\"}'), "
        "('battery', null, '{\"quantity\": \"battery_level\"}')"
    )
    fired = datetime(2026, 1, 15, 18, tzinfo=UTC)
    for rule, dev_eui, status in [
        ("streetlight-failure", LIGHT, "firing"),
        ("streetlight-failure", DARK, "resolved"),
        ("battery", DARK, "firing"),
        ("streetlight-failure", OTHER_LIGHT, "firing"),
    ]:
        env.query(
            "insert into alerts (rule_id, dev_eui, status, severity, value, fired_at) "
            "values ($1, $2, $3, 'major', 1, $4)",
            rule, dev_eui, status, fired,
        )  # fmt: skip
    write(env, [(fired, DARK, "lamp_fault", "", 3.0), (fired, LIGHT, "lamp_fault", "", 0.0)])

    failures = lyon.get("/views/lighting").json()["failures"]

    assert [(f["dev_eui"], f["code"], f["fault"], f["alert_status"]) for f in failures] == [
        (LIGHT, 1, "on but drawing no power", "firing"),
        (DARK, 3, "off at night", None),
    ]


# --- mobility ----------------------------------------------------------------------------

COUNTER, OTHER_COUNTER = "00000000000000d1", "00000000000000d2"


def counts(dev_eui: str, start: datetime, people_in: float, people_out: float) -> list[Row]:
    return [
        (start + h * HOUR + HOUR / 2, dev_eui, q, "", v)
        for h in range(24)
        for q, v in (("people_in", people_in), ("people_out", people_out))
    ]


@pytest.mark.services
def test_mobility_compares_a_day_with_the_same_day_last_week(
    env: ServiceEnv, lyon: TestClient
) -> None:
    add_devices(
        env,
        {"dev_eui": COUNTER, "class": "people_counter", "zone": "gare"},
        {"dev_eui": OTHER_COUNTER, "class": "people_counter", "tenant": "villeurbanne"},
    )
    week_before = DAY_START - 7 * 24 * HOUR
    outside = [  # 23:30 local on the 14th, 00:30 local on the 16th
        (DAY_START - HOUR / 2, COUNTER, "people_in", "", 1000.0),
        (DAY_START + 24 * HOUR + HOUR / 2, COUNTER, "people_in", "", 1000.0),
    ]
    write(
        env,
        counts(COUNTER, DAY_START, 10, 5)
        + counts(COUNTER, week_before, 20, 10)
        + counts(OTHER_COUNTER, DAY_START, 99, 99)
        + outside,
    )

    view = lyon.get("/views/mobility", params={"day": "2026-01-15"}).json()

    assert view["since"] == "2026-01-14T23:00:00Z"
    assert view["last_week_since"] == "2026-01-07T23:00:00Z"
    [counter] = view["counters"]
    assert counter["dev_eui"] == COUNTER
    assert (counter["people_in"], counter["people_out"], counter["total"]) == (240, 120, 360)
    assert (counter["last_week_in"], counter["last_week_out"]) == (480, 240)
    assert counter["ratio"] == 0.5


@pytest.mark.services
def test_mobility_today_stops_at_the_same_time_of_day_last_week(
    env: ServiceEnv, lyon: TestClient
) -> None:
    add_devices(env, {"dev_eui": COUNTER, "class": "people_counter"})
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)

    def week_before(t: datetime) -> datetime:
        return (t.astimezone(PARIS) - timedelta(days=7)).astimezone(UTC)

    write(
        env,
        [
            (hour, COUNTER, "people_in", "", 7.0),  # in the hour in progress
            (now + HOUR, COUNTER, "people_in", "", 1000.0),  # not yet
            (week_before(hour), COUNTER, "people_in", "", 14.0),
            (week_before(now) + timedelta(minutes=30), COUNTER, "people_in", "", 1000.0),
        ],
    )

    [counter] = lyon.get("/views/mobility").json()["counters"]

    assert (counter["people_in"], counter["last_week_in"], counter["ratio"]) == (7, 14, 0.5)


# --- through the whole pipeline ----------------------------------------------------------


@pytest.mark.services
def test_simulated_controllers_and_sensors_show_in_their_views(env: ServiceEnv) -> None:
    ingest_directly(env, 40)  # two WS558 controllers, two DL-PM sensors, 2026-11-01
    admin = bearer(issue_key(env))

    with TestClient(create_app(env.settings), headers=admin) as client:
        lighting = client.get("/views/lighting", params={"day": "2026-11-01"}).json()
        air = client.get("/views/air", params={"day": "2026-11-01"}).json()

    assert len(lighting["controllers"]) == 2
    for controller in lighting["controllers"]:
        circuits = {c["channel"]: c for c in controller["circuits"]}
        assert sorted(circuits) == [str(c) for c in range(1, 9)]
        assert {c for c, v in circuits.items() if v["on_now"]} == {"1", "3"}
        assert circuits["1"]["burning_hours"] > 0
        assert circuits["2"]["burning_hours"] == 0
    assert len(air["sensors"]) == 2
    for sensor in air["sensors"]:
        assert {"pm2_5", "pm10"} <= {v["quantity"] for v in sensor["latest"]}
