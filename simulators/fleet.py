"""A deterministic fleet of simulated devices and the uplinks they send.

Same seed, same devices, same uplinks, byte for byte: every random choice comes from one
`random.Random(seed)`, deduplication ids included. Payloads come from the decoders'
encoders for the real device models."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import decoders
from simulators.envelope import Gateway, Reception, SimDevice, Uplink


def available_models() -> list[str]:
    """Models whose module provides an uplink encoder and samples."""
    models = []
    for model in sorted(decoders.MODELS):
        try:
            module = decoders.device_module(model)
        except ImportError:
            continue
        if module is not None and module.SAMPLE_UPLINKS:
            models.append(model)
    return models


def make_gateways(
    rng: random.Random, count: int = 3, lat: float = 45.76, lon: float = 4.84
) -> list[Gateway]:
    return [
        Gateway(
            f"{rng.getrandbits(64):016x}",
            round(lat + rng.uniform(-0.02, 0.02), 6),
            round(lon + rng.uniform(-0.02, 0.02), 6),
        )
        for _ in range(count)
    ]


def make_fleet(count: int, seed: int, models: Sequence[str] | None = None) -> list[SimDevice]:
    rng = random.Random(seed)
    chosen = list(models) if models is not None else available_models()
    if not chosen:
        raise ValueError("no device model with an uplink encoder is available")
    fleet = []
    for i in range(count):
        model = chosen[i % len(chosen)]
        profile = uuid.UUID(int=rng.getrandbits(128), version=4)
        fleet.append(
            SimDevice(
                dev_eui=f"{rng.getrandbits(64):016x}",
                model=model,
                name=f"{model}-{i:05d}",
                dev_addr=f"{rng.getrandbits(32):08x}",
                device_profile_id=str(profile),
                device_profile_name=model,
                tags={"model": model},
            )
        )
    return fleet


def sample_payload(model: str, k: int) -> tuple[int, bytes]:
    module = decoders.device_module(model)
    assert module is not None
    samples: Sequence[dict[str, Any]] = module.SAMPLE_UPLINKS
    return module.encode_uplink(samples[k % len(samples)])


def uplinks(
    fleet: Sequence[SimDevice], count: int, seed: int, start: datetime, interval_s: float = 600.0
) -> Iterator[Uplink]:
    """`count` uplinks, round-robin over the fleet; a device's k-th uplink is sent at
    start + k * interval (plus a fixed per-device offset), with fCnt k."""
    rng = random.Random(seed ^ 0x5EED)
    gateways = make_gateways(rng)
    offsets = [rng.uniform(0, interval_s) for _ in fleet]
    for n in range(count):
        index = n % len(fleet)
        device = fleet[index]
        k = n // len(fleet)
        f_port, payload = sample_payload(device.model, k + index)
        heard = rng.sample(gateways, rng.randint(1, len(gateways)))
        yield Uplink(
            device=device,
            deduplication_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            time=start + timedelta(seconds=offsets[index] + k * interval_s),
            f_cnt=k,
            f_port=f_port,
            payload=payload,
            receptions=tuple(
                Reception(
                    gw, rng.getrandbits(32), rng.randint(-120, -40), round(rng.uniform(-15, 12), 1)
                )
                for gw in heard
            ),
        )
