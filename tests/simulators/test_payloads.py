"""Payloads come from the models' encoders, whole or item by item, with the same bytes."""

from __future__ import annotations

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
