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


def test_negative_temperature() -> None:
    # 0x03 0x67 int16 LE / 10: ddff = -35 -> -3.5
    assert em400.decode(85, bytes.fromhex("0367ddff")) == {"temperature": -3.5}


def test_alarm_release_and_unknown_status() -> None:
    # 0x83 0x67: 1401 = 276 -> 27.6, status 00 "threshold_alarm_release";
    # 0x84 0x82: e803 = 1000 mm, status 02 is past the map: getValue gives "unknown"
    assert em400.decode(85, bytes.fromhex("8367 1401 00 8482 e803 02")) == {
        "temperature": 27.6,
        "temperature_alarm": "threshold_alarm_release",
        "distance": 1000,
        "distance_alarm": "unknown",
    }
    assert em400.decode(85, bytes.fromhex("017514")) == {"battery": 20}


def test_location_status_outside_the_geofence_map_is_unknown() -> None:
    # lat -33.868820 (ec33fbfd), lon 151.209290 (4a450309); status 0x53: motion 3 "stop",
    # geofence 5 is past (inside, outside, unset, unknown): EM400-MUD_Cellular getValue "unknown"
    payload = bytes.fromhex("0688 ec33fbfd 4a450309 53")
    assert em400.decode(85, payload) == {
        "latitude": -33.86882,
        "longitude": 151.20929,
        "motion_status": "stop",
        "geofence_status": "unknown",
    }


def test_standard_mode_alarm_config_and_config_without_mode() -> None:
    # ctrl 0x89: condition 1 below, bits 3-5 = 1 standard mode, bit 7 release enabled;
    # min 50, max 500, then 4 bytes skipped
    assert em400.decode(85, bytes.fromhex("ff06 89 3200 f401 00000000")) == {
        "standard_mode_alarm_config": {
            "condition": "below",
            "alarm_release_enable": "enable",
            "threshold_min": 50,
            "threshold_max": 500,
        }
    }
    # mode bits 0: the vendor sets neither key but still skips the 9 bytes
    assert em400.decode(85, bytes.fromhex("fe06 01 3200 f401 00000000 017514")) == {"battery": 20}


def test_downlink_answers() -> None:
    payload = bytes.fromhex(
        "ff025802 fe03b004 ff10ff ff1301 ff1c0305 fe28ff ff3e00 ff4a00"
        " ff5601 ff70c800 ff7102 fe77dc05"
    )
    assert em400.decode(85, payload) == {
        "collection_interval": 600,
        "report_interval": 1200,
        "reboot": "yes",
        "install_height_enable": "enable",
        "recollection_config": {"counts": 3, "interval": 5},
        "query_device_status": "yes",
        "tilt_linkage_distance_enable": "disable",
        "sync_time": "yes",
        "tof_detection_enable": "enable",
        "people_existing_height": 200,
        "working_mode": "parking",
        "install_height": 1500,
    }
    assert em400.decode(85, bytes.fromhex("ff7105")) == {"working_mode": "unknown"}


def test_common_attributes() -> None:
    payload = bytes.fromhex("ff0101ff090110ff0a0114ff166749d19054690031ff0f00fffe01ff0b01")
    assert em400.decode(85, payload) == {
        "ipso_version": "v0.1",
        "hardware_version": "v1.1",
        "firmware_version": "v1.14",
        "sn": "6749d19054690031",
        "lorawan_class": "Class A",
        "reset_event": "reset",
        "device_status": "on",
    }


def test_history_record_has_no_published_layout() -> None:
    with pytest.raises(DecodeError, match=r"^unknown channel 0x20 0xce at byte 3$") as exc:
        em400.decode(85, bytes.fromhex("01755c20ce00000000"))
    assert exc.value.partial == {"battery": 92}


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
        # EM400-MUD_Encoder: condition | 1 << 3 (standard) | release << 7, min, max, 2 x u16 0
        (
            em400.set_alarm("standard", "below", 50, 500, release_enable=True),
            "ff06893200f40100000000",
        ),
        (em400.set_alarm("bin", "outside", 100, 1000), "ff06146400e80300000000"),
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
    with pytest.raises(ValueError, match="mode must be one of"):
        em400.set_alarm("parking", "below", 0, 1)
    with pytest.raises(ValueError, match="condition must be one of"):
        em400.set_alarm("bin", "sideways", 0, 1)


def test_truncated_alarm_item() -> None:
    with pytest.raises(
        DecodeError, match=r"truncated frame: distance_alarm needs 1 byte\(s\) at byte 9"
    ) as exc:
        em400.decode(85, bytes.fromhex("8367e800018482e803"))
    assert exc.value.partial == {"temperature": 23.2, "temperature_alarm": "threshold_alarm"}


def test_unknown_channel() -> None:
    with pytest.raises(DecodeError, match=r"^unknown channel 0x03 0x82 at byte 0$"):
        em400.decode(85, bytes.fromhex("03824408"))
