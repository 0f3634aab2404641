"""DL-IAM: round trip over every word, batch = per-payload, readings, errors, downlinks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import decentlab_dl_iam as iam
from decoders.codec import Reading
from tests.decoders.test_decentlab import assert_batch_matches_per_payload, frames
from tests.decoders.vectors import same

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


def test_light_co2_pir_and_voc_blocks_alone_read_as_the_layout_says() -> None:
    # flags 0x0078: bits 3-6 only. Bit 3: w0 = 1000, w1 = 600, illuminance =
    # max(1000 - 1.64*600, 0.59*1000 - 0.86*600, 0) * 1.5504 = max(16, 74, 0) * 1.5504;
    # bit 4: co2 0x7ff6 - 32768 = -10 ppm, status 3, raw IR 0xffff; bit 5: 0; bit 6: 0x1234 ppb
    data = iam.decode(1, bytes.fromhex("020001 0078 03e8 0258 7ff6 0003 ffff 0000 1234"))

    assert same(data, {
        "protocol_version": 2,
        "device_id": 1,
        "ambient_light_visible_infrared": {
            "displayName": "Ambient light (visible + infrared)", "value": 1000},
        "ambient_light_infrared": {"displayName": "Ambient light (infrared)", "value": 600},
        "illuminance": {"displayName": "Illuminance", "value": 114.7296, "unit": "lx"},
        "co2_concentration": {"displayName": "CO2 concentration", "value": -10, "unit": "ppm"},
        "co2_sensor_status": {"displayName": "CO2 sensor status", "value": 3},
        "raw_ir_reading": {"displayName": "Raw IR reading", "value": 65535},
        "activity_counter": {"displayName": "Activity counter", "value": 0},
        "total_voc": {"displayName": "Total VOC", "value": 4660, "unit": "ppb"},
    }) == []  # fmt: skip


def test_temperature_humidity_and_pressure_at_the_ends_of_their_words() -> None:
    # flags 0x0086: bits 1 and 2, and bit 7, beyond the seven sensors, which is ignored as
    # are the bytes after the last block. 175*0/65535 - 45 = -45 degC, 100*65535/65535 = 100 %,
    # 2*65535 = 131070 Pa
    data = iam.decode(1, bytes.fromhex("02ffff 0086 0000 ffff ffff abcd"))

    assert same(data, {
        "protocol_version": 2,
        "device_id": 65535,
        "air_temperature": {"displayName": "Air temperature", "value": -45, "unit": "°C"},
        "air_humidity": {"displayName": "Air humidity", "value": 100, "unit": "%"},
        "barometric_pressure": {
            "displayName": "Barometric pressure", "value": 131070, "unit": "Pa"},
    }) == []  # fmt: skip


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


def test_wrong_protocol_version_is_the_vendor_error() -> None:
    result = decoders.decode(iam.MODEL, 1, b"\x03" + EXAMPLE[1:])

    assert result.errors == ["protocol version 3 doesn't match v2"]
    assert result.data == {}


def test_downlinks_are_the_decentlab_command_frames() -> None:
    assert iam.set_period(3600).payload == bytes.fromhex("00020E1048A4")
    assert iam.set_adr(False).payload == bytes.fromhex("00070000E5B1")
    assert iam.reset().payload == bytes.fromhex("FEFE00003C50")
