"""IMBUILDINGS People Counter, decoded by the vendor codec it shares with its other products.

Byte 0 is the product type (1 comfort sensor, 2 people counter, 3 button, 4 pulse counter),
byte 1 the payload variant; values are big-endian, `/100` marks hundredths (V, °C, %RH).
Any fPort but 26 and 27 carries these frames with their header:

| type.var | bytes | after type and variant (byte offsets)                                  |
|----------|-------|------------------------------------------------------------------------|
| 1.1      | 19    | 2-7 device_id, 9-10 battery_voltage /100, 11 rssi s8, 12-13           |
|          |       | temperature s16 /100, 14-15 humidity /100, 16-17 co2, 18 presence      |
| 1.2      | 25    | as 1.1; 12-17 date/time (not decoded), then the values at 18-24        |
| 1.3      | 20    | 2-9 device_id, 10 device_status, 11-12 battery_voltage /100, 13-14     |
|          |       | temperature u16 /100, 15-16 humidity /100, 17-18 co2, 19 presence      |
| 1.4      | 18    | as 1.1 to byte 11; 12-13 min_temperature s16 /100, 14-15               |
|          |       | max_temperature u16 /100, 16-17 current_temperature u16 /100           |
| 1.5      | 13    | as 1.1 to byte 11; 12 presence_event                                   |
| 2.1      | 22    | NB-IoT people counter: the vendor decodes it to {}                     |
| 2.2      | 15    | 2-7 device_id, 8 device_status, 9-10 battery_voltage /100, 11 rssi s8, |
|          |       | 12 counter_a u8, 13 counter_b u8, 14 sensor_status                     |
| 2.3      | 17    | as 2.2 to byte 11; 12-13 counter_a, 14-15 counter_b, 16 sensor_status  |
| 2.4      | 24    | as 2.2 to byte 11; 12-18 date/time (not decoded), 19-20 counter_a,     |
|          |       | 21-22 counter_b, 23 sensor_status                                      |
| 2.5      | 19    | 2-9 device_id, 10 device_status, 11-12 battery_voltage /100, 13-14     |
|          |       | counter_a, 15-16 counter_b, 17 sensor_status, 18 payload_counter       |
| 2.6      | 23    | as 2.5 to byte 16; 17 sensor_status, 18-19 total_counter_a, 20-21      |
|          |       | total_counter_b, 22 payload_counter                                    |
| 2.7      | 15    | 2-9 device_id, then from the end: sensor_status, total_counter_a,      |
|          |       | total_counter_b; the vendor also reports byte 10 as device_status and  |
|          |       | bytes 11-12 /100 as battery_voltage                                    |
| 3.1, 3.3 | 13    | as 2.2 to byte 11; 12 bit 0 button_pressed                             |
| 3.2      | 20    | as 2.2 to byte 11; 12-18 date/time (not decoded), 19 bit 0             |
| 4.1      | 20    | as 2.2 to byte 11; 12-18 not decoded, 19 counter u8                    |

counter_a/b count the people since the last uplink, total_counter_a/b are running totals.
Without the header the fPort names the frame and values are read from the end:
fPort 26 = 2.6 from byte 10 (13 bytes), fPort 27 = 2.7 from byte 10 (5 bytes).
A frame whose length does not fit its variant, and an unknown type or variant, decode to {}.

Downlink, fPort 10: F1 01, then items `length (counting itself) setting value...`:

| setting | value                                | | command (setting C8) | value |
|---------|--------------------------------------| |----------------------|-------|
| 1E      | report interval, minutes             | | 01 get payload       | -     |
| 1F      | event: 01, count, timeout            | | 02 rejoin            | -     |
| 20      | payload: type, variant, header 0/1   | | 03 counter preset    | A, B  |
| 21      | heartbeat interval, minutes          | | 04 save settings     | -     |
| 2F      | confirmed messages                   | |                      |       |
| 33      | fPort                                | |                      |       |

A setting without value (length 02) requests its current value.

Source: TheThingsNetwork/lorawan-devices vendor/imbuildings/imbuildings.js (commit 4addfbaa),
imbuildings-downlink.js (61eb6517; its `save` item pushes two undefined bytes: fixed here as
IMBUILDINGS/docs assets/imbuildings-downlink.js does, 03 C8 04). The counter preset values
(two uint16 totals) are not in the vendor sources and are unconfirmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, overload

from decoders.batch import Column, FixedFrame, FloatArray, Part, fixed_frame
from decoders.codec import DecodeError, Downlink, Reading
from decoders.reader import Reader

MODEL = "imbuildings-people-counter"
DEVICE_CLASS = "people_counter"

Kind = Literal["u8", "s8", "u16", "centi", "scenti", "id6", "id8", "bit0"]
Field = tuple[str, int, Kind]  # vendor key, byte offset (negative: from the end), kind


@dataclass(frozen=True, slots=True)
class _Frame:
    length: int
    fields: tuple[Field, ...]
    exact: bool = True  # False: the vendor reads the frame from its end, whatever its length


_FORMAT: dict[Kind, str] = {"u8": "u8", "s8": "s8", "bit0": "u8", "u16": "u16be"}
_FORMAT |= {"centi": "u16be", "scenti": "s16be"}
_SIZE: dict[Kind, int] = {"u8": 1, "s8": 1, "bit0": 1, "u16": 2, "centi": 2, "scenti": 2}
_SIZE |= {"id6": 6, "id8": 8}
_DTYPE: dict[Kind, str] = {"u8": "u1", "u16": ">u2", "centi": ">u2", "scenti": ">i2"}
_HUNDREDTHS: tuple[Kind, ...] = ("centi", "scenti")
_PRODUCTS = {1: "Comfort Sensor CO2", 2: "People Counter", 3: "Button", 4: "Counter"}

_NB: tuple[Field, ...] = (
    ("device_id", 2, "id6"),
    ("battery_voltage", 9, "centi"),
    ("rssi", 11, "s8"),
)
_NB_STATUS: tuple[Field, ...] = (*_NB, ("device_status", 8, "u8"))
_LORA: tuple[Field, ...] = (
    ("device_id", 2, "id8"),
    ("device_status", 10, "u8"),
    ("battery_voltage", 11, "centi"),
)


def _climate(at: int, temperature: Kind) -> tuple[Field, ...]:
    return (("temperature", at, temperature), ("humidity", at + 2, "centi"), ("co2", at + 4, "u16"))


def _counts(at: int, kind: Kind) -> tuple[Field, ...]:
    size = _SIZE[kind]
    return (
        ("counter_a", at, kind),
        ("counter_b", at + size, kind),
        ("sensor_status", at + 2 * size, "u8"),
    )


_V6: tuple[Field, ...] = (
    ("device_status", -13, "u8"),
    ("battery_voltage", -12, "centi"),
    ("counter_a", -10, "u16"),
    ("counter_b", -8, "u16"),
    ("sensor_status", -6, "u8"),
    ("total_counter_a", -5, "u16"),
    ("total_counter_b", -3, "u16"),
    ("payload_counter", -1, "u8"),
)
_V7: tuple[Field, ...] = (
    ("sensor_status", -5, "u8"),
    ("total_counter_a", -4, "u16"),
    ("total_counter_b", -2, "u16"),
)
_TEMPERATURES: tuple[Field, ...] = (
    ("min_temperature", 12, "scenti"),
    ("max_temperature", 14, "centi"),
    ("current_temperature", 16, "centi"),
)
_FRAMES: dict[tuple[int, int], _Frame] = {
    (1, 1): _Frame(19, (*_NB, *_climate(12, "scenti"), ("presence", 18, "u8"))),
    (1, 2): _Frame(25, (*_NB, *_climate(18, "scenti"), ("presence", 24, "u8"))),
    (1, 3): _Frame(20, (*_LORA, *_climate(13, "centi"), ("presence", 19, "u8"))),
    (1, 4): _Frame(18, (*_NB, *_TEMPERATURES)),
    (1, 5): _Frame(13, (*_NB, ("presence_event", 12, "u8"))),
    (2, 2): _Frame(15, (*_NB_STATUS, *_counts(12, "u8"))),
    (2, 3): _Frame(17, (*_NB_STATUS, *_counts(12, "u16"))),
    (2, 4): _Frame(24, (*_NB_STATUS, *_counts(19, "u16"))),
    (2, 5): _Frame(19, (*_LORA, *_counts(13, "u16"), ("payload_counter", 18, "u8"))),
    (2, 6): _Frame(23, (("device_id", 2, "id8"), *_V6)),
    # the vendor reads the LoRaWAN header over bytes 10-12 too, although they hold _V7 values
    (2, 7): _Frame(15, (*_LORA, *_V7), exact=False),
    (3, 1): _Frame(13, (*_NB_STATUS, ("button_pressed", 12, "bit0"))),
    (3, 2): _Frame(20, (*_NB_STATUS, ("button_pressed", 19, "bit0"))),
    (3, 3): _Frame(13, (*_NB_STATUS, ("button_pressed", 12, "bit0"))),
    (4, 1): _Frame(20, (*_NB_STATUS, ("counter", 19, "u8"))),
}
_HEADERLESS: dict[int, tuple[int, _Frame]] = {
    26: (6, _Frame(13, _V6, exact=False)),
    27: (7, _Frame(5, _V7, exact=False)),
}

NORMALIZATION: dict[str, tuple[str, str]] = {
    # vendor field: (quantity, channel); the vendor values are already in the vocabulary's units
    "battery_voltage": ("battery_voltage", ""),
    "counter_a": ("people_in", ""),
    "counter_b": ("people_out", ""),
    "total_counter_a": ("people_in_total", ""),
    "total_counter_b": ("people_out_total", ""),
    "temperature": ("temperature", ""),
    "current_temperature": ("temperature", ""),
    "min_temperature": ("temperature", "min"),
    "max_temperature": ("temperature", "max"),
    "humidity": ("relative_humidity", ""),
    "co2": ("co2", ""),
    "presence": ("motion", ""),
    "presence_event": ("motion", ""),
    "counter": ("pulse_count", ""),
}


@overload
def centi(raw: int) -> float: ...
@overload
def centi(raw: FloatArray) -> FloatArray: ...
def centi(raw: int | FloatArray) -> float | FloatArray:
    """The vendor's hundredths (`/ 100`), for one value or a numpy column alike."""
    return raw / 100


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    if f_port in _HEADERLESS:
        number, headerless = _HEADERLESS[f_port]
        what = f"people counter variant {number} without header (fPort {f_port})"
        return _fields(payload, headerless, what)
    if not payload or payload[0] not in _PRODUCTS:
        return {}
    # the vendor reads the 6-byte id of every product before it looks at the variant
    Reader(payload, 2).take(6, "device_id")
    product, variant = payload[0], payload[1]
    frame = _FRAMES.get((product, variant))
    if frame is None or (frame.exact and len(payload) != frame.length):
        return {}
    header = {
        "device_type_identifier": product,
        "device_type": _PRODUCTS[product],
        "device_type_variant": variant,
    }
    return header | _fields(payload, frame, f"{_PRODUCTS[product]} variant {variant}")


