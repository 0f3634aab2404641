"""Domain presets and the derived quantities they watch: sun times, the indicative air
index, bin fill forecasts, windows, lamp faults and footfall ratios."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from rules import airindex, derived, forecast, sun, windows
from rules.presets import PRESETS, device_silent, preset

PARIS = (48.8566, 2.3522)
LYON = (45.7640, 4.8357)


def _utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


# Local times converted to UTC. Paris 24 Jun 2023 (5:48 / 21:58 CEST) is from a dated
# public blog post giving the day's times; the others are published almanac times as
# remembered (timeanddate.com, IMCCE) [verify], all to the minute.
@pytest.mark.parametrize(
    ("place", "day", "rise", "set_"),
    [
        (PARIS, (2023, 6, 24), (3, 48), (19, 58)),
        (PARIS, (2024, 12, 21), (7, 42), (15, 56)),
        (LYON, (2024, 12, 21), (7, 20), (15, 59)),
        (LYON, (2024, 6, 21), (3, 51), (19, 34)),
    ],
)
def test_sunrise_and_sunset_within_two_minutes(
    place: tuple[float, float],
    day: tuple[int, int, int],
    rise: tuple[int, int],
    set_: tuple[int, int],
) -> None:
    got_rise, got_set = sun.sunrise_sunset(_utc(*day), *place)
    assert abs(float(got_rise) - _utc(*day, *rise)) <= 120
    assert abs(float(got_set) - _utc(*day, *set_)) <= 120


def test_sun_is_vectorized_and_polar_night_is_nan() -> None:
    days = np.array([_utc(2024, 12, 21), _utc(2024, 6, 21)])
    rise, set_ = sun.sunrise_sunset(days, np.array([48.8566, 78.0]), np.array([2.35, 15.0]))
    assert not np.isnan(rise[0])
    assert np.isnan(rise[1])
    assert np.isnan(set_[1])


def test_air_sub_indices_at_the_breakpoints() -> None:
    edges = np.array([0.0, 40.0, 40.5, 90.0, 120.0, 230.0, 340.0, 341.0, np.nan])
    assert airindex.sub_index("no2", edges).tolist() == [1, 1, 2, 2, 3, 4, 5, 6, 0]
    assert airindex.sub_index("pm2_5", np.array([10.0, 10.1, 75.0, 75.1])).tolist() == [1, 2, 5, 6]


def test_air_index_is_the_worst_sub_index_per_zone_and_day() -> None:
    zone = np.array([0, 0, 1])
    no2 = airindex.zone_max(zone, 2, np.array([[30.0, 95.0], [45.0, np.nan], [np.nan, np.nan]]))
    pm10 = airindex.zone_max(zone, 2, np.array([[15.0, 15.0], [np.nan, 10.0], [55.0, np.nan]]))
    assert airindex.index({"no2": no2, "pm10": pm10}).tolist() == [[2, 3], [4, 0]]
    assert "indice ATMO" not in airindex.NAME


def test_bin_forecast_restarts_after_a_collection() -> None:
    hours = np.arange(8) * 3600.0
    level = np.array([50.0, 60.0, 70.0, 80.0, 10.0, 14.0, 18.0, 22.0])  # emptied at hour 4
    rate, full = forecast.fill_forecast(np.zeros(8, np.int64), hours, level, 1)
    assert rate[0] == pytest.approx(4.0)
    assert full[0] == pytest.approx((4 + 90 / 4) * 3600.0)
    assert forecast.hours_to_full(full, 7 * 3600.0)[0] == pytest.approx(19.5)
    # a drop of more than 30 points is a collection; 28 points is not, and the fit over
    # all four readings is falling: no forecast
    device = np.zeros(4, np.int64)
    rate, _ = forecast.fill_forecast(device, hours[:4], np.array([40.0, 8.0, 12.0, 16.0]), 1)
    assert rate[0] == pytest.approx(4.0)
    rate, full = forecast.fill_forecast(device, hours[:4], np.array([40.0, 12.0, 16.0, 20.0]), 1)
    assert np.isnan(rate[0])
    assert np.isnan(full[0])


def test_windows_follow_the_coverage_rules() -> None:
    hourly = np.full((1, 48), 10.0)
    hourly[0, 24:30] = np.nan  # 18 of the 24 hours of day 2 remain
    hourly[0, 30] = 100.0
    assert windows.mean_24h(hourly)[0, 0] == 10.0
    assert windows.mean_24h(hourly)[0, 1] == pytest.approx((17 * 10 + 100) / 18)
    assert windows.daily_max_hourly_mean(hourly).tolist() == [[10.0, 100.0]]
    running = windows.running_mean_8h(hourly)[0]
    assert np.isnan(running[4])
    assert running[5] == 10.0
    assert windows.hourly_means(np.array([0.0, 4.0]), np.array([0.0, 10.0]))[1] == 2.5


def test_lamp_faults() -> None:
    noon, midnight = _utc(2024, 6, 21, 12), _utc(2024, 6, 21, 23, 30)
    t = np.array([midnight, midnight, noon, midnight, noon, midnight])
    on = np.array([1.0, 1.0, 1.0, 0.0, 0.0, np.nan])
    power = np.array([45.0, 0.3, 40.0, 0.0, 0.0, 0.0])
    codes = derived.lamp_fault(t, on, power, np.full(6, PARIS[0]), np.full(6, PARIS[1]))
    assert codes[:5].tolist() == [
        derived.OK,
        derived.NO_POWER,
        derived.ON_IN_DAYLIGHT,
        derived.OFF_AT_NIGHT,
        derived.OK,
    ]
    assert np.isnan(codes[5])


def test_people_ratio_to_the_same_hour_last_week() -> None:
    counts = np.full((1, 170), 100.0)
    counts[0, 1] = 5.0  # a quiet hour last week: no ratio
    counts[0, 168] = 20.0
    ratio = derived.ratio_to_last_week(counts)[0]
    assert np.isnan(ratio[167])
    assert ratio[168] == 0.2
    assert np.isnan(ratio[169])


def test_every_preset_is_a_valid_rule() -> None:
    for name in PRESETS:
        rules = preset(name, "t1")
        assert rules
        assert all(r.tenant_id == "t1" and r.id.startswith(name) for r in rules)
    bin_full = preset("bin_full", "t1")[0]
    assert (bin_full.threshold, bin_full.clear) == (80, 60)
    assert device_silent("t1", "waste_bin", 3 * 86400).for_s == 3 * 86400
