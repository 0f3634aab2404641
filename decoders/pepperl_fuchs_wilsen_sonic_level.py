"""Pepperl+Fuchs WILSEN.sonic.level: ultrasonic fill-level sensor for bins, tanks and silos.

Uplink (fPort 1; the vendor codec ignores the port): a chain of records
`L | identifier (2 bytes) | L-2 value bytes`, big-endian. Unknown identifiers are skipped using L.
The vendor output also echoes the frame as upper-case hex in `payload`.

| identifier | key: value                                                                     |
|------------|--------------------------------------------------------------------------------|
| 0x0B01     | proxx: uint16, distance to the surface in cm                                   |
| 0x0B02     | proxx_mm: uint16, distance in mm                                               |
| 0x0B06     | fillinglvl: uint8, fill level in %                                             |
| 0x0B07     | amplitude: uint8, echo amplitude                                               |
| 0x0201     | temp: float32 in °C, rounded to 0.1                                            |
| 0x5101     | battery_vol: uint8 in 0.1 V                                                    |
| 0x5001/02  | latitude / longitude: int32 in micro-degrees                                   |
| 0x2A25     | serial_nr: ASCII, up to 14 characters, ends at NUL (see below)                 |
| 0x3101/02  | lora_count / gps_count: uint16 transmission and GPS fix counters               |
| 0x3103     | us_sensor_count: uint32 ultrasonic measurement counter                         |
| 0x0C01-04  | WILSEN.valve (same codec): valve + valveChecksum (2 x uint8), valve_status     |
|            | (uint8), sensor_details (uint16), sensor_status (uint8)                        |
| 0xF101-09  | device config acks: ble_enable (flag), device_name (text 16), reset_counter,   |
|            | factory_reset, change_password ("done", no value), device_name_1/_2 (text 8)   |
| 0xF201-03  | GPS config acks: gps_acquisition_active (flag), gps_acquisition_interval,      |
|            | gps_next_acquisition (uint32)                                                  |
| 0xF301-09  | LoRa config acks: lora_message_type (0 Unconfirmed, 1 Confirmed, else Invalid),|
|            | lora_number_of_transmission (uint8), lora_spreading_factor (uint8, 255 "ADR"), |
|            | lora_data_transmission_active (flag), lora_transmission_interval,              |
|            | lora_next_transmission (uint32), lora_downlink_config, lora_downlink_config_ack|
|            | (flags), lora_sub_band (uint8)                                                 |
| 0xF401-0D  | ultrasonic config acks: us_beam_width (254 Small, 253 Medium, 252 Wide, 55     |
|            | User-defined, else Invalid), us_user_defined_burst_length / _transmitting_power|
|            | / _sensitivity (name, or the raw uint8 if unnamed), us_full_distance,          |
|            | us_empty_distance (uint16), us_measurement_sequence_active (flag),             |
|            | us_evaluation_method (1 "Average value", else Invalid),                        |
|            | us_measurements_per_sequence (uint8), us_at_intervals_of (uint16),             |
|            | us_application_filter_active (flag), us_post_processing_filter (1 "Container   |
|            | filling", else Invalid), us_additional_measurement (uint8)                     |
| 0xF501-03  | device information: part_number (uint32), hardware_revision /                  |
|            | firmware_revision ("major.minor.patch" from 3 x uint16)                        |

Flags (ble_enable, *_active, lora_downlink_config*) are a uint8 equal to 1. Text (serial_nr,
device_name*) is read as the vendor reads it: its full size from the value's first byte, up to
a NUL or the frame's end, so that a record shorter than that runs on into the next records.
Downlink: the vendor publishes neither an encoder nor a byte layout for the configuration
downlinks; none here.

Source: TheThingsNetwork/lorawan-devices vendor/pepperl-fuchs/wilsen.js and
wilsen-sonic-level-codec.yaml (commit 62c8acdd7f0f1e43b65a86f6c158d83b3d0cd200).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from decoders.batch import Column, Convert, FixedFrame, FloatArray, fixed_frame
from decoders.codec import DecodeError, Reading

MODEL = "pepperl-fuchs-wilsen-sonic-level"
DEVICE_CLASS = "waste_bin"
UPLINK_PORT = 1


def _vendor_float32(bits: FloatArray) -> FloatArray:
    """A float32 from its bits as the vendor's decodeFloat reads it: exponent 255 gives
    2**128 times the significand (no inf/NaN), and a zero is always +0."""
    single = bits.astype(np.uint32).view(np.float32)
    finite = np.isfinite(single)
    value = np.where(finite, single, np.float32(0.0)).astype(np.float64) + 0.0  # vendor: +0
    sign = np.where(bits >= 2.0**31, -1.0, 1.0)
    beyond = sign * (bits % 2.0**23 + 2.0**23) * 2.0**105
    result: FloatArray = np.where(finite, value, beyond)
    return result


def _round_tenth(x: FloatArray) -> FloatArray:
    """JS parseFloat(x.toFixed(1)): rounds the exact binary value, ties away from zero."""
    scaled = x * 10.0  # exact: a float32 value has 24 significant bits
    whole = np.floor(scaled)
    fraction = scaled - whole
    up = (fraction > 0.5) | ((fraction == 0.5) & (scaled > 0))
    result: FloatArray = (whole + up) / 10.0
    return result


def _temperature(bits: FloatArray) -> FloatArray:
    return _round_tenth(_vendor_float32(bits))


def _tenth(raw: FloatArray) -> FloatArray:
    return raw / 10.0


def _cm_to_mm(cm: FloatArray) -> FloatArray:
    return cm * 10.0


def _scalar(convert: Convert, value: float) -> float:
    """A batch converter applied to one value: the same arithmetic, bit for bit."""
    return float(convert(np.asarray(value, dtype=np.float64)))


@dataclass(frozen=True, slots=True)
class _Codec:
    """One value of a record: `size` bytes; text (`variable`) is read to `size` bytes or a NUL
    whatever the record's length, and written padded with NULs to `size`."""

    size: int
    decode: Callable[[bytes], Any]
    encode: Callable[[Any], bytes]
    variable: bool = False


