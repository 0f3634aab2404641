"""Milesight AM319 (HCHO variant) 9-in-1 indoor ambience sensor: decoder, readings, downlinks.

Uplink (fPort 85): Milesight items (decoders/milesight.py), the common attributes (0xFF0B
device_status read from its byte: offline / online) plus:

| id   | type | size | key            | value                                                  |
|------|------|------|----------------|--------------------------------------------------------|
| 0x01 | 0x75 | 1    | battery        | uint8, %                                               |
| 0x03 | 0x67 | 2    | temperature    | int16 LE / 10, °C                                      |
| 0x04 | 0x68 | 1    | humidity       | uint8 / 2, %RH                                         |
| 0x05 | 0x00 | 1    | pir            | 0 idle / 1 trigger                                     |
| 0x06 | 0xCB | 1    | light_level    | uint8, level 0-5                                       |
| 0x07 | 0x7D | 2    | co2            | uint16 LE, ppm                                         |
| 0x08 | 0x7D | 2    | tvoc           | uint16 LE / 100, IAQ level (a float)                   |
| 0x08 | 0xE6 | 2    | tvoc           | uint16 LE, µg/m³ (an integer)                          |
| 0x09 | 0x73 | 2    | pressure       | uint16 LE / 10, hPa                                    |
| 0x0A | 0x7D | 2    | hcho           | uint16 LE / 100, mg/m³                                 |
| 0x0B | 0x7D | 2    | pm2_5          | uint16 LE, µg/m³                                       |
| 0x0C | 0x7D | 2    | pm10           | uint16 LE, µg/m³                                       |
| 0x0E | 0x01 | 1    | buzzer_status  | off / on                                               |
| 0x20 | 0xCE | 22   | history[]      | timestamp u32, temperature s16/10, humidity u16/2, pir,|
|      |      |      |                | light_level u8, co2, tvoc /100 (IAQ), pressure /10,    |
|      |      |      |                | pm2_5, pm10, hcho /100 (uint16 LE unless said)         |
| 0x21 | 0xCE | 22   | history[]      | the same with tvoc in µg/m³ (no divisor)               |
| 0xFF/0xFE | 0x03 | 2 | report_interval | uint16 LE, s                                      |
| 0xFF/0xFE | 0x10, 0x3D | 1 | reboot, stop_buzzer: "yes"                           |
| 0xFF/0xFE | 0x1A | 1 or 3 | co2_calibration_settings | mode (factory/abc/manual/background/|
|      |      |      |                | zero); manual adds calibration_value uint16 LE         |
| 0xFF/0xFE | 0x2D | 1 | screen_display_enable | disable / enable                            |
| 0xFF/0xFE | 0x2E | 1 | led_indicator_mode | off / on / blink                               |
| 0xFF/0xFE | 0xEB | 1 | tvoc_unit      | iaq / µg/m³                                            |

Downlink (fPort 85): FF10FF reboot, FF03 <seconds u16 LE> report interval, FF3D00 stop the
buzzer, FFEB <00 iaq / 01 µg/m³> TVOC unit, FF1A <mode> [<ppm u16 LE> if manual] CO2
calibration, FF2E <00 off / 01 on / 02 blink> LED mode, FF2D <00/01> screen off / on.

Source: Milesight-IoT/SensorDecoders am-series/am319-hcho (README.md, am319-hcho-decoder.js).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoders import milesight as ms
from decoders.batch import Column, FixedFrame, fixed_frame
from decoders.codec import Downlink, Reading
from decoders.milesight import ENABLE, Field, Fields, Item, Rule, record, response
from decoders.reader import Reader

MODEL = "milesight-am319"
DEVICE_CLASS = "air_quality"
PIR = ("idle", "trigger")
CALIBRATION_MODES = ("factory", "abc", "manual", "background", "zero")
LED_MODES = ("off", "on", "blink")
TVOC_UNITS = ("iaq", "µg/m³")


def history(tvoc_divisor: int) -> ms.Read:
    fields = ms.values(
        Field("timestamp", "<I"),
        Field("temperature", "<h", divisor=10),
        Field("humidity", "<H", divisor=2),
        Field("pir", "B", states=PIR),
        Field("light_level", "B"),
        Field("co2", "<H"),
        Field("tvoc", "<H", divisor=tvoc_divisor),
        Field("pressure", "<H", divisor=10),
        Field("pm2_5", "<H"),
        Field("pm10", "<H"),
        Field("hcho", "<H", divisor=100),
    )

    def read(reader: Reader) -> Fields:
        return {"history": [fields(reader)]}

    return read


def read_calibration(reader: Reader) -> Fields:
    mode = reader.u8("co2 calibration mode")
    settings: Fields = {"mode": ms.state(CALIBRATION_MODES, mode)}
    if mode == CALIBRATION_MODES.index("manual"):
        settings["calibration_value"] = reader.int("u16le", "calibration_value")
    return {"co2_calibration_settings": settings}


TVOC_IAQ = record(0x08, 0x7D, Field("tvoc", "<H", divisor=100))
TVOC_UG = record(0x08, 0xE6, Field("tvoc", "<H"))


def encode_tvoc(work: dict[str, Any]) -> bytes:
    """An integer TVOC is the µg/m³ item, a float the IAQ level (as decode gives them)."""
    item = TVOC_UG if isinstance(work.get("tvoc"), int) else TVOC_IAQ
    return item.encode(work) if item.encode else b""


TELEMETRY: tuple[Item, ...] = (
    record(0x01, 0x75, Field("battery", "B")),
    record(0x03, 0x67, Field("temperature", "<h", divisor=10)),
    record(0x04, 0x68, Field("humidity", "B", divisor=2)),
    record(0x05, 0x00, Field("pir", "B", states=PIR)),
    record(0x06, 0xCB, Field("light_level", "B")),
    record(0x07, 0x7D, Field("co2", "<H")),
    Item(0x08, 0x7D, TVOC_IAQ.read, encode_tvoc),
    record(0x09, 0x73, Field("pressure", "<H", divisor=10)),
    record(0x0A, 0x7D, Field("hcho", "<H", divisor=100)),
    record(0x0B, 0x7D, Field("pm2_5", "<H")),
    record(0x0C, 0x7D, Field("pm10", "<H")),
    record(0x0E, 0x01, Field("buzzer_status", "B", states=("off", "on"))),
)
ITEMS = ms.table(
    *ms.ATTRIBUTES,
    record(0xFF, 0x0B, Field("device_status", "B", states=("offline", "online"))),
    *TELEMETRY,
    TVOC_UG,
    Item(0x20, 0xCE, history(100)),
    Item(0x21, 0xCE, history(1)),
    *response(0x03, ms.values(Field("report_interval", "<H"))),
    *response(0x10, ms.fixed("reboot", "yes")),
    *response(0x3D, ms.fixed("stop_buzzer", "yes")),
    *response(0x1A, read_calibration),
    *response(0x2D, ms.values(Field("screen_display_enable", "B", states=ENABLE))),
    *response(0x2E, ms.values(Field("led_indicator_mode", "B", states=LED_MODES))),
    *response(0xEB, ms.values(Field("tvoc_unit", "B", states=TVOC_UNITS))),
)

NORMALIZATION: dict[str, Rule] = {
    "battery": ("battery_level", "", None),
    "temperature": ("temperature", "", None),
    "humidity": ("relative_humidity", "", None),
    "pir": ("motion", "", {"trigger": 1.0, "idle": 0.0}),
    "light_level": ("light_level", "", None),
    "co2": ("co2", "", None),
    "tvoc": ("tvoc", "", None),  # the µg/m³ item; the IAQ one is TVOC_IAQ_RULE
    "pressure": ("atmospheric_pressure", "", None),
    "hcho": ("hcho", "", None),
    "pm2_5": ("pm2_5", "", None),
    "pm10": ("pm10", "", None),
}
TVOC_IAQ_RULE: Rule = ("tvoc_index", "", None)


def periodic_frame(tvoc_type: int, tvoc_column: Column) -> FixedFrame:
    """The periodic report in the README's order; the TVOC item comes in either unit."""
    return fixed_frame(
        ms.F_PORT,
        [
            *(ms.header(0x03, 0x67), ("temperature", "<i2")),
            *(ms.header(0x04, 0x68), ("humidity", "u1")),
            *(ms.header(0x05, 0x00), ("pir", "u1")),
            *(ms.header(0x06, 0xCB), ("light_level", "u1")),
            *(ms.header(0x07, 0x7D), ("co2", "<u2")),
            *(ms.header(0x08, tvoc_type), ("tvoc", "<u2")),
            *(ms.header(0x09, 0x73), ("pressure", "<u2")),
            *(ms.header(0x0A, 0x7D), ("hcho", "<u2")),
            *(ms.header(0x0B, 0x7D), ("pm2_5", "<u2")),
            *(ms.header(0x0C, 0x7D), ("pm10", "<u2")),
        ],
        [
            Column("temperature", "temperature", convert=ms.divided(10)),
            Column("relative_humidity", "humidity", convert=ms.divided(2)),
            Column("motion", "pir", convert=ms.binary_state),
            Column("light_level", "light_level"),
            Column("co2", "co2"),
            tvoc_column,
            Column("atmospheric_pressure", "pressure", convert=ms.divided(10)),
            Column("hcho", "hcho", convert=ms.divided(100)),
            Column("pm2_5", "pm2_5"),
            Column("pm10", "pm10"),
        ],
    )


