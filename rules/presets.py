"""Domain presets: ready rules for the things a city watches, each with its source.

`preset(name, tenant_id)` returns plain, valid Rules that the tenant can store and edit.
Values marked [verify] come from secondary sources (shared/reference/domain.md) and must
be checked against the official text before anyone relies on them legally. Limit values
are assessed by the regulations on reference instruments and over calendar periods; on
micro-sensors these alerts are indicative.
"""

from __future__ import annotations

from typing import Any

from rules.model import Rule, parse_rule

Spec = tuple[
    str, str, str, float, float, dict[str, Any]
]  # name, quantity, window, thr, clear, extra

DAY_S = 86400.0
AIR = {"selector": {"device_class": "air_quality"}}

PRESETS: dict[str, list[Spec]] = {
    # Rennes Métropole collects drop-off bins above 80 % full (Banque des Territoires,
    # domain.md §7); clearing at 60 % keeps a half-emptied bin from re-alerting.
    "bin_full": [("bin full", "filling_level", "raw", 80, 60, {"selector": {"device_class": "waste_bin"}})],
    # rules/forecast.py feeds bin_hours_to_full; full within 12 h leaves a collection round.
    "bin_full_soon": [
        ("bin full within 12 h", "bin_hours_to_full", "raw", 12, 24,
         {"direction": "below", "selector": {"device_class": "waste_bin"}}),
    ],
    # Directive 2008/50/EC, Annexes XI and XII (EEA limit value pages, domain.md §3).
    "eu_limits_2008": [
        ("PM10 daily limit value", "pm10", "mean_24h", 50, 50, AIR),
        ("NO2 hourly limit value", "no2", "hourly_mean", 200, 200, AIR),
        ("SO2 hourly limit value", "so2", "hourly_mean", 350, 350, AIR),
        ("SO2 daily limit value", "so2", "mean_24h", 125, 125, AIR),
        ("O3 target value (max daily 8 h mean)", "o3", "running_mean_8h", 120, 120, AIR),
        ("O3 information threshold", "o3", "hourly_mean", 180, 180, AIR),
        ("O3 alert threshold", "o3", "hourly_mean", 240, 240, AIR),
        # "measured over three consecutive hours": three hourly means in a row
        ("NO2 alert threshold", "no2", "hourly_mean", 400, 400, {**AIR, "count": 3}),
        ("SO2 alert threshold", "so2", "hourly_mean", 500, 500, {**AIR, "count": 3}),
    ],
    # Directive (EU) 2024/2881, limit values to meet by 1 January 2030 (airclim.org table,
    # domain.md §3). The daily values and all exceedance allowances are [verify].
    "eu_limits_2030": [
        ("PM10 daily limit value 2030", "pm10", "mean_24h", 45, 45, AIR),
        ("PM2.5 daily limit value 2030 [verify]", "pm2_5", "mean_24h", 25, 25, AIR),
        ("NO2 daily limit value 2030 [verify]", "no2", "mean_24h", 50, 50, AIR),
        ("NO2 hourly limit value 2030", "no2", "hourly_mean", 200, 200, AIR),
        ("SO2 daily limit value 2030 [verify]", "so2", "mean_24h", 50, 50, AIR),
    ],
    # WHO global air quality guidelines 2021, short-term AQG levels (airclim.org, domain.md §4).
    "who_2021": [
        ("WHO AQG PM2.5 24 h", "pm2_5", "mean_24h", 15, 15, AIR),
        ("WHO AQG PM10 24 h", "pm10", "mean_24h", 45, 45, AIR),
        ("WHO AQG NO2 24 h", "no2", "mean_24h", 25, 25, AIR),
        ("WHO AQG SO2 24 h", "so2", "mean_24h", 40, 40, AIR),
        ("WHO AQG O3 8 h", "o3", "running_mean_8h", 100, 100, AIR),
    ],
    # French episode procedures (code de l'environnement R221-1): PM10 50/80 since the
    # decree of 21 October 2010 (madininair.fr, atmo-guyane.org); NO2, O3 and SO2 [verify].
    "prefectoral": [
        ("PM10 information-recommendation threshold", "pm10", "mean_24h", 50, 50, AIR),
        ("PM10 alert threshold", "pm10", "mean_24h", 80, 80, AIR),
        ("NO2 information threshold [verify]", "no2", "hourly_mean", 200, 200, AIR),
        ("NO2 alert threshold [verify]", "no2", "hourly_mean", 400, 400, AIR),
        ("O3 information threshold [verify]", "o3", "hourly_mean", 180, 180, AIR),
        ("O3 alert threshold [verify]", "o3", "hourly_mean", 240, 240, AIR),
        ("SO2 information threshold [verify]", "so2", "hourly_mean", 300, 300, AIR),
        ("SO2 alert threshold [verify]", "so2", "hourly_mean", 500, 500, {**AIR, "count": 3}),
    ],
    # Indoor CO2 in public buildings. Décret 2022-1689 (27 Dec 2022) makes ERP operators
    # assess ventilation with CO2 measurements; 800 ppm is the level above which the HCSP
    # (avis of 28 April 2021) asks to air the room, 1500 ppm the commonly used upper
    # reference. Both values [verify] against the texts; 10 min avoids door-opening blips.
    "indoor_co2": [
        ("indoor CO2 above 800 ppm [verify]", "co2", "raw", 800, 700,
         {"selector": {"tags": {"setting": "indoor"}}, "for_s": 600, "severity": "info"}),
        ("indoor CO2 above 1500 ppm [verify]", "co2", "raw", 1500, 1200,
         {"selector": {"tags": {"setting": "indoor"}}, "for_s": 600, "severity": "major"}),
    ],
    # rules/derived.py lamp fault codes; two snapshots in a row so that a switching instant is no fault.
    "streetlight_failure": [
        ("streetlight failure", "lamp_fault", "raw", 0, 0,
         {"selector": {"device_class": "streetlight"}, "count": 2, "severity": "major"}),
    ],
    # rules/derived.py footfall ratio: below 30 % of the same hour last week, twice in a row.
    "people_counter_low": [
        ("people counter far below last week", "people_ratio_last_week", "raw", 0.3, 0.6,
         {"direction": "below", "selector": {"device_class": "people_counter"}, "count": 2}),
    ],
    # Vendors' low-battery flags sit around 10–20 %; 15 % leaves weeks for a round.
    "battery_low": [
        ("battery low", "battery_level", "raw", 15, 25, {"kind": "battery_low", "direction": "below"}),
    ],
    # rules/airindex.py level 4 = "poor" (mauvais); fed per zone, see airindex.
    "air_index_poor": [
        ("indicative air index (ATMO-style) poor or worse", "air_index", "raw", 3, 2, {}),
    ],
}  # fmt: skip


def preset(name: str, tenant_id: str) -> list[Rule]:
    """The rules of preset `name` for a tenant, with ids "<name>:<n>"."""
    rules = []
    for n, (title, quantity, window, threshold, clear, extra) in enumerate(PRESETS[name]):
        data: dict[str, Any] = {
            "id": f"{name}:{n}",
            "tenant_id": tenant_id,
            "name": title,
            "kind": "threshold",
            "quantity": quantity,
            "window": window,
            "threshold": threshold,
            "clear_threshold": clear,
            **extra,
        }
        rules.append(parse_rule(data))
    return rules


def device_silent(tenant_id: str, device_class: str, silent_s: float) -> Rule:
    """No uplink for `silent_s`: set it to about three reporting intervals of the class
    (bins report hourly to a few times a day, domain.md §7)."""
    return parse_rule(
        {
            "id": f"silent:{device_class}",
            "tenant_id": tenant_id,
            "name": f"{device_class} silent",
            "kind": "silence",
            "selector": {"device_class": device_class},
            "for_s": silent_s,
        }
    )
