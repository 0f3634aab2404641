"""Milesight EM400-MUD multifunctional ultrasonic distance sensor: decoder, readings, downlinks.

Uplink (fPort 85): Milesight items (decoders/milesight.py), the common attributes plus:

| id   | type | size | key(s)                          | value                                   |
|------|------|------|---------------------------------|-----------------------------------------|
| 0x01 | 0x75 | 1    | battery                         | uint8, %                                |
| 0x03 | 0x67 | 2    | temperature                     | int16 LE / 10, °C                       |
| 0x04 | 0x82 | 2    | distance                        | uint16 LE, mm                           |
| 0x05 | 0x00 | 1    | position                        | 0 normal / 1 tilt                       |
| 0x06 | 0x88 | 9    | latitude, longitude,            | int32 LE / 1e6 each, then status: bits  |
|      |      |      | motion_status, geofence_status  | 0-1 motion, 4-7 geofence, "unknown"     |
|      |      |      |                                 | beyond the map (NB-IoT only)            |
| 0x83 | 0x67 | 3    | temperature, temperature_alarm  | int16 LE / 10, then 0 threshold_alarm_  |
|      |      |      |                                 | release / 1 threshold_alarm             |
| 0x84 | 0x82 | 3    | distance, distance_alarm        | uint16 LE mm, then the same status      |
| 0xFF/0xFE | 0x02, 0x03 | 2 | collection_interval, report_interval | uint16 LE, s           |
| 0xFF/0xFE | 0x06 | 9 | standard_mode_alarm_config / bin_mode_alarm_config: ctrl (bits 0-2  |
|      |      |      | condition, 3-5 mode 1 standard 2 bin, 7 release), min, max u16 LE, 4 spare |
| 0xFF/0xFE | 0x10, 0x28, 0x4A | 1 | reboot, query_device_status, sync_time: "yes"      |
| 0xFF/0xFE | 0x13, 0x3E, 0x56 | 1 | install_height_enable, tilt_linkage_distance_enable, |
|      |      |      | tof_detection_enable: disable / enable                                    |
| 0xFF/0xFE | 0x1C | 2 | recollection_config  | counts, interval (uint8 each)                      |
| 0xFF/0xFE | 0x70, 0x77 | 2 | people_existing_height, install_height | uint16 LE, mm       |
| 0xFF/0xFE | 0x71 | 1 | working_mode         | standard / bin / parking                           |

Downlink (fPort 85): FF10FF reboot, FF28FF query status, FF02 / FF03 <seconds u16 LE>
collection / report interval, FF77 <mm u16 LE> install height, FF13 <00/01> install-height
enable, FF71 <00 standard / 01 bin> working mode, FF3E <00/01> tilt-linked distance,
FF06 <ctrl> <min u16 LE> <max u16 LE> 00000000 threshold alarm of the standard or bin mode
(ctrl as in the 0x06 answer above).

The 0x20 0xCE history record the vendor lists has no published layout in its decoders, so
it is an unknown channel here (DecodeError with the items before it).

Source: Milesight-IoT/SensorDecoders em-series/em400-mud (README.md, em400-mud-decoder.js);
the 0x06 0x88 item and its status names follow EM_Series/EM400_Series/EM400-MUD/
EM400-MUD_Cellular.js, the FF06 downlink EM400-MUD_Encoder.js beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoders import milesight as ms
from decoders.batch import Column, FixedFrame, fixed_frame
from decoders.codec import Downlink, Reading
from decoders.milesight import ENABLE, Field, Fields, Item, Rule, record, response
from decoders.reader import Reader

MODEL = "milesight-em400-mud"
DEVICE_CLASS = "waste_bin"
POSITIONS = ("normal", "tilt")
ALARMS = ("threshold_alarm_release", "threshold_alarm")
CONDITIONS = ("disable", "below", "above", "between", "outside")
WORKING_MODES = ("standard", "bin", "parking")
ALARM_CONFIGS = {1: "standard_mode_alarm_config", 2: "bin_mode_alarm_config"}
MOTIONS = ("unknown", "start", "moving", "stop")
GEOFENCES = ("inside", "outside", "unset", "unknown")


def read_location(reader: Reader) -> Fields:
    data: Fields = {
        "latitude": reader.int("s32le", "latitude") / 1_000_000,
        "longitude": reader.int("s32le", "longitude") / 1_000_000,
    }
    status = reader.u8("motion status")
    data["motion_status"] = MOTIONS[status & 0x03]
    data["geofence_status"] = ms.state(GEOFENCES, status >> 4)
    return data


def read_alarm_config(reader: Reader) -> Fields:
    ctrl = reader.u8("alarm config condition")
    config = {
        "condition": ms.state(CONDITIONS, ctrl & 0x07),
        "alarm_release_enable": ENABLE[ctrl >> 7 & 1],
        "threshold_min": reader.int("u16le", "threshold_min"),
        "threshold_max": reader.int("u16le", "threshold_max"),
    }
    reader.take(4, "alarm config spare bytes")
    key = ALARM_CONFIGS.get(ctrl >> 3 & 0x07)
    return {key: config} if key else {}


def read_recollection(reader: Reader) -> Fields:
    counts, interval = reader.take(2, "recollection_config")
    return {"recollection_config": {"counts": counts, "interval": interval}}


def with_alarm(alarm: Item, plain: Item, alarm_key: str) -> ms.Encode:
    """Encode the alarm variant of an item when the data carries its alarm status."""

    def encode(work: dict[str, Any]) -> bytes:
        chosen = alarm if alarm_key in work else plain
        return chosen.encode(work) if chosen.encode else b""

    return encode


BATTERY = record(0x01, 0x75, Field("battery", "B"))
TEMPERATURE = record(0x03, 0x67, Field("temperature", "<h", divisor=10))
DISTANCE = record(0x04, 0x82, Field("distance", "<H"))
POSITION = record(0x05, 0x00, Field("position", "B", states=POSITIONS))
TEMPERATURE_ALARM = record(
    0x83,
    0x67,
    Field("temperature", "<h", divisor=10),
    Field("temperature_alarm", "B", states=ALARMS),
)
DISTANCE_ALARM = record(
    0x84, 0x82, Field("distance", "<H"), Field("distance_alarm", "B", states=ALARMS)
)
TELEMETRY: tuple[Item, ...] = (
    BATTERY,
    Item(
        0x03,
        0x67,
        TEMPERATURE.read,
        with_alarm(TEMPERATURE_ALARM, TEMPERATURE, "temperature_alarm"),
    ),
    Item(0x04, 0x82, DISTANCE.read, with_alarm(DISTANCE_ALARM, DISTANCE, "distance_alarm")),
    POSITION,
)
ITEMS = ms.table(
    *ms.ATTRIBUTES,
    *TELEMETRY,
    Item(0x06, 0x88, read_location),
    TEMPERATURE_ALARM,
    DISTANCE_ALARM,
    *response(0x02, ms.values(Field("collection_interval", "<H"))),
    *response(0x03, ms.values(Field("report_interval", "<H"))),
    *response(0x06, read_alarm_config),
    *response(0x10, ms.fixed("reboot", "yes")),
    *response(0x13, ms.values(Field("install_height_enable", "B", states=ENABLE))),
    *response(0x1C, read_recollection),
    *response(0x28, ms.fixed("query_device_status", "yes")),
    *response(0x3E, ms.values(Field("tilt_linkage_distance_enable", "B", states=ENABLE))),
    *response(0x4A, ms.fixed("sync_time", "yes")),
    *response(0x56, ms.values(Field("tof_detection_enable", "B", states=ENABLE))),
    *response(0x70, ms.values(Field("people_existing_height", "<H"))),
    *response(0x71, ms.values(Field("working_mode", "B", states=WORKING_MODES))),
    *response(0x77, ms.values(Field("install_height", "<H"))),
)

NORMALIZATION: dict[str, Rule] = {
    "battery": ("battery_level", "", None),
    "temperature": ("temperature", "", None),
    "distance": ("distance", "", None),
    "position": ("tilt", "", {"tilt": 1.0, "normal": 0.0}),
}

FIXED_FRAMES: tuple[FixedFrame, ...] = (
    fixed_frame(
        ms.F_PORT,
        [
            ms.header(0x01, 0x75),
            ("battery", "u1"),
            ms.header(0x03, 0x67),
            ("temperature", "<i2"),
            ms.header(0x04, 0x82),
            ("distance", "<u2"),
            ms.header(0x05, 0x00),
            ("position", "u1"),
        ],
        [
            Column("battery_level", "battery"),
            Column("temperature", "temperature", convert=ms.divided(10)),
            Column("distance", "distance"),
            Column("tilt", "position", convert=ms.binary_state),
        ],
    ),
)

SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = (
    {"battery": 92, "temperature": 25.7, "distance": 2116, "position": "tilt"},
    {"battery": 64, "temperature": -3.5, "distance": 410, "position": "normal"},
    {
        "temperature": 23.2,
        "temperature_alarm": "threshold_alarm",
        "distance": 1601,
        "distance_alarm": "threshold_alarm",
    },
)


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    ms.check_port(f_port)
    return ms.decode_items(payload, ITEMS)


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    return ms.normalize_fields(NORMALIZATION, data)


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    return ms.encode_items(data, TELEMETRY)


def _two_bytes(kind: int, name: str, value: int, low: int = 1) -> Downlink:
    raw = ms.uint_arg(name, value, low, 0xFFFF).to_bytes(2, "little")
    return Downlink(ms.F_PORT, bytes((0xFF, kind)) + raw)


def set_collection_interval(seconds: int) -> Downlink:
    """FF02 <seconds uint16 LE>."""
    return _two_bytes(0x02, "seconds", seconds)


def set_install_height(millimetres: int) -> Downlink:
    """FF77 <mm uint16 LE>."""
    return _two_bytes(0x77, "millimetres", millimetres, low=0)


def set_install_height_enable(enabled: bool) -> Downlink:
    return Downlink(ms.F_PORT, bytes((0xFF, 0x13, int(enabled))))


def set_tilt_linkage_distance(enabled: bool) -> Downlink:
    return Downlink(ms.F_PORT, bytes((0xFF, 0x3E, int(enabled))))


def set_working_mode(mode: str) -> Downlink:
    """FF71 <00 standard / 01 bin>."""
    if mode not in WORKING_MODES[:2]:
        raise ValueError(f"mode must be 'standard' or 'bin', got {mode!r}")
    return Downlink(ms.F_PORT, bytes((0xFF, 0x71, WORKING_MODES.index(mode))))


def set_alarm(
    mode: str,
    condition: str,
    threshold_min_mm: int,
    threshold_max_mm: int,
    release_enable: bool = False,
) -> Downlink:
    """FF06: the distance alarm of the standard or bin working mode (below/above/...)."""
    modes = {name.split("_")[0]: number for number, name in ALARM_CONFIGS.items()}
    if mode not in modes:
        raise ValueError(f"mode must be one of {tuple(modes)}, got {mode!r}")
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    ctrl = CONDITIONS.index(condition) | modes[mode] << 3 | (0x80 if release_enable else 0)
    low = ms.uint_arg("threshold_min_mm", threshold_min_mm, 0, 0xFFFF)
    high = ms.uint_arg("threshold_max_mm", threshold_max_mm, 0, 0xFFFF)
    body = low.to_bytes(2, "little") + high.to_bytes(2, "little") + bytes(4)
    return Downlink(ms.F_PORT, bytes((0xFF, 0x06, ctrl)) + body)


def query_status() -> Downlink:
    return Downlink(ms.F_PORT, bytes.fromhex("ff28ff"))


reboot = ms.reboot
set_report_interval = ms.set_report_interval