FIXED_FRAMES: tuple[FixedFrame, ...] = (
    periodic_frame(0x7D, Column("tvoc_index", "tvoc", convert=ms.divided(100))),
    periodic_frame(0xE6, Column("tvoc", "tvoc")),
)

_README: dict[str, Any] = {
    "temperature": 23.8, "humidity": 62.0, "pir": "trigger", "light_level": 2, "co2": 936,
    "tvoc": 0.37, "pressure": 1008.6, "hcho": 0.07, "pm2_5": 32, "pm10": 48,
}  # fmt: skip
SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = (
    _README,
    {**_README, "tvoc": 185, "pir": "idle"},
    {"battery": 88, **_README, "buzzer_status": "off"},
)


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    ms.check_port(f_port)
    return ms.decode_items(payload, ITEMS)


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    readings = ms.normalize_fields(NORMALIZATION, data)
    if isinstance(data.get("tvoc"), float):
        return [r for r in readings if r.quantity != "tvoc"] + ms.normalize_fields(
            {"tvoc": TVOC_IAQ_RULE}, data
        )
    return readings


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    return ms.encode_items(data, TELEMETRY)


def _setting(kind: int, name: str, value: str, names: tuple[str, ...]) -> Downlink:
    if value not in names:
        raise ValueError(f"{name} must be one of {names}, got {value!r}")
    return Downlink(ms.F_PORT, bytes((0xFF, kind, names.index(value))))