def _uint(size: int) -> _Codec:
    return _Codec(size, lambda b: int.from_bytes(b, "big"), lambda v: int(v).to_bytes(size, "big"))


def _text(size: int) -> _Codec:
    return _Codec(
        size,
        lambda b: b.split(b"\0", 1)[0].decode("latin-1"),
        lambda v: str(v).encode("latin-1").ljust(size, b"\0"),
        variable=True,
    )


def _named(names: dict[int, str], fallback: str | None) -> _Codec:
    """A uint8 shown by name; unnamed codes give `fallback`, or the raw number without one."""
    codes = {name: code for code, name in names.items()}

    def decode(b: bytes) -> str | int:
        return names.get(b[0], b[0] if fallback is None else fallback)

    return _Codec(1, decode, lambda v: bytes([codes[v] if v in codes else int(v)]))


_U8, _U16, _U32 = _uint(1), _uint(2), _uint(4)
_FLAG = _Codec(1, lambda b: b[0] == 1, lambda v: bytes([1 if v is True else 0]))
_DONE = _Codec(0, lambda b: "done", lambda v: b"")
_TEMP = _Codec(
    4, lambda b: _scalar(_temperature, int.from_bytes(b, "big")), lambda v: struct.pack(">f", v)
)
_VOLTS = _Codec(1, lambda b: _scalar(_tenth, b[0]), lambda v: bytes([round(v * 10)]))
_DEGREES = _Codec(
    4,
    lambda b: int.from_bytes(b, "big", signed=True) / 1_000_000,
    lambda v: round(v * 1_000_000).to_bytes(4, "big", signed=True),
)
_VERSION = _Codec(
    6,
    lambda b: ".".join(str(int.from_bytes(b[i : i + 2], "big")) for i in (0, 2, 4)),
    lambda v: b"".join(int(part).to_bytes(2, "big") for part in v.split(".")),
)
_BEAM_WIDTH = {254: "Small", 253: "Medium", 252: "Wide", 55: "User-defined"}
_BURST_LENGTH = {5: "Normal", 3: "Short", 16: "Very short"}
_TRANSMIT_POWER = {63: "High", 40: "Medium", 12: "Low"}
_SENSITIVITY = {63: "Maximum", 51: "Very high", 48: "High", 38: "Medium", 27: "Low", 15: "Minimum"}

