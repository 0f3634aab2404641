"""Which module decodes which device model, and the two entry points that use them.

A model is named by its vector file's stem (`milesight-ws558`); its module is that stem
with underscores (`decoders.milesight_ws558`). Modules are imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from functools import cache
from types import ModuleType
from typing import Any, Protocol, cast

import numpy as np

from decoders.batch import BatchReadings, Block, FixedFrame, FloatArray, frame_block, match_rows
from decoders.codec import DecodeError, DecodeResult, Reading
from decoders.derive import derive_batch, derive_readings

DEVICE_CLASSES = ("waste_bin", "air_quality", "people_counter", "streetlight")

MODELS: dict[str, str] = {
    "decentlab-dl-iam": "decoders.decentlab_dl_iam",
    "decentlab-dl-lp8p": "decoders.decentlab_dl_lp8p",
    "decentlab-dl-mbx": "decoders.decentlab_dl_mbx",
    "decentlab-dl-pm": "decoders.decentlab_dl_pm",
    "dragino-lt-22222-l": "decoders.dragino_lt_22222_l",
    "imbuildings-people-counter": "decoders.imbuildings_people_counter",
    "milesight-am319": "decoders.milesight_am319",
    "milesight-em310-udl": "decoders.milesight_em310_udl",
    "milesight-em400-mud": "decoders.milesight_em400_mud",
    "milesight-vs121": "decoders.milesight_vs121",
    "milesight-vs133": "decoders.milesight_vs133",
    "milesight-ws558": "decoders.milesight_ws558",
    "pepperl-fuchs-wilsen-sonic-level": "decoders.pepperl_fuchs_wilsen_sonic_level",
    "terabee-people-flow-counting-l-xl": "decoders.terabee_people_flow_counting_l_xl",
}


class DeviceModule(Protocol):
    """What a device module provides (see any decoders/<model>.py)."""

    MODEL: str
    DEVICE_CLASS: str
    FIXED_FRAMES: tuple[FixedFrame, ...]
    SAMPLE_UPLINKS: tuple[dict[str, Any], ...]

    def decode(self, f_port: int, payload: bytes) -> dict[str, Any]: ...

    def normalize(self, data: Mapping[str, Any]) -> list[Reading]: ...

    def encode_uplink(self, data: Mapping[str, Any]) -> tuple[int, bytes]: ...


@cache
def device_module(model: str) -> DeviceModule | None:
    """The module of a model, or None when no decoder exists for it."""
    name = MODELS.get(model)
    if name is None:
        return None
    module: ModuleType = importlib.import_module(name)
    return cast(DeviceModule, module)


def device_class(model: str) -> str | None:
    module = device_module(model)
    return module.DEVICE_CLASS if module else None


def decode(
    model: str, f_port: int, payload: bytes, params: Mapping[str, float] | None = None
) -> DecodeResult:
    """Decode one payload: the vendor's output, the normalized readings, errors as data.

    `params` are the device's registry parameters (e.g. `bin_height_mm`).
    """
    module = device_module(model)
    if module is None:
        return DecodeResult(model, {}, errors=[f"no decoder for model {model!r}"])
    try:
        data = module.decode(f_port, bytes(payload))
    except DecodeError as exc:
        return DecodeResult(model, exc.partial, errors=[str(exc)])
    readings = derive_readings(module.normalize(data), params or {})
    return DecodeResult(model, data, readings)


@cache
def frames_by_length(frames: tuple[FixedFrame, ...]) -> dict[int, list[FixedFrame]]:
    grouped: dict[int, list[FixedFrame]] = {}
    for frame in frames:
        grouped.setdefault(frame.length, []).append(frame)
    return grouped


class BatchResult:
    """A batch's readings, wide per frame shape (`blocks`) and long for the rest (`extra`),
    and the rows that failed with their error. `readings` is all of them, long: built on
    first use, since a caller that only needs the values need not pay for it."""

    __slots__ = ("_readings", "blocks", "errors", "extra")

    def __init__(
        self, blocks: tuple[Block, ...], extra: BatchReadings, errors: dict[int, str]
    ) -> None:
        self.blocks = blocks
        self.extra = extra
        self.errors = errors
        self._readings: BatchReadings | None = None

    @property
    def readings(self) -> BatchReadings:
        if self._readings is None:
            self._readings = BatchReadings.concat([*(b.flat() for b in self.blocks), self.extra])
        return self._readings


def decode_batch(
    model: str,
    f_ports: Sequence[int],
    payloads: Sequence[bytes],
    bin_height_mm: FloatArray | None = None,
) -> BatchResult:
    """Decode many payloads of one model; readings equal those of `decode` on each one."""
    n = len(payloads)
    module = device_module(model)
    if module is None:
        return BatchResult(
            (), BatchReadings.concat([]), dict.fromkeys(range(n), f"no decoder for model {model!r}")
        )
    ports = np.fromiter(f_ports, dtype=np.int64, count=n)
    lengths = np.fromiter(map(len, payloads), dtype=np.int64, count=n)
    pending = np.ones(n, dtype=bool)
    blocks: list[Block] = []
    for length, frames in frames_by_length(module.FIXED_FRAMES).items():
        candidates = np.flatnonzero(lengths == length)
        if candidates.size == 0:
            continue
        # One byte block per frame length, whatever the number of frames of that length.
        everything = candidates.size == n  # the common case: one shape for the whole batch
        joined = b"".join(payloads if everything else [payloads[i] for i in candidates.tolist()])
        block = np.frombuffer(joined, dtype=np.uint8).reshape(candidates.size, length)
        free = np.ones(candidates.size, dtype=bool)
        for frame in frames:
            hit = free & match_rows(frame, block)
            if frame.f_port is not None:
                hit &= ports[candidates] == frame.f_port
            if hit.any():
                blocks.append(frame_block(frame, candidates[hit], block[hit]))
                free &= ~hit
        pending[candidates[~free]] = False
    errors: dict[int, str] = {}
    slow_rows: list[int] = []
    slow: list[Reading] = []
    for i in np.flatnonzero(pending).tolist():
        try:
            data = module.decode(int(ports[i]), bytes(payloads[i]))
        except DecodeError as exc:
            errors[i] = str(exc)
            continue
        for reading in module.normalize(data):
            slow_rows.append(i)
            slow.append(reading)
    extra = BatchReadings.from_rows(
        slow_rows, [(r.quantity, r.channel) for r in slow], [r.value for r in slow]
    )
    if bin_height_mm is None:
        return BatchResult(tuple(blocks), extra, errors)
    # derived readings need the distances in long form: flatten now
    flat = BatchReadings.concat([*(b.flat() for b in blocks), extra])
    return BatchResult((), derive_batch(flat, bin_height_mm), errors)
