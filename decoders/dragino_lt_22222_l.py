"""Dragino LT-22222-L / LT-33222-L LoRaWAN I/O controller: relays, digital I/O, analog inputs.

Used to switch lighting contactors in street cabinets and to read their feedback.

Uplink on fPort 2, exactly 11 bytes, big-endian; fPort 5 is the device status; any other fPort
gives the error "unknown FPort".

| bytes | mode 1            | mode 2        | mode 3            | mode 4        | mode 5         |
|-------|-------------------|---------------|-------------------|---------------|----------------|
| 0-1   | AVI1_V            | Count1_times  | Count1_times      | Count1_times  | AVI1_V         |
| 2-3   | AVI2_V            |               |                   |               | AVI2_V         |
| 4-5   | ACI1_mA           | Count2_times  | ACI1_mA           | Acount_times  | ACI1_mA        |
| 6-7   | ACI2_mA           |               | ACI2_mA           |               | Count1_times   |

AVI: int16 in mV -> V, ACI: int16 in µA -> mA (value/1000); Count*_times/Acount_times: uint32,
but Count1_times in mode 5: uint16.
Work_mode: 1 "2ACI+2AVI", 2 "Count mode 1", 3 "2ACI+1Count", 4 "Count mode 2",
5 " 1ACI+2AVI+1Count" (leading space), 6 "Trigger mode"; others: absent.

| byte 8 bit | key                              | set / clear                            |
|------------|----------------------------------|----------------------------------------|
| 7, 6       | RO1_status, RO2_status           | "ON" / "OFF"                           |
| 5          | DI3_status (byte 10 == 1 only)   | "H" / "L"                              |
| 5          | First_status (modes other than 1 and 6) | "Yes" / "No"                    |
| 4, 3       | DI2_status, DI1_status (mode 1)  | "H" / "L"                              |
| 2          | DO3_status (LT33222, all modes)  | "L" / "H" (inverted)                   |
| 1, 0       | DO2_status, DO1_status           | "L" / "H" (inverted)                   |

Byte 10: bits 7-6 hardware -> Hardware_mode (0 "LT33222", 1 "LT22222", else absent), bits 5-0
the working mode. Every mode but 6 has RO1/RO2/DO1/DO2; every mode but 1, 5 and 6 has
Count1_times at bytes 0-3. Mode 6 (trigger): byte 0 bits 7..0 AV1L, AV1H, AV2L, AV2H, AC1L,
AC1H, AC2L, AC2H `_flag`, byte 1 the same `_status`, byte 2 bits 3..0 DI2_status, DI2_flag,
DI1_status, DI1_flag, byte 9 Mode_status (non-zero): all "True" / "False".

Device status, fPort 5, 7 bytes (more are ignored): byte 0 FREQUENCY_BAND (01 "EU868",
02 "US915", 03 "IN865", 04 "AU915", 05 "KZ865", 06 "RU864", 07 "AS923", 08 "AS923_1",
09 "AS923_2", 0A "AS923_3", 0F "AS923_4", 0B "CN470", 0C "EU433", 0D "KR920", 0E "MA869";
others: absent), byte 1 SUB_BAND (FF "NULL", else the number), bytes 2-3 FIRMWARE_VERSION
"<byte 2 low nibble>.<byte 3 high nibble>.<byte 3 low nibble>", bytes 4-6 TDC_sec uint24.

Downlinks (the device takes any fPort; we use 2):

| bytes                            | command                                                    |
|----------------------------------|------------------------------------------------------------|
| 03 <RO1> <RO2>                   | set relays: 01 close, 00 open, 11 no action                |
| 05 <revert> <RO1 RO2> <ms u16>   | timed relays; revert 01 back after the time, 00 invert;    |
|                                  | nibble per relay (high RO1): 1 NO, 0 NC, 2 no action       |
| 04 FF / 08 FF / A6 01            | reset / poll an uplink / clear counters                    |
| A8 <counter> <value u32>         | preset counter: 01 COUNT1, 02 COUNT2, 03 AV1 count         |
| A9 <revert> <DO1 DO2 DO3> <ms u16> | timed digital outputs: 01 low, 00 high, 11 no action     |

The vendor's two copies of its codec differ, and this follows each where the other is wrong
or silent: chirpstack/chirpstack-device-profiles vendors/dragino/codecs/lt-22222-l.js (4cf8d348)
for the mode 6 name, the unsigned counters and fPort 5; TheThingsNetwork/lorawan-devices
vendor/dragino/lt22222-l.js and lt22222-l-codec.yaml (0874a8f5) for the "unknown FPort" error
and the 11-byte check (it names mode 6 "Exit mode", reads the counters as int32 and rejects
fPort 5). Downlink type codes: Dragino "LT Series LoRa IO controller" user manual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np

from decoders.batch import Column, Convert, FixedFrame, FloatArray, fixed_frame
from decoders.codec import DecodeError, Downlink, Reading

MODEL = "dragino-lt-22222-l"
DEVICE_CLASS = "streetlight"
UPLINK_PORT = 2
STATUS_PORT = 5
STATUS_LENGTH = 7
DOWNLINK_PORT = 2
FRAME_LENGTH = 11

_HARDWARE = {0: "LT33222", 1: "LT22222"}
_MODES = {1: "2ACI+2AVI", 2: "Count mode 1", 3: "2ACI+1Count", 4: "Count mode 2",
          5: " 1ACI+2AVI+1Count", 6: "Trigger mode"}  # fmt: skip
_BANDS = {1: "EU868", 2: "US915", 3: "IN865", 4: "AU915", 5: "KZ865", 6: "RU864", 7: "AS923",
          8: "AS923_1", 9: "AS923_2", 10: "AS923_3", 15: "AS923_4", 11: "CN470", 12: "EU433",
          13: "KR920", 14: "MA869"}  # fmt: skip
# The numbers at bytes 0-7 per working mode, as numpy dtypes of the batch path.
_VALUES: dict[int, tuple[tuple[str, str], ...]] = {
    1: (("AVI1_V", ">i2"), ("AVI2_V", ">i2"), ("ACI1_mA", ">i2"), ("ACI2_mA", ">i2")),
    2: (("Count1_times", ">u4"), ("Count2_times", ">u4")),
    3: (("Count1_times", ">u4"), ("ACI1_mA", ">i2"), ("ACI2_mA", ">i2")),
    4: (("Count1_times", ">u4"), ("Acount_times", ">u4")),
    5: (("AVI1_V", ">i2"), ("AVI2_V", ">i2"), ("ACI1_mA", ">i2"), ("Count1_times", ">u2")),
}
_MILLI = {"AVI1_V", "AVI2_V", "ACI1_mA", "ACI2_mA"}
# (key, byte, bit, value when set); _CLEAR gives the value when clear.
_IO_BITS = (
    ("RO1_status", 8, 7, "ON"), ("RO2_status", 8, 6, "ON"),
    ("DI3_status", 8, 5, "H"), ("First_status", 8, 5, "Yes"),
    ("DI2_status", 8, 4, "H"), ("DI1_status", 8, 3, "H"),
    ("DO3_status", 8, 2, "L"), ("DO2_status", 8, 1, "L"), ("DO1_status", 8, 0, "L"),
)  # fmt: skip
_ALARMS = ("AV1L", "AV1H", "AV2L", "AV2H", "AC1L", "AC1H", "AC2L", "AC2H")
_TRIGGER_BITS = (
    *((f"{name}_{kind}", byte, 7 - i, "True")
      for byte, kind in ((0, "flag"), (1, "status")) for i, name in enumerate(_ALARMS)),
    ("DI2_status", 2, 3, "True"), ("DI2_flag", 2, 2, "True"),
    ("DI1_status", 2, 1, "True"), ("DI1_flag", 2, 0, "True"),
)  # fmt: skip
_CLEAR = {"ON": "OFF", "H": "L", "L": "H", "Yes": "No", "True": "False"}


def _milli(raw: FloatArray) -> FloatArray:
    return raw / 1000.0


def _bit(bit: int, inverted: bool = False) -> Convert:
    if inverted:
        return lambda raw: 1.0 - np.floor(raw / 2.0**bit) % 2.0
    return lambda raw: np.floor(raw / 2.0**bit) % 2.0


def _scalar(convert: Convert, value: float) -> float:
    """A batch converter applied to one value: the same arithmetic, bit for bit."""
    return float(convert(np.asarray(value, dtype=np.float64)))


def _bits(
    payload: bytes, table: tuple[tuple[str, int, int, str], ...], *keys: str
) -> dict[str, str]:
    return {
        key: when_set if payload[byte] >> bit & 1 else _CLEAR[when_set]
        for key, byte, bit, when_set in table
        if key in keys
    }


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    if f_port == STATUS_PORT:
        return _status(payload)
    if f_port != UPLINK_PORT:
        raise DecodeError("unknown FPort")
    if len(payload) != FRAME_LENGTH:
        problem = "truncated frame" if len(payload) < FRAME_LENGTH else "frame too long"
        raise DecodeError(
            f"{problem}: the fPort 2 uplink is exactly {FRAME_LENGTH} bytes (mode byte at "
            f"byte 10), frame has {len(payload)}"
        )
    hardware, mode = payload[10] >> 6, payload[10] & 0x3F
    data: dict[str, Any] = {}
    if hardware in _HARDWARE:
        data["Hardware_mode"] = _HARDWARE[hardware]
    if hardware == 0:
        data |= _bits(payload, _IO_BITS, "DO3_status", "DI3_status" if payload[10] == 1 else "")
    if mode != 6:
        data |= _bits(payload, _IO_BITS, "DO1_status", "DO2_status", "RO1_status", "RO2_status")
        if mode not in (1, 5):
            data["Count1_times"] = int.from_bytes(payload[0:4], "big")
        if mode != 1:
            data |= _bits(payload, _IO_BITS, "First_status")
    if mode in _MODES:
        data["Work_mode"] = _MODES[mode]
    offset = 0
    for key, dtype in _VALUES.get(mode, ()):
        size = np.dtype(dtype).itemsize
        value = int.from_bytes(payload[offset : offset + size], "big", signed="i" in dtype)
        data[key] = _scalar(_milli, value) if key in _MILLI else value
        offset += size
    if mode == 1:
        data |= _bits(payload, _IO_BITS, "DI1_status", "DI2_status")
    elif mode == 6:
        data["Mode_status"] = "True" if payload[9] else "False"
        data |= _bits(payload, _TRIGGER_BITS, *(key for key, *_ in _TRIGGER_BITS))
    return data


def _status(payload: bytes) -> dict[str, Any]:
    if len(payload) < STATUS_LENGTH:
        raise DecodeError(
            f"truncated frame: the fPort 5 device status is {STATUS_LENGTH} bytes, "
            f"frame has {len(payload)}"
        )
    data: dict[str, Any] = {}
    if payload[0] in _BANDS:
        data["FREQUENCY_BAND"] = _BANDS[payload[0]]
    data["SUB_BAND"] = "NULL" if payload[1] == 0xFF else payload[1]
    data["FIRMWARE_VERSION"] = f"{payload[2] & 0x0F}.{payload[3] >> 4}.{payload[3] & 0x0F}"
    data["TDC_sec"] = int.from_bytes(payload[4:7], "big")
    return data


def _state(value: str) -> float:
    return 1.0 if value in ("ON", "H", "True") else 0.0


NORMALIZATION: dict[str, tuple[str, str, Callable[[Any], float]]] = {
    "RO1_status": ("relay_state", "1", _state),
    "RO2_status": ("relay_state", "2", _state),
    "DO1_status": ("digital_output", "1", _state),
    "DO2_status": ("digital_output", "2", _state),
    "DO3_status": ("digital_output", "3", _state),
    "DI1_status": ("digital_input", "1", _state),
    "DI2_status": ("digital_input", "2", _state),
    "DI3_status": ("digital_input", "3", _state),
    "AVI1_V": ("analog_voltage", "1", float),
    "AVI2_V": ("analog_voltage", "2", float),
    "ACI1_mA": ("analog_current", "1", float),
    "ACI2_mA": ("analog_current", "2", float),
    "Count1_times": ("pulse_count", "1", float),
    "Count2_times": ("pulse_count", "2", float),
    "Acount_times": ("pulse_count", "AV1", float),
}


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    return [
        Reading(quantity, convert(data[key]), channel)
        for key, (quantity, channel, convert) in NORMALIZATION.items()
        if key in data
    ]


def _column(key: str, field: str, convert: Convert | None) -> Column:
    quantity, channel, _ = NORMALIZATION[key]
    return Column(quantity, field, channel, convert)


def _frame(hardware: int, mode: int) -> FixedFrame:
    """The fPort-2 frame of one hardware and working mode: byte 10 is its signature."""
    values = _VALUES.get(mode, (("alarm_flags", "u1"), ("alarm_status", "u1"), ("di", "u1"),
                                ("unused", "V5")))  # fmt: skip
    columns = [
        _column(k, k, _milli if k in _MILLI else None) for k, _ in values if k in NORMALIZATION
    ]
    io_keys = ["DO3_status"] if hardware == 0 else []
    if mode == 6:
        columns += [_column("DI1_status", "di", _bit(1)), _column("DI2_status", "di", _bit(3))]
    else:
        io_keys += ["RO1_status", "RO2_status", "DO1_status", "DO2_status"]
    if mode == 1:
        io_keys += ["DI1_status", "DI2_status", *(["DI3_status"] if hardware == 0 else [])]
    columns += [
        _column(key, "io", _bit(bit, inverted=on == "L"))
        for key, _, bit, on in _IO_BITS
        if key in io_keys
    ]
    mode_byte = bytes([hardware << 6 | mode])
    return fixed_frame(UPLINK_PORT, [*values, ("io", "u1"), ("byte9", "u1"), mode_byte], columns)


FIXED_FRAMES: tuple[FixedFrame, ...] = tuple(
    _frame(hardware, mode) for hardware in (1, 0) for mode in range(1, 7)
)


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    """The 11-byte fPort-2 frame that decodes to `data` (Hardware_mode, Work_mode required),
    or the fPort-5 device status when `data` has a FIRMWARE_VERSION."""
    if "FIRMWARE_VERSION" in data:
        return STATUS_PORT, _encode_status(data)
    hardware = {name: code for code, name in _HARDWARE.items()}.get(str(data.get("Hardware_mode")))
    mode = {name: code for code, name in _MODES.items()}.get(str(data.get("Work_mode")))
    if hardware is None or mode is None:
        raise ValueError("Hardware_mode, Work_mode: need one of the vendor's names")
    frame = bytearray(FRAME_LENGTH)
    frame[10] = hardware << 6 | mode
    trigger = (*_TRIGGER_BITS, ("DO3_status", 8, 2, "L"), ("Mode_status", 9, 0, "True"))
    for key, byte, bit, when_set in trigger if mode == 6 else _IO_BITS:
        if data.get(key) == when_set:
            frame[byte] |= 1 << bit
    offset = 0
    for key, dtype in _VALUES.get(mode, ()):
        size, value = np.dtype(dtype).itemsize, data.get(key, 0)
        try:
            raw = round(value * 1000) if key in _MILLI else value
            frame[offset : offset + size] = raw.to_bytes(size, "big", signed="i" in dtype)
        except (AttributeError, TypeError, ValueError, OverflowError):
            raise ValueError(f"{key}: {value!r} does not fit the frame") from None
        offset += size
    decoded = decode(UPLINK_PORT, bytes(frame))
    if wrong := sorted(k for k in {*data, *decoded} if data.get(k) != decoded.get(k)):
        raise ValueError(f"{', '.join(wrong)}: missing, extra or not encodable in this mode")
    return UPLINK_PORT, bytes(frame)


def _encode_status(data: Mapping[str, Any]) -> bytes:
    band = {name: code for code, name in _BANDS.items()}.get(str(data.get("FREQUENCY_BAND")), 0)
    try:
        sub_band = data["SUB_BAND"]
        major, minor, patch = map(int, str(data["FIRMWARE_VERSION"]).split("."))
        head = [band, 0xFF if sub_band == "NULL" else int(sub_band), major, minor << 4 | patch]
        frame = bytes(head) + int(data["TDC_sec"]).to_bytes(3, "big")
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError):
        raise ValueError("SUB_BAND, FIRMWARE_VERSION, TDC_sec: not the device's forms") from None
    decoded = decode(STATUS_PORT, frame)
    if wrong := sorted(k for k in {*data, *decoded} if data.get(k) != decoded.get(k)):
        raise ValueError(f"{', '.join(wrong)}: missing, extra or not encodable in the status")
    return frame


SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = (
    {"Hardware_mode": "LT22222", "Work_mode": "2ACI+2AVI", "AVI1_V": 12.05, "AVI2_V": 0.0,
     "ACI1_mA": 4.88, "ACI2_mA": 19.996, "DI1_status": "H", "DI2_status": "L",
     "DO1_status": "H", "DO2_status": "L", "RO1_status": "ON", "RO2_status": "OFF"},
    {"Hardware_mode": "LT22222", "Work_mode": "Count mode 1", "Count1_times": 1234567,
     "Count2_times": 4294967294, "First_status": "No", "DO1_status": "L", "DO2_status": "H",
     "RO1_status": "OFF", "RO2_status": "ON"},
    {"Hardware_mode": "LT33222", "Work_mode": " 1ACI+2AVI+1Count", "AVI1_V": 24.0,
     "AVI2_V": -0.012, "ACI1_mA": 12.5, "Count1_times": 65535, "First_status": "Yes",
     "DO1_status": "H", "DO2_status": "H", "DO3_status": "L", "RO1_status": "ON",
     "RO2_status": "ON"},
    {"Hardware_mode": "LT22222", "Work_mode": "Trigger mode", "Mode_status": "True",
     **{f"{name}_{kind}": "False" for name in _ALARMS for kind in ("flag", "status")},
     "AC1L_flag": "True", "AC1L_status": "True",
     "DI1_status": "True", "DI1_flag": "True", "DI2_status": "False", "DI2_flag": "False"},
)  # fmt: skip

RelayAction = Literal["open", "close", "keep"]
TimedRelay = Literal["NC", "NO", "keep"]
OutputLevel = Literal["high", "low", "keep"]
CounterName = Literal["COUNT1", "COUNT2", "AV1"]
_RELAY = {"open": 0x00, "close": 0x01, "keep": 0x11}
_TIMED_RELAY = {"NC": 0x0, "NO": 0x1, "keep": 0x2}
_OUTPUT = {"high": 0x00, "low": 0x01, "keep": 0x11}
_COUNTER = {"COUNT1": 0x01, "COUNT2": 0x02, "AV1": 0x03}


def _code(codes: dict[str, int], value: str, name: str) -> int:
    if value not in codes:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(codes)}")
    return codes[value]


def _unsigned(value: int, size: int, name: str) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 256**size:
        raise ValueError(f"{name}: must be an integer in 0..{256**size - 1}, got {value!r}")
    return value.to_bytes(size, "big")


def set_relays(ro1: RelayAction, ro2: RelayAction) -> Downlink:
    """Close, open or keep each relay (03 <RO1> <RO2>)."""
    return Downlink(
        DOWNLINK_PORT, bytes([0x03, _code(_RELAY, ro1, "ro1"), _code(_RELAY, ro2, "ro2")])
    )


def pulse_relays(
    ro1: TimedRelay, ro2: TimedRelay, duration_ms: int, revert: bool = True
) -> Downlink:
    """Switch the relays for `duration_ms`, then back (`revert`) or to the inverse state."""
    pattern = _code(_TIMED_RELAY, ro1, "ro1") << 4 | _code(_TIMED_RELAY, ro2, "ro2")
    head = bytes([0x05, 0x01 if revert else 0x00, pattern])
    return Downlink(DOWNLINK_PORT, head + _unsigned(duration_ms, 2, "duration_ms"))


def pulse_digital_outputs(
    do1: OutputLevel, do2: OutputLevel, do3: OutputLevel, duration_ms: int, revert: bool = True
) -> Downlink:
    """Set DO1..DO3 for `duration_ms`, then back (`revert`) or to the inverse level."""
    levels = [_code(_OUTPUT, level, f"do{n}") for n, level in enumerate((do1, do2, do3), 1)]
    head = bytes([0xA9, 0x01 if revert else 0x00, *levels])
    return Downlink(DOWNLINK_PORT, head + _unsigned(duration_ms, 2, "duration_ms"))


def reset() -> Downlink:
    return Downlink(DOWNLINK_PORT, b"\x04\xff")


def poll_uplink() -> Downlink:
    return Downlink(DOWNLINK_PORT, b"\x08\xff")


def clear_counters() -> Downlink:
    return Downlink(DOWNLINK_PORT, b"\xa6\x01")


def preset_counter(counter: CounterName, value: int) -> Downlink:
    """Set a counter to `value` (A8 <counter> <value uint32>)."""
    head = bytes([0xA8, _code(_COUNTER, counter, "counter")])
    return Downlink(DOWNLINK_PORT, head + _unsigned(value, 4, "value"))
