"""Milesight VS121 AI workplace occupancy sensor / people counter: decoder, readings, downlinks.

Uplink (fPort 85): Milesight items (decoders/milesight.py), little-endian except the region
bitmap; this device has its own attribute items and no others of channel 0xFF.

| id        | type | size | key(s)                             | value                      |
|-----------|------|------|------------------------------------|----------------------------|
| 0xFF      | 0x01 | 1    | protocol_version                   | uint8                      |
| 0xFF      | 0x08 | 6    | sn                                 | lower-case hex             |
| 0xFF      | 0x09 | 2    | hardware_version                   | bytes in decimal, "1.0"    |
| 0xFF      | 0x1F | 4    | firmware_version                   | the same, "31.7.0.75"      |
| 0x04      | 0xC9 | 4    | people_count_all, region_count,    | uint8, uint8, uint16 BIG-  |
|           |      |      | region_1 .. region_<region_count>  | endian bitmap, bit k-1     |
| 0x05      | 0xCC | 4    | people_in, people_out              | int16 LE each              |
| 0x06      | 0xCD | 1    | people_count_max                   | uint8                      |
| 0x07      | 0xD5 | 8    | region_1_count .. region_8_count   | uint8 each                 |
| 0x08      | 0xD5 | 8    | region_9_count .. region_16_count  | uint8 each                 |
| 0x09-0x0C | 0xDA | 8    | x_to_a .. x_to_d, row x = a .. d   | flow matrix, uint16 LE     |
| 0x0D      | 0xCC | 4    | people_total_in, people_total_out  | uint16 LE each             |
| 0x0E      | 0xE4 | 5    | dwell_time_avg, dwell_time_max     | region u8 (dropped), u16 s |
| 0x0F      | 0x85 | 4    | timestamp                          | uint32 LE, s               |
| 0x10      | 0xF7 | 4    | line_in, line_out                  | uint16 LE each             |
| 0x20      | 0xCE | 5+N  | history[]: timestamp uint32 LE, type, then: 01 as 0x04C9; 02     |
|           |      |      | people_in/out (uint16); 03 people_count_max; 04-07 region counts |
|           |      |      | 1-4 .. 13-16; 08-0F flow pairs a_to_a/a_to_b, a_to_c/a_to_d ..   |
|           |      |      | d_to_c/d_to_d; 10 totals; 11 as 0x0EE4; 12 line_in/out           |
| 0xFF/0xFE | 0x10, 0x51 | 1 | reboot, clear_cumulative_count: "yes"                       |
| 0xFF/0xFE | 0x48, 0x50 | 1 | line_detect_enable, region_people_counting_enable           |
| 0xF9/0xF8 | 0x94 | 1   | timed_reset_cumulative_enable: disable / enable                  |
| 0xF9/0xF8 | 0x95 | 6   | reset_cumulative_schedule[]: mode (modify/add/delete), index u8  |
|           |      |     | + 1, week_cycle {sun..sat} from a bit mask (bit 0 sun), time u24 |
|           |      |     | LE minutes                                                       |

0xF8 answers end with a result byte: 0 keeps the answer as above, others give
device_response_result {channel_type, result (success/forbidden/invalid parameter), request}.

Downlink (fPort 85): FF51FF clear cumulative counts, FF10FF reboot, FF50 <00/01> region
counting, FF48 <00/01> line detection, F994 <00/01> timed reset of cumulative counts,
F995 <mode> <index - 1> <week mask> <minutes u24 LE> its schedule.

Source: Milesight-IoT/SensorDecoders vs-series/vs121 (README.md, vs121-decoder.js,
vs121-encoder.js).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from decoders import milesight as ms
from decoders.batch import Column, Convert, FixedFrame, FloatArray, fixed_frame
from decoders.codec import DecodeError, Downlink, Reading
from decoders.milesight import ENABLE, Field, Fields, Item, Rule, record, response
from decoders.reader import Reader

MODEL = "milesight-vs121"
DEVICE_CLASS = "people_counter"
REGIONS = range(1, 17)
FLOW_ROWS = "abcd"
SCHEDULE_MODES = ("modify", "add", "delete")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
RESULTS = ("success", "forbidden", "invalid parameter")


def dotted(key: str, size: int) -> ms.Read:
    def read(reader: Reader) -> Fields:
        return {key: ".".join(str(b) for b in reader.take(size, key))}

    return read


def counts(first: int, last: int) -> tuple[Field, ...]:
    return tuple(Field(f"region_{k}_count", "B") for k in range(first, last + 1))


def flows(row: str, targets: str) -> tuple[Field, ...]:
    return tuple(Field(f"{row}_to_{t}", "<H") for t in targets)


def read_occupancy(reader: Reader) -> Fields:
    data: Fields = {"people_count_all": reader.u8("people_count_all")}
    data["region_count"] = reader.u8("region_count")
    bitmap = reader.int("u16be", "region bitmap")
    # `region >> idx` in JavaScript takes the shift count modulo 32
    data.update(
        {f"region_{k}": bitmap >> ((k - 1) % 32) & 1 for k in range(1, data["region_count"] + 1)}
    )
    return data


def encode_occupancy(work: dict[str, Any]) -> bytes:
    if "people_count_all" not in work:
        return b""
    count = ms.uint_arg("region_count", work.pop("region_count", None), 0, 0xFF)
    given = {k: work.pop(f"region_{k}", None) for k in range(1, count + 1)}
    bitmap = sum(1 << (k - 1) for k in REGIONS if given.get(k) == 1)
    if any(bitmap >> ((k - 1) % 32) & 1 != value for k, value in given.items()):
        raise ValueError(f"regions {given} are not a 16-bit occupancy bitmap")
    total = ms.uint_arg("people_count_all", work.pop("people_count_all"), 0, 0xFF)
    return bytes((0x04, 0xC9, total, count)) + bitmap.to_bytes(2, "big")


DWELL = (Field("region", "B"), Field("dwell_time_avg", "<H"), Field("dwell_time_max", "<H"))


def read_dwell(reader: Reader) -> Fields:
    data = ms.values(*DWELL)(reader)
    del data["region"]  # the vendor reads the region number but does not output it
    return data


def encode_dwell(work: dict[str, Any]) -> bytes:
    """0x0E 0xE4 with region 0: the region number is not in the vendor output to restore."""
    if "dwell_time_avg" not in work and "dwell_time_max" not in work:
        return b""
    times = {k: work.pop(k, None) for k in ("dwell_time_avg", "dwell_time_max")}
    return bytes((0x0E, 0xE4, 0)) + b"".join(
        DWELL[n + 1].write(v) for n, v in enumerate(times.values())
    )


HISTORY: dict[int, ms.Read] = {
    0x01: read_occupancy,
    0x02: ms.values(Field("people_in", "<H"), Field("people_out", "<H")),
    0x03: ms.values(Field("people_count_max", "B")),
    **{0x04 + n: ms.values(*counts(4 * n + 1, 4 * n + 4)) for n in range(4)},
    **{0x08 + 2 * n: ms.values(*flows(row, "ab")) for n, row in enumerate(FLOW_ROWS)},
    **{0x09 + 2 * n: ms.values(*flows(row, "cd")) for n, row in enumerate(FLOW_ROWS)},
    0x10: ms.values(Field("people_total_in", "<H"), Field("people_total_out", "<H")),
    0x11: read_dwell,
    0x12: ms.values(Field("line_in", "<H"), Field("line_out", "<H")),
}


def read_history(reader: Reader) -> Fields:
    entry: Fields = {"timestamp": reader.int("u32le", "history timestamp")}
    at = reader.pos
    kind = reader.u8("history data type")
    read = HISTORY.get(kind)
    if read is None:
        raise DecodeError(f"unknown history data type 0x{kind:02x} at byte {at}")
    entry.update(read(reader))
    return {"history": [entry]}


def read_reset_schedule(reader: Reader) -> Fields:
    mode = reader.u8("reset_cumulative_schedule mode")
    index = reader.u8("reset_cumulative_schedule index") + 1
    week = reader.u8("reset_cumulative_schedule week_cycle")
    schedule = {
        "mode": ms.state(SCHEDULE_MODES, mode),
        "index": index,
        "week_cycle": {day: ENABLE[week >> n & 1] for n, day in enumerate(WEEKDAYS)},
        "time": reader.int("u24le", "reset_cumulative_schedule time"),
    }
    return {"reset_cumulative_schedule": [schedule]}


def extended(kind: int, read: ms.Read) -> tuple[Item, Item]:
    """An answer on 0xF9, and on 0xF8 with a result byte after it."""

    def with_result(reader: Reader) -> Fields:
        request = read(reader)
        result = reader.u8("response result")
        if result == 0:
            return request
        return {
            "device_response_result": {
                "channel_type": kind,
                "result": ms.state(RESULTS, result),
                "request": request,
            }
        }

    return Item(0xF9, kind, read), Item(0xF8, kind, with_result)


TELEMETRY: tuple[Item, ...] = (
    Item(0x04, 0xC9, read_occupancy, encode_occupancy),
    record(0x05, 0xCC, Field("people_in", "<h"), Field("people_out", "<h")),
    record(0x06, 0xCD, Field("people_count_max", "B")),
    record(0x07, 0xD5, *counts(1, 8)),
    record(0x08, 0xD5, *counts(9, 16)),
    *(record(0x09 + n, 0xDA, *flows(row, "abcd")) for n, row in enumerate(FLOW_ROWS)),
    record(0x0D, 0xCC, Field("people_total_in", "<H"), Field("people_total_out", "<H")),
    Item(0x0E, 0xE4, read_dwell, encode_dwell),
    record(0x0F, 0x85, Field("timestamp", "<I")),
    record(0x10, 0xF7, Field("line_in", "<H"), Field("line_out", "<H")),
)
ITEMS = ms.table(
    Item(0xFF, 0x01, ms.values(Field("protocol_version", "B"))),
    Item(0xFF, 0x08, ms.serial_number(6)),
    Item(0xFF, 0x09, dotted("hardware_version", 2)),
    Item(0xFF, 0x1F, dotted("firmware_version", 4)),
    *TELEMETRY,
    Item(0x20, 0xCE, read_history),
    *response(0x10, ms.fixed("reboot", "yes")),
    *response(0x51, ms.fixed("clear_cumulative_count", "yes")),
    *response(0x48, ms.values(Field("line_detect_enable", "B", states=ENABLE))),
    *response(0x50, ms.values(Field("region_people_counting_enable", "B", states=ENABLE))),
    *extended(0x94, ms.values(Field("timed_reset_cumulative_enable", "B", states=ENABLE))),
    *extended(0x95, read_reset_schedule),
)

NORMALIZATION: dict[str, Rule] = {
    "people_count_all": ("occupancy", "", None),
    "people_count_max": ("occupancy_max", "", None),
    "people_in": ("people_in", "", None),
    "people_out": ("people_out", "", None),
    "people_total_in": ("people_in_total", "", None),
    "people_total_out": ("people_out_total", "", None),
    "line_in": ("people_in", "1", None),
    "line_out": ("people_out", "1", None),
    "dwell_time_avg": ("dwell_time_avg", "", None),
    "dwell_time_max": ("dwell_time_max", "", None),
    **{f"region_{k}": ("region_occupied", str(k), None) for k in REGIONS},
    **{f"region_{k}_count": ("occupancy", str(k), None) for k in REGIONS},
}


def region_flag(region: int) -> Convert:
    """Region k of the 04C9 value read as one big-endian uint32 (total, count, bitmap):
    its bit when k <= region_count, else no reading (the vendor outputs no such key)."""

    def convert(raw: FloatArray) -> FloatArray:
        word = raw.astype(np.int64)
        flag = (word >> (region - 1) & 1).astype(np.float64)
        return np.where((word >> 16 & 0xFF) >= region, flag, np.nan)

    return convert


def people_count_all(raw: FloatArray) -> FloatArray:
    return (raw.astype(np.int64) >> 24).astype(np.float64)


# 04C9 + 06CD as the device reports them; one big-endian word covers count and bitmap
OCCUPANCY_FRAME = fixed_frame(
    ms.F_PORT,
    [ms.header(0x04, 0xC9), ("word", ">u4"), ms.header(0x06, 0xCD), ("people_count_max", "u1")],
    [
        Column("occupancy", "word", convert=people_count_all),
        Column("occupancy_max", "people_count_max"),
        *(Column("region_occupied", "word", str(k), region_flag(k)) for k in REGIONS),
    ],
)


def pair_frame(
    channel: int, kind: int, fmt: str, quantities: tuple[str, str], channel_name: str = ""
) -> FixedFrame:
    return fixed_frame(
        ms.F_PORT,
        [ms.header(channel, kind), ("first", fmt), ("second", fmt)],
        [
            Column(quantities[0], "first", channel_name),
            Column(quantities[1], "second", channel_name),
        ],
    )


COUNTS = [(f"count_{k}", "u1") for k in REGIONS]
FIXED_FRAMES: tuple[FixedFrame, ...] = (
    OCCUPANCY_FRAME,
    pair_frame(0x05, 0xCC, "<i2", ("people_in", "people_out")),
    pair_frame(0x0D, 0xCC, "<u2", ("people_in_total", "people_out_total")),
    pair_frame(0x10, 0xF7, "<u2", ("people_in", "people_out"), "1"),
    fixed_frame(
        ms.F_PORT,
        [ms.header(0x07, 0xD5), *COUNTS[:8], ms.header(0x08, 0xD5), *COUNTS[8:]],
        [Column("occupancy", f"count_{k}", str(k)) for k in REGIONS],
    ),
)

SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = (
    {"people_count_all": 3, "region_count": 8, "people_count_max": 5}
    | {f"region_{k}": int(k in (1, 6, 8)) for k in range(1, 9)},
    {"people_in": 2, "people_out": 1},
    {"people_total_in": 1200, "people_total_out": 1187},
    {"line_in": 14, "line_out": 9},
    {f"region_{k}_count": k % 3 for k in REGIONS},
)


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    ms.check_port(f_port)
    return ms.decode_items(payload, ITEMS)


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    return ms.normalize_fields(NORMALIZATION, data)


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    return ms.encode_items(data, TELEMETRY)


def _switch(code: int, kind: int, enabled: bool) -> Downlink:
    return Downlink(ms.F_PORT, bytes((code, kind, int(enabled))))


def clear_cumulative_count() -> Downlink:
    return Downlink(ms.F_PORT, bytes.fromhex("ff51ff"))


def set_region_counting(enabled: bool) -> Downlink:
    return _switch(0xFF, 0x50, enabled)


def set_line_detection(enabled: bool) -> Downlink:
    return _switch(0xFF, 0x48, enabled)


def set_timed_reset(enabled: bool) -> Downlink:
    """F994 <00/01>: reset the cumulative counts on the device's schedule (F995)."""
    return _switch(0xF9, 0x94, enabled)


def set_reset_schedule(mode: str, index: int, weekdays: set[str], minutes: int) -> Downlink:
    """F995: schedule `index` (1..5) resets the counts on `weekdays` at `minutes` after 00:00."""
    if mode not in SCHEDULE_MODES:
        raise ValueError(f"mode must be one of {SCHEDULE_MODES}, got {mode!r}")
    if not weekdays <= set(WEEKDAYS):
        raise ValueError(f"weekdays must be among {WEEKDAYS}, got {sorted(weekdays)}")
    slot = ms.uint_arg("index", index, 1, 5) - 1
    week = sum(1 << n for n, day in enumerate(WEEKDAYS) if day in weekdays)
    time = ms.uint_arg("minutes", minutes, 0, 24 * 60 - 1).to_bytes(3, "little")
    return Downlink(ms.F_PORT, bytes((0xF9, 0x95, SCHEDULE_MODES.index(mode), slot, week)) + time)


reboot = ms.reboot
