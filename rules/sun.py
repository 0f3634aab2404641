"""Sunrise and sunset for many (day, place) at once, for the streetlight rules.

Source: NOAA Global Monitoring Laboratory, "NOAA Solar Calculator" spreadsheet equations
(NOAA_Solar_Calculations_day.xls, after Meeus, "Astronomical Algorithms"): sun's mean
longitude and anomaly, equation of centre, apparent longitude, obliquity, declination,
equation of time, and the hour angle at a zenith of 90.833° (refraction + solar radius).
Good to about a minute at French latitudes. Times are UTC seconds since the Unix epoch;
longitude is positive east. Polar day/night gives NaN.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | FloatArray

DAY_S = 86400.0
_UNIX_EPOCH_JD = 2440587.5
_J2000_JD = 2451545.0
_ZENITH_DEG = 90.833


def _sun(jc: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Declination (degrees) and equation of time (minutes) at Julian century `jc`."""
    mean_long = np.mod(280.46646 + jc * (36000.76983 + jc * 0.0003032), 360.0)
    mean_anom = np.radians(357.52911 + jc * (35999.05029 - 0.0001537 * jc))
    ecc = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc)
    centre = (
        np.sin(mean_anom) * (1.914602 - jc * (0.004817 + 0.000014 * jc))
        + np.sin(2 * mean_anom) * (0.019993 - 0.000101 * jc)
        + np.sin(3 * mean_anom) * 0.000289
    )
    omega = np.radians(125.04 - 1934.136 * jc)
    apparent = np.radians(mean_long + centre - 0.00569 - 0.00478 * np.sin(omega))
    seconds = 21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))
    obliquity = np.radians(23.0 + (26.0 + seconds / 60.0) / 60.0 + 0.00256 * np.cos(omega))
    declination = np.degrees(np.arcsin(np.sin(obliquity) * np.sin(apparent)))
    y = np.tan(obliquity / 2) ** 2
    lon = np.radians(mean_long)
    eq_time = 4 * np.degrees(
        y * np.sin(2 * lon)
        - 2 * ecc * np.sin(mean_anom)
        + 4 * ecc * y * np.sin(mean_anom) * np.cos(2 * lon)
        - 0.5 * y * y * np.sin(4 * lon)
        - 1.25 * ecc * ecc * np.sin(2 * mean_anom)
    )
    return declination, eq_time


def _event(day_s: FloatArray, lat: FloatArray, lon: FloatArray, sign: float) -> FloatArray:
    """Sunrise (sign -1) or sunset (+1): two passes, the second at the first's time."""
    at = day_s + DAY_S / 2
    for _ in range(2):
        jc = (at / DAY_S + _UNIX_EPOCH_JD - _J2000_JD) / 36525.0
        decl, eq_time = _sun(jc)
        phi, delta = np.radians(lat), np.radians(decl)
        cos_ha = np.cos(np.radians(_ZENITH_DEG)) / (np.cos(phi) * np.cos(delta)) - np.tan(
            phi
        ) * np.tan(delta)
        ha = np.degrees(np.arccos(np.where(np.abs(cos_ha) <= 1, cos_ha, np.nan)))
        minutes = 720.0 - 4.0 * lon - eq_time + sign * 4.0 * ha
        at = day_s + minutes * 60.0
    return at


def sunrise_sunset(
    day_s: ArrayLike, lat_deg: ArrayLike, lon_deg: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """(sunrise, sunset) in UTC epoch seconds for the UTC day starting at `day_s`."""
    day = np.floor(np.asarray(day_s, dtype=np.float64) / DAY_S) * DAY_S
    lat = np.asarray(lat_deg, dtype=np.float64)
    lon = np.asarray(lon_deg, dtype=np.float64)
    return _event(day, lat, lon, -1.0), _event(day, lat, lon, 1.0)


def is_daylight(
    time_s: ArrayLike, lat_deg: ArrayLike, lon_deg: ArrayLike, margin_s: float = 0.0
) -> npt.NDArray[np.bool_]:
    """True from sunrise + margin to sunset − margin (a margin leaves dusk and dawn,
    when photocells and astronomical clocks legitimately disagree, undecided as night
    nor day: such times are neither `is_daylight` nor `is_night`)."""
    rise, set_ = sunrise_sunset(time_s, lat_deg, lon_deg)
    t = np.asarray(time_s, dtype=np.float64)
    return (t >= rise + margin_s) & (t <= set_ - margin_s)


def is_night(
    time_s: ArrayLike, lat_deg: ArrayLike, lon_deg: ArrayLike, margin_s: float = 0.0
) -> npt.NDArray[np.bool_]:
    rise, set_ = sunrise_sunset(time_s, lat_deg, lon_deg)
    t = np.asarray(time_s, dtype=np.float64)
    return (t < rise - margin_s) | (t > set_ + margin_s)
