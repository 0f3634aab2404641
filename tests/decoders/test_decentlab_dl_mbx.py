"""DL-MBX: round trip over every word, batch = per-payload, readings, errors, downlinks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import decentlab_dl_mbx as mbx
from decoders.codec import Reading
from tests.decoders.test_decentlab import assert_batch_matches_per_payload, frames

EXAMPLE = bytes.fromhex("02012f000304d200010bb1")


@settings(max_examples=300, deadline=None)
@given(frames(mbx.DEVICE))
def test_encode_inverts_decode_over_all_words(payload: bytes) -> None:
    data = mbx.decode(1, payload)

    assert mbx.encode_uplink(data) == (1, payload)
    assert mbx.decode(*mbx.encode_uplink(data)) == data


@settings(max_examples=50, deadline=None)
@given(st.lists(frames(mbx.DEVICE, 0x03), min_size=1))
def test_batch_readings_equal_per_payload_readings(payloads: list[bytes]) -> None:
    assert_batch_matches_per_payload(mbx.MODEL, payloads)


def test_distance_block_alone() -> None:
    # flags 0x0001: bit 0 only, distance 0x0fa0 = 4000 mm and 5 valid samples (no unit)
    assert mbx.decode(1, bytes.fromhex("02012f 0001 0fa0 0005")) == {
        "protocol_version": 2,
        "device_id": 303,
        "distance": {"displayName": "Distance", "value": 4000, "unit": "mm"},
        "number_of_valid_samples": {"displayName": "Number of valid samples", "value": 5},
    }


def test_battery_block_alone() -> None:
    # flags 0x0002: bit 1 only, 0x0e10 / 1000 = 3.6 V
    assert mbx.decode(1, bytes.fromhex("02012f 0002 0e10")) == {
        "protocol_version": 2,
        "device_id": 303,
        "battery_voltage": {"displayName": "Battery voltage", "value": 3.6, "unit": "V"},
    }


def test_vendor_example_normalizes_to_distance_in_mm() -> None:
    assert mbx.normalize(mbx.decode(1, EXAMPLE)) == [
        Reading("distance", 1234.0),
        Reading("valid_samples", 1.0),
        Reading("battery_voltage", 2.993),
    ]


def test_distance_gives_a_fill_level_with_the_bin_height() -> None:
    result = decoders.decode(mbx.MODEL, 1, EXAMPLE, {"bin_height_mm": 2000.0})

    assert Reading("filling_level", (2000.0 - 1234.0) / 2000.0 * 100.0) in result.readings


def test_truncated_frame_names_the_sensor_word_and_byte() -> None:
    result = decoders.decode(mbx.MODEL, 1, EXAMPLE[:8])

    assert result.errors == [
        "truncated frame: sensor 0 (distance) word 1 needs 2 byte(s) at byte 7, frame has 8"
    ]
    assert result.readings == []


def test_wrong_protocol_version_is_the_vendor_error() -> None:
    result = decoders.decode(mbx.MODEL, 1, b"\xff" + EXAMPLE[1:])

    assert result.errors == ["protocol version 255 doesn't match v2"]


def test_downlinks_are_the_decentlab_command_frames() -> None:
    assert mbx.set_period(3600).payload == bytes.fromhex("00020E1048A4")
    assert mbx.reset().payload == bytes.fromhex("FEFE00003C50")
