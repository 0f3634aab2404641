"""The batch path gives exactly the readings of the per-payload path."""

from __future__ import annotations

import numpy as np
import pytest

import decoders
from decoders.batch import BatchReadings
from tests.decoders.vectors import load_vectors

VECTORS = load_vectors()


def per_payload(
    model: str, ports: list[int], payloads: list[bytes], heights: list[float]
) -> BatchReadings:
    rows, quantities, channels, values = [], [], [], []
    for i, (port, payload) in enumerate(zip(ports, payloads, strict=True)):
        params = {"bin_height_mm": heights[i]} if heights[i] == heights[i] else {}
        for r in decoders.decode(model, port, payload, params).readings:
            rows.append(i)
            quantities.append(r.quantity)
            channels.append(r.channel)
            values.append(r.value)
    return BatchReadings.from_rows(
        rows, list(zip(quantities, channels, strict=True)), values
    ).sorted()


def assert_equal(batch: BatchReadings, reference: BatchReadings) -> None:
    assert batch.row.tolist() == reference.row.tolist()
    assert batch.quantity.tolist() == reference.quantity.tolist()
    assert batch.channel.tolist() == reference.channel.tolist()
    np.testing.assert_array_equal(batch.value, reference.value)


def frames_of(model: str) -> list[tuple[int, bytes]]:
    frames = [(v.f_port, v.payload) for v in VECTORS if v.model == model]
    module = decoders.device_module(model)
    assert module is not None
    for sample in getattr(module, "SAMPLE_UPLINKS", ()):
        frames.append(module.encode_uplink(sample))
    return frames


@pytest.mark.parametrize("model", sorted(decoders.MODELS))
def test_batch_equals_per_payload(model: str) -> None:
    frames = frames_of(model) * 3 + [(1, b""), (85, b"\xff"), (2, b"\x00" * 5)]
    ports = [p for p, _ in frames]
    payloads = [b for _, b in frames]
    heights = [1200.0 if i % 2 else float("nan") for i in range(len(frames))]

    result = decoders.decode_batch(model, ports, payloads, np.array(heights))

    assert_equal(result.readings.sorted(), per_payload(model, ports, payloads, heights))
    for i, error in result.errors.items():
        assert decoders.decode(model, ports[i], payloads[i]).errors == [error]


@pytest.mark.parametrize("model", sorted(decoders.MODELS))
def test_fixed_frames_cover_the_samples(model: str) -> None:
    """Each declared fixed frame is exercised by a sample, so the fast path is really tested."""
    module = decoders.device_module(model)
    assert module is not None
    payloads = [b for _, b in frames_of(model)]
    for frame in module.FIXED_FRAMES:
        assert any(len(p) == frame.length for p in payloads), f"no sample of {frame.length} bytes"
