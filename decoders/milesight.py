"""Milesight channel/type item framing, shared by every Milesight device module.

An uplink is a run of items; multi-byte values are little-endian unless a device says not.

| offset | size | meaning                                                        |
|--------|------|----------------------------------------------------------------|
| 0      | 1    | channel id                                                     |
| 1      | 1    | channel type                                                   |
| 2      | N    | value; N is fixed by the (id, type) pair, the device's table   |

Common attribute items (channel 0xFF), as most 2024/2025 Milesight decoders render them:

| id   | type | size | key              | rendering                                   |
|------|------|------|------------------|---------------------------------------------|
| 0xFF | 0x01 | 1    | ipso_version     | "v<high nibble>.<low nibble>"               |
| 0xFF | 0x09 | 2    | hardware_version | "v<byte0 hex>.<byte1 >> 4>"                 |
| 0xFF | 0x0A | 2    | firmware_version | "v<byte0 hex>.<byte1 hex>"                  |
| 0xFF | 0xFF | 2    | tsl_version      | "v<byte0>.<byte1>"                          |
| 0xFF | 0x16 | 8    | sn               | lower-case hex                              |
| 0xFF | 0x0F | 1    | lorawan_class    | Class A / Class B / Class C / Class CtoB    |
| 0xFF | 0xFE | 1    | reset_event      | "reset" (the byte is not read)              |
| 0xFF | 0x0B | 1    | device_status    | "on" (the byte is not read)                 |

Channels 0xFF and 0xFE also carry the device's answers to downlinks. The vendor decoders stop
at the first unknown pair; we raise DecodeError with `partial` = the items decoded before it.

Source: Milesight-IoT/SensorDecoders, the *-decoder.js of each device (e.g.
ws-series/ws558/ws558-decoder.js, em-series/em310-udl/em310-udl-decoder.js).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from decoders.batch import Convert, FloatArray
from decoders.codec import DecodeError, Downlink, Reading
from decoders.reader import Reader

F_PORT = 85
Fields = dict[str, Any]
Read = Callable[[Reader], Fields]
Encode = Callable[[dict[str, Any]], bytes]
Rule = tuple[str, str, Convert | Mapping[str, float] | None]


@dataclass(frozen=True, slots=True)
class Field:
    """One value of an item: a struct format, a divisor, or the names of its states."""

    key: str
    fmt: str
    divisor: int = 1
    states: tuple[str, ...] = ()

    def read(self, reader: Reader) -> Any:
        raw = struct.unpack(self.fmt, reader.take(struct.calcsize(self.fmt), self.key))[0]
        if self.states:
            return state(self.states, raw)
        return raw / self.divisor if self.divisor != 1 else raw

    def write(self, value: Any) -> bytes:
        raw = self.to_raw(value)
        try:
            return struct.pack(self.fmt, raw)
        except struct.error:
            raise ValueError(f"{self.key}: {value!r} is out of range") from None

    def to_raw(self, value: Any) -> int:
        if self.states:
            if value not in self.states:
                raise ValueError(f"{self.key}: {value!r} is not one of {self.states}")
            return self.states.index(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{self.key}: {value!r} is not a number")
        raw = round(float(value) * self.divisor)
        if (raw / self.divisor if self.divisor != 1 else raw) != value:
            raise ValueError(f"{self.key}: {value!r} is not a multiple of 1/{self.divisor}")
        return raw


def state(names: tuple[str, ...], raw: int) -> str:
    """The vendor's name of a state value; its getValue answers "unknown" beyond its map."""
    return names[raw] if 0 <= raw < len(names) else "unknown"


@dataclass(frozen=True, slots=True)
class Item:
    """An (id, type) pair: how to read its value and, for telemetry, how to write it back."""

    channel: int
    kind: int
    read: Read
    encode: Encode | None = None


def values(*fields: Field) -> Read:
    """Read a fixed run of fields."""

    def read(reader: Reader) -> Fields:
        return {f.key: f.read(reader) for f in fields}

    return read


def record(channel: int, kind: int, *fields: Field) -> Item:
    """An item whose value is a fixed run of fields."""

    def encode(work: dict[str, Any]) -> bytes:
        present = [f.key for f in fields if f.key in work]
        if not present:
            return b""
        if len(present) < len(fields):
            missing = [f.key for f in fields if f.key not in work]
            raise ValueError(f"item 0x{channel:02x} 0x{kind:02x} lacks {missing}")
        return bytes((channel, kind)) + b"".join(f.write(work.pop(f.key)) for f in fields)

    return Item(channel, kind, values(*fields), encode)


def fixed(key: str, value: Any, size: int = 1) -> Read:
    """A value the vendor decoder sets without reading its byte(s) (e.g. reboot: "yes")."""

    def read(reader: Reader) -> Fields:
        reader.take(size, key)
        return {key: value}

    return read


def response(kind: int, read: Read) -> tuple[Item, Item]:
    """A downlink answer: the vendor decoders accept it on channel 0xFF and 0xFE alike."""
    return Item(0xFF, kind, read), Item(0xFE, kind, read)


def ipso_version(reader: Reader) -> Fields:
    value = reader.u8("ipso_version")
    return {"ipso_version": f"v{value >> 4}.{value & 0x0F}"}


