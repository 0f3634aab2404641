"""Small derived quantities the presets watch, computed from readings for many devices at
once: `lamp_fault` (streetlights) and `people_ratio_last_week` (people counters).

Lamp fault codes: 0 normal, 1 circuit on but no power drawn (lamp, driver or fuse failed),
2 on in full daylight (wasted energy: a stuck relay or a wrong schedule), 3 off at night.
Day and night keep a margin around sunrise and sunset (rules/sun.py), inside which
photocells and astronomical clocks legitimately switch, so dusk switching is no fault.

The footfall ratio compares a counter's hour with the same hour of the same weekday: a
blocked, turned or dead counter still reports, but counts a fraction of the usual flow.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rules.sun import is_daylight, is_night

FloatArray = npt.NDArray[np.float64]

OK, NO_POWER, ON_IN_DAYLIGHT, OFF_AT_NIGHT = 0, 1, 2, 3
# A dimmed LED lantern still draws several watts; below this an "on" circuit is dark.
# Assumption for a single-lantern node, to be set per circuit for cabinet meters.
NO_POWER_W = 2.0
# Twilight margin: the astronomical clocks and photocells of French lighting cabinets
# commonly switch within ±30 min of sunset/sunrise (operator practice, not a standard).
MARGIN_S = 1800.0


def lamp_fault(
    time_s: FloatArray,
    circuit_on: FloatArray,
    active_power_w: FloatArray,
    lat_deg: FloatArray,
    lon_deg: FloatArray,
    no_power_w: float = NO_POWER_W,
    margin_s: float = MARGIN_S,
) -> FloatArray:
    """The fault code per snapshot (NaN where the circuit state is unknown). A NaN power
    cannot show a dark lamp, so only the day/night checks apply to it."""
    on = circuit_on >= 0.5
    dark = on & (active_power_w < no_power_w)
    day = is_daylight(time_s, lat_deg, lon_deg, margin_s)
    night = is_night(time_s, lat_deg, lon_deg, margin_s)
    code = np.select(
        [dark, on & day, ~on & night], [NO_POWER, ON_IN_DAYLIGHT, OFF_AT_NIGHT], OK
    ).astype(np.float64)
    return np.where(np.isnan(circuit_on), np.nan, code)


WEEK_H = 168  # hours in a week
MIN_COUNT = 20.0  # assumption: below ~20 people/h a ratio is mostly noise


def ratio_to_last_week(hourly_counts: FloatArray, min_count: float = MIN_COUNT) -> FloatArray:
    """(series, hours) → (series, hours): count[h] / count[h − 168]; NaN for the first
    week, for missing hours and where last week's count is below `min_count`."""
    out = np.full(hourly_counts.shape, np.nan)
    now, before = hourly_counts[:, WEEK_H:], hourly_counts[:, :-WEEK_H]
    np.divide(now, before, out=out[:, WEEK_H:], where=before >= min_count)
    return out