def _extent(field: Field) -> int:
    _, offset, kind = field
    return offset + _SIZE[kind] if offset >= 0 else -offset


def _fields(payload: bytes, frame: _Frame, what: str) -> dict[str, Any]:
    need = max(map(_extent, frame.fields))
    if len(payload) < need:
        raise DecodeError(f"truncated frame: {what} needs {need} bytes, frame has {len(payload)}")
    return {field[0]: _read(payload, field) for field in frame.fields}


def _read(payload: bytes, field: Field) -> int | float | str:
    key, offset, kind = field
    r = Reader(payload, offset if offset >= 0 else len(payload) + offset)
    if kind in ("id6", "id8"):
        return r.take(_SIZE[kind], key).hex()
    raw = r.int(_FORMAT[kind], key)
    if kind == "bit0":
        return raw & 1
    return centi(raw) if kind in _HUNDREDTHS else raw


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    # with the header, variant 7's battery_voltage is the vendor's misreading of a total count
    aliased = data.get("device_type_identifier") == 2 and data.get("device_type_variant") == 7
    return [
        Reading(quantity, float(data[key]), channel)
        for key, (quantity, channel) in NORMALIZATION.items()
        if key in data and not (aliased and key == "battery_voltage")
    ]


def _fast(f_port: int, signature: bytes, frame: _Frame) -> FixedFrame:
    """The FixedFrame of a fixed-length frame: its normalized fields, the rest skipped."""
    parts: list[Part] = [signature] if signature else []
    columns: list[Column] = []
    pos = len(signature)
    placed = sorted((o if o >= 0 else frame.length + o, k, kind) for k, o, kind in frame.fields)
    for offset, key, kind in placed:
        if key not in NORMALIZATION:
            continue
        if offset > pos:
            parts.append((f"_skip{pos}", f"V{offset - pos}"))
        parts.append((key, _DTYPE[kind]))
        pos = offset + _SIZE[kind]
        quantity, channel = NORMALIZATION[key]
        columns.append(Column(quantity, key, channel, centi if kind in _HUNDREDTHS else None))
    if pos < frame.length:
        parts.append(("_rest", f"V{frame.length - pos}"))
    return fixed_frame(f_port, parts, columns)


