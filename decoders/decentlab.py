"""Decentlab protocol v2: the framing every Decentlab sensor shares, and its command downlink.

A device module declares its sensor table (`block`s of `Value`s); `Device` decodes, encodes
and batch-decodes frames from it, and `normalize` maps vendor fields to readings.

Uplink, any fPort (the port is configurable on the device; the vendor decoder ignores it):

| byte  | field              | encoding                                                      |
|-------|--------------------|---------------------------------------------------------------|
| 0     | protocol version   | uint8, must be 2                                              |
| 1-2   | device id          | uint16 BE                                                     |
| 3-4   | sensor presence    | uint16 BE bit field: bit i set = sensor i's block follows     |
| 5-    | sensor blocks      | per set bit, from bit 0 up: the sensor's n uint16 BE words    |

Bytes after the last block and flag bits beyond the device's sensors are ignored, as the
vendor decoder does. Output: `{protocol_version, device_id, <name>: {displayName, value,
unit}}`, `unit` omitted for unitless values. Another version is the error the vendor's TTN
codec gives, "protocol version <n> doesn't match v2"; a frame shorter than its flags say is
an error here, where the vendor's values would be NaN.

Downlink, fPort 1, 6 bytes:

| byte  | field     | encoding                                                             |
|-------|-----------|----------------------------------------------------------------------|
| 0-1   | command   | uint16 BE, see `Command` (also 0x0020-0x003F set/save param 0-15,    |
|       |           | 0x0050-0x0059 / 0x0060-0x0069 set/save sensor 0-9 sub-sampling)      |
| 2-3   | parameter | uint16 BE, 0 for commands without one                                |
| 4-5   | CRC       | CRC-16/MODBUS (init 0xFFFF, reflected poly 0xA001) of bytes 0-3, BE  |

e.g. 00 02 0E 10 48 A4 = set period 3600 s + save; 00 07 00 00 E5 B1 = ADR off;
FE FE 00 00 3C 50 = reset.

Source: Decentlab's codecs in chirpstack/chirpstack-device-profiles vendors/decentlab/codecs
(`decentlab_decoder`, `decentlab_downlink`) and TheThingsNetwork/lorawan-devices
vendor/decentlab/dl-downlink-codec.js.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import partial
from typing import Any

import numpy as np

from decoders.batch import Column, FixedFrame, FloatArray, fixed_frame
from decoders.codec import DecodeError, Downlink, Reading
from decoders.reader import Reader

PROTOCOL_VERSION = 2
WORD_MAX = 0xFFFF

Num = float | FloatArray
"""A vendor value: a Python number on the per-payload path, a float64 column in a batch."""


@dataclass(frozen=True, slots=True)
class Value:
    """One vendor field computed from some words of its sensor's block.

    `convert` takes the words named by `words`, in that order, and must use the vendor's
    operations in the vendor's order so that Python ints and float64 arrays give the same
    doubles. A single-word `convert` must be increasing: `Device.encode` inverts it.
    """

    name: str
    display_name: str
    unit: str | None
    convert: Callable[..., Num]
    words: tuple[int, ...] = (0,)

    def apply(self, block: Sequence[int] | FloatArray) -> Num:
        return self.convert(*(block[i] for i in self.words))


@dataclass(frozen=True, slots=True)
class Sensor:
    """A block of `length` words present when its flag bit is set, and the fields it yields."""

    length: int
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        for i in range(self.length):
            self.source(i)

    def source(self, word: int) -> Value:
        """The field that depends on `word` alone: encoding recovers the word from it."""
        for value in self.values:
            if value.words == (word,):
                return value
        raise ValueError(f"sensor {self.values[0].name}: no field reads word {word} alone")


def block(length: int, *values: Value) -> Sensor:
    return Sensor(length, values)


def raw(word: Num) -> Num:
    """A field that is the word itself (counts, status words, raw readings)."""
    return word


@dataclass(frozen=True, slots=True)
class Canonical:
    """Where a vendor field goes in the vocabulary; `convert` maps its unit to ours."""

    quantity: str
    channel: str = ""
    convert: Callable[[Num], Num] | None = None

    def apply(self, value: Num) -> Num:
        return value if self.convert is None else self.convert(value)


def pa_to_hpa(pascal: Num) -> Num:
    return pascal / 100


@dataclass(frozen=True, slots=True)
class Device:
    """A Decentlab device: its sensors in flag-bit order."""

    sensors: tuple[Sensor, ...]

    def decode(self, payload: bytes) -> dict[str, Any]:
        reader = Reader(payload)
        version = reader.u8("protocol version")
        if version != PROTOCOL_VERSION:
            raise DecodeError(f"protocol version {version} doesn't match v2")
        result: dict[str, Any] = {
            "protocol_version": version,
            "device_id": reader.int("u16be", "device id"),
        }
        flags = reader.int("u16be", "sensor-presence flags")
        for bit, sensor in enumerate(self.sensors):
            if flags >> bit & 1:
                block = [
                    reader.int("u16be", f"sensor {bit} ({sensor.values[0].name}) word {j}")
                    for j in range(sensor.length)
                ]
                result.update(_fields(sensor, block))
        return result

    def encode(self, data: Mapping[str, Any]) -> bytes:
        """The frame `decode` turns into exactly `data`; ValueError names a field it can't."""
        if data.get("protocol_version") != PROTOCOL_VERSION:
            raise ValueError(f"protocol_version: must be {PROTOCOL_VERSION}")
        device_id = data.get("device_id")
        if not isinstance(device_id, int) or not 0 <= device_id <= WORD_MAX:
            raise ValueError(f"device_id: {device_id!r} is not a uint16")
        flags = 0
        words: list[int] = []
        for bit, sensor in enumerate(self.sensors):
            names = [v.name for v in sensor.values]
            if any(name in data for name in names):
                flags |= 1 << bit
                words += [_invert(sensor.source(i), data) for i in range(sensor.length)]
        payload = struct.pack(f">BHH{len(words)}H", PROTOCOL_VERSION, device_id, flags, *words)
        decoded = self.decode(payload)
        for key in dict.fromkeys([*data, *decoded]):
            if decoded.get(key) != data.get(key):
                raise ValueError(f"{key}: {data.get(key)!r} is not what the device sends")
        return payload

    def fixed_frame(self, flags: int, table: Mapping[str, Canonical]) -> FixedFrame:
        """The numpy frame of the payloads with this flag word, giving `normalize`'s readings."""
        parts: list[bytes | tuple[str, str]] = [
            bytes([PROTOCOL_VERSION]),
            ("device_id", ">u2"),
            flags.to_bytes(2, "big"),
        ]
        columns: list[Column] = []
        for bit, sensor in enumerate(self.sensors):
            if flags >> bit & 1:
                block_parts, block_columns = _frame_block(f"sensor{bit}", sensor, table)
                parts += block_parts
                columns += block_columns
        return fixed_frame(None, parts, columns)


