"""Milesight AM319 (HCHO): round trip, both TVOC encodings, history, downlinks, readings, errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import decoders
from decoders import milesight_am319 as am319
from decoders.codec import DecodeError, Downlink, Reading

U16 = st.integers(0, 0xFFFF)
UPLINKS = st.fixed_dictionaries(
    {},
    optional={
        "battery": st.integers(0, 0xFF),
        "temperature": st.integers(-0x8000, 0x7FFF).map(lambda raw: raw / 10),
        "humidity": st.integers(0, 0xFF).map(lambda raw: raw / 2),
        "pir": st.sampled_from(["idle", "trigger"]),
        "light_level": st.integers(0, 0xFF),
        "co2": U16,
        "tvoc": st.one_of(U16.map(lambda raw: raw / 100), U16),
        "pressure": U16.map(lambda raw: raw / 10),
        "hcho": U16.map(lambda raw: raw / 100),
        "pm2_5": U16,
        "pm10": U16,
        "buzzer_status": st.sampled_from(["off", "on"]),
    },
).filter(bool)

README = bytes.fromhex("0367ee0004687c05000106cb02077da803087d2500097366270a7d07000b7d20000c7d3000")


@given(UPLINKS)
def test_decode_inverts_encode_uplink(data: dict[str, Any]) -> None:
    assert am319.decode(*am319.encode_uplink(data)) == data


def test_readme_example_and_its_readings() -> None:
    result = decoders.decode("milesight-am319", 85, README)

    assert result.data == {
        "temperature": 23.8, "humidity": 62, "pir": "trigger", "light_level": 2, "co2": 936,
        "tvoc": 0.37, "pressure": 1008.6, "hcho": 0.07, "pm2_5": 32, "pm10": 48,
    }  # fmt: skip
    assert sorted(result.readings, key=lambda r: r.quantity) == [
        Reading("atmospheric_pressure", 1008.6),
        Reading("co2", 936.0),
        Reading("hcho", 0.07),
        Reading("light_level", 2.0),
        Reading("motion", 1.0),
        Reading("pm10", 48.0),
        Reading("pm2_5", 32.0),
        Reading("relative_humidity", 62.0),
        Reading("temperature", 23.8),
        Reading("tvoc_index", 0.37),
    ]


def test_tvoc_in_micrograms_is_the_tvoc_quantity() -> None:
    data = am319.decode(85, bytes.fromhex("08e6b900"))
    assert data == {"tvoc": 185}
    assert am319.normalize(data) == [Reading("tvoc", 185.0)]


def test_history_records_in_both_tvoc_units() -> None:
    body = "9e744663ee007c000102a80325006627200030000700"
    data = am319.decode(85, bytes.fromhex("20ce" + body + "21ce" + body))
    record = {
        "timestamp": 1665561758, "temperature": 23.8, "humidity": 62, "pir": "trigger",
        "light_level": 2, "co2": 936, "pressure": 1008.6, "pm2_5": 32, "pm10": 48, "hcho": 0.07,
    }  # fmt: skip
    assert data == {"history": [{**record, "tvoc": 0.37}, {**record, "tvoc": 37}]}
    assert am319.normalize(data) == []


def test_telemetry_items_not_in_the_readme_example() -> None:
    # 01 75 battery u8; 03 67 c9ff = int16 -55 -> -5.5; 04 68 5b = 91 / 2 -> 45.5;
    # 05 00 00 "idle"; 06 cb 05 level 5; 08 7d 9001 = 400 / 100 -> IAQ 4.0; 0e 01 01 "on"
    payload = bytes.fromhex("017564 0367c9ff 04685b 050000 06cb05 087d9001 0e0101")
    data = am319.decode(85, payload)
    assert data == {
        "battery": 100, "temperature": -5.5, "humidity": 45.5, "pir": "idle",
        "light_level": 5, "tvoc": 4.0, "buzzer_status": "on",
    }  # fmt: skip
    assert isinstance(data["tvoc"], float)  # the IAQ encoding: a level, not µg/m³
    assert Reading("tvoc_index", 4.0) in am319.normalize(data)
    assert Reading("motion", 0.0) in am319.normalize(data)


def test_states_past_the_vendor_maps_are_unknown() -> None:
    # pir 02 and buzzer 02 have no name: getValue gives "unknown", and no reading
    data = am319.decode(85, bytes.fromhex("0500020e0102"))
    assert data == {"pir": "unknown", "buzzer_status": "unknown"}
    assert am319.normalize(data) == []


def test_history_with_negative_temperature() -> None:
    # 20 ce: ts 9e744663, temperature f4ff = -12 -> -1.2, humidity 5b00 = 91 / 2 -> 45.5 (u16),
    # pir 00, light 05, co2 0002 = 512, tvoc 9001 = 400 (/100 -> 4.0 on 0x20, 400 on 0x21),
    # pressure 9727 = 10135 -> 1013.5, pm2_5 d204 = 1234, pm10 7800 = 120, hcho 0a00 -> 0.1
    body = "9e744663 f4ff 5b00 00 05 0002 9001 9727 d204 7800 0a00"
    record = {
        "timestamp": 1665561758, "temperature": -1.2, "humidity": 45.5, "pir": "idle",
        "light_level": 5, "co2": 512, "pressure": 1013.5, "pm2_5": 1234, "pm10": 120,
        "hcho": 0.1,
    }  # fmt: skip
    data = am319.decode(85, bytes.fromhex("21ce" + body + "20ce" + body))
    assert data == {"history": [{**record, "tvoc": 400}, {**record, "tvoc": 4.0}]}
    assert list(data["history"][0]) == [
        "timestamp", "temperature", "humidity", "pir", "light_level", "co2", "tvoc",
        "pressure", "pm2_5", "pm10", "hcho",
    ]  # fmt: skip


def test_common_attributes_and_device_status_byte() -> None:
    # AM319 reads the 0xFF0B byte (0 offline / 1 online); the other attributes are common
    payload = bytes.fromhex(
        "ff0124 ff090130 ff0a011f ffff0103 ff166749d19054690031 ff0f00 fffe01 ff0b00"
    )
    assert am319.decode(85, payload) == {
        "ipso_version": "v2.4",
        "hardware_version": "v1.3",
        "firmware_version": "v1.1f",
        "tsl_version": "v1.3",
        "sn": "6749d19054690031",
        "lorawan_class": "Class A",
        "reset_event": "reset",
        "device_status": "offline",
    }


def test_other_answers() -> None:
    # FF03 u16 report_interval, FE10 reboot, FF3D stop_buzzer, FE2D 01 screen on,
    # FF1A with a mode other than manual is one byte
    payload = bytes.fromhex("ff035802 fe10ff ff3d00 fe2d01 ff1a01 fe2e00 ffeb00")
    assert am319.decode(85, payload) == {
        "report_interval": 600,
        "reboot": "yes",
        "stop_buzzer": "yes",
        "screen_display_enable": "enable",
        "co2_calibration_settings": {"mode": "abc"},
        "led_indicator_mode": "off",
        "tvoc_unit": "iaq",
    }
    assert am319.decode(85, bytes.fromhex("ff1a07 017564")) == {
        "co2_calibration_settings": {"mode": "unknown"},
        "battery": 100,
    }


def test_attribute_and_answers() -> None:
    assert am319.decode(85, bytes.fromhex("ff0b01ff1a02e803ff2e02ffeb01")) == {
        "device_status": "online",
        "co2_calibration_settings": {"mode": "manual", "calibration_value": 1000},
        "led_indicator_mode": "blink",
        "tvoc_unit": "µg/m³",
    }


@pytest.mark.parametrize(
    ("downlink", "hex_payload"),
    [
        (am319.reboot(), "ff10ff"),
        (am319.set_report_interval(600), "ff035802"),
        (am319.stop_buzzer(), "ff3d00"),
        (am319.set_tvoc_unit("µg/m³"), "ffeb01"),
        (am319.calibrate_co2("manual", 1000), "ff1a02e803"),
        (am319.calibrate_co2("abc"), "ff1a01"),
        (am319.set_led_mode("blink"), "ff2e02"),
        (am319.set_screen(False), "ff2d00"),
    ],
)
def test_downlinks(downlink: Downlink, hex_payload: str) -> None:
    assert downlink == Downlink(85, bytes.fromhex(hex_payload))


def test_downlink_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="ppm is required by the manual mode"):
        am319.calibrate_co2("manual")
    with pytest.raises(ValueError, match="unit must be one of"):
        am319.set_tvoc_unit("ppb")


def test_truncated_history_record() -> None:
    with pytest.raises(
        DecodeError, match=r"truncated frame: pm10 needs 2 byte\(s\) at byte 20, frame has 21"
    ):
        am319.decode(85, bytes.fromhex("20ce9e744663ee007c000102a80325006627200030"))


def test_unknown_channel() -> None:
    with pytest.raises(DecodeError, match=r"^unknown channel 0x0d 0x7d at byte 4$") as exc:
        am319.decode(85, bytes.fromhex("0367ee000d7d0100"))
    assert exc.value.partial == {"temperature": 23.8}
