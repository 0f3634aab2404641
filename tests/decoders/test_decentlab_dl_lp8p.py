"""DL-LP8P: round trip over every word, batch = per-payload, readings, errors, downlinks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import decentlab_dl_lp8p as lp8p
from decoders.codec import Reading
from tests.decoders.test_decentlab import assert_batch_matches_per_payload, frames

EXAMPLE = bytes.fromhex("020578000f67bd618d1cedbd1081d981f4895b0bd80bb50000959895390c25")


@settings(max_examples=300, deadline=None)
@given(frames(lp8p.DEVICE))
def test_encode_inverts_decode_over_all_words(payload: bytes) -> None:
    data = lp8p.decode(1, payload)

    assert lp8p.encode_uplink(data) == (1, payload)
    assert lp8p.decode(*lp8p.encode_uplink(data)) == data


@settings(max_examples=50, deadline=None)
@given(st.lists(frames(lp8p.DEVICE, 0x0F), min_size=1))
def test_batch_readings_equal_per_payload_readings(payloads: list[bytes]) -> None:
    assert_batch_matches_per_payload(lp8p.MODEL, payloads)


def test_vendor_example_normalizes_to_canonical_units() -> None:
    assert lp8p.normalize(lp8p.decode(1, EXAMPLE)) == [
        Reading("temperature", 24.35660461425781),
        Reading("relative_humidity", 41.63221740722656),
        Reading("temperature", 24.05, "barometer"),
        Reading("atmospheric_pressure", 968.0),
        Reading("co2", 473.0),
        Reading("co2", 500.0, "lpf"),
        Reading("temperature", 23.95, "co2_sensor"),
        Reading("battery_voltage", 3.109),
    ]


def test_truncated_frame_names_the_sensor_word_and_byte() -> None:
    result = decoders.decode(lp8p.MODEL, 1, EXAMPLE[:-1])

    assert result.errors == [
        "truncated frame: sensor 3 (battery_voltage) word 0 needs 2 byte(s) at byte 29, "
        "frame has 30"
    ]
    assert result.readings == []


def test_wrong_protocol_version_names_version_and_byte() -> None:
    result = decoders.decode(lp8p.MODEL, 1, b"\x00" + EXAMPLE[1:])

    assert result.errors == ["protocol version 0 at byte 0, expected 2"]


def test_downlinks_are_the_decentlab_command_frames() -> None:
    assert lp8p.set_period(3600).payload == bytes.fromhex("00020E1048A4")
    assert lp8p.command(0x0001, 600).payload == bytes.fromhex("000102587E51")