def _fields(sensor: Sensor, block: list[int]) -> dict[str, dict[str, Any]]:
    fields: dict[str, dict[str, Any]] = {}
    for value in sensor.values:
        number = value.apply(block)
        entry: dict[str, Any] = {
            "displayName": value.display_name,
            "value": number if isinstance(number, int) else float(number),
        }
        if value.unit is not None:
            entry["unit"] = value.unit
        fields[value.name] = entry
    return fields


def _invert(value: Value, data: Mapping[str, Any]) -> int:
    """The smallest word whose conversion reaches the field's value (checked by `encode`)."""
    entry = data.get(value.name)
    target = entry.get("value") if isinstance(entry, Mapping) else None
    if not isinstance(target, int | float) or isinstance(target, bool) or math.isnan(target):
        raise ValueError(f"{value.name}: needs {{'value': <number>}}, got {entry!r}")
    low, high = 0, WORD_MAX
    while low < high:
        mid = (low + high) // 2
        if value.convert(mid) < target:
            low = mid + 1
        else:
            high = mid
    return low


def _frame_block(
    name: str, sensor: Sensor, table: Mapping[str, Canonical]
) -> tuple[list[tuple[str, str]], list[Column]]:
    """The fields and columns of one block: a field per word, so that each column converts
    only its own word, unless a field derives from several words."""
    mapped = [(value, canon) for value in sensor.values if (canon := table.get(value.name))]
    if all(len(value.words) == 1 for value in sensor.values):
        return [(f"{name}_{j}", ">u2") for j in range(sensor.length)], [
            Column(c.quantity, f"{name}_{v.words[0]}", c.channel, partial(_word_column, v, c))
            for v, c in mapped
        ]
    return [(name, f"({sensor.length},)>u2")], [
        Column(c.quantity, name, c.channel, partial(_block_column, v, c)) for v, c in mapped
    ]


