"""Payload bytes from the device models' own encoders, memoized.

Most reports repeat (switching reports, a bin's tilt, a battery level) and come from a
cache. A Milesight frame is a chain of independent items (decoders/milesight.py), so a
WS558 report is encoded item by item, each item through the model's encoder and cached:
the counter that always changes costs one small encoding, the rest are cache hits.
tests/simulators/test_payloads.py checks the chain gives the bytes of the whole encoding."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import decoders

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


def _encode(model: str, vendor: dict[str, Any]) -> tuple[int, bytes]:
    module = decoders.device_module(model)
    assert module is not None, model
    return module.encode_uplink(vendor)


@lru_cache(maxsize=16384)
def _encode_cached(model: str, items: tuple[tuple[str, Any], ...]) -> tuple[int, bytes]:
    return _encode(model, dict(items))


def _encode_whole(model: str, vendor: dict[str, Any]) -> tuple[int, bytes]:
    try:
        return _encode_cached(model, tuple(vendor.items()))
    except TypeError:  # a nested (unhashable) vendor value: no cache
        return _encode(model, vendor)


def encode(model: str, vendor: dict[str, Any]) -> tuple[int, bytes]:
    """(fPort, payload) of the vendor output `vendor`, as the model's encoder makes it."""
    chain = ITEM_CHAINS.get(model)
    if chain is None or len(vendor) <= len(chain[0]):
        return _encode_whole(model, vendor)
    f_port, parts = 0, []
    for keys in chain:
        f_port, part = _item(model, keys, tuple(map(vendor.__getitem__, keys)))
        parts.append(part)
    return f_port, b"".join(parts)


@lru_cache(maxsize=16384)
def _item(model: str, keys: tuple[str, ...], values: tuple[Any, ...]) -> tuple[int, bytes]:
    return _encode(model, dict(zip(keys, values, strict=True)))
