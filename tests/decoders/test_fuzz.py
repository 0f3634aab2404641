"""Random bytes on any port never raise: every failure is a clear error in the result."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from tests.decoders.vectors import load_vectors

MODELS = sorted(decoders.MODELS)
SEEDS = {v.model: v.payload for v in load_vectors()}


@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=300, deadline=None)
@given(f_port=st.integers(0, 255), payload=st.binary(max_size=64))
def test_random_bytes_never_raise(model: str, f_port: int, payload: bytes) -> None:
    result = decoders.decode(model, f_port, payload)

    assert all(isinstance(e, str) and e for e in result.errors)
    if result.errors:
        assert result.readings == []


@pytest.mark.parametrize("model", sorted(SEEDS))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_truncated_and_mutated_vendor_frames_never_raise(model: str, data: st.DataObject) -> None:
    frame = bytearray(SEEDS[model])
    cut = data.draw(st.integers(0, len(frame)))
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, max(len(frame) - 1, 0)), st.integers(0, 255)), max_size=3)
    )
    for pos, value in flips:
        if pos < len(frame):
            frame[pos] = value
    for f_port in (1, 2, 85, 100):
        result = decoders.decode(model, f_port, bytes(frame[:cut]))
        assert all(isinstance(e, str) and e for e in result.errors)
