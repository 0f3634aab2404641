"""DL-PM: round trip over every word, batch = per-payload, readings, errors, downlinks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import decentlab_dl_pm as pm
from decoders.codec import Reading
from tests.decoders.test_decentlab import assert_batch_matches_per_payload, frames
from tests.decoders.vectors import same

EXAMPLE = bytes.fromhex("021b50000f0c25002500270027002701f50107012c012d012d012d67bd618dbd10")


@settings(max_examples=300, deadline=None)
@given(frames(pm.DEVICE))
def test_encode_inverts_decode_over_all_words(payload: bytes) -> None:
    data = pm.decode(1, payload)

    assert pm.encode_uplink(data) == (1, payload)
    assert pm.decode(*pm.encode_uplink(data)) == data


@settings(max_examples=50, deadline=None)
@given(st.lists(frames(pm.DEVICE, 0x0F), min_size=1))
def test_batch_readings_equal_per_payload_readings(payloads: list[bytes]) -> None:
    assert_batch_matches_per_payload(pm.MODEL, payloads)


def test_vendor_example_normalizes_to_canonical_units() -> None:
    assert pm.normalize(pm.decode(1, EXAMPLE)) == [
        Reading("battery_voltage", 3.109),
        Reading("pm1", 3.7),
        Reading("pm2_5", 3.9),
        Reading("pm4", 3.9),
        Reading("pm10", 3.9),
        Reading("particle_size", 501.0),
        Reading("pm0_5_count", 26.3),
        Reading("pm1_count", 30.0),
        Reading("pm2_5_count", 30.1),
        Reading("pm4_count", 30.1),
        Reading("pm10_count", 30.1),
        Reading("temperature", 24.35660461425781),
        Reading("relative_humidity", 41.63221740722656),
        Reading("atmospheric_pressure", 968.0),
    ]


def test_particulate_block_alone_reads_tenths_and_nanometres() -> None:
    # flags 0x0002: bit 1 only, ten words: four masses w/10 ug/m3, the size w nm, five
    # number concentrations w/10 per cm3
    frame = "020001 0002 0000 0001 000a ffff 0000 0064 03e8 0005 0009 2710"
    mass = {"unit": "µg⋅m⁻³"}
    number = {"unit": "1⋅cm⁻³"}

    assert same(pm.decode(1, bytes.fromhex(frame)), {
        "protocol_version": 2,
        "device_id": 1,
        "pm1_0_mass_concentration": {
            "displayName": "PM1.0 mass concentration", "value": 0, **mass},
        "pm2_5_mass_concentration": {
            "displayName": "PM2.5 mass concentration", "value": 0.1, **mass},
        "pm4_mass_concentration": {"displayName": "PM4 mass concentration", "value": 1, **mass},
        "pm10_mass_concentration": {
            "displayName": "PM10 mass concentration", "value": 6553.5, **mass},
        "typical_particle_size": {"displayName": "Typical particle size", "value": 0, "unit": "nm"},
        "pm0_5_number_concentration": {
            "displayName": "PM0.5 number concentration", "value": 10, **number},
        "pm1_0_number_concentration": {
            "displayName": "PM1.0 number concentration", "value": 100, **number},
        "pm2_5_number_concentration": {
            "displayName": "PM2.5 number concentration", "value": 0.5, **number},
        "pm4_number_concentration": {
            "displayName": "PM4 number concentration", "value": 0.9, **number},
        "pm10_number_concentration": {
            "displayName": "PM10 number concentration", "value": 1000, **number},
    }) == []  # fmt: skip


def test_pressure_block_alone() -> None:
    # flags 0x0008: bit 3 only, 2 * 1 = 2 Pa
    assert pm.decode(1, bytes.fromhex("020001 0008 0001")) == {
        "protocol_version": 2,
        "device_id": 1,
        "barometric_pressure": {"displayName": "Barometric pressure", "value": 2, "unit": "Pa"},
    }


def test_number_concentrations_carry_the_vendor_unit() -> None:
    data = pm.decode(1, EXAMPLE)

    assert data["pm0_5_number_concentration"]["unit"] == "1⋅cm⁻³"
    assert data["pm10_mass_concentration"]["unit"] == "µg⋅m⁻³"


def test_truncated_frame_names_the_sensor_word_and_byte() -> None:
    result = decoders.decode(pm.MODEL, 1, EXAMPLE[:12])

    assert result.errors == [
        "truncated frame: sensor 1 (pm1_0_mass_concentration) word 2 needs 2 byte(s) at byte 11, "
        "frame has 12"
    ]
    assert result.readings == []


def test_wrong_protocol_version_is_the_vendor_error() -> None:
    result = decoders.decode(pm.MODEL, 1, b"\x01" + EXAMPLE[1:])

    assert result.errors == ["protocol version 1 doesn't match v2"]


def test_downlinks_are_the_decentlab_command_frames() -> None:
    assert pm.set_adr(False).payload == bytes.fromhex("00070000E5B1")
    assert pm.reset().payload == bytes.fromhex("FEFE00003C50")
