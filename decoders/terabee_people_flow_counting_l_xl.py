"""Terabee People Flow Counting L/XL: cumulative in/out counts and command responses.

Uplinks are multiplexed by fPort: the periodic counting frame on fPort 1, the area points on
fPort 101, and responses to the downlink commands on the fPort of their command group.

| fPort | id (byte 0)        | name                            | value (big-endian)               |
|-------|--------------------|---------------------------------|----------------------------------|
| 1     | -                  | counting frame, 9 bytes         | 0-3 count_in u32, 4-7 count_out  |
|       |                    |                                 | u32, 8 flags: bit 0 TPC_STOPPED, |
|       |                    |                                 | 1 TPC_STUCK, 2 MULTI_DEV_ISSUE,  |
|       |                    |                                 | 3 WIFI_AP_ENABLED (only set ones)|
| 2     | 1 / 2 / 130        | CMD_CNT_RST / _GET / _SET       | GET: count_in u32, count_out u32 |
| 3     | 1 / 2              | CMD_DEV_RBT / CMD_TPC_RST       | -                                |
| 4     | 1 .. 6             | CMD_GET_VER_PEOPLE_COUNTING,    | 3 bytes -> software_version      |
|       |                    | _WEB_GUI, _LORA_AGENT,          | "a.b.c"                          |
|       |                    | _ACCESS_POINT, _UPDATER_WEB_GUI,|                                  |
|       |                    | _FAN_SERVICE                    |                                  |
| 5     | 1 / 129            | CMD_GET_AP_STATE / CMD_SET_...  | GET: state "enabled" iff 01      |
| 6     | 1                  | CMD_FORCE_REJOIN                | -                                |
| 7     | 1                  | CMD_FORCE_TIME_SYNC             | -                                |
| 100   | 1 / 129            | CMD_GET_HEIGHT / CMD_SET_HEIGHT | GET: mounting_height u16 (mm)    |
| 100   | 2 / 130            | CMD_GET_REVERSE / _SET_REVERSE  | GET: direction "reversed" iff 01 |
| 100   | 3 / 131            | CMD_GET_PUSH_PERIOD / _SET_...  | GET: push_period_min u16         |
| 101   | - (id null)        | CMD_GET_AREA_PTS                | 0 number of points, then points  |
|       |                    |                                 | packed MSB-first as 7-bit x,     |
|       |                    |                                 | 6-bit y after left zero padding  |
| 102   | 0                  | CMD_SET_AREA_PTS                | -                                |

A response is `id value...`; an acknowledgement is `FF id status` (status FF = failure) and
has no value. Downlinks are `id value...` on the same fPort (SET id = GET id + 128, the value
laid out as in the GET response); the commands without a value are sent as the bare id.

Source: TheThingsNetwork/lorawan-devices vendor/terabee/people-flow-counting-l-xl.js
(commit 811c530c) and its codec examples (people-flow-counting-l-xl-codec.yaml, 92f15776).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from decoders.batch import Column, FixedFrame, fixed_frame
from decoders.codec import DecodeError, Downlink, Reading
from decoders.reader import Reader

MODEL = "terabee-people-flow-counting-l-xl"
DEVICE_CLASS = "people_counter"

COUNTING_PORT = 1
AREA_PORT = 101
_ACK = 0xFF
_FLAGS = ("TPC_STOPPED", "TPC_STUCK", "MULTI_DEV_ISSUE", "WIFI_AP_ENABLED")
_AREA_ERROR = "Couldn't decode area payload: Inconsistent number of points"
_X_BITS, _Y_BITS = 7, 6
_POINT_BITS = _X_BITS + _Y_BITS

NORMALIZATION: dict[str, tuple[str, str]] = {
    # vendor field: (quantity, channel); the counts are already plain numbers of people
    "count_in": ("people_in_total", ""),
    "count_out": ("people_out_total", ""),
}

FIXED_FRAMES: tuple[FixedFrame, ...] = (
    fixed_frame(
        COUNTING_PORT,
        [("count_in", ">u4"), ("count_out", ">u4"), ("flags", "u1")],
        [Column(quantity, key, channel) for key, (quantity, channel) in NORMALIZATION.items()],
    ),
)


def _uint(value: int, size: int, name: str, low: int = 0) -> bytes:
    """`value` as a big-endian unsigned field; ValueError naming `name` when it does not fit."""
    high = (1 << (8 * size)) - 1
    if not low <= value <= high:
        raise ValueError(f"{name} must be {low}..{high}, got {value}")
    return value.to_bytes(size, "big")


Value = dict[str, Any]
Parse = Callable[[Reader], Value]
Build = Callable[[Mapping[str, Any]], bytes]


def _number(key: str, fmt: str, size: int) -> tuple[Parse, Build]:
    return (
        lambda r: {key: r.int(fmt, key)},
        lambda v: _uint(v[key], size, key),
    )


def _switch(key: str, on: str, off: str) -> tuple[Parse, Build]:
    # the vendor compares the whole value with 1 (JS `[1] == 1`): any other value is `off`
    return (
        lambda r: {key: on if r.take(r.remaining, key) == b"\x01" else off},
        lambda v: b"\x01" if v[key] == on else b"\x00",
    )


def _parse_counts(r: Reader) -> Value:
    return {"count_in": r.int("u32be", "count_in"), "count_out": r.int("u32be", "count_out")}


def _build_counts(v: Mapping[str, Any]) -> bytes:
    return _uint(v["count_in"], 4, "count_in") + _uint(v["count_out"], 4, "count_out")


def _parse_version(r: Reader) -> Value:
    return {"software_version": ".".join(str(r.u8("software_version")) for _ in range(3))}


def _build_version(v: Mapping[str, Any]) -> bytes:
    return b"".join(
        _uint(int(part), 1, "software_version") for part in v["software_version"].split(".")
    )


_VERSION = (_parse_version, _build_version)
_COMMANDS: dict[tuple[int, int], tuple[str, tuple[Parse, Build] | None]] = {
    (2, 1): ("CMD_CNT_RST", None),
    (2, 2): ("CMD_CNT_GET", (_parse_counts, _build_counts)),
    (2, 130): ("CMD_CNT_SET", None),
    (3, 1): ("CMD_DEV_RBT", None),
    (3, 2): ("CMD_TPC_RST", None),
    (4, 1): ("CMD_GET_VER_PEOPLE_COUNTING", _VERSION),
    (4, 2): ("CMD_GET_VER_WEB_GUI", _VERSION),
    (4, 3): ("CMD_GET_VER_LORA_AGENT", _VERSION),
    (4, 4): ("CMD_GET_VER_ACCESS_POINT", _VERSION),
    (4, 5): ("CMD_GET_VER_UPDATER_WEB_GUI", _VERSION),
    (4, 6): ("CMD_GET_VER_FAN_SERVICE", _VERSION),
    (5, 1): ("CMD_GET_AP_STATE", _switch("state", "enabled", "disabled")),
    (5, 129): ("CMD_SET_AP_STATE", None),
    (6, 1): ("CMD_FORCE_REJOIN", None),
    (7, 1): ("CMD_FORCE_TIME_SYNC", None),
    (100, 1): ("CMD_GET_HEIGHT", _number("mounting_height", "u16be", 2)),
    (100, 129): ("CMD_SET_HEIGHT", None),
    (100, 2): ("CMD_GET_REVERSE", _switch("direction", "reversed", "normal")),
    (100, 130): ("CMD_SET_REVERSE", None),
    (100, 3): ("CMD_GET_PUSH_PERIOD", _number("push_period_min", "u16be", 2)),
    (100, 131): ("CMD_SET_PUSH_PERIOD", None),
    (102, 0): ("CMD_SET_AREA_PTS", None),
}
_BY_NAME = {name: (key, codec) for key, (name, codec) in _COMMANDS.items()}


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    if f_port == COUNTING_PORT:
        return _decode_counts(payload)
    if f_port == AREA_PORT:
        return {
            "cmd": {
                "name": "CMD_GET_AREA_PTS",
                "id": None,
                "success": True,
                "value": _decode_area(payload),
            }
        }
    return {"cmd": _decode_command(f_port, payload)}


def _decode_counts(payload: bytes) -> dict[str, Any]:
    r = Reader(payload)
    count_in = r.int("u32be", "count_in")
    count_out = r.int("u32be", "count_out")
    flags = r.u8("flags")
    return {
        "count_in": count_in,
        "count_out": count_out,
        "flags": {name: 1 for bit, name in enumerate(_FLAGS) if flags >> bit & 1},
    }


def _area_size(points: int) -> int:
    return (points * _POINT_BITS + 7) // 8


def _decode_area(payload: bytes) -> Value:
    if not payload or len(payload) - 1 != _area_size(payload[0]):
        raise DecodeError(_AREA_ERROR)
    count = payload[0]
    # the padding is on the left, so the last point sits in the least significant bits
    bits = int.from_bytes(payload[1:], "big")
    words = [bits >> (_POINT_BITS * (count - 1 - i)) & 0x1FFF for i in range(count)]
    return {"nb_of_points": count, "points": [{"x": w >> _Y_BITS, "y": w & 0x3F} for w in words]}


def _decode_command(f_port: int, payload: bytes) -> Value:
    acknowledge = payload[:1] == bytes([_ACK])
    id_bytes = payload[1:2] if acknowledge else payload[:1]
    entry = _COMMANDS.get((f_port, id_bytes[0])) if id_bytes else None
    if entry is None:
        raise DecodeError("unknown command")
    name, codec = entry
    cmd_id = id_bytes[0]
    if acknowledge:
        return {"name": name, "id": cmd_id, "success": payload[2:3] != bytes([_ACK])}
    if codec is None:
        raise DecodeError(
            f"{name} response at byte 0 has no value to decode: fPort {f_port} id {cmd_id} "
            f"is only answered by an acknowledgement FF {cmd_id:02X} <status>"
        )
    return {"name": name, "id": cmd_id, "success": True, "value": codec[0](Reader(payload, 1))}


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    """Counting frames give the cumulative counts; command responses are attributes."""
    return [
        Reading(q, float(data[key]), ch) for key, (q, ch) in NORMALIZATION.items() if key in data
    ]


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    """The (fPort, payload) the device sends for `data`; ValueError if it sends no such frame."""
    f_port, payload = _encode(data)
    try:
        same = decode(f_port, payload) == dict(data)
    except DecodeError as exc:
        raise ValueError(f"not an uplink of {MODEL}: {exc}") from exc
    if not same:
        raise ValueError(f"not an uplink of {MODEL}: {dict(data)!r}")
    return f_port, payload


def _encode(data: Mapping[str, Any]) -> tuple[int, bytes]:
    if "cmd" not in data:
        flags = sum(1 << _FLAGS.index(name) for name in data["flags"])
        return COUNTING_PORT, _build_counts(data) + bytes([flags])
    cmd = data["cmd"]
    if cmd["name"] == "CMD_GET_AREA_PTS":
        return AREA_PORT, _encode_area(cmd["value"]["points"])
    (f_port, cmd_id), codec = _BY_NAME[cmd["name"]]
    if "value" not in cmd:
        return f_port, bytes([_ACK, cmd_id, 0 if cmd["success"] else _ACK])
    if codec is None:
        raise ValueError(f"{cmd['name']} responses carry no value")
    return f_port, bytes([cmd_id]) + codec[1](cmd["value"])


def _encode_area(points: list[Mapping[str, int]]) -> bytes:
    bits = 0
    for point in points:
        x, y = point["x"], point["y"]
        if not (0 <= x < 1 << _X_BITS and 0 <= y < 1 << _Y_BITS):
            raise ValueError(f"point {point} outside x 0..127, y 0..63")
        bits = bits << _POINT_BITS | x << _Y_BITS | y
    return _uint(len(points), 1, "nb_of_points") + bits.to_bytes(_area_size(len(points)), "big")


SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = (
    {"count_in": 200, "count_out": 456, "flags": {}},
    {"count_in": 4_000_000_000, "count_out": 17, "flags": {"TPC_STUCK": 1, "WIFI_AP_ENABLED": 1}},
    {
        "cmd": {
            "name": "CMD_CNT_GET",
            "id": 2,
            "success": True,
            "value": {"count_in": 5, "count_out": 3},
        }
    },
    {"cmd": {"name": "CMD_CNT_RST", "id": 1, "success": True}},
)


def command(name: str, value: bytes = b"") -> Downlink:
    """The downlink of a command by its vendor name (`CMD_GET_HEIGHT`): its id, then `value`."""
    if name not in _BY_NAME:
        raise ValueError(f"name must be a command of {MODEL}, got {name!r}")
    (f_port, cmd_id), _ = _BY_NAME[name]
    return Downlink(f_port, bytes([cmd_id]) + value)


def reset_counters() -> Downlink:
    return command("CMD_CNT_RST")


def set_counters(count_in: int, count_out: int) -> Downlink:
    return command("CMD_CNT_SET", _uint(count_in, 4, "count_in") + _uint(count_out, 4, "count_out"))


def reboot() -> Downlink:
    return command("CMD_DEV_RBT")


def force_rejoin() -> Downlink:
    return command("CMD_FORCE_REJOIN")


def set_access_point(enabled: bool) -> Downlink:
    return command("CMD_SET_AP_STATE", bytes([enabled]))


def get_mounting_height() -> Downlink:
    return command("CMD_GET_HEIGHT")


def set_mounting_height(mounting_height_mm: int) -> Downlink:
    return command("CMD_SET_HEIGHT", _uint(mounting_height_mm, 2, "mounting_height_mm", low=1))


def set_direction(reversed_direction: bool) -> Downlink:
    return command("CMD_SET_REVERSE", bytes([reversed_direction]))


def get_push_period() -> Downlink:
    return command("CMD_GET_PUSH_PERIOD")


def set_push_period(push_period_min: int) -> Downlink:
    return command("CMD_SET_PUSH_PERIOD", _uint(push_period_min, 2, "push_period_min", low=1))
