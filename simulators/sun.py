"""Sunrise, sunset and solar elevation from the NOAA solar calculator equations.

Source: NOAA ESRL Global Monitoring Laboratory, "General Solar Position Calculations" and
its NOAA_Solar_Calculations_day spreadsheet (Meeus' algorithms; the sun's centre 0.833°
below the horizon at sunrise and sunset, for refraction and its radius). Good to about a
minute between the polar circles; times are UTC, as seconds since the Unix epoch.
"""

from __future__ import annotations

import math
from datetime import date

_J2000 = 2451545.0
_UNIX_EPOCH_JD = 2440587.5
_DAY_S = 86400.0


def _julian_century(unix_s: float) -> float:
    return (unix_s / _DAY_S + _UNIX_EPOCH_JD - _J2000) / 36525.0


def _declination_and_equation_of_time(jc: float) -> tuple[float, float]:
    """The sun's declination (degrees) and the equation of time (minutes)."""
    mean_long = (280.46646 + jc * (36000.76983 + jc * 0.0003032)) % 360.0
    mean_anom = math.radians(357.52911 + jc * (35999.05029 - 0.0001537 * jc))
    eccentricity = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc)
    centre = (
        math.sin(mean_anom) * (1.914602 - jc * (0.004817 + 0.000014 * jc))
        + math.sin(2 * mean_anom) * (0.019993 - 0.000101 * jc)
        + math.sin(3 * mean_anom) * 0.000289
    )
    omega = math.radians(125.04 - 1934.136 * jc)
    apparent_long = math.radians(mean_long + centre - 0.00569 - 0.00478 * math.sin(omega))
    mean_obliquity = (
        23.0 + (26.0 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60.0) / 60.0
    )
    obliquity = math.radians(mean_obliquity + 0.00256 * math.cos(omega))
    declination = math.degrees(math.asin(math.sin(obliquity) * math.sin(apparent_long)))
    y = math.tan(obliquity / 2) ** 2
    long_r = math.radians(mean_long)
    eq_time = 4 * math.degrees(
        y * math.sin(2 * long_r)
        - 2 * eccentricity * math.sin(mean_anom)
        + 4 * eccentricity * y * math.sin(mean_anom) * math.cos(2 * long_r)
        - 0.5 * y * y * math.sin(4 * long_r)
        - 1.25 * eccentricity**2 * math.sin(2 * mean_anom)
    )
    return declination, eq_time


def _event_s(day_start_s: float, lat: float, lon: float, guess_s: float, sign: int) -> float | None:
    """Sunrise (sign -1) or sunset (+1) near `guess_s`; None when the sun does not cross."""
    declination, eq_time = _declination_and_equation_of_time(_julian_century(guess_s))
    lat_r, dec_r = math.radians(lat), math.radians(declination)
    cos_ha = math.cos(math.radians(90.833)) / (math.cos(lat_r) * math.cos(dec_r)) - math.tan(
        lat_r
    ) * math.tan(dec_r)
    if not -1.0 <= cos_ha <= 1.0:
        return None
    hour_angle = math.degrees(math.acos(cos_ha))
    minutes = 720.0 - 4.0 * lon - eq_time + sign * 4.0 * hour_angle
    return day_start_s + minutes * 60.0


def sun_times(day: date, latitude: float, longitude: float) -> tuple[float, float] | None:
    """(sunrise, sunset) of a UTC calendar day at a place, as Unix seconds; None on a polar
    day or night. Each time is refined once with the sun's position at that time."""
    day_start_s = (day.toordinal() - date(1970, 1, 1).toordinal()) * _DAY_S
    noon_s = day_start_s + _DAY_S / 2 - longitude * 240.0
    times = []
    for sign in (-1, 1):
        first = _event_s(day_start_s, latitude, longitude, noon_s, sign)
        if first is None:
            return None
        refined = _event_s(day_start_s, latitude, longitude, first, sign)
        times.append(first if refined is None else refined)
    return times[0], times[1]


def solar_elevation_deg(unix_s: float, latitude: float, longitude: float) -> float:
    """The sun's elevation above the horizon, without refraction."""
    declination, eq_time = _declination_and_equation_of_time(_julian_century(unix_s))
    minutes_utc = (unix_s % _DAY_S) / 60.0
    true_solar_min = (minutes_utc + eq_time + 4.0 * longitude) % 1440.0
    hour_angle = math.radians(true_solar_min / 4.0 - 180.0)
    lat_r, dec_r = math.radians(latitude), math.radians(declination)
    sin_elevation = math.sin(lat_r) * math.sin(dec_r) + math.cos(lat_r) * math.cos(
        dec_r
    ) * math.cos(hour_angle)
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_elevation))))
