"""Milesight EM400-MUD: round trip, alarm variants, downlinks, readings, errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import decoders
from decoders import milesight_em400_mud as em400
from decoders.codec import DecodeError, Downlink, Reading

ALARM = st.sampled_from(["threshold_alarm_release", "threshold_alarm"])
TEMPERATURE = st.integers(-0x8000, 0x7FFF).map(lambda raw: raw / 10)
UPLINKS = st.fixed_dictionaries(
    {},
    optional={
        "battery": st.integers(0, 0xFF),
        "temperature": TEMPERATURE,
        "distance": st.integers(0, 0xFFFF),
        "position": st.sampled_from(["normal", "tilt"]),
    },
)
ALARMS = st.fixed_dictionaries({}, optional={"temperature_alarm": ALARM, "distance_alarm": ALARM})


@given(UPLINKS, ALARMS)
def test_decode_inverts_encode_uplink(data: dict[str, Any], alarms: dict[str, Any]) -> None:
    # an alarm status travels with its value, in the 0x83 / 0x84 variant of the item
    data |= {k: v for k, v in alarms.items() if k.removesuffix("_alarm") in data}
    if data:
        assert em400.decode(*em400.encode_uplink(data)) == data


def test_readme_alarm_example() -> None:
    assert em400.decode(85, bytes.fromhex("8367e800018482410601")) == {
        "temperature": 23.2,
        "temperature_alarm": "threshold_alarm",
        "distance": 1601,
        "distance_alarm": "threshold_alarm",
    }


def test_readme_periodic_example_readings() -> None:
    readings = decoders.decode(
        "milesight-em400-mud", 85, bytes.fromhex("01755c0367010104824408050001")
    ).readings
    assert readings == [
        Reading("battery_level", 92.0),
        Reading("temperature", 25.7),
        Reading("distance", 2116.0),
        Reading("tilt", 1.0),
    ]


def test_nb_iot_location_item() -> None:
    payload = (
        bytes.fromhex("0688")
        + (22_543_096).to_bytes(4, "little")
        + (114_057_865).to_bytes(4, "little")
        + b"\x12"
    )
    assert em400.decode(85, payload) == {
        "latitude": 22.543096,
        "longitude": 114.057865,
        "motion_status": "moving",
        "geofence_status": "outside",
    }


def test_alarm_config_answer_by_mode() -> None:
    assert em400.decode(85, bytes.fromhex("ff06126400e80300000000")) == {
        "bin_mode_alarm_config": {
            "condition": "above",
            "alarm_release_enable": "disable",
            "threshold_min": 100,
            "threshold_max": 1000,
        }
    }


@pytest.mark.parametrize(
    ("downlink", "hex_payload"),
    [
        (em400.set_report_interval(1200), "ff03b004"),
        (em400.set_collection_interval(300), "ff022c01"),
        (em400.set_install_height(1500), "ff77dc05"),
        (em400.set_install_height_enable(True), "ff1301"),
        (em400.set_working_mode("bin"), "ff7101"),
        (em400.set_tilt_linkage_distance(False), "ff3e00"),
        (em400.query_status(), "ff28ff"),
        (em400.reboot(), "ff10ff"),
    ],
)
def test_downlinks(downlink: Downlink, hex_payload: str) -> None:
    assert downlink == Downlink(85, bytes.fromhex(hex_payload))


def test_downlink_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="mode must be 'standard' or 'bin'"):
        em400.set_working_mode("parking")
    with pytest.raises(ValueError, match=r"millimetres must be an integer in 0\.\.65535"):
        em400.set_install_height(-1)


def test_truncated_alarm_item() -> None:
    with pytest.raises(
        DecodeError, match=r"truncated frame: distance_alarm needs 1 byte\(s\) at byte 9"
    ) as exc:
        em400.decode(85, bytes.fromhex("8367e800018482e803"))
    assert exc.value.partial == {"temperature": 23.2, "temperature_alarm": "threshold_alarm"}


def test_unknown_channel() -> None:
    with pytest.raises(DecodeError, match=r"^unknown channel 0x03 0x82 at byte 0$"):
        em400.decode(85, bytes.fromhex("03824408"))
