"""Outdoor air: temperature with its seasonal and daily cycles, particles with traffic peaks
and multi-day pollution episodes (mostly in winter), summer-afternoon ozone following the
sun, CO2 raised by traffic.

Orders of magnitude from domain.md §1-5 (French urban background: PM2.5 around 10 µg/m³,
PM10 around 18, episodes above the 50 µg/m³ PM10 information threshold, summer ozone
peaks of 120-180 µg/m³ in the afternoon); shapes are assumptions."""

from __future__ import annotations

import math
import random

from simulators.sun import solar_elevation_deg

ZONE_TRAFFIC = {"centre": 1.0, "commercial": 0.8, "residential": 0.5, "park": 0.2,
                "traffic": 1.6, "industrial": 0.9}  # fmt: skip
EPISODE_DAYS_PER_YEAR = 12.0


def _day_of_year(unix_s: float) -> float:
    return (unix_s / 86400.0 + 0.0) % 365.2425


def temperature_c(unix_s: float, local_hour: float, latitude: float) -> float:
    """Seasonal mean (coldest mid-January) plus a daily swing, lowest at 06:00, highest at 15:00."""
    season = -math.cos(2 * math.pi * (_day_of_year(unix_s) - 15) / 365.2425)
    mean = 12.0 - (latitude - 45.0) * 0.5 + 8.5 * season
    swing = 4.0 + 2.0 * season
    h = (local_hour - 6.0) % 24
    shape = -math.cos(math.pi * h / 9) if h < 9 else math.cos(math.pi * (h - 9) / 15)
    return mean + swing * shape


def traffic_index(local_hour: float, weekday: int) -> float:
    """Relative road traffic: commute peaks at 08:00 and 18:00 on weekdays, flatter weekends."""
    morning = math.exp(-(((local_hour - 8.0) / 1.3) ** 2))
    evening = math.exp(-(((local_hour - 18.0) / 1.8) ** 2))
    day = 0.45 if 6 <= local_hour <= 21 else 0.1
    if weekday >= 5:
        return 0.25 + 0.5 * math.exp(-(((local_hour - 15.0) / 4.0) ** 2))
    return day + 0.9 * morning + 0.8 * evening


def episode_factor(seed: int, unix_s: float) -> float:
    """Multiplier of particles on pollution-episode days (2-4 day spells, winter mostly);
    a pure function of the seed and the day so every sensor sees the same episode."""
    day = int(unix_s // 86400)
    for start in range(day - 3, day + 1):
        rng = random.Random(seed * 1_000_003 + start)
        winter = 1.0 + math.cos(2 * math.pi * (start % 365.2425 - 15) / 365.2425)
        if rng.random() < EPISODE_DAYS_PER_YEAR / 365 / 3 * winter and day - start < rng.randint(
            2, 4
        ):
            return rng.uniform(2.5, 4.5)
    return 1.0


def ozone_ugm3(unix_s: float, latitude: float, longitude: float, temp_c: float) -> float:
    """Photochemical ozone: high sun and heat make the summer-afternoon peak."""
    sun = max(0.0, math.sin(math.radians(solar_elevation_deg(unix_s, latitude, longitude))))
    heat = max(0.0, temp_c - 10.0)
    return 35.0 + 60.0 * sun + 3.2 * heat * sun


def sample(
    unix_s: float, local_hour: float, weekday: int, zone_kind: str, latitude: float,
    longitude: float, seed: int, rng: random.Random,
) -> dict[str, float]:  # fmt: skip
    """One sensor's reading: what it measures, with its own noise."""
    temp = temperature_c(unix_s, local_hour, latitude) + rng.gauss(0.0, 0.4)
    traffic = ZONE_TRAFFIC[zone_kind] * traffic_index(local_hour, weekday)
    episode = episode_factor(seed, unix_s)
    pm2_5 = max(1.0, (6.0 + 9.0 * traffic) * episode * rng.lognormvariate(0.0, 0.15))
    humidity = min(98.0, max(20.0, 75.0 - 2.0 * (temp - 10.0) + rng.gauss(0.0, 3.0)))
    return {
        "temperature_c": temp,
        "humidity_pct": humidity,
        "pressure_hpa": 1013.0 + 8.0 * math.sin(unix_s / 86400 / 4.3) + rng.gauss(0.0, 0.3),
        "pm1_ugm3": pm2_5 * 0.7,
        "pm2_5_ugm3": pm2_5,
        "pm4_ugm3": pm2_5 * 1.15,
        "pm10_ugm3": pm2_5 * rng.uniform(1.5, 1.9),
        "co2_ppm": 420.0 + 60.0 * traffic + rng.gauss(0.0, 8.0),
        "tvoc_ugm3": 60.0 + 120.0 * traffic * episode,
        "o3_ugm3": ozone_ugm3(unix_s, latitude, longitude, temp),
        "light_level": 5.0 if 8 <= local_hour <= 18 else 0.0,
    }
