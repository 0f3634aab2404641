"""Quantities derived from others with the device's registry parameters.

A bin sensor that reports only its distance to the surface gets a fill level from the
bin's height: fill = (height - distance) / height, clipped to 0–100 %. The same formula
serves one payload and a whole batch.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from decoders.batch import BatchReadings, FloatArray
from decoders.codec import Reading

BIN_HEIGHT = "bin_height_mm"


def fill_level_pct(distance_mm: FloatArray, bin_height_mm: FloatArray) -> FloatArray:
    level = (bin_height_mm - distance_mm) / bin_height_mm * 100.0
    result: FloatArray = np.clip(level, 0.0, 100.0)
    return result


def derive_readings(readings: list[Reading], params: Mapping[str, float]) -> list[Reading]:
    """The readings plus those derived with `params` (the device's registry parameters)."""
    quantities = {r.quantity for r in readings}
    height = params.get(BIN_HEIGHT)
    if "distance" not in quantities or "filling_level" in quantities or not height:
        return readings
    derived = [
        Reading(
            "filling_level",
            float(fill_level_pct(np.array([r.value]), np.array([float(height)]))[0]),
            r.channel,
        )
        for r in readings
        if r.quantity == "distance"
    ]
    return readings + derived


def derive_batch(readings: BatchReadings, bin_height_mm: FloatArray | None) -> BatchReadings:
    """Batch form of derive_readings; bin_height_mm is per input row, NaN where unknown."""
    distance_keys = [i for i, (q, _) in enumerate(readings.keys) if q == "distance"]
    if bin_height_mm is None or not distance_keys:
        return readings
    level_keys = [i for i, (q, _) in enumerate(readings.keys) if q == "filling_level"]
    has_level = np.zeros(bin_height_mm.size, dtype=bool)
    has_level[readings.row[np.isin(readings.key, level_keys)]] = True
    pick = np.isin(readings.key, distance_keys)
    rows = readings.row[pick]
    heights = bin_height_mm[rows]
    usable = ~has_level[rows] & (heights > 0)
    if not usable.any():
        return readings
    levels = fill_level_pct(readings.value[pick][usable], heights[usable])
    # filling_level on the channel of the distance it comes from
    derived_keys = tuple(("filling_level", readings.keys[i][1]) for i in distance_keys)
    lookup = np.zeros(len(readings.keys), dtype=np.int16)
    lookup[distance_keys] = np.arange(len(distance_keys), dtype=np.int16)
    extra = BatchReadings(rows[usable], lookup[readings.key[pick][usable]], levels, derived_keys)
    return BatchReadings.concat([readings, extra])
