"""DL-IAM: round trip over every word, batch = per-payload, readings, errors, downlinks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import decentlab_dl_iam as iam
from decoders.codec import Reading
from tests.decoders.test_decentlab import assert_batch_matches_per_payload, frames

EXAMPLE = bytes.fromhex("020bbd007f0b926a515d48bc4e0262006981c7000093d4000b0111")


@settings(max_examples=300, deadline=None)
@given(frames(iam.DEVICE))
def test_encode_inverts_decode_over_all_words(payload: bytes) -> None:
    data = iam.decode(1, payload)

    assert iam.encode_uplink(data) == (1, payload)
    assert iam.decode(*iam.encode_uplink(data)) == data


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(frames(iam.DEVICE, 0x7F), frames(iam.DEVICE, 0x6F)), min_size=1))
def test_batch_readings_equal_per_payload_readings(payloads: list[bytes]) -> None:
    assert_batch_matches_per_payload(iam.MODEL, payloads)


def test_illuminance_is_zero_when_infrared_dominates() -> None:
    data = iam.decode(1, bytes.fromhex("020001000800640064"))

    assert data["illuminance"] == {"displayName": "Illuminance", "value": 0.0, "unit": "lx"}


def test_vendor_example_normalizes_to_canonical_units() -> None:
    assert iam.normalize(iam.decode(1, EXAMPLE)) == [
        Reading("battery_voltage", 2.962),
        Reading("temperature", 27.67833981841764),
        Reading("relative_humidity", 36.438544289311054),
        Reading("atmospheric_pressure", 964.12),
        Reading("illuminance", 678.76512),
        Reading("co2", 455.0),
        Reading("motion_count", 11.0),
        Reading("tvoc_ppb", 273.0),
    ]


def test_truncated_frame_names_the_sensor_word_and_byte() -> None:
    result = decoders.decode(iam.MODEL, 1, EXAMPLE[:20])

    assert result.errors == [
        "truncated frame: sensor 4 (co2_concentration) word 1 needs 2 byte(s) at byte 19, "
        "frame has 20"
    ]
    assert result.readings == []


def test_wrong_protocol_version_names_version_and_byte() -> None:
    result = decoders.decode(iam.MODEL, 1, b"\x03" + EXAMPLE[1:])

    assert result.errors == ["protocol version 3 at byte 0, expected 2"]
    assert result.data == {}


def test_downlinks_are_the_decentlab_command_frames() -> None:
    assert iam.set_period(3600).payload == bytes.fromhex("00020E1048A4")
    assert iam.set_adr(False).payload == bytes.fromhex("00070000E5B1")
    assert iam.reset().payload == bytes.fromhex("FEFE00003C50")