def _word_column(value: Value, canon: Canonical, word: FloatArray) -> FloatArray:
    return np.asarray(canon.apply(value.convert(word)), dtype=np.float64)


def _block_column(value: Value, canon: Canonical, block: FloatArray) -> FloatArray:
    return np.asarray(canon.apply(value.apply(block.T)), dtype=np.float64)


def normalize(data: Mapping[str, Any], table: Mapping[str, Canonical]) -> list[Reading]:
    """Readings of the vendor fields named in `table`; other fields are attributes."""
    readings = []
    for name, canon in table.items():
        entry = data.get(name)
        if isinstance(entry, Mapping):
            value = float(canon.apply(float(entry["value"])))
            if not math.isnan(value):
                readings.append(Reading(canon.quantity, value, canon.channel))
    return readings


class Command(IntEnum):
    """The generic commands of every Decentlab device (firmware 0.2.7 to 1.6.0).

    Codes 0x0001-0x001E come in pairs: code + 1 also saves the setting to flash.
    """

    SET_PERIOD = 0x0001
    SET_DR = 0x0003
    SET_ADR_ON = 0x0005
    SET_ADR_OFF = 0x0007
    SET_DR_MIN = 0x0009
    SET_DR_MAX = 0x000B
    SET_PWRIDX_MIN = 0x000D
    SET_PWRIDX_MAX = 0x000F
    SET_SEND_PERIOD = 0x0011
    SET_JOIN_PERIOD = 0x0013
    SET_PWRIDX = 0x0015
    SET_LINKCHECK_PERIOD = 0x0017
    SET_LINKCHECK_TOLERANCE = 0x0019
    SET_LINKCHECK_LIMIT = 0x001B
    SET_PORT = 0x001D
    FACTORY_RESET = 0xFEF0
    SLEEP = 0xFEF1
    RESET = 0xFEFE


_NO_PARAMETER = frozenset({0x0005, 0x0006, 0x0007, 0x0008, 0xFEF0, 0xFEF1, 0xFEFE})
_COMMANDS = frozenset(range(0x0001, 0x001F)) | frozenset(range(0x0020, 0x0040))
_COMMANDS |= frozenset([*range(0x0050, 0x005A), *range(0x0060, 0x006A), 0xFEF0, 0xFEF1, 0xFEFE])


def crc16_modbus(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def command(code: int, parameter: int = 0) -> Downlink:
    """The frame of any documented command; the vendor sends 0 for parameterless ones."""
    if code not in _COMMANDS:
        raise ValueError(f"code: 0x{code:04X} is not a documented Decentlab command")
    if not 0 <= parameter <= WORD_MAX or (code in _NO_PARAMETER and parameter):
        raise ValueError(f"parameter: {parameter} out of range for command 0x{code:04X}")
    body = struct.pack(">HH", code, parameter)
    return Downlink(1, body + crc16_modbus(body).to_bytes(2, "big"))


def set_period(seconds: int, save: bool = True) -> Downlink:
    """Sampling period in seconds, 1-65535; `save` keeps it over a reset."""
    if not 1 <= seconds <= WORD_MAX:
        raise ValueError(f"seconds: {seconds} outside 1-65535")
    return command(Command.SET_PERIOD + save, seconds)


def set_adr(enabled: bool, save: bool = False) -> Downlink:
    """Adaptive data rate on or off; `save` keeps it over a reset."""
    return command((Command.SET_ADR_ON if enabled else Command.SET_ADR_OFF) + save)


def reset() -> Downlink:
    """Restart the device; unsaved settings are lost."""
    return command(Command.RESET)
