"""Sunrise and sunset against published times (within 2 minutes)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from simulators.sun import solar_elevation_deg, sun_times


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("place", "lat", "lon", "day", "sunrise", "sunset"),
    [
        # timeanddate.com, Paris: 05:47 / 21:58 CEST and 08:41 / 16:56 CET
        ("Paris", 48.8566, 2.3522, date(2024, 6, 21), "2024-06-21 03:47", "2024-06-21 19:58"),
        ("Paris", 48.8566, 2.3522, date(2024, 12, 21), "2024-12-21 07:41", "2024-12-21 15:56"),
        # Lyon Capitale: 5h51 / 21h34 on 21 June, 8h19 / 16h59 on 21 December
        ("Lyon", 45.764, 4.8357, date(2024, 6, 21), "2024-06-21 03:51", "2024-06-21 19:34"),
        ("Lyon", 45.764, 4.8357, date(2024, 12, 21), "2024-12-21 07:19", "2024-12-21 15:59"),
    ],
)
def test_sunrise_and_sunset_within_two_minutes(
    place: str, lat: float, lon: float, day: date, sunrise: str, sunset: str
) -> None:
    times = sun_times(day, lat, lon)
    assert times is not None
    assert abs(times[0] - utc(sunrise)) < 120, place
    assert abs(times[1] - utc(sunset)) < 120, place


def test_no_sunrise_in_the_polar_day_or_night() -> None:
    assert sun_times(date(2024, 6, 21), 78.2, 15.6) is None
    assert sun_times(date(2024, 12, 21), 78.2, 15.6) is None


def test_the_sun_is_highest_at_solar_noon_and_below_the_horizon_at_night() -> None:
    noon = solar_elevation_deg(utc("2024-06-21 11:40"), 48.8566, 2.3522)
    assert 64 < noon < 65  # 90 - 48.86 + 23.44
    assert solar_elevation_deg(utc("2024-06-21 23:40"), 48.8566, 2.3522) < -15
