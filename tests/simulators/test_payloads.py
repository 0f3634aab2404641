"""Payloads come from the models' encoders, whole or item by item, with the same bytes."""

from __future__ import annotations

import random

import pytest

import decoders
from simulators.payloads import encode


def test_a_ws558_report_encoded_item_by_item_equals_the_whole_encoding() -> None:
    module = decoders.device_module("milesight-ws558")
    assert module is not None
    report = module.SAMPLE_UPLINKS[0]
    for energy_wh in (0, 125_000, 2**32 - 1):
        vendor = {**report, "power_consumption": energy_wh}
        assert encode("milesight-ws558", vendor) == module.encode_uplink(vendor)


def test_vendor_outputs_with_nested_values_are_encoded_too() -> None:
    vendor = {"count_in": 3, "count_out": 4, "flags": {}}
    f_port, payload = encode("terabee-people-flow-counting-l-xl", vendor)
    assert decoders.decode("terabee-people-flow-counting-l-xl", f_port, payload).data == vendor


def test_the_energy_counter_is_written_as_the_encoder_writes_it() -> None:
    module = decoders.device_module("milesight-ws558")
    assert module is not None
    report = module.SAMPLE_UPLINKS[0]
    rng = random.Random(1)
    for energy_wh in [0, 1, 255, 256, 2**32 - 1] + [rng.randrange(2**32) for _ in range(200)]:
        vendor = {**report, "power_consumption": energy_wh}
        assert encode("milesight-ws558", vendor) == module.encode_uplink(vendor)


def test_a_counter_out_of_its_layout_is_left_to_the_encoder() -> None:
    module = decoders.device_module("milesight-ws558")
    assert module is not None
    report = module.SAMPLE_UPLINKS[0]
    assert encode("milesight-ws558", {**report, "power_consumption": 12.0}) == (
        module.encode_uplink({**report, "power_consumption": 12.0})
    )
    with pytest.raises(ValueError, match="out of range"):
        encode("milesight-ws558", {**report, "power_consumption": 2**32})


def test_a_switching_report_is_one_whole_frame() -> None:
    module = decoders.device_module("milesight-ws558")
    assert module is not None
    switches = {f"switch_{c}": "on" if c == 2 else "off" for c in range(1, 9)}
    assert encode("milesight-ws558", switches) == module.encode_uplink(switches)
