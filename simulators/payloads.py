"""Payload bytes from the device models' own encoders, memoized.

Most reports repeat (switching reports, a bin's tilt, a battery level) and come from a
cache. A Milesight frame is a chain of independent items (decoders/milesight.py), so a
WS558, EM310 or EM400 report is encoded item by item, each item through the model's
encoder and kept by value. The WS558's energy counter changes at every report and would
miss any cache: a counter item is written as its header then the value as an unsigned
little-endian integer, the layout the encoder is checked to give when the chain is
built. A fixed frame whose one reading changes at every report (the LT-22222-L's current
loop) comes from the cache with that reading at 0, the reading's bytes written in: each
frame the cache makes is checked against the encoder with the reading in place.
tests/simulators/test_payloads.py checks each way gives the bytes of the whole encoding."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any, Protocol

import decoders

Vendor = dict[str, Any]
Encoded = tuple[int, bytes]
ItemWriter = Callable[[Vendor], Encoded]

CACHE_SIZE = 1 << 16
SWITCHES = tuple(f"switch_{c}" for c in range(1, 9))
# the items of a model's periodic report, in the order its encoder writes them; items
# whose values take few combinations may be kept together
ITEM_CHAINS: dict[str, tuple[tuple[str, ...], ...]] = {
    "milesight-ws558": (
        (*SWITCHES, "power_factor"),  # two items, as one: a few dozen combinations
        ("total_current",),
        ("voltage",),
        ("power_consumption",),
        ("active_power",),
    ),
    "milesight-em310-udl": (("battery",), ("distance",), ("position",)),
    "milesight-em400-mud": (("battery",), ("temperature",), ("distance",), ("position",)),
}
# items holding an unsigned little-endian counter: its key and width in bytes
COUNTERS: dict[str, dict[str, int]] = {"milesight-ws558": {"power_consumption": 4}}


class Item(Protocol):
    """An item's encodings by its value or tuple of values: _Memo or _Counter."""

    def __getitem__(self, value: Any, /) -> Encoded: ...


@dataclass(frozen=True, slots=True)
class Field:
    """A reading at `offset` of a fixed frame: round(value × scale), `width` bytes,
    big-endian, signed."""

    key: str
    offset: int
    width: int
    scale: int


FIELDS: dict[str, Field] = {"dragino-lt-22222-l": Field("ACI1_mA", 4, 2, 1000)}


def encode(model: str, vendor: Vendor) -> Encoded:
    """(fPort, payload) of the vendor output `vendor`, as the model's encoder makes it."""
    return encoder(model)(vendor)


@cache
def encoder(model: str) -> ItemWriter:
    """The memoized encoder of a model: whole frames, or item by item for a chain."""
    if model in FIELDS:
        return _with_field(model, FIELDS[model])
    whole = _whole_frames(model)
    chain = ITEM_CHAINS.get(model)
    if chain is None:
        return whole
    counters = COUNTERS.get(model, {})
    return _chain(chain, tuple(_item(model, keys, counters) for keys in chain), whole)


def _encode(model: str, vendor: Vendor) -> Encoded:
    module = decoders.device_module(model)
    assert module is not None, model
    return module.encode_uplink(vendor)


def _whole_frames(model: str) -> ItemWriter:
    @lru_cache(maxsize=CACHE_SIZE)
    def cached(items: tuple[tuple[str, Any], ...]) -> Encoded:
        return _encode(model, dict(items))

    def write(vendor: Vendor) -> Encoded:
        try:
            return cached(tuple(vendor.items()))
        except TypeError:  # a nested (unhashable) vendor value: no cache
            return _encode(model, vendor)

    return write


def _item(model: str, keys: tuple[str, ...], counters: dict[str, int]) -> Item:
    if len(keys) == 1 and keys[0] in counters:
        return _Counter(model, keys[0], counters[keys[0]])
    return _Memo(model, keys)