FIXED_FRAMES: tuple[FixedFrame, ...] = (
    *(_fast(1, bytes(key), f) for key, f in _FRAMES.items() if key[0] == 2 and f.exact),
    _fast(1, b"\x02\x07", _Frame(15, _V7)),
    *(_fast(port, b"", frame) for port, (_, frame) in _HEADERLESS.items()),
)


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    """The (fPort, payload) the device sends for `data`; ValueError if it sends no such frame."""
    f_port, frame, payload = _layout(data)
    for field in frame.fields:
        if field[0] not in data:
            raise ValueError(f"{field[0]} missing for this frame")
        _write(payload, field, data[field[0]])
    if decode(f_port, bytes(payload)) != dict(data):
        raise ValueError(f"not an uplink of {MODEL}: {dict(data)!r}")
    return f_port, bytes(payload)


def _layout(data: Mapping[str, Any]) -> tuple[int, _Frame, bytearray]:
    if "device_type_identifier" not in data:
        f_port = 26 if "counter_a" in data else 27
        headerless = _HEADERLESS[f_port][1]
        return f_port, headerless, bytearray(headerless.length)
    key = (data["device_type_identifier"], data.get("device_type_variant"))
    if key not in _FRAMES:
        raise ValueError(f"no frame of product type/variant {key}")
    payload = bytearray(_FRAMES[key].length)
    payload[:2] = bytes(key)
    return 1, _FRAMES[key], payload


