"""An indicative air index in the style of the French ATMO index, per zone and day.

It follows the method of the arrêté du 10 juillet 2020 (Annex I): sub-index per pollutant
from six bands, SO2/NO2/O3 on the zone's highest daily maximum of hourly means and PM10/PM2.5
on the zone's highest daily mean, index = the worst sub-index. It is NOT the "indice ATMO":
art. 2 reserves that name to the index computed by the approved monitoring association
(AASQA) from reference stations; ours comes from a commune's micro-sensors.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NAME = "indicative air index (ATMO-style)"
LEVELS = (
    "good",
    "fair",
    "degraded",
    "poor",
    "very poor",
    "extremely poor",
)  # bon … extrêmement mauvais

# Upper bounds (µg/m³) of the first five bands; a value equal to a bound belongs to the
# lower band. Arrêté du 10 juillet 2020, Annex I, as summarised in shared/reference/domain.md:
# SO2, NO2 and the first two O3 bounds read in the Légifrance annex; O3 130/240/380 and the
# PM rows equal the 2019–2024 EEA index bands [verify against Annex I §1.3–1.5].
BREAKPOINTS: dict[str, tuple[float, ...]] = {
    "so2": (100, 200, 350, 500, 750),
    "no2": (40, 90, 120, 230, 340),
    "o3": (50, 100, 130, 240, 380),
    "pm10": (20, 40, 50, 100, 150),
    "pm2_5": (10, 20, 25, 50, 75),
}
# Which daily metric each sub-index is computed on (rules/windows.py computes both).
METRIC = {
    "so2": "daily_max_hourly_mean",
    "no2": "daily_max_hourly_mean",
    "o3": "daily_max_hourly_mean",
    "pm10": "mean_24h",
    "pm2_5": "mean_24h",
}


def sub_index(pollutant: str, value: FloatArray) -> IntArray:
    """Band 1 (good) … 6 (extremely poor) of each value; 0 where the value is NaN."""
    band = (
        np.searchsorted(np.asarray(BREAKPOINTS[pollutant], dtype=np.float64), value, side="left")
        + 1
    )
    return np.where(np.isnan(value), 0, band).astype(np.int64)


def zone_max(zone: IntArray, zones: int, value: FloatArray) -> FloatArray:
    """(zones, days): the highest value over each zone's devices; NaN where none reported.
    `value` is (devices, days), `zone` the zone code of each device."""
    out = np.full((zones, value.shape[1]), np.nan)
    np.fmax.at(out, zone, value)
    return out


def index(daily: dict[str, FloatArray]) -> IntArray:
    """The index (1–6, 0 = no pollutant measured) from per-pollutant daily metrics of the
    same shape, e.g. (zones, days) from `zone_max`; the worst sub-index wins."""
    bands = [sub_index(pollutant, value) for pollutant, value in daily.items()]
    return np.maximum.reduce(bands) if bands else np.zeros(0, np.int64)
