"""Milesight WS558: round trip, downlinks against the vendor encoder, readings, errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import decoders
from decoders import milesight_ws558 as ws558
from decoders.codec import DecodeError, Downlink, Reading

SWITCHES = st.fixed_dictionaries(
    {f"switch_{c}": st.sampled_from(["on", "off"]) for c in range(1, 9)}
)
MEASURES = st.fixed_dictionaries(
    {},
    optional={
        "voltage": st.integers(0, 0xFFFF).map(lambda raw: raw / 10),
        "active_power": st.integers(0, 0xFFFF_FFFF),
        "power_factor": st.integers(0, 0xFF),
        "power_consumption": st.integers(0, 0xFFFF_FFFF),
        "total_current": st.integers(0, 0xFFFF),
    },
)
UPLINKS = (
    st.tuples(MEASURES, st.booleans(), SWITCHES)
    .map(lambda t: {**t[0], **(t[2] if t[1] else {})})
    .filter(bool)
)


@given(UPLINKS)
def test_decode_inverts_encode_uplink(data: dict[str, Any]) -> None:
    assert ws558.decode(*ws558.encode_uplink(data)) == data


def test_readme_status_frame_gives_readings_in_canonical_units() -> None:
    payload = bytes.fromhex("0831000105816407c902000374b208068301000000048001000000")

    readings = decoders.decode("milesight-ws558", 85, payload).readings

    assert readings == [
        Reading("voltage", 222.6),
        Reading("active_power", 1.0),
        Reading("power_factor", 1.0),
        Reading("energy", 1.0),
        Reading("current", 0.002),
        Reading("circuit_state", 1.0, "1"),
        *(Reading("circuit_state", 0.0, str(c)) for c in range(2, 9)),
    ]


def test_single_items() -> None:
    # 0x06 0x83 uint32 LE Wh: 56040000 = 1110; 0x07 0xC9 uint16 LE mA; 0x04 0x80 uint32 LE W
    assert ws558.decode(85, bytes.fromhex("0683 56040000")) == {"power_consumption": 1110}
    data = ws558.decode(85, bytes.fromhex("07c9 ffff 0480 ffffff7f 0581 5f"))
    assert data == {"total_current": 65535, "active_power": 2147483647, "power_factor": 95}
    assert ws558.normalize(data) == [
        Reading("active_power", 2147483647.0),
        Reading("power_factor", 0.95),
        Reading("current", 65.535),
    ]


def test_switch_state_is_the_second_byte_whatever_the_mask() -> None:
    # 0x08 0x31: byte 0 = changed circuits (ignored), byte 1 = state, bit 7 = circuit 8
    data = ws558.decode(85, bytes.fromhex("0831 ff 80"))
    assert data == {f"switch_{c}": "on" if c == 8 else "off" for c in range(1, 9)}
    assert list(data) == [f"switch_{c}" for c in range(1, 9)]


def test_energy_metering_item_and_answers() -> None:
    payload = bytes.fromhex("ff2601 fe10ff ff28ff fe27ff ff035802 fe2303ff")
    assert ws558.decode(85, payload) == {
        "power_consumption_enable": "enable",
        "reboot": "yes",
        "report_status": "yes",
        "clear_power_consumption": "yes",
        "report_interval": 600,
        "cancel_delay_task": 3,
    }


def test_common_attributes() -> None:
    payload = bytes.fromhex("ff0101 ff091010 ff0a0105 ffff0001 ff160000000000000001 ff0f02 ff0b01")
    assert ws558.decode(85, payload) == {
        "ipso_version": "v0.1",
        "hardware_version": "v10.1",
        "firmware_version": "v1.5",
        "tsl_version": "v0.1",
        "sn": "0000000000000001",
        "lorawan_class": "Class C",
        "device_status": "on",
    }


def test_encode_refuses_a_partial_switch_state() -> None:
    with pytest.raises(ValueError, match="switch_2: None is not one of"):
        ws558.encode_uplink({"switch_1": "on"})


def test_delay_task_answer_keeps_only_the_masked_circuits() -> None:
    data = ws558.decode(85, bytes.fromhex("fe32022c010501"))
    assert data == {
        "delay_task": {"task_id": 2, "delay_time": 300, "switch_1": "on", "switch_3": "off"}
    }


@pytest.mark.parametrize(
    ("downlink", "hex_payload"),
    [
        # the vendor encoder: controlSwitch, controlSwitchWithDelay, cancelDelayTask, ...
        (ws558.switch_circuits({1: True, 2: False, 3: True}), "080705"),
        (ws558.switch_circuits({8: True}), "088080"),
        (ws558.delayed_switch(1, 300, {1: True, 2: False}), "ff32012c010301"),
        (ws558.cancel_delayed_task(1), "ff2301ff"),
        (ws558.set_energy_metering(True), "ff2601"),
        (ws558.reset_energy_counter(), "ff27ff"),
        (ws558.set_report_interval(300), "ff032c01"),
        (ws558.request_status(), "ff28ff"),
        (ws558.reboot(), "ff10ff"),
    ],
)
def test_downlinks(downlink: Downlink, hex_payload: str) -> None:
    assert downlink == Downlink(85, bytes.fromhex(hex_payload))


def test_downlink_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match=r"circuit must be an integer in 1\.\.8, got 9"):
        ws558.switch_circuits({9: True})
    with pytest.raises(ValueError, match=r"delay_s must be an integer in 0\.\.65535"):
        ws558.delayed_switch(1, 70000, {1: True})
    with pytest.raises(ValueError, match=r"task_id must be an integer in 1\.\.255, got 0"):
        ws558.cancel_delayed_task(0)


def test_truncated_frame_keeps_the_items_before() -> None:
    result = decoders.decode("milesight-ws558", 85, bytes.fromhex("0374b208068301"))

    assert result.errors == [
        "truncated frame: power_consumption needs 4 byte(s) at byte 6, frame has 7"
    ]
    assert result.data == {"voltage": 222.6}
    assert result.readings == []


def test_unknown_channel_is_named_with_its_position() -> None:
    with pytest.raises(DecodeError, match=r"^unknown channel 0x09 0x74 at byte 4$") as exc:
        ws558.decode(85, bytes.fromhex("0374b2080974b208"))
    assert exc.value.partial == {"voltage": 222.6}


def test_unknown_port_is_refused() -> None:
    assert decoders.decode("milesight-ws558", 0, bytes.fromhex("0374b208")).errors == [
        "unknown fPort 0: Milesight uplinks use fPort 1-223 (85 by default)"
    ]