def hardware_version(reader: Reader) -> Fields:
    major, minor = reader.take(2, "hardware_version")
    return {"hardware_version": f"v{major:x}.{minor >> 4}"}


def firmware_version(reader: Reader) -> Fields:
    major, minor = reader.take(2, "firmware_version")
    return {"firmware_version": f"v{major:x}.{minor:x}"}


def tsl_version(reader: Reader) -> Fields:
    major, minor = reader.take(2, "tsl_version")
    return {"tsl_version": f"v{major}.{minor}"}


def serial_number(size: int) -> Read:
    def read(reader: Reader) -> Fields:
        return {"sn": reader.take(size, "sn").hex()}

    return read


LORAWAN_CLASSES = ("Class A", "Class B", "Class C", "Class CtoB")
YES_NO = ("no", "yes")
ENABLE = ("disable", "enable")

ATTRIBUTES: tuple[Item, ...] = (
    Item(0xFF, 0x01, ipso_version),
    Item(0xFF, 0x09, hardware_version),
    Item(0xFF, 0x0A, firmware_version),
    Item(0xFF, 0xFF, tsl_version),
    Item(0xFF, 0x16, serial_number(8)),
    record(0xFF, 0x0F, Field("lorawan_class", "B", states=LORAWAN_CLASSES)),
    Item(0xFF, 0xFE, fixed("reset_event", "reset")),
    Item(0xFF, 0x0B, fixed("device_status", "on")),
)


def table(*items: Item) -> dict[tuple[int, int], Item]:
    """Items by (id, type); a later item replaces an earlier one of the same pair."""
    return {(item.channel, item.kind): item for item in items}


def check_port(f_port: int) -> None:
    if not 1 <= f_port <= 223:
        raise DecodeError(
            f"unknown fPort {f_port}: Milesight uplinks use fPort 1-223 ({F_PORT} by default)"
        )


def decode_items(payload: bytes, items: Mapping[tuple[int, int], Item]) -> Fields:
    """All items of a frame; DecodeError (with the items before it) at the first bad one."""
    data: Fields = {}
    reader = Reader(payload)
    while not reader.at_end():
        start = reader.pos
        try:
            channel = reader.u8("channel id")
            kind = reader.u8(f"channel type of channel 0x{channel:02x}")
            item = items.get((channel, kind))
            if item is None:
                raise DecodeError(f"unknown channel 0x{channel:02x} 0x{kind:02x} at byte {start}")
            merge(data, item.read(reader))
        except DecodeError as exc:
            raise DecodeError(str(exc), partial=data) from None
    return data


def merge(data: Fields, fields: Fields) -> None:
    """Later items overwrite earlier keys, except history records, which accumulate."""
    for key, value in fields.items():
        if isinstance(value, list) and isinstance(data.get(key), list):
            data[key] = data[key] + value
        else:
            data[key] = value


def encode_items(data: Mapping[str, Any], items: Iterable[Item]) -> tuple[int, bytes]:
    """The frame whose decoding gives back `data`: each encodable item takes its keys."""
    work = dict(data)
    payload = b"".join(item.encode(work) for item in items if item.encode is not None)
    if work:
        raise ValueError(f"no uplink item carries {sorted(work)}")
    if not payload:
        raise ValueError("nothing to encode")
    return F_PORT, payload


def header(channel: int, kind: int) -> bytes:
    return bytes((channel, kind))


def normalize_fields(rules: Mapping[str, Rule], data: Mapping[str, Any]) -> list[Reading]:
    """Readings of the vendor fields a rule names; a state the rule does not map gives none."""
    readings: list[Reading] = []
    for key, (quantity, channel, convert) in rules.items():
        if key not in data:
            continue
        value = data[key]
        if isinstance(convert, Mapping):
            if value in convert:
                readings.append(Reading(quantity, convert[value], channel))
            continue
        number = np.array(float(value), dtype=np.float64)
        readings.append(
            Reading(quantity, float(number if convert is None else convert(number)), channel)
        )
    return readings


def divided(divisor: int) -> Convert:
    """raw / divisor, the vendor's own scaling of a field, for the batch path."""

    def convert(raw: FloatArray) -> FloatArray:
        return raw / divisor

    return convert


def per_cent(value: FloatArray) -> FloatArray:
    return value / 100


def per_mille(value: FloatArray) -> FloatArray:
    return value / 1000


def bit(index: int) -> Convert:
    """Bit `index` of an integer field as 1.0/0.0."""

    def convert(raw: FloatArray) -> FloatArray:
        return ((raw.astype(np.int64) >> index) & 1).astype(np.float64)

    return convert


def binary_state(raw: FloatArray) -> FloatArray:
    """1 -> 1.0, 0 -> 0.0; other values are the vendor's "unknown", no reading."""
    return np.where(raw == 1, 1.0, np.where(raw == 0, 0.0, np.nan))


def uint_arg(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in {low}..{high}, got {value!r}")
    return value


def reboot() -> Downlink:
    return Downlink(F_PORT, bytes.fromhex("ff10ff"))


def set_report_interval(seconds: int) -> Downlink:
    """FF03 <seconds uint16 LE>."""
    return Downlink(
        F_PORT, b"\xff\x03" + uint_arg("seconds", seconds, 1, 0xFFFF).to_bytes(2, "little")
    )
