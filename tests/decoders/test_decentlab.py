"""The shared Decentlab framing: frames, encoding, command downlinks; helpers for the devices."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import strategies as st

import decoders
from decoders import decentlab
from decoders.codec import DecodeError
from decoders.decentlab import Command, Device, Value, block, raw

WORDS = st.integers(0, decentlab.WORD_MAX)


@st.composite
def frames(draw: st.DrawFn, device: Device, flags: int | None = None) -> bytes:
    """A frame of `device` with any device id and words; any valid flag word unless given."""
    if flags is None:
        flags = draw(st.integers(0, (1 << len(device.sensors)) - 1))
    words: list[int] = []
    for bit, sensor in enumerate(device.sensors):
        if flags >> bit & 1:
            words += draw(st.lists(WORDS, min_size=sensor.length, max_size=sensor.length))
    return struct.pack(f">BHH{len(words)}H", 2, draw(WORDS), flags, *words)


def assert_batch_matches_per_payload(model: str, payloads: Sequence[bytes]) -> None:
    """decode_batch gives, bit for bit, the readings of normalize(decode(...)) per payload."""
    module = decoders.device_module(model)
    assert module is not None
    expected = sorted(
        (i, r.quantity, r.channel, r.value)
        for i, payload in enumerate(payloads)
        for r in module.normalize(module.decode(1, payload))
    )
    batch = decoders.decode_batch(model, [1] * len(payloads), payloads).readings.sorted()
    assert batch.row.tolist() == [e[0] for e in expected]
    assert batch.quantity.tolist() == [e[1] for e in expected]
    assert batch.channel.tolist() == [e[2] for e in expected]
    np.testing.assert_array_equal(batch.value, np.array([e[3] for e in expected]))


TOY = Device(
    (
        block(1, Value("level", "Level", "mm", raw)),
        block(2, Value("a", "A", None, lambda w: w / 10), Value("b", "B", "V", raw, (1,))),
    )
)


def test_blocks_follow_the_set_flag_bits_in_sensor_order() -> None:
    assert TOY.decode(bytes.fromhex("02 0102 0002 0007 0009")) == {
        "protocol_version": 2,
        "device_id": 258,
        "a": {"displayName": "A", "value": 0.7},
        "b": {"displayName": "B", "value": 9, "unit": "V"},
    }


def test_trailing_bytes_and_unknown_flag_bits_are_ignored_as_the_vendor_does() -> None:
    assert TOY.decode(bytes.fromhex("02 0001 0009 0005 ffff")) == TOY.decode(
        bytes.fromhex("02 0001 0001 0005")
    )


def test_wrong_protocol_version_is_the_vendor_error() -> None:
    with pytest.raises(DecodeError, match=r"^protocol version 1 doesn't match v2$"):
        TOY.decode(bytes.fromhex("01 0001 0001 0005"))


@pytest.mark.parametrize(
    ("hex_frame", "message"),
    [
        ("", "protocol version needs 1 byte(s) at byte 0, frame has 0"),
        ("02 00", "device id needs 2 byte(s) at byte 1, frame has 2"),
        ("02 0001 00", "sensor-presence flags needs 2 byte(s) at byte 3, frame has 4"),
        ("02 0001 0003 0005 00", "sensor 1 (a) word 0 needs 2 byte(s) at byte 7, frame has 8"),
    ],
)
def test_truncated_frame_names_the_missing_item_and_byte(hex_frame: str, message: str) -> None:
    with pytest.raises(DecodeError) as error:
        TOY.decode(bytes.fromhex(hex_frame))
    assert str(error.value) == f"truncated frame: {message}"


def test_a_block_needs_a_field_for_each_word_so_it_can_be_encoded() -> None:
    with pytest.raises(ValueError, match="word 1"):
        block(2, Value("sum", "Sum", None, lambda a, b: a + b, (0, 1)), Value("a", "A", None, raw))


def test_encode_builds_the_flag_word_from_the_fields_present() -> None:
    data = {"protocol_version": 2, "device_id": 7, "a": {"displayName": "A", "value": 6553.5}}
    data["b"] = {"displayName": "B", "value": 0, "unit": "V"}

    assert TOY.encode(data) == bytes.fromhex("02 0007 0002 ffff 0000")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"protocol_version": 3}, "protocol_version"),
        ({"device_id": 65536}, "device_id"),
        ({"level": {"displayName": "Level", "value": 1.5, "unit": "mm"}}, "level"),
        ({"level": {"displayName": "Height", "value": 1, "unit": "mm"}}, "level"),
        ({"level": {"displayName": "Level", "value": 1}}, "level"),
        ({"level": 1}, "level"),
        ({"a": {"displayName": "A", "value": 0.1}}, "b"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_encode_refuses_what_the_device_cannot_send(change: dict[str, object], named: str) -> None:
    data = {"protocol_version": 2, "device_id": 1, **change}

    with pytest.raises(ValueError, match=f"^{named}:"):
        TOY.encode(data)


def test_crc_is_crc16_modbus() -> None:
    assert decentlab.crc16_modbus(b"123456789") == 0x4B37  # the catalogued check value


@pytest.mark.parametrize(
    ("downlink", "hex_frame"),
    [
        (decentlab.set_period(3600), "00020E1048A4"),
        (decentlab.set_period(600, save=False), "000102587E51"),
        (decentlab.set_adr(False), "00070000E5B1"),
        (decentlab.reset(), "FEFE00003C50"),
    ],
)
def test_downlinks_match_the_vendor_examples(downlink: decoders.Downlink, hex_frame: str) -> None:
    assert downlink.f_port == 1
    assert downlink.payload == bytes.fromhex(hex_frame)


@pytest.mark.parametrize(
    ("enabled", "save", "code"),
    [(True, False, 0x0005), (True, True, 0x0006), (False, False, 0x0007), (False, True, 0x0008)],
)
def test_set_adr_picks_the_command(enabled: bool, save: bool, code: int) -> None:
    assert decentlab.set_adr(enabled, save) == decentlab.command(code)
    assert decentlab.set_adr(enabled, save).payload[:4] == struct.pack(">HH", code, 0)


def test_generic_command_covers_the_parameter_and_sensor_period_ranges() -> None:
    assert decentlab.command(0x002F, 65534).payload[:4] == bytes.fromhex("002FFFFE")
    assert decentlab.command(Command.SET_PORT + 1, 223).payload[:4] == bytes.fromhex("001E00DF")
    assert decentlab.command(0x0069, 60).payload[:4] == bytes.fromhex("0069003C")


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: decentlab.set_period(0), "seconds"),
        (lambda: decentlab.set_period(65536), "seconds"),
        (lambda: decentlab.command(0x0040), "code"),
        (lambda: decentlab.command(Command.SET_PERIOD, -1), "parameter"),
        (lambda: decentlab.command(Command.SET_DR, 65536), "parameter"),
        (lambda: decentlab.command(Command.RESET, 1), "parameter"),
    ],
)
def test_downlink_arguments_out_of_range_are_named(call: object, argument: str) -> None:
    assert callable(call)
    with pytest.raises(ValueError, match=f"^{argument}:"):
        call()
