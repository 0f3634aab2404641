"""Milesight EM310-UDL ultrasonic distance/level sensor (waste bins): decoder, readings, downlinks.

Uplink (fPort 85): Milesight items (decoders/milesight.py), the common attributes plus:

| id   | type | size | key(s)               | value                                          |
|------|------|------|----------------------|------------------------------------------------|
| 0x01 | 0x75 | 1    | battery              | uint8, %                                       |
| 0x03 | 0x82 | 2    | distance             | uint16 LE, mm                                  |
| 0x04 | 0x00 | 1    | position             | 0 normal / 1 tilt                              |
| 0xFF/0xFE | 0x10 | 1 | reboot            | "yes"                                          |
| 0xFF/0xFE | 0x02 | 2 | collection_interval | uint16 LE, s                                 |
| 0xFF/0xFE | 0x03 | 2 | report_interval   | uint16 LE, s                                   |
| 0xFF/0xFE | 0x06 | 9 | distance_alarm_config | ctrl (bits 0-2 condition, bit 7 release),  |
|      |      |      |                      | threshold_min, threshold_max int16 LE mm,      |
|      |      |      |                      | lock_time, continue_time uint16 LE s           |

Distance is 0x03 here, 0x04 on the EM400-MUD.

Downlink (fPort 85):

| bytes                          | command                                        |
|--------------------------------|------------------------------------------------|
| FF 10 FF                       | reboot                                         |
| FF 02 <seconds u16 LE>         | collection interval                            |
| FF 03 <seconds u16 LE>         | report interval                                |
| FF 06 <ctrl> <min s16> <max s16> <lock u16> <continue u16> | distance alarm     |

Source: Milesight-IoT/SensorDecoders em-series/em310-udl (README.md, em310-udl-decoder.js,
em310-udl-codec.json).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoders import milesight as ms
from decoders.batch import Column, FixedFrame, fixed_frame
from decoders.codec import Downlink, Reading
from decoders.milesight import ENABLE, Field, Fields, Item, Rule, record, response
from decoders.reader import Reader

MODEL = "milesight-em310-udl"
DEVICE_CLASS = "waste_bin"
POSITIONS = ("normal", "tilt")
CONDITIONS = ("disable", "below", "above", "between", "outside")


def read_alarm_config(reader: Reader) -> Fields:
    ctrl = reader.u8("distance_alarm_config condition")
    return {
        "distance_alarm_config": {
            "condition": ms.state(CONDITIONS, ctrl & 0x07),
            "alarm_release_enable": ENABLE[ctrl >> 7 & 1],
            "threshold_min": reader.int("s16le", "threshold_min"),
            "threshold_max": reader.int("s16le", "threshold_max"),
            "lock_time": reader.int("u16le", "lock_time"),
            "continue_time": reader.int("u16le", "continue_time"),
        }
    }


TELEMETRY: tuple[Item, ...] = (
    record(0x01, 0x75, Field("battery", "B")),
    record(0x03, 0x82, Field("distance", "<H")),
    record(0x04, 0x00, Field("position", "B", states=POSITIONS)),
)
ITEMS = ms.table(
    *ms.ATTRIBUTES,
    *TELEMETRY,
    *response(0x10, ms.fixed("reboot", "yes")),
    *response(0x02, ms.values(Field("collection_interval", "<H"))),
    *response(0x03, ms.values(Field("report_interval", "<H"))),
    *response(0x06, read_alarm_config),
)

NORMALIZATION: dict[str, Rule] = {
    "battery": ("battery_level", "", None),
    "distance": ("distance", "", None),
    "position": ("tilt", "", {"tilt": 1.0, "normal": 0.0}),
}

FIXED_FRAMES: tuple[FixedFrame, ...] = (
    fixed_frame(
        ms.F_PORT,
        [
            ms.header(0x01, 0x75),
            ("battery", "u1"),
            ms.header(0x03, 0x82),
            ("distance", "<u2"),
            ms.header(0x04, 0x00),
            ("position", "u1"),
        ],
        [
            Column("battery_level", "battery"),
            Column("distance", "distance"),
            Column("tilt", "position", convert=ms.binary_state),
        ],
    ),
)

SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = (
    {"battery": 92, "distance": 2116, "position": "tilt"},
    {"battery": 87, "distance": 640, "position": "normal"},
)


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    ms.check_port(f_port)
    return ms.decode_items(payload, ITEMS)


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    return ms.normalize_fields(NORMALIZATION, data)


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    return ms.encode_items(data, TELEMETRY)


def set_collection_interval(seconds: int) -> Downlink:
    """FF02 <seconds uint16 LE>."""
    value = ms.uint_arg("seconds", seconds, 1, 0xFFFF)
    return Downlink(ms.F_PORT, b"\xff\x02" + value.to_bytes(2, "little"))


def set_distance_alarm(
    condition: str,
    threshold_min_mm: int,
    threshold_max_mm: int,
    lock_time_s: int = 0,
    continue_time_s: int = 0,
    release_enable: bool = False,
) -> Downlink:
    """FF06: alarm when the distance is below/above/between/outside the thresholds."""
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    ctrl = CONDITIONS.index(condition) | (0x80 if release_enable else 0)
    low = ms.uint_arg("threshold_min_mm", threshold_min_mm, 0, 0x7FFF)
    high = ms.uint_arg("threshold_max_mm", threshold_max_mm, 0, 0x7FFF)
    lock = ms.uint_arg("lock_time_s", lock_time_s, 0, 0xFFFF)
    hold = ms.uint_arg("continue_time_s", continue_time_s, 0, 0xFFFF)
    body = b"".join(v.to_bytes(2, "little") for v in (low, high, lock, hold))
    return Downlink(ms.F_PORT, bytes((0xFF, 0x06, ctrl)) + body)


reboot = ms.reboot
set_report_interval = ms.set_report_interval
