"""Milesight VS133/VS135 ToF line-crossing people counter: decoder, readings, downlinks.

Uplink (fPort 85): Milesight items (decoders/milesight.py). N = line 1..4, r = region 1..4;
"child" items come from a cascaded sensor and carry "_child" in their keys.

| id            | type | size | key(s)                                | value              |
|---------------|------|------|---------------------------------------|--------------------|
| 0xFF          | 0x01 | 1    | ipso_version                          | "v<hi>.<lo nibble>"|
| 0xFF          | 0x09 | 2    | hardware_version                      | "v<b0>.<b1>"       |
| 0xFF          | 0x1F | 4    | firmware_version                      | "v<b0>.<b1>.<b2>.<b3>" |
| 0xFF          | 0x16 | 8    | sn                                    | lower-case hex     |
| 0x03/06/09/0C | 0xD2 | 4    | line_N_total_in                       | uint32 LE          |
| 0x04/07/0A/0D | 0xD2 | 4    | line_N_total_out                      | uint32 LE          |
| 0x05/08/0B/0E | 0xCC | 4    | line_N_period_in, line_N_period_out   | uint16 LE each     |
| 0x0F          | 0xE3 | 4    | region_1_count .. region_4_count      | uint8 each         |
| 0x10          | 0xE4 | 5    | region_r_avg_dwell, region_r_max_dwell| r u8, uint16 LE s  |
| 0x11/14/17/1A | 0xD2 | 4    | line_N_child_total_in                 | uint32 LE          |
| 0x12/15/18/1B | 0xD2 | 4    | line_N_child_total_out                | uint32 LE          |
| 0x13/16/19/1C | 0xCC | 4    | line_N_child_period_in / _out         | uint16 LE each     |
| 0x1D          | 0xE3 | 4    | region_1_child_count .. region_4_...  | uint8 each         |
| 0x1E          | 0xE4 | 5    | region_r_child_avg_dwell / _max_dwell | r u8, uint16 LE s  |
| 0x50          | 0xFC | 3    | master_occlusion_alarm or             | spare, node (0 is  |
|               |      |      | node_<n>_occlusion_alarm              | master), released/ |
|               |      |      |                                       | triggered          |
| 0x20          | 0xCE | 8-9  | history[]: timestamp uint32 LE, type: 0x03-0x0E as the line |
|               |      |      | item of that channel id, 0x0F region counts, 0x10 / 0x20    |
|               |      |      | region r avg / max dwell (r u8, uint16), 0x11-0x1D child    |
|               |      |      | lines / regions, 0x1E / 0x3C child avg / max dwell          |
| 0xFF/0xFE     | 0x03 | 2    | report_interval                       | uint16 LE, s       |
| 0xFF/0xFE     | 0x10, 0x27, 0x51 | 1 | reboot, clear_history, clear_total_count: "yes" |
| 0xFF/0xFE     | 0x11 | 4    | timestamp                             | uint32 LE          |
| 0xFF/0xFE     | 0x42, 0x43, 0x44 | 1 | wifi_enable, periodic_report_enable,    |
|               |      |      | trigger_report_enable: disable / enable                     |

Downlink (fPort 85): FF51FF clear the cumulative totals, FF10FF reboot, FF03 <seconds u16 LE>
report interval, FF11 <unix time u32 LE> set the clock, FF42 <00/01> Wi-Fi, FF43 <00/01>
periodic reporting, FF44 <00/01> trigger reporting.

Source: Milesight-IoT/SensorDecoders vs-series/vs133 (README.md, vs133-decoder.js).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoders import milesight as ms
from decoders.batch import Column, FixedFrame, fixed_frame
from decoders.codec import DecodeError, Downlink, Reading
from decoders.milesight import ENABLE, Field, Fields, Item, Rule, record, response
from decoders.reader import Reader

MODEL = "milesight-vs133"
DEVICE_CLASS = "people_counter"
LINES = range(1, 5)
ALARMS = ("alarm_released", "alarm_triggered")
PARENT, CHILD = 0x03, 0x11  # the first line channel of the sensor and of its child


def line_fields(line: int, part: int, child: str) -> tuple[Field, ...]:
    """Part 0 total in, 1 total out, 2 period in and out, of line `line`."""
    name = f"line_{line}{child}"
    if part == 2:
        return Field(f"{name}_period_in", "<H"), Field(f"{name}_period_out", "<H")
    return (Field(f"{name}_total_{('in', 'out')[part]}", "<I"),)


def line_items(first: int, child: str) -> tuple[Item, ...]:
    return tuple(
        record(
            first + 3 * (line - 1) + part,
            0xCC if part == 2 else 0xD2,
            *line_fields(line, part, child),
        )
        for line in LINES
        for part in range(3)
    )


def region_counts(child: str) -> tuple[Field, ...]:
    return tuple(Field(f"region_{r}{child}_count", "B") for r in LINES)


def dwell(child: str, which: tuple[str, ...] = ("avg", "max")) -> ms.Read:
    def read(reader: Reader) -> Fields:
        region = reader.u8("dwell region")
        return {
            f"region_{region}{child}_{w}_dwell": reader.int("u16le", f"{w} dwell") for w in which
        }

    return read


def encode_dwell(work: dict[str, Any]) -> bytes:
    """One 0x10 0xE4 item per region whose two dwell keys are given."""
    out = b""
    for region in range(256):
        keys = (f"region_{region}_avg_dwell", f"region_{region}_max_dwell")
        if keys[0] in work or keys[1] in work:
            times = [ms.uint_arg(k, work.pop(k, None), 0, 0xFFFF) for k in keys]
            out += bytes((0x10, 0xE4, region)) + b"".join(t.to_bytes(2, "little") for t in times)
    return out


def read_alarm(reader: Reader) -> Fields:
    reader.u8("occlusion alarm spare byte")
    node = reader.u8("occlusion alarm node")
    name = "master" if node == 0 else f"node_{node}"
    return {f"{name}_occlusion_alarm": ms.state(ALARMS, reader.u8("occlusion alarm"))}


def history_reads() -> dict[int, ms.Read]:
    reads: dict[int, ms.Read] = {}
    for first, child in ((PARENT, ""), (CHILD, "_child")):
        for item in line_items(first, child):
            reads[item.channel] = item.read
    reads[0x0F] = ms.values(*region_counts(""))
    reads[0x1D] = ms.values(*region_counts("_child"))
    reads[0x10], reads[0x20] = dwell("", ("avg",)), dwell("", ("max",))
    reads[0x1E], reads[0x3C] = dwell("_child", ("avg",)), dwell("_child", ("max",))
    return reads


HISTORY = history_reads()


def read_history(reader: Reader) -> Fields:
    entry: Fields = {"timestamp": reader.int("u32le", "history timestamp")}
    at = reader.pos
    kind = reader.u8("history data type")
    read = HISTORY.get(kind)
    if read is None:
        raise DecodeError(f"unknown history data type 0x{kind:02x} at byte {at}")
    entry.update(read(reader))
    return {"history": [entry]}


def firmware_version(reader: Reader) -> Fields:
    return {"firmware_version": "v" + ".".join(str(b) for b in reader.take(4, "firmware_version"))}


def hardware_version(reader: Reader) -> Fields:
    major, minor = reader.take(2, "hardware_version")
    return {"hardware_version": f"v{major}.{minor}"}


TELEMETRY: tuple[Item, ...] = (
    *line_items(PARENT, ""),
    record(0x0F, 0xE3, *region_counts("")),
    Item(0x10, 0xE4, dwell(""), encode_dwell),
)
ITEMS = ms.table(
    Item(0xFF, 0x01, ms.ipso_version),
    Item(0xFF, 0x09, hardware_version),
    Item(0xFF, 0x1F, firmware_version),
    Item(0xFF, 0x16, ms.serial_number(8)),
    *TELEMETRY,
    *line_items(CHILD, "_child"),
    record(0x1D, 0xE3, *region_counts("_child")),
    Item(0x1E, 0xE4, dwell("_child")),
    Item(0x50, 0xFC, read_alarm),
    Item(0x20, 0xCE, read_history),
    *response(0x03, ms.values(Field("report_interval", "<H"))),
    *response(0x10, ms.fixed("reboot", "yes")),
    *response(0x11, ms.values(Field("timestamp", "<I"))),
    *response(0x27, ms.fixed("clear_history", "yes")),
    *response(0x42, ms.values(Field("wifi_enable", "B", states=ENABLE))),
    *response(0x43, ms.values(Field("periodic_report_enable", "B", states=ENABLE))),
    *response(0x44, ms.values(Field("trigger_report_enable", "B", states=ENABLE))),
    *response(0x51, ms.fixed("clear_total_count", "yes")),
)


def _rules(child: str, tag: str) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for n in LINES:
        channel = f"{n}{tag}"
        rules[f"line_{n}{child}_total_in"] = ("people_in_total", channel, None)
        rules[f"line_{n}{child}_total_out"] = ("people_out_total", channel, None)
        rules[f"line_{n}{child}_period_in"] = ("people_in", channel, None)
        rules[f"line_{n}{child}_period_out"] = ("people_out", channel, None)
        rules[f"region_{n}{child}_count"] = ("occupancy", channel, None)
        rules[f"region_{n}{child}_avg_dwell"] = ("dwell_time_avg", channel, None)
        rules[f"region_{n}{child}_max_dwell"] = ("dwell_time_max", channel, None)
    return rules


# line N and region r share the channel "N"; the cascaded sensor's are "N-child"
NORMALIZATION: dict[str, Rule] = {**_rules("", ""), **_rules("_child", "-child")}


def _frame(kinds: tuple[tuple[int, int, str, str], ...], quantities: tuple[str, ...]) -> FixedFrame:
    parts: list[bytes | tuple[str, str]] = []
    columns: list[Column] = []
    for channel, kind, fmt, line in kinds:
        parts.append(ms.header(channel, kind))
        for quantity in quantities:
            parts.append((f"{quantity}_{line}", fmt))
            columns.append(Column(quantity, f"{quantity}_{line}", line))
    return fixed_frame(ms.F_PORT, parts, columns)


FIXED_FRAMES: tuple[FixedFrame, ...] = (
    # the README's periodic frames: totals in then out per line, period counts, regions
    fixed_frame(
        ms.F_PORT,
        [
            part
            for n in LINES
            for part in (
                *(ms.header(3 * n, 0xD2), (f"in_{n}", "<u4")),
                *(ms.header(3 * n + 1, 0xD2), (f"out_{n}", "<u4")),
            )
        ],
        [
            Column(q, f"{f}_{n}", str(n))
            for n in LINES
            for q, f in (("people_in_total", "in"), ("people_out_total", "out"))
        ],
    ),
    _frame(tuple((3 * n + 2, 0xCC, "<u2", str(n)) for n in LINES), ("people_in", "people_out")),
    fixed_frame(
        ms.F_PORT,
        [ms.header(0x0F, 0xE3), *((f"region_{r}", "u1") for r in LINES)],
        [Column("occupancy", f"region_{r}", str(r)) for r in LINES],
    ),
)

SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = (
    {f"line_{n}_total_{d}": 1000 * n + (d == "out") for n in LINES for d in ("in", "out")},
    {f"line_{n}_period_{d}": n + 2 * (d == "out") for n in LINES for d in ("in", "out")},
    {f"region_{r}_count": r for r in LINES},
    {
        "region_1_avg_dwell": 4105,
        "region_1_max_dwell": 8465,
        "region_3_avg_dwell": 12,
        "region_3_max_dwell": 40,
    },
)


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    ms.check_port(f_port)
    return ms.decode_items(payload, ITEMS)


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    return ms.normalize_fields(NORMALIZATION, data)


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    return ms.encode_items(data, TELEMETRY)


def _switch(kind: int, enabled: bool) -> Downlink:
    return Downlink(ms.F_PORT, bytes((0xFF, kind, int(enabled))))


def clear_total_count() -> Downlink:
    """FF51FF: reset the cumulative in/out totals."""
    return Downlink(ms.F_PORT, bytes.fromhex("ff51ff"))


def set_time(unix_seconds: int) -> Downlink:
    """FF11 <unix time uint32 LE>."""
    value = ms.uint_arg("unix_seconds", unix_seconds, 0, 0xFFFF_FFFF)
    return Downlink(ms.F_PORT, b"\xff\x11" + value.to_bytes(4, "little"))


def set_wifi(enabled: bool) -> Downlink:
    return _switch(0x42, enabled)


def set_periodic_report(enabled: bool) -> Downlink:
    return _switch(0x43, enabled)


def set_trigger_report(enabled: bool) -> Downlink:
    return _switch(0x44, enabled)


reboot = ms.reboot
set_report_interval = ms.set_report_interval
