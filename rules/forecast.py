"""When will each bin be full: a least-squares fill rate over the readings since its last
collection, for all bins at once.

A collection is a drop of more than `COLLECTION_DROP_PCT` points between two consecutive
readings of a bin; the regression then starts again from the reading after the drop.
Operators plan rounds on this (Rennes targets bins above 80 %; domain.md §7).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

COLLECTION_DROP_PCT = 30.0
MIN_READINGS = 3
FULL_PCT = 100.0


def fill_forecast(
    device: IntArray, time_s: FloatArray, level_pct: FloatArray, devices: int
) -> tuple[FloatArray, FloatArray]:
    """Per device: (fill rate in %/h, predicted time in epoch seconds at which the fitted
    line reaches 100 %). NaN where fewer than 3 readings follow the last collection or
    the level is not rising. Readings may come in any order; NaN levels are ignored."""
    ok = ~np.isnan(level_pct)
    order = np.lexsort((time_s[ok], device[ok]))
    dev, t, y = device[ok][order], time_s[ok][order], level_pct[ok][order]
    first = np.ones(dev.size, bool)
    first[1:] = dev[1:] != dev[:-1]
    drop = np.zeros(dev.size, bool)
    drop[1:] = (y[:-1] - y[1:] > COLLECTION_DROP_PCT) & ~first[1:]
    # the latest start (device's first reading or a collection) at or before each reading
    start = np.maximum.accumulate(np.where(first | drop, np.arange(dev.size), 0))
    last = np.ones(dev.size, bool)
    last[:-1] = first[1:]
    current = start == start[np.flatnonzero(last)][np.cumsum(first) - 1]
    dev, t, y = dev[current], t[current], y[current]
    hours = (t - t.min()) / 3600.0 if t.size else t  # well-conditioned regression

    def per_device(w: FloatArray) -> FloatArray:
        return np.bincount(dev, weights=w, minlength=devices).astype(np.float64)

    n = per_device(np.ones(dev.size))
    sx, sy, sxx, sxy = (
        per_device(hours),
        per_device(y),
        per_device(hours * hours),
        per_device(hours * y),
    )
    denom = n * sxx - sx * sx
    enough = (n >= MIN_READINGS) & (denom > 0)
    slope = np.full(devices, np.nan)
    np.divide(n * sxy - sx * sy, denom, out=slope, where=enough)
    intercept = np.full(devices, np.nan)
    np.divide(sy - slope * sx, n, out=intercept, where=enough)
    rising = slope > 0
    full_h = np.full(devices, np.nan)
    np.divide(FULL_PCT - intercept, slope, out=full_h, where=rising)
    origin = t.min() if t.size else 0.0
    return np.where(rising, slope, np.nan), origin + full_h * 3600.0


def hours_to_full(predicted_full_s: FloatArray, now_s: float) -> FloatArray:
    """The derived quantity `bin_hours_to_full` (0 when the line is already past 100 %)."""
    return np.maximum(predicted_full_s - now_s, 0.0) / 3600.0
