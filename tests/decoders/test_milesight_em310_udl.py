"""Milesight EM310-UDL: round trip, downlinks, readings, errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import decoders
from decoders import milesight_em310_udl as em310
from decoders.codec import DecodeError, Downlink, Reading

UPLINKS = st.fixed_dictionaries(
    {},
    optional={
        "battery": st.integers(0, 0xFF),
        "distance": st.integers(0, 0xFFFF),
        "position": st.sampled_from(["normal", "tilt"]),
    },
).filter(bool)


@given(UPLINKS)
def test_decode_inverts_encode_uplink(data: dict[str, Any]) -> None:
    assert em310.decode(*em310.encode_uplink(data)) == data


def test_readme_example() -> None:
    result = decoders.decode("milesight-em310-udl", 85, bytes.fromhex("01755c03824408040001"))

    assert result.data == {"battery": 92, "distance": 2116, "position": "tilt"}
    assert result.readings == [
        Reading("battery_level", 92.0),
        Reading("distance", 2116.0),
        Reading("tilt", 1.0),
    ]


def test_bin_height_gives_a_fill_level() -> None:
    result = decoders.decode(
        "milesight-em310-udl", 85, bytes.fromhex("03822003"), {"bin_height_mm": 1200}
    )
    assert Reading("filling_level", 33.33333333333333) in result.readings


def test_alarm_config_answer() -> None:
    data = em310.decode(85, bytes.fromhex("ff06826400e8030a001e00"))
    assert data == {
        "distance_alarm_config": {
            "condition": "above",
            "alarm_release_enable": "enable",
            "threshold_min": 100,
            "threshold_max": 1000,
            "lock_time": 10,
            "continue_time": 30,
        }
    }


def test_position_states() -> None:
    # 0x04 0x00: 0 normal, 1 tilt, anything else is getValue's "unknown"
    assert em310.decode(85, bytes.fromhex("040000")) == {"position": "normal"}
    assert em310.decode(85, bytes.fromhex("040002")) == {"position": "unknown"}


def test_alarm_config_thresholds_are_signed() -> None:
    # ctrl 0x04: condition 4 "outside", bit 7 clear; min 9cff = int16 -100, max b80b = 3000;
    # lock_time ffff = uint16 65535, continue_time 0
    assert em310.decode(85, bytes.fromhex("fe06 04 9cff b80b ffff 0000")) == {
        "distance_alarm_config": {
            "condition": "outside",
            "alarm_release_enable": "disable",
            "threshold_min": -100,
            "threshold_max": 3000,
            "lock_time": 65535,
            "continue_time": 0,
        }
    }
    # condition bits 0-2 = 7 is past the map: "unknown"
    config = em310.decode(85, bytes.fromhex("ff06070000000000000000"))["distance_alarm_config"]
    assert config["condition"] == "unknown"


def test_interval_and_reboot_answers() -> None:
    assert em310.decode(85, bytes.fromhex("ff023c00 fe03b004 fe10ff")) == {
        "collection_interval": 60,
        "report_interval": 1200,
        "reboot": "yes",
    }


def test_common_attributes() -> None:
    # hardware "v<hex b0>.<b1 >> 4>", firmware "v<hex b0>.<hex b1>", class 3 "Class CtoB"
    payload = bytes.fromhex("ff0112 ff091020 ff0a101a ff160102030405060708 ff0f03 ff0b01 fffe01")
    assert em310.decode(85, payload) == {
        "ipso_version": "v1.2",
        "hardware_version": "v10.2",
        "firmware_version": "v10.1a",
        "sn": "0102030405060708",
        "lorawan_class": "Class CtoB",
        "device_status": "on",
        "reset_event": "reset",
    }


def test_unknown_downlink_answer() -> None:
    # the vendor throws "unknown downlink response" for an 0xFF/0xFE type it does not know
    with pytest.raises(DecodeError, match=r"^unknown channel 0xff 0x71 at byte 3$") as exc:
        em310.decode(85, bytes.fromhex("01755cff7101"))
    assert exc.value.partial == {"battery": 92}


@pytest.mark.parametrize(
    ("downlink", "hex_payload"),
    [
        (em310.set_report_interval(600), "ff035802"),
        (em310.set_collection_interval(60), "ff023c00"),
        (em310.reboot(), "ff10ff"),
        (
            em310.set_distance_alarm("above", 100, 1000, 10, 30, release_enable=True),
            "ff06826400e8030a001e00",
        ),
    ],
)
def test_downlinks(downlink: Downlink, hex_payload: str) -> None:
    assert downlink == Downlink(85, bytes.fromhex(hex_payload))


def test_downlink_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="condition must be one of"):
        em310.set_distance_alarm("sideways", 0, 1)
    with pytest.raises(ValueError, match=r"threshold_max_mm must be an integer in 0\.\.32767"):
        em310.set_distance_alarm("below", 0, 40000)


def test_truncated_frame() -> None:
    with pytest.raises(
        DecodeError, match=r"truncated frame: distance needs 2 byte\(s\) at byte 5, frame has 6"
    ):
        em310.decode(85, bytes.fromhex("01755c038244"))


def test_distance_of_the_em400_channel_is_unknown_here() -> None:
    with pytest.raises(DecodeError, match=r"^unknown channel 0x04 0x82 at byte 3$") as exc:
        em310.decode(85, bytes.fromhex("01755c04824408"))
    assert exc.value.partial == {"battery": 92}


def test_unknown_port() -> None:
    with pytest.raises(DecodeError, match="unknown fPort 224"):
        em310.decode(224, bytes.fromhex("01755c"))
