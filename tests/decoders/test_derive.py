"""A fill level from the distance and the bin's height, the same per payload and in batch."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from decoders import Reading, decode, decode_batch
from decoders.derive import derive_readings


def test_fill_level_is_clipped_to_the_bin() -> None:
    readings = [
        Reading("distance", 300.0),
        Reading("distance", 1500.0, "2"),
        Reading("distance", -5.0, "3"),
    ]

    derived = derive_readings(readings, {"bin_height_mm": 1200.0})

    levels = {r.channel: r.value for r in derived if r.quantity == "filling_level"}
    assert levels == {"": 75.0, "2": 0.0, "3": 100.0}


def test_no_height_or_a_reported_level_derives_nothing() -> None:
    reported = [Reading("distance", 300.0), Reading("filling_level", 40.0)]

    assert derive_readings([Reading("distance", 300.0)], {}) == [Reading("distance", 300.0)]
    assert derive_readings(reported, {"bin_height_mm": 1200.0}) == reported


@given(distance=st.integers(0, 65535), height=st.floats(100, 5000))
def test_batch_and_single_payload_agree(distance: int, height: float) -> None:
    payload = (
        bytes([0x01, 0x75, 80, 0x03, 0x82])
        + distance.to_bytes(2, "little")
        + bytes([0x04, 0x00, 0x00])
    )

    single = decode("milesight-em310-udl", 85, payload, {"bin_height_mm": height})
    batch = decode_batch("milesight-em310-udl", [85], [payload], np.array([height]))

    level = [r.value for r in single.readings if r.quantity == "filling_level"]
    batch_level = batch.readings.value[batch.readings.quantity == "filling_level"].tolist()
    assert level == batch_level
    assert len(level) == 1
