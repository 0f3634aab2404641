"""DL-LP8P: round trip over every word, batch = per-payload, readings, errors, downlinks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import decentlab_dl_lp8p as lp8p
from decoders.codec import Reading
from tests.decoders.test_decentlab import assert_batch_matches_per_payload, frames
from tests.decoders.vectors import same

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


def test_barometer_and_co2_blocks_alone_read_as_the_layout_says() -> None:
    # flags 0x0006: bits 1 and 2. Bit 1: (0 - 5000)/100 = -50 degC, 2*0xc350 = 100000 Pa;
    # bit 2: 0x8000 - 32768 = 0 ppm, 0x8190 - 32768 = 400 ppm, (0x7f06 - 32768)/100 =
    # -2.5 degC, 0x0ce4/1000 = 3.3 V, 0 V, status 16, raw IR 0x1234 and 0x4321
    frame = "020578 0006 0000 c350 8000 8190 7f06 0ce4 0000 0010 1234 4321"

    assert same(lp8p.decode(1, bytes.fromhex(frame)), {
        "protocol_version": 2,
        "device_id": 1400,
        "barometer_temperature": {
            "displayName": "Barometer temperature", "value": -50, "unit": "°C"},
        "barometric_pressure": {
            "displayName": "Barometric pressure", "value": 100000, "unit": "Pa"},
        "co2_concentration": {"displayName": "CO2 concentration", "value": 0, "unit": "ppm"},
        "co2_concentration_lpf": {
            "displayName": "CO2 concentration LPF", "value": 400, "unit": "ppm"},
        "co2_sensor_temperature": {
            "displayName": "CO2 sensor temperature", "value": -2.5, "unit": "°C"},
        "capacitor_voltage_1": {"displayName": "Capacitor voltage 1", "value": 3.3, "unit": "V"},
        "capacitor_voltage_2": {"displayName": "Capacitor voltage 2", "value": 0, "unit": "V"},
        "co2_sensor_status": {"displayName": "CO2 sensor status", "value": 16},
        "raw_ir_reading": {"displayName": "Raw IR reading", "value": 4660},
        "raw_ir_reading_lpf": {"displayName": "Raw IR reading LPF", "value": 17185},
    }) == []  # fmt: skip


def test_sht_block_alone_at_word_zero() -> None:
    # flags 0x0001: 175.72*0/65536 - 46.85 = -46.85 degC, 125*0/65536 - 6 = -6 %
    assert same(lp8p.decode(1, bytes.fromhex("020578 0001 0000 0000")), {
        "protocol_version": 2,
        "device_id": 1400,
        "air_temperature": {"displayName": "Air temperature", "value": -46.85, "unit": "°C"},
        "air_humidity": {"displayName": "Air humidity", "value": -6, "unit": "%"},
    }) == []  # fmt: skip


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


def test_wrong_protocol_version_is_the_vendor_error() -> None:
    result = decoders.decode(lp8p.MODEL, 1, b"\x00" + EXAMPLE[1:])

    assert result.errors == ["protocol version 0 doesn't match v2"]


def test_downlinks_are_the_decentlab_command_frames() -> None:
    assert lp8p.set_period(3600).payload == bytes.fromhex("00020E1048A4")
    assert lp8p.command(0x0001, 600).payload == bytes.fromhex("000102587E51")