def _write(payload: bytearray, field: Field, value: Any) -> None:
    key, offset, kind = field
    at = offset if offset >= 0 else len(payload) + offset
    size = _SIZE[kind]
    if kind in ("id6", "id8"):
        raw = bytes.fromhex(value)
    else:
        number = round(value * 100) if kind in _HUNDREDTHS else value
        if not isinstance(number, int):
            raise ValueError(f"{key} must be an integer, got {value!r}")
        try:
            raw = number.to_bytes(size, "big", signed=kind in ("s8", "scenti"))
        except OverflowError:
            raise ValueError(f"{key} out of range: {value!r}") from None
    if len(raw) != size:
        raise ValueError(f"{key} must be {size} bytes, got {value!r}")
    payload[at : at + size] = raw


SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = tuple(
    decode(f_port, bytes.fromhex(frame))
    for f_port, frame in (
        (1, "02060004a30b00f0d40e000100000000002000 0d000a6a"),
        (1, "02050004a30b00f0d40e0d014a0003000520 11"),
        (1, "02070004a30b00f0d40e20 0601 05e6"),
        (1, "020200000a0b0c0d08012c c5 0302 20"),
        (1, "020300000a0b0c0d08012c c5 00030002 20"),
        (1, "020400000a0b0c0d08012c c5 20240101120000 00030002 20"),
        (26, "00 0100 0003 0002 20 0603 05e6 61"),
        (27, "20 0603 05e6"),
        (1, "01030004a30b00f0d40e00014a 0898 1388 01f4 01"),
    )
)

DOWNLINK_PORT = 10
_DOWNLINK_HEADER = b"\xf1\x01"
_COMMAND = 0xC8
_SETTINGS = {0x1E: 1, 0x1F: 3, 0x20: 3, 0x21: 1, 0x2F: 1, 0x33: 1}  # id: number of values


def _ranged(value: int, name: str, low: int = 0, high: int = 255) -> int:
    if not low <= value <= high:
        raise ValueError(f"{name} must be {low}..{high}, got {value}")
    return value


def _item(setting: int, *values: int) -> Downlink:
    return Downlink(DOWNLINK_PORT, _DOWNLINK_HEADER + bytes([len(values) + 2, setting, *values]))


def combine(*downlinks: Downlink) -> Downlink:
    """One downlink carrying the items of several (e.g. a setting and `save()`)."""
    return Downlink(DOWNLINK_PORT, _DOWNLINK_HEADER + b"".join(d.payload[2:] for d in downlinks))


def set_report_interval(minutes: int) -> Downlink:
    return setting(0x1E, _ranged(minutes, "minutes", 1))


def setting(setting_id: int, *values: int) -> Downlink:
    """Set a setting of the layout table (values as listed there), or request it without values."""
    if setting_id not in _SETTINGS:
        raise ValueError(f"setting_id must be one of {sorted(_SETTINGS)}, got {setting_id}")
    if len(values) not in (0, _SETTINGS[setting_id]):
        raise ValueError(f"setting {setting_id:#04x} takes {_SETTINGS[setting_id]} values")
    return _item(setting_id, *(_ranged(v, f"values[{i}]") for i, v in enumerate(values)))


def get_payload() -> Downlink:
    return _item(_COMMAND, 0x01)


def rejoin() -> Downlink:
    return _item(_COMMAND, 0x02)


def preset_counters(total_counter_a: int, total_counter_b: int) -> Downlink:
    a = _ranged(total_counter_a, "total_counter_a", high=0xFFFF)
    b = _ranged(total_counter_b, "total_counter_b", high=0xFFFF)
    return _item(_COMMAND, 0x03, a >> 8, a & 0xFF, b >> 8, b & 0xFF)


def save() -> Downlink:
    return _item(_COMMAND, 0x04)
