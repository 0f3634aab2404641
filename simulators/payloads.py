"""Payload bytes from the device models' own encoders, memoized.

Most reports repeat (switching reports, a bin's tilt, a battery level) and come from a
cache. A Milesight frame is a chain of independent items (decoders/milesight.py), so a
WS558 report is encoded item by item, each item through the model's encoder and cached.
Its energy counter changes at every report and would miss any cache: a counter item is
written as its header then the value as an unsigned little-endian integer, the layout
the encoder is checked to give when the chain is built. tests/simulators/test_payloads.py
checks the chain gives the bytes of the whole encoding."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

import decoders

Vendor = dict[str, Any]
Encoded = tuple[int, bytes]
ItemWriter = Callable[[Vendor], Encoded]
ValueGetter = Callable[[Vendor], Any]
ValueWriter = Callable[[Any], Encoded]

CACHE_SIZE = 1 << 16
SWITCHES = tuple(f"switch_{c}" for c in range(1, 9))
# the items of a model's periodic report, in the order its encoder writes them
ITEM_CHAINS: dict[str, tuple[tuple[str, ...], ...]] = {
    "milesight-ws558": (
        SWITCHES,
        ("power_factor",),
        ("total_current",),
        ("voltage",),
        ("power_consumption",),
        ("active_power",),
    ),
}
# items holding an unsigned little-endian counter: its key and width in bytes
COUNTERS: dict[str, dict[str, int]] = {"milesight-ws558": {"power_consumption": 4}}


def encode(model: str, vendor: Vendor) -> Encoded:
    """(fPort, payload) of the vendor output `vendor`, as the model's encoder makes it."""
    return encoder(model)(vendor)


@cache
def encoder(model: str) -> ItemWriter:
    """The memoized encoder of a model: whole frames, or item by item for a chain."""
    whole = _whole_frames(model)
    chain = ITEM_CHAINS.get(model)
    if chain is None:
        return whole
    counters = COUNTERS.get(model, {})
    items = tuple((itemgetter(*keys), _item(model, keys, counters)) for keys in chain)
    return _chain(items, len(chain[0]), whole)


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


def _item(model: str, keys: tuple[str, ...], counters: dict[str, int]) -> ValueWriter:
    if len(keys) == 1 and keys[0] in counters:
        return _counter_item(model, keys[0], counters[keys[0]])
    return _cached_item(model, keys)


def _cached_item(model: str, keys: tuple[str, ...]) -> ValueWriter:
    """The item of `keys` from their value (one key) or their tuple of values."""
    if len(keys) == 1:
        (key,) = keys
        return lru_cache(maxsize=CACHE_SIZE)(lambda value: _encode(model, {key: value}))
    return lru_cache(maxsize=CACHE_SIZE)(
        lambda values: _encode(model, dict(zip(keys, values, strict=True)))
    )


def _counter_item(model: str, key: str, width: int) -> ValueWriter:
    """The item's header and the value's `width` bytes, little-endian; a value outside that
    layout (not an int, out of range) goes through the encoder."""
    f_port, zero = _encode(model, {key: 0})
    header = zero[:-width]
    top = 1 << 8 * width
    for probe in (1, 0x0102030405060708 % top, top - 1):
        expected = (f_port, header + probe.to_bytes(width, "little"))
        if _encode(model, {key: probe}) != expected:
            raise AssertionError(f"{model} {key}: not a {width}-byte little-endian counter")

    def write(value: Any) -> Encoded:
        if type(value) is int and 0 <= value < top:
            return f_port, header + value.to_bytes(width, "little")
        return _encode(model, {key: value})

    return write


def _chain(items: Sequence[tuple[ValueGetter, ValueWriter]], short: int,
           whole: ItemWriter) -> ItemWriter:  # fmt: skip
    """Item by item when the report has more keys than the first item (the switches alone
    are a whole frame)."""

    def write(vendor: Vendor) -> Encoded:
        if len(vendor) <= short:
            return whole(vendor)
        parts = [write_item(values_of(vendor)) for values_of, write_item in items]
        return parts[-1][0], b"".join([part for _, part in parts])

    return write