class _Memo(dict[Any, Encoded]):
    """An item's encodings by its value (one key) or tuple of values, from the encoder the
    first time; all forgotten past CACHE_SIZE. A dict: a hit costs one lookup."""

    __slots__ = ("item_keys", "model")

    def __init__(self, model: str, item_keys: tuple[str, ...]) -> None:
        super().__init__()
        self.model, self.item_keys = model, item_keys

    def __missing__(self, values: Any) -> Encoded:
        if len(self) >= CACHE_SIZE:
            self.clear()
        keys = self.item_keys
        vendor = {keys[0]: values} if len(keys) == 1 else dict(zip(keys, values, strict=True))
        encoded = self[values] = _encode(self.model, vendor)
        return encoded


class _Counter:
    """The item's header and the value's `width` bytes, little-endian; a value outside that
    layout (not an int, out of range) goes through the encoder."""

    def __init__(self, model: str, key: str, width: int) -> None:
        f_port, zero = _encode(model, {key: 0})
        header = zero[:-width]
        top = 1 << 8 * width
        for probe in (1, 0x0102030405060708 % top, top - 1):
            expected = (f_port, header + probe.to_bytes(width, "little"))
            if _encode(model, {key: probe}) != expected:
                raise AssertionError(f"{model} {key}: not a {width}-byte little-endian counter")
        self.model, self.key, self.width, self.top = model, key, width, top
        self.f_port, self.header = f_port, header

    def __getitem__(self, value: Any) -> Encoded:
        if type(value) is int and 0 <= value < self.top:
            return self.f_port, self.header + value.to_bytes(self.width, "little")
        return _encode(self.model, {self.key: value})


def _chain(chain: Sequence[tuple[str, ...]], items: Sequence[Item],
           whole: ItemWriter) -> ItemWriter:  # fmt: skip
    """Item by item when the report has exactly the chain's keys (a WS558's switches alone
    are a whole frame): every value read at once, each item's value (one key) or values (a
    slice of them) looked up in its item."""
    keys = tuple(key for item_keys in chain for key in item_keys)
    values_of = itemgetter(*keys)
    parts, start = [], 0
    for item_keys, item in zip(chain, items, strict=True):
        size = len(item_keys)
        parts.append((start if size == 1 else slice(start, start + size), item))
        start += size

    def write(vendor: Vendor) -> Encoded:
        if len(vendor) != len(keys):
            return whole(vendor)
        f_port, frame = 0, b""
        try:
            values = values_of(vendor)
            for where, item in parts:
                f_port, part = item[values[where]]
                frame += part
        except (KeyError, TypeError):  # other keys, or an unhashable value
            return whole(vendor)
        return f_port, frame

    return write


def _with_field(model: str, field: Field) -> ItemWriter:
    """Frames kept by the report's other values, with `field` at 0, its bytes written in
    (each kept frame checked against the encoder once); a report of other keys, or a value
    the layout cannot hold exactly, goes through the encoder."""
    key, start, end, scale = field.key, field.offset, field.offset + field.width, field.scale
    low, high = -(1 << 8 * field.width - 1), 1 << 8 * field.width - 1
    shape: list[tuple[int, Callable[[Vendor], Any]]] = []  # the first report's: size, others
    frames: dict[Any, tuple[int, bytes, bytes]] = {}  # (fPort, bytes before, bytes after)

    def write(vendor: Vendor) -> Encoded:
        value = vendor.get(key)
        if type(value) is not float:
            return _encode(model, vendor)
        raw = round(value * scale)
        if not low <= raw < high or raw / scale != value:
            return _encode(model, vendor)
        if not shape:
            shape.append((len(vendor), itemgetter(*(k for k in vendor if k != key))))
        size, others_of = shape[0]
        if len(vendor) != size:
            return _encode(model, vendor)
        try:
            others = others_of(vendor)
            kept = frames.get(others)
        except (KeyError, TypeError):  # other keys, or an unhashable value
            return _encode(model, vendor)
        if kept is None:
            f_port, zero = _encode(model, {**vendor, key: 0.0})
            kept = f_port, zero[:start], zero[end:]
            frame = zero[:start] + raw.to_bytes(end - start, "big", signed=True) + zero[end:]
            if _encode(model, vendor) != (f_port, frame):
                raise AssertionError(f"{model} {key}: not {end - start} bytes at {start}")
            if len(frames) >= CACHE_SIZE:
                frames.clear()
            frames[others] = kept
        f_port, before, after = kept
        return f_port, before + raw.to_bytes(end - start, "big", signed=True) + after

    return write
