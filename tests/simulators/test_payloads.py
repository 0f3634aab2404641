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


@pytest.mark.parametrize("model", ["milesight-em310-udl", "milesight-em400-mud"])
def test_a_bin_report_encoded_item_by_item_equals_the_whole_encoding(model: str) -> None:
    module = decoders.device_module(model)
    assert module is not None
    rng = random.Random(2)
    for sample in module.SAMPLE_UPLINKS:  # alarms and other shapes go whole
        assert encode(model, sample) == module.encode_uplink(sample)
    for _ in range(300):
        vendor = {"battery": rng.randrange(101), "distance": rng.randrange(30, 4000),
                  "position": rng.choice(("normal", "tilt"))}  # fmt: skip
        if model == "milesight-em400-mud":
            vendor = {"battery": vendor["battery"], "temperature": rng.randrange(-200, 500) / 10,
                      "distance": vendor["distance"], "position": vendor["position"]}  # fmt: skip
        assert encode(model, vendor) == module.encode_uplink(vendor)


def test_a_current_loop_reading_is_written_into_the_frame_as_the_encoder_writes_it() -> None:
    module = decoders.device_module("dragino-lt-22222-l")
    assert module is not None
    report = {"Hardware_mode": "LT22222", "Work_mode": "2ACI+2AVI", "AVI1_V": 10.0, "AVI2_V": 0.0,
              "ACI1_mA": 4.0, "ACI2_mA": 0.0, "DI1_status": "H", "DI2_status": "L",
              "DO1_status": "L", "DO2_status": "L", "RO1_status": "ON", "RO2_status": "OFF"}  # fmt: skip
    rng = random.Random(3)
    for milliamps in [0.0, 4.0, 20.0, 32.767, -32.768] + [rng.randrange(4000, 20001) / 1000
                                                           for _ in range(300)]:  # fmt: skip
        vendor = {**report, "ACI1_mA": milliamps}
        assert encode("dragino-lt-22222-l", vendor) == module.encode_uplink(vendor)
    with pytest.raises(ValueError, match="ACI1_mA"):  # beyond the layout: the encoder says why
        encode("dragino-lt-22222-l", {**report, "ACI1_mA": 40.0})
