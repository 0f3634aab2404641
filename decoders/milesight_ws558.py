"""Milesight WS558 8-circuit smart light controller: decoder, readings, downlink commands.

Uplink (fPort 85): Milesight items (decoders/milesight.py), the common attributes plus:

| id   | type | size | key(s)                    | value                                       |
|------|------|------|---------------------------|---------------------------------------------|
| 0x03 | 0x74 | 2    | voltage                   | uint16 LE / 10, V                           |
| 0x04 | 0x80 | 4    | active_power              | uint32 LE, W                                |
| 0x05 | 0x81 | 1    | power_factor              | uint8, %                                    |
| 0x06 | 0x83 | 4    | power_consumption         | uint32 LE, Wh                               |
| 0x07 | 0xC9 | 2    | total_current             | uint16 LE, mA                               |
| 0x08 | 0x31 | 2    | switch_1 .. switch_8      | byte 0 mask of changed circuits (not read), |
|      |      |      |                           | byte 1 state, bit 0 = circuit 1, on / off   |
| 0xFF | 0x26 | 1    | power_consumption_enable  | disable / enable                            |
| 0xFF/0xFE | 0x10, 0x28, 0x27 | 1 | reboot, report_status, clear_power_consumption: "yes" |
| 0xFF/0xFE | 0x03 | 2 | report_interval       | uint16 LE, s                                |
| 0xFF/0xFE | 0x23 | 2 | cancel_delay_task     | task id uint8, then 0xFF                    |
| 0xFF/0xFE | 0x32 | 5 | delay_task            | task_id u8, delay_time u16 LE s, mask, state|

Downlink (fPort 85):

| bytes                                   | command                                       |
|-----------------------------------------|-----------------------------------------------|
| 08 <mask> <state>                       | switch the circuits set in mask (bit 0 = 1)   |
| FF 32 <task> <delay u16 LE> <mask> <state> | the same after delay seconds, as task id   |
| FF 23 <task> FF                         | cancel a delayed task                         |
| FF 26 <00/01>                           | energy metering off / on                      |
| FF 27 FF                                | reset the energy counter                      |
| FF 03 <seconds u16 LE>                  | report interval                               |
| FF 28 FF                                | report status now                             |
| FF 10 FF                                | reboot                                        |

Source: Milesight-IoT/SensorDecoders ws-series/ws558 (README.md, ws558-decoder.js,
ws558-encoder.js); TheThingsNetwork/lorawan-devices vendor/milesight-iot/ws558-codec.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoders import milesight as ms
from decoders.batch import Column, FixedFrame, fixed_frame
from decoders.codec import Downlink, Reading
from decoders.milesight import ENABLE, Field, Fields, Item, Rule, record, response
from decoders.reader import Reader

MODEL = "milesight-ws558"
DEVICE_CLASS = "streetlight"
CIRCUITS = range(1, 9)
ON_OFF = ("off", "on")


def switches(state: int, mask: int = 0xFF) -> Fields:
    return {f"switch_{c}": ON_OFF[state >> (c - 1) & 1] for c in CIRCUITS if mask >> (c - 1) & 1}


def read_switch(reader: Reader) -> Fields:
    reader.u8("switch change mask")
    return switches(reader.u8("switch state"))


def encode_switch(work: dict[str, Any]) -> bytes:
    keys = [f"switch_{c}" for c in CIRCUITS]
    if not any(k in work for k in keys):
        return b""
    state = sum(
        Field(k, "B", states=ON_OFF).to_raw(work.pop(k, None)) << n for n, k in enumerate(keys)
    )
    return bytes((0x08, 0x31, 0x00, state))


def read_delay_task(reader: Reader) -> Fields:
    task = {"task_id": reader.u8("task_id"), "delay_time": reader.int("u16le", "delay_time")}
    mask = reader.u8("delay task mask")
    task.update(switches(reader.u8("delay task state"), mask))
    return {"delay_task": task}


def read_cancel(reader: Reader) -> Fields:
    task = reader.u8("cancel_delay_task")
    reader.take(1, "cancel_delay_task filler")
    return {"cancel_delay_task": task}


# in the order of the periodic report, so that encoded reports take the batch fast path
TELEMETRY: tuple[Item, ...] = (
    Item(0x08, 0x31, read_switch, encode_switch),
    record(0x05, 0x81, Field("power_factor", "B")),
    record(0x07, 0xC9, Field("total_current", "<H")),
    record(0x03, 0x74, Field("voltage", "<H", divisor=10)),
    record(0x06, 0x83, Field("power_consumption", "<I")),
    record(0x04, 0x80, Field("active_power", "<I")),
)
ITEMS = ms.table(
    *ms.ATTRIBUTES,
    *TELEMETRY,
    *response(0x10, ms.fixed("reboot", "yes")),
    *response(0x28, ms.fixed("report_status", "yes")),
    *response(0x27, ms.fixed("clear_power_consumption", "yes")),
    *response(0x03, ms.values(Field("report_interval", "<H"))),
    *response(0x23, read_cancel),
    *response(0x26, ms.values(Field("power_consumption_enable", "B", states=ENABLE))),
    *response(0x32, read_delay_task),
)

NORMALIZATION: dict[str, Rule] = {
    "voltage": ("voltage", "", None),
    "active_power": ("active_power", "", None),
    "power_factor": ("power_factor", "", ms.per_cent),
    "power_consumption": ("energy", "", None),
    "total_current": ("current", "", ms.per_mille),
    **{f"switch_{c}": ("circuit_state", str(c), {"on": 1.0, "off": 0.0}) for c in CIRCUITS},
}

FIXED_FRAMES: tuple[FixedFrame, ...] = (
    # the periodic status report, in the order the README example shows
    fixed_frame(
        ms.F_PORT,
        [
            ms.header(0x08, 0x31),
            ("mask", "u1"),
            ("state", "u1"),
            ms.header(0x05, 0x81),
            ("power_factor", "u1"),
            ms.header(0x07, 0xC9),
            ("total_current", "<u2"),
            ms.header(0x03, 0x74),
            ("voltage", "<u2"),
            ms.header(0x06, 0x83),
            ("power_consumption", "<u4"),
            ms.header(0x04, 0x80),
            ("active_power", "<u4"),
        ],
        [
            Column("voltage", "voltage", convert=ms.divided(10)),
            Column("active_power", "active_power"),
            Column("power_factor", "power_factor", convert=ms.per_cent),
            Column("energy", "power_consumption"),
            Column("current", "total_current", convert=ms.per_mille),
            *(Column("circuit_state", "state", str(c), ms.bit(c - 1)) for c in CIRCUITS),
        ],
    ),
)

SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = (
    {
        **{f"switch_{c}": "on" if c in (1, 3) else "off" for c in CIRCUITS},
        "power_factor": 98,
        "total_current": 1830,
        "voltage": 229.4,
        "power_consumption": 125_000,
        "active_power": 412,
    },
    {"voltage": 222.6},
)


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    ms.check_port(f_port)
    return ms.decode_items(payload, ITEMS)


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    return ms.normalize_fields(NORMALIZATION, data)


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    return ms.encode_items(data, TELEMETRY)


def _mask_and_state(states: Mapping[int, bool]) -> tuple[int, int]:
    if not states:
        raise ValueError("states must name at least one circuit")
    mask = state = 0
    for circuit, on in states.items():
        bit = 1 << (ms.uint_arg("circuit", circuit, 1, 8) - 1)
        mask |= bit
        state |= bit if on else 0
    return mask, state


def switch_circuits(states: Mapping[int, bool]) -> Downlink:
    """08 <mask> <state>: switch the circuits named (1..8) on (True) or off (False)."""
    mask, state = _mask_and_state(states)
    return Downlink(ms.F_PORT, bytes((0x08, mask, state)))


def delayed_switch(task_id: int, delay_s: int, states: Mapping[int, bool]) -> Downlink:
    """FF32: switch circuits after delay_s seconds; task_id 0 forces, >0 names the task."""
    task = ms.uint_arg("task_id", task_id, 0, 0xFF)
    delay = ms.uint_arg("delay_s", delay_s, 0, 0xFFFF).to_bytes(2, "little")
    mask, state = _mask_and_state(states)
    return Downlink(ms.F_PORT, bytes((0xFF, 0x32, task)) + delay + bytes((mask, state)))


def cancel_delayed_task(task_id: int) -> Downlink:
    """FF23 <task> FF."""
    return Downlink(ms.F_PORT, bytes((0xFF, 0x23, ms.uint_arg("task_id", task_id, 1, 0xFF), 0xFF)))


def set_energy_metering(enabled: bool) -> Downlink:
    return Downlink(ms.F_PORT, bytes((0xFF, 0x26, int(enabled))))


def reset_energy_counter() -> Downlink:
    return Downlink(ms.F_PORT, bytes.fromhex("ff27ff"))


def request_status() -> Downlink:
    return Downlink(ms.F_PORT, bytes.fromhex("ff28ff"))


reboot = ms.reboot
set_report_interval = ms.set_report_interval