_RECORDS: dict[int, tuple[tuple[str, _Codec], ...]] = {
    0x0B01: (("proxx", _U16),),
    0x0B02: (("proxx_mm", _U16),),
    0x0B06: (("fillinglvl", _U8),),
    0x0B07: (("amplitude", _U8),),
    0x0201: (("temp", _TEMP),),
    0x5101: (("battery_vol", _VOLTS),),
    0x5001: (("latitude", _DEGREES),),
    0x5002: (("longitude", _DEGREES),),
    0x2A25: (("serial_nr", _text(14)),),
    0x3101: (("lora_count", _U16),),
    0x3102: (("gps_count", _U16),),
    0x3103: (("us_sensor_count", _U32),),
    0x0C01: (("valve", _U8), ("valveChecksum", _U8)),
    0x0C02: (("valve_status", _U8),),
    0x0C03: (("sensor_details", _U16),),
    0x0C04: (("sensor_status", _U8),),
    0xF101: (("ble_enable", _FLAG),),
    0xF102: (("device_name", _text(16)),),
    0xF103: (("reset_counter", _DONE),),
    0xF104: (("factory_reset", _DONE),),
    0xF105: (("change_password", _DONE),),
    0xF108: (("device_name_1", _text(8)),),
    0xF109: (("device_name_2", _text(8)),),
    0xF201: (("gps_acquisition_active", _FLAG),),
    0xF202: (("gps_acquisition_interval", _U32),),
    0xF203: (("gps_next_acquisition", _U32),),
    0xF301: (("lora_message_type", _named({0: "Unconfirmed", 1: "Confirmed"}, "Invalid")),),
    0xF302: (("lora_number_of_transmission", _U8),),
    0xF303: (("lora_spreading_factor", _named({255: "ADR"}, None)),),
    0xF304: (("lora_data_transmission_active", _FLAG),),
    0xF305: (("lora_transmission_interval", _U32),),
    0xF306: (("lora_next_transmission", _U32),),
    0xF307: (("lora_downlink_config", _FLAG),),
    0xF308: (("lora_downlink_config_ack", _FLAG),),
    0xF309: (("lora_sub_band", _U8),),
    0xF401: (("us_beam_width", _named(_BEAM_WIDTH, "Invalid")),),
    0xF402: (("us_user_defined_burst_length", _named(_BURST_LENGTH, None)),),
    0xF403: (("us_user_defined_transmitting_power", _named(_TRANSMIT_POWER, None)),),
    0xF404: (("us_user_defined_sensitivity", _named(_SENSITIVITY, None)),),
    0xF405: (("us_full_distance", _U16),),
    0xF406: (("us_empty_distance", _U16),),
    0xF407: (("us_measurement_sequence_active", _FLAG),),
    0xF408: (("us_evaluation_method", _named({1: "Average value"}, "Invalid")),),
    0xF409: (("us_measurements_per_sequence", _U8),),
    0xF40A: (("us_at_intervals_of", _U16),),
    0xF40B: (("us_application_filter_active", _FLAG),),
    0xF40C: (("us_post_processing_filter", _named({1: "Container filling"}, "Invalid")),),
    0xF40D: (("us_additional_measurement", _U8),),
    0xF501: (("part_number", _U32),),
    0xF502: (("hardware_revision", _VERSION),),
    0xF503: (("firmware_revision", _VERSION),),
}
_RECORD_OF_KEY = {key: ident for ident, fields in _RECORDS.items() for key, _ in fields}


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    data: dict[str, Any] = {"payload": payload.hex().upper()}
    pos = 0
    while pos < len(payload):
        length = payload[pos]
        if length < 2:
            raise DecodeError(
                f"record at byte {pos}: length {length} cannot hold its 2-byte identifier", data
            )
        if pos + 1 + length > len(payload):
            name = f" 0x{payload[pos + 1 : pos + 3].hex()}" if pos + 3 <= len(payload) else ""
            raise DecodeError(
                f"truncated record{name} at byte {pos}: length {length} needs {length} bytes "
                f"after byte {pos}, frame has {len(payload) - pos - 1}",
                data,
            )
        ident = int.from_bytes(payload[pos + 1 : pos + 3], "big")
        _decode_record(ident, _RECORDS.get(ident, ()), payload, pos, data)
        pos += 1 + length
    return data


def _decode_record(
    ident: int,
    fields: tuple[tuple[str, _Codec], ...],
    payload: bytes,
    pos: int,
    data: dict[str, Any],
) -> None:
    value = payload[pos + 3 : pos + 1 + payload[pos]]
    offset = 0
    for key, codec in fields:
        if codec.variable:
            # the vendor reads text to its full size or a NUL, past the record's end if need be
            start = pos + 3 + offset
            data[key] = codec.decode(payload[start : start + codec.size])
            offset += codec.size
            continue
        if offset + codec.size > len(value):
            raise DecodeError(
                f"short record 0x{ident:04x} at byte {pos}: {key} needs {codec.size} value "
                f"byte(s), the record has {len(value) - offset}",
                data,
            )
        data[key] = codec.decode(value[offset : offset + codec.size])
        offset += codec.size


