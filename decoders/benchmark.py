"""`urbanpulse bench decode`: payloads/s per model, per-payload path and batch path, in
one run, on each model's periodic fixed-shape frames (its SAMPLE_UPLINKS that match one
of its FIXED_FRAMES). The batch path's rate is to its wide result (a value per reading
and payload); `batch_long_per_s` adds the flattening to one row per reading."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from decoders.batch import match_rows
from decoders.registry import MODELS, decode, decode_batch, device_module


def fixed_shape_samples(model: str) -> list[tuple[int, bytes]]:
    module = device_module(model)
    assert module is not None
    samples = []
    for data in module.SAMPLE_UPLINKS:
        f_port, payload = module.encode_uplink(data)
        block = np.frombuffer(payload, dtype=np.uint8).reshape(1, -1)
        for frame in module.FIXED_FRAMES:
            if (
                frame.length == len(payload)
                and frame.f_port in (None, f_port)
                and match_rows(frame, block)[0]
            ):
                samples.append((f_port, payload))
                break
    return samples


def rate(seconds: float, count: int) -> float:
    return count / seconds if seconds > 0 else float("inf")


def bench_model(model: str, payload_count: int, single_count: int) -> dict[str, Any]:
    samples = fixed_shape_samples(model)
    if not samples:
        return {"model": model, "fixed_frames": 0}
    ports = [samples[i % len(samples)][0] for i in range(payload_count)]
    payloads = [samples[i % len(samples)][1] for i in range(payload_count)]

    started = time.perf_counter()
    for i in range(single_count):
        decode(model, ports[i], payloads[i])
    single = rate(time.perf_counter() - started, single_count)

    started = time.perf_counter()
    result = decode_batch(model, ports, payloads)
    decoded_s = time.perf_counter() - started
    started = time.perf_counter()
    long_format = result.readings  # one row per reading, as the writer copies them
    flattened_s = time.perf_counter() - started
    batch = rate(decoded_s, payload_count)
    assert not result.errors
    return {
        "model": model,
        "per_payload_per_s": round(single),
        "batch_per_s": round(batch),
        "batch_long_per_s": round(rate(decoded_s + flattened_s, payload_count)),
        "speedup": round(batch / single, 1),
        "readings_per_payload": round(len(long_format) / payload_count, 2),
    }


def redecode_seconds(total: int, chunk: int = 1_000_000) -> float:
    """Decoding time of `total` stored uplinks the way `redecode` runs: chunks of one
    model at a time through the batch path, models taken in turn."""
    models = [m for m in sorted(MODELS) if fixed_shape_samples(m)]
    spent = 0.0
    for n in range(0, total, chunk):
        model = models[(n // chunk) % len(models)]
        samples = fixed_shape_samples(model)
        size = min(chunk, total - n)
        ports = [samples[i % len(samples)][0] for i in range(size)]
        payloads = [samples[i % len(samples)][1] for i in range(size)]
        started = time.perf_counter()
        decode_batch(model, ports, payloads)
        spent += time.perf_counter() - started
    return spent


def run(
    payload_count: int = 1_000_000, single_count: int = 20_000, redecode_total: int = 10_000_000
) -> dict[str, Any]:
    models = [bench_model(model, payload_count, single_count) for model in sorted(MODELS)]
    measured = [m for m in models if "batch_per_s" in m]
    return {
        "redecode_uplinks": redecode_total,
        "redecode_decode_s": round(redecode_seconds(redecode_total), 2),
        "bench": "decode",
        "payloads_per_model": payload_count,
        "per_payload_sample": single_count,
        "min_batch_per_s": min(m["batch_per_s"] for m in measured),
        "models": models,
    }
