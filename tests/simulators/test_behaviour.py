"""A city's behaviour: lights follow the sun, bins fill and are emptied, air and crowds
follow the hours, the weekdays and the seasons."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

from simulators import air, bins, pedestrians, streetlights
from simulators.scenario import CityEvent, Zone
from simulators.sun import sun_times

LYON = (45.764, 4.8357)


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_lights_switch_on_at_sunset_dim_at_night_and_switch_off_at_sunrise() -> None:
    cabinet = streetlights.make_cabinet(random.Random(1), ts("2026-06-20 00:00"))
    sun = sun_times(date(2026, 6, 21), *LYON)
    assert sun is not None
    sunrise, sunset = sun
    offset = 7200.0  # CEST

    def state(t: float) -> tuple[bool, bool]:
        lit, dimmed, _ = streetlights.night_state(cabinet, t, *LYON, offset)
        return lit, dimmed

    assert state(sunset - 600) == (False, False)
    assert state(sunset + 600) == (True, False)
    assert state(ts("2026-06-21 23:30")) == (True, True)  # 01:30 local
    assert state(sunrise + 600) == (False, False)
    _, _, following = streetlights.night_state(cabinet, sunset - 600, *LYON, offset)
    assert abs(following - sunset) <= 300


def test_energy_grows_only_while_lit_and_failed_lamps_draw_nothing() -> None:
    rng = random.Random(2)
    cabinet = streetlights.make_cabinet(rng, 0.0)
    day = streetlights.meter(cabinet, False, False, 3600.0, rng)
    lit = streetlights.meter(cabinet, True, False, 7200.0, rng)
    later = streetlights.meter(cabinet, True, True, 10800.0, rng)
    assert day["power_w"] == 0
    assert lit["power_w"] > 0
    assert 0 < later["power_w"] < lit["power_w"]
    assert later["energy_wh"] - lit["energy_wh"] > 0 == lit["energy_wh"] - day["energy_wh"]
    cabinet.lamp_failures_s = [0.0] * cabinet.circuits
    assert streetlights.meter(cabinet, True, False, 14400.0, rng)["power_w"] == 0


def test_bins_fill_by_place_and_are_emptied_on_collection_days() -> None:
    centre = Zone("c", "centre", 0, 0, 1, 1, (0,), 6.0)  # collected on Mondays at 06:00
    park = Zone("p", "park", 1, 0, 2, 1)
    rng = random.Random(3)
    monday = ts("2026-06-22 00:00")
    a, b = (
        bins.make_bin(rng, centre, monday - 86400 * 3),
        bins.make_bin(rng, park, monday - 86400 * 3),
    )
    a.fill_pct = b.fill_pct = a.rate_factor = b.rate_factor = 1.0
    a.route_offset_s = 0.0
    before = bins.advance(a, monday + 5 * 3600, rng)["fill_pct"]
    assert before > bins.advance(b, monday + 5 * 3600, rng)["fill_pct"]
    assert bins.advance(a, monday + 6.5 * 3600, rng)["fill_pct"] < 5 < before


def test_air_has_traffic_peaks_summer_afternoon_ozone_and_episodes() -> None:
    assert air.traffic_index(8, 1) > 2 * air.traffic_index(3, 1)
    assert air.traffic_index(8, 1) > air.traffic_index(8, 6)
    summer = air.ozone_ugm3(ts("2026-07-15 13:00"), *LYON, 30.0)
    assert summer > 120 > air.ozone_ugm3(ts("2026-01-15 13:00"), *LYON, 3.0)
    assert air.ozone_ugm3(ts("2026-07-15 01:00"), *LYON, 20.0) < 40
    assert (
        air.temperature_c(ts("2026-07-15 13:00"), 15, 45.0)
        > air.temperature_c(ts("2026-01-15 05:00"), 6, 45.0) + 15
    )
    factors = [air.episode_factor(1, ts("2026-01-01 12:00") + d * 86400) for d in range(365)]
    assert 5 <= sum(f > 1 for f in factors) <= 80


def test_pedestrians_follow_the_hours_weekdays_and_events() -> None:
    tuesday_8h, tuesday_3h = ts("2026-06-23 08:00"), ts("2026-06-23 03:00")
    saturday_15h, sunday_15h = ts("2026-06-20 15:00"), ts("2026-06-21 15:00")
    assert pedestrians.rate_per_h("centre", tuesday_8h) > 10 * pedestrians.rate_per_h(
        "centre", tuesday_3h
    )
    assert pedestrians.rate_per_h("centre", saturday_15h) > pedestrians.rate_per_h(
        "centre", sunday_15h
    )
    assert pedestrians.rate_per_h("park", sunday_15h) > pedestrians.rate_per_h(
        "park", ts("2026-06-23 15:00")
    )
    market = CityEvent("market", "c", 8, 13, 3.0, weekdays=(5,))
    assert pedestrians.event_factor([market], "c", ts("2026-06-20 10:00")) == 3.0
    assert pedestrians.event_factor([market], "c", ts("2026-06-23 10:00")) == 1.0
    rng = random.Random(4)
    morning = [
        pedestrians.count(rng, "centre", "c", [], ts("2026-06-23 09:00"), 900, 1.0)
        for _ in range(50)
    ]
    assert sum(i for i, _ in morning) > sum(o for _, o in morning)