NORMALIZATION: dict[str, tuple[str, str, Convert | None]] = {
    "proxx": ("distance", "", _cm_to_mm),
    "proxx_mm": ("distance", "", None),
    "fillinglvl": ("filling_level", "", None),
    "amplitude": ("echo_amplitude", "", None),
    "temp": ("temperature", "", None),
    "battery_vol": ("battery_voltage", "", None),
}


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    readings = []
    for key, (quantity, channel, convert) in NORMALIZATION.items():
        # A frame with both distances gives one reading: the finer mm value.
        if key not in data or (key == "proxx" and "proxx_mm" in data):
            continue
        value = float(data[key]) if convert is None else _scalar(convert, data[key])
        readings.append(Reading(quantity, value, channel))
    return readings


def _chain(distance_id: int, distance: Column) -> FixedFrame:
    """The periodic frame: distance, fill level, temperature and battery records."""
    parts: list[bytes | tuple[str, str]] = [
        bytes([4, 0x0B, distance_id]), ("distance", ">u2"),
        b"\x03\x0b\x06", ("fill", "u1"),
        b"\x06\x02\x01", ("temp", ">u4"),
        b"\x03\x51\x01", ("battery", "u1"),
    ]  # fmt: skip
    return fixed_frame(
        None,
        parts,
        [
            distance,
            Column("filling_level", "fill"),
            Column("temperature", "temp", convert=_temperature),
            Column("battery_voltage", "battery", convert=_tenth),
        ],
    )


FIXED_FRAMES: tuple[FixedFrame, ...] = (
    _chain(0x01, Column("distance", "distance", convert=_cm_to_mm)),
    _chain(0x02, Column("distance", "distance")),
)


def encode_records(fields: Mapping[str, Any]) -> bytes:
    """The record chain carrying `fields` (vendor keys), one record per key in their order."""
    frame = bytearray()
    done: set[str] = set()
    for key in fields:
        if key in done:
            continue
        if key not in _RECORD_OF_KEY:
            raise ValueError(f"{key}: not a field of a {MODEL} uplink record")
        ident = _RECORD_OF_KEY[key]
        value = b"".join(_encode_value(k, codec, fields) for k, codec in _RECORDS[ident])
        frame += bytes([2 + len(value)]) + ident.to_bytes(2, "big") + value
        done.update(k for k, _ in _RECORDS[ident])
    return bytes(frame)


def _encode_value(key: str, codec: _Codec, fields: Mapping[str, Any]) -> bytes:
    if key not in fields:
        raise ValueError(f"{key}: missing, its record needs it")
    value = fields[key]
    try:
        raw = codec.encode(value)
    except (AttributeError, TypeError, ValueError, OverflowError, struct.error):
        raw = None
    # Only values that decode back unchanged are encodable (steps of 0.1, ranges, names).
    if raw is None or codec.decode(raw) != value:
        raise ValueError(f"{key}: {value!r} has no exact encoding")
    return raw


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    """The frame whose decoding is `data`, whose `payload` must echo that frame as hex."""
    fields = {k: v for k, v in data.items() if k != "payload"}
    frame = encode_records(fields)
    if data.get("payload") != frame.hex().upper():
        raise ValueError(f"payload: must echo the encoded frame {frame.hex().upper()!r}")
    return UPLINK_PORT, frame


SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = (
    {"payload": "040B010031030B065D06020141A6666603510122",
     "proxx": 49, "fillinglvl": 93, "temp": 20.8, "battery_vol": 3.4},
    {"payload": "040B0206B6030B063C06020141B5999A03510124",
     "proxx_mm": 1718, "fillinglvl": 60, "temp": 22.7, "battery_vol": 3.6},
    {"payload": "040B010021030B066406020141C8CCCD0351012606500102F4006F0650020081336D",
     "proxx": 33, "fillinglvl": 100, "temp": 25.1, "battery_vol": 3.8,
     "latitude": 49.545327, "longitude": 8.467309},
    {"payload": "102A25343830303030303036333036383204310102C004310200000631030000017303510124",
     "serial_nr": "48000000630682", "lora_count": 704, "gps_count": 0, "us_sensor_count": 371,
     "battery_vol": 3.6},
)  # fmt: skip
