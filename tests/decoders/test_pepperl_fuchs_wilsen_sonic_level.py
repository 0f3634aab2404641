"""Pepperl+Fuchs WILSEN.sonic.level: record chain, vendor rounding, errors, batch path."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import pepperl_fuchs_wilsen_sonic_level as pf
from decoders.codec import DecodeError, Reading

MODEL = pf.MODEL
U8, U16, U32 = st.integers(0, 255), st.integers(0, 65535), st.integers(0, 2**32 - 1)
TEXT = st.characters(min_codepoint=1, max_codepoint=255)


def tenths(low: int, high: int) -> st.SearchStrategy[float]:
    return st.integers(low, high).map(lambda n: n / 10)


def named_or_raw(names: dict[int, str]) -> st.SearchStrategy[str | int]:
    return st.sampled_from(sorted(names.values())) | U8.filter(lambda n: n not in names)


FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "proxx": U16,
    "proxx_mm": U16,
    "fillinglvl": U8,
    "amplitude": U8,
    "temp": tenths(-100_000, 100_000),
    "battery_vol": tenths(0, 255),
    "latitude": st.integers(-(2**31), 2**31 - 1).map(lambda n: n / 1_000_000),
    "longitude": st.integers(-(2**31), 2**31 - 1).map(lambda n: n / 1_000_000),
    "serial_nr": st.text(TEXT, max_size=14),
    "lora_count": U16,
    "gps_count": U16,
    "us_sensor_count": U32,
    "valve_status": U8,
    "sensor_details": U16,
    "ble_enable": st.booleans(),
    "device_name": st.text(TEXT, max_size=16),
    "reset_counter": st.just("done"),
    "factory_reset": st.just("done"),
    "change_password": st.just("done"),
    "device_name_1": st.text(TEXT, max_size=8),
    "gps_acquisition_interval": U32,
    "lora_message_type": st.sampled_from(["Unconfirmed", "Confirmed"]),
    "lora_spreading_factor": st.sampled_from(["ADR"]) | st.integers(0, 254),
    "lora_downlink_config_ack": st.booleans(),
    "lora_transmission_interval": U32,
    "us_beam_width": st.sampled_from(["Small", "Medium", "Wide", "User-defined"]),
    "us_user_defined_burst_length": named_or_raw({5: "Normal", 3: "Short", 16: "Very short"}),
    "us_user_defined_sensitivity": named_or_raw(pf._SENSITIVITY),
    "us_full_distance": U16,
    "us_evaluation_method": st.just("Average value"),
    "us_post_processing_filter": st.just("Container filling"),
    "part_number": U32,
    "firmware_revision": st.tuples(U16, U16, U16).map(lambda v: ".".join(map(str, v))),
}


@st.composite
def uplinks(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.permutations(sorted(FIELDS)).map(lambda ks: ks[: draw(st.integers(1, 8))]))
    fields = {key: draw(FIELDS[key]) for key in keys}
    if draw(st.booleans()):
        fields |= {"valve": draw(U8), "valveChecksum": draw(U8)}
    return {"payload": pf.encode_records(fields).hex().upper(), **fields}


@settings(max_examples=400, deadline=None)
@given(uplinks())
def test_decode_inverts_encode_uplink(data: dict[str, Any]) -> None:
    assert pf.decode(*pf.encode_uplink(data)) == data


@pytest.mark.parametrize("sample", pf.SAMPLE_UPLINKS)
def test_samples_round_trip(sample: dict[str, Any]) -> None:
    assert pf.decode(*pf.encode_uplink(sample)) == sample


def test_vendor_example_gives_readings_in_the_vocabulary_units() -> None:
    frame = bytes.fromhex("040b010031030b065d06020141a6666603510122")

    assert pf.normalize(pf.decode(1, frame)) == [
        Reading("distance", 490.0),
        Reading("filling_level", 93.0),
        Reading("temperature", 20.8),
        Reading("battery_voltage", 3.4),
    ]


def test_frame_with_both_distances_reads_the_mm_one() -> None:
    frame = bytes.fromhex("040b010031040b0206b6")

    assert pf.normalize(pf.decode(1, frame)) == [Reading("distance", 1718.0)]


def test_configuration_acknowledgements_use_the_vendor_keys() -> None:
    frame = bytes.fromhex(
        "03f3010103f303ff03f401fe03f4021403f301ff02f10308f50200010002000306f10841424300"
    )

    assert pf.decode(1, frame) == {
        "payload": frame.hex().upper(),
        "lora_message_type": "Invalid",  # the later F301 (0xFF) overrides the first one
        "lora_spreading_factor": "ADR",
        "us_beam_width": "Small",
        "us_user_defined_burst_length": 20,
        "reset_counter": "done",
        "hardware_revision": "1.2.3",
        "device_name_1": "ABC",
    }


# Frames built by hand from the layout: record = L, 2-byte identifier, L-2 value bytes.
FRAMES_FROM_THE_LAYOUT = [
    pytest.param(
        # 0x0B07 echo amplitude uint8 -> amplitude; 0x0B02 distance in mm uint16 -> proxx_mm
        "030b072a040b02ffff",
        {"amplitude": 42, "proxx_mm": 65535},
        id="amplitude",
    ),
    pytest.param(
        # 0x5001/0x5002 signed int32 micro-degrees, 6 decimals: 0xffffffff = -1,
        # 0x80000000 = -2147483648
        "065001ffffffff06500280000000",
        {"latitude": -0.000001, "longitude": -2147.483648},
        id="negative position",
    ),
    pytest.param(
        # 0x0201 float32 0xc0a80000 = -5.25 degC, rounded to 0.1 away from zero: -5.3;
        # 0x5101 battery 0x00 * 0.1 V
        "060201c0a80000035101 00",
        {"temp": -5.3, "battery_vol": 0.0},
        id="negative temperature",
    ),
    pytest.param(
        # 0x3101/0x3102 uint16 counters, 0x3103 uint32 counter
        "043101ffff04310200010631 03ffffffff",
        {"lora_count": 65535, "gps_count": 1, "us_sensor_count": 4294967295},
        id="counters",
    ),
    pytest.param(
        # 0x2A25 serial number: ASCII, stops at NUL
        "0d2a2531323334353637383930 00",
        {"serial_nr": "1234567890"},
        id="serial number ending at a NUL",
    ),
    pytest.param(
        # the serial number is up to 14 characters and stops only at NUL: a 10-character
        # record with no NUL runs on into the 4 bytes of the battery record that follows,
        # which is still read from its own length byte
        "0c2a253132333435363738393003510124",
        {"serial_nr": "1234567890\x03Q\x01$", "battery_vol": 3.6},
        id="serial number without NUL",
    ),
    pytest.param(
        # 0xF405/0xF406 acknowledgements of the full and empty distances (uint16)
        "04f405003204f40601f4",
        {"us_full_distance": 50, "us_empty_distance": 500},
        id="full and empty distances",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("hex_frame", "fields"), FRAMES_FROM_THE_LAYOUT)
def test_frames_from_the_layout(hex_frame: str, fields: dict[str, Any]) -> None:
    frame = bytes.fromhex(hex_frame)
    result = decoders.decode(MODEL, 1, frame)

    assert (result.data, result.errors, result.warnings) == (
        {"payload": frame.hex().upper(), **fields},
        [],
        [],
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(20.25, 20.3), (-20.25, -20.3), (0.05, 0.1), (20.8, 20.8), (-7.75, -7.8), (2.0**80, 2.0**80)],
)
def test_temperature_rounds_like_javascript_to_fixed(value: float, expected: float) -> None:
    frame = bytes([6, 0x02, 0x01]) + struct.pack(">f", value)

    assert pf.decode(1, frame)["temp"] == expected


def test_temperature_exponent_255_is_a_number_as_in_the_vendor_codec() -> None:
    assert pf.decode(1, bytes.fromhex("0602017f800000"))["temp"] == 2.0**128


def test_unknown_record_is_skipped_using_its_length() -> None:
    frame = bytes.fromhex("05abcd01020303510124")

    assert pf.decode(1, frame) == {"payload": frame.hex().upper(), "battery_vol": 3.6}


def test_truncated_record_names_record_and_byte_and_keeps_what_came_before() -> None:
    frame = bytes.fromhex("03510124040b0100")

    message = (
        r"truncated record 0x0b01 at byte 4: length 4 needs 4 bytes after byte 4, frame has 3$"
    )
    with pytest.raises(DecodeError, match=message) as exc:
        pf.decode(1, frame)
    assert exc.value.partial == {"payload": frame.hex().upper(), "battery_vol": 3.6}


def test_record_too_short_for_its_value_names_the_field() -> None:
    with pytest.raises(DecodeError, match=r"record 0x3103 at byte 0: us_sensor_count needs 4"):
        pf.decode(1, bytes.fromhex("04310300ff"))


def test_length_below_the_identifier_is_an_error_at_its_byte() -> None:
    with pytest.raises(DecodeError, match=r"record at byte 4: length 1 cannot hold"):
        pf.decode(1, bytes.fromhex("0351012401"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"payload": "00", "battery_vol": 3.6}, "payload: must echo"),
        ({"payload": "", "colour": "red"}, "colour: not a field"),
        ({"payload": "", "battery_vol": 3.45}, "battery_vol: 3.45 has no exact encoding"),
        ({"payload": "", "temp": 20.85}, "temp: 20.85 has no exact encoding"),
        ({"payload": "", "valve": 1}, "valveChecksum: missing"),
        ({"payload": "", "us_beam_width": "Invalid"}, "us_beam_width: 'Invalid'"),
    ],
)
def test_encode_uplink_rejects_what_it_cannot_encode(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pf.encode_uplink(data)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([1, 2]), st.binary(min_size=14, max_size=14)),
        min_size=1,
        max_size=30,
    )
)
def test_batch_readings_equal_per_payload_readings(rows: list[tuple[int, bytes]]) -> None:
    frames = [
        bytes([4, 0x0B, unit]) + raw[0:2] + b"\x03\x0b\x06" + raw[2:3] + b"\x06\x02\x01"
        + raw[3:7] + b"\x03\x51\x01" + raw[7:8]
        for unit, raw in rows
    ]  # fmt: skip

    batch = decoders.decode_batch(MODEL, [1] * len(frames), frames).readings.sorted()

    expected = [
        (i, r.quantity, r.channel, r.value)
        for i, frame in enumerate(frames)
        for r in decoders.decode(MODEL, 1, frame).readings
    ]
    order = sorted(range(len(expected)), key=lambda k: expected[k][:3])
    assert batch.row.tolist() == [expected[k][0] for k in order]
    assert batch.quantity.tolist() == [expected[k][1] for k in order]
    np.testing.assert_array_equal(batch.value, np.array([expected[k][3] for k in order]))