def stop_buzzer() -> Downlink:
    return Downlink(ms.F_PORT, bytes.fromhex("ff3d00"))


def set_tvoc_unit(unit: str) -> Downlink:
    """FFEB <00 iaq / 01 µg/m³>."""
    return _setting(0xEB, "unit", unit, TVOC_UNITS)


def set_led_mode(mode: str) -> Downlink:
    """FF2E <00 off / 01 on / 02 blink>."""
    return _setting(0x2E, "mode", mode, LED_MODES)


def set_screen(enabled: bool) -> Downlink:
    return Downlink(ms.F_PORT, bytes((0xFF, 0x2D, int(enabled))))


def calibrate_co2(mode: str, ppm: int | None = None) -> Downlink:
    """FF1A <mode> [<ppm uint16 LE>]: the manual mode takes the reference concentration."""
    command = _setting(0x1A, "mode", mode, CALIBRATION_MODES)
    if mode != "manual":
        if ppm is not None:
            raise ValueError(f"ppm is only for the manual mode, got {ppm!r}")
        return command
    if ppm is None:
        raise ValueError("ppm is required by the manual mode")
    raw = ms.uint_arg("ppm", ppm, 0, 0xFFFF).to_bytes(2, "little")
    return Downlink(ms.F_PORT, command.payload + raw)


reboot = ms.reboot
set_report_interval = ms.set_report_interval
