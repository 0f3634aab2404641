"""Milesight VS133/VS135: round trip, dwell items, child sensor, history, downlinks, errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import decoders
from decoders import milesight_vs133 as vs133
from decoders.codec import DecodeError, Downlink, Reading

U16, U32 = st.integers(0, 0xFFFF), st.integers(0, 0xFFFF_FFFF)


def line(n: int) -> dict[str, st.SearchStrategy[int]]:
    return {f"line_{n}_total_in": U32, f"line_{n}_total_out": U32}


PERIODS = st.fixed_dictionaries(
    {}, optional={f"line_{n}_period_{d}": U16 for n in range(1, 5) for d in ("in", "out")}
)
DWELLS = st.dictionaries(st.integers(0, 0xFF), st.tuples(U16, U16), max_size=4)


@given(
    st.fixed_dictionaries({}, optional={k: v for n in range(1, 5) for k, v in line(n).items()}),
    st.lists(st.integers(1, 4), unique=True).map(sorted),
    U16,
    st.fixed_dictionaries(
        {}, optional={f"region_{r}_count": st.integers(0, 0xFF) for r in range(1, 5)}
    ),
    DWELLS,
)
def test_decode_inverts_encode_uplink(
    totals: dict[str, Any],
    periods: list[int],
    value: int,
    regions: dict[str, Any],
    dwells: dict[int, tuple[int, int]],
) -> None:
    data = dict(totals)
    data |= {f"line_{n}_period_{d}": value for n in periods for d in ("in", "out")}
    if len(regions) == 4:
        data |= regions
    for r, (avg, top) in dwells.items():
        data |= {f"region_{r}_avg_dwell": avg, f"region_{r}_max_dwell": top}
    if data:
        assert vs133.decode(*vs133.encode_uplink(data)) == data


def test_readme_dwell_example() -> None:
    payload = bytes.fromhex("10e4010910112110e4027521753310e4038121238910e40476001387")
    data = vs133.decode(85, payload)
    assert data == {
        "region_1_avg_dwell": 4105, "region_1_max_dwell": 8465,
        "region_2_avg_dwell": 8565, "region_2_max_dwell": 13173,
        "region_3_avg_dwell": 8577, "region_3_max_dwell": 35107,
        "region_4_avg_dwell": 118, "region_4_max_dwell": 34579,
    }  # fmt: skip
    assert Reading("dwell_time_max", 35107.0, "3") in vs133.normalize(data)


def test_totals_readings_per_line() -> None:
    payload = bytes.fromhex("03d24800000004d2c80000000cd2b41400000dd28d1a0000")
    assert decoders.decode("milesight-vs133", 85, payload).readings == [
        Reading("people_in_total", 72.0, "1"),
        Reading("people_out_total", 200.0, "1"),
        Reading("people_in_total", 5300.0, "4"),
        Reading("people_out_total", 6797.0, "4"),
    ]


def test_child_items_and_occlusion_alarm() -> None:
    payload = bytes.fromhex("11d20a00000013cc010002001de30102030450fc00020150fc000000")
    data = vs133.decode(85, payload)
    assert data == {
        "line_1_child_total_in": 10,
        "line_1_child_period_in": 1,
        "line_1_child_period_out": 2,
        "region_1_child_count": 1, "region_2_child_count": 2,
        "region_3_child_count": 3, "region_4_child_count": 4,
        "node_2_occlusion_alarm": "alarm_triggered",
        "master_occlusion_alarm": "alarm_released",
    }  # fmt: skip
    assert Reading("people_in_total", 10.0, "1-child") in vs133.normalize(data)


def test_history_records() -> None:
    payload = bytes.fromhex("20ce00e1f5650cb414000020ce00e1f56520023412")
    assert vs133.decode(85, payload) == {
        "history": [
            {"timestamp": 1710612736, "line_4_total_in": 5300},
            {"timestamp": 1710612736, "region_2_max_dwell": 4660},
        ]
    }


def test_line_channels_give_the_line_number() -> None:
    # (id - first id of the kind) / 3 + 1: 0x09 d2 line 3 IN, 0x0a d2 line 3 OUT,
    # 0x08 cc line 2 period; the child sensor's 0x17 / 0x18 / 0x16 likewise
    payload = bytes.fromhex(
        "09d2 ffffffff 0ad2 01000000 08cc 0100 0200 17d2 05000000 18d2 06000000 16cc 0700 0800"
    )
    assert vs133.decode(85, payload) == {
        "line_3_total_in": 4294967295,  # uint32, never negative
        "line_3_total_out": 1,
        "line_2_period_in": 1,
        "line_2_period_out": 2,
        "line_3_child_total_in": 5,
        "line_3_child_total_out": 6,
        "line_2_child_period_in": 7,
        "line_2_child_period_out": 8,
    }


def test_dwell_items_name_the_region_byte() -> None:
    # 0x10 e4 and 0x1e e4: region byte, avg uint16 LE, max uint16 LE; region 0 is kept as is
    payload = bytes.fromhex("10e4 00 0100 0200 1ee4 02 0a00 1400")
    assert vs133.decode(85, payload) == {
        "region_0_avg_dwell": 1,
        "region_0_max_dwell": 2,
        "region_2_child_avg_dwell": 10,
        "region_2_child_max_dwell": 20,
    }


def test_occlusion_alarm_past_the_map_is_unknown() -> None:
    assert vs133.decode(85, bytes.fromhex("50fc 00 03 07")) == {"node_3_occlusion_alarm": "unknown"}


@pytest.mark.parametrize(
    ("record", "fields"),
    [
        ("03 48000000", {"line_1_total_in": 72}),
        ("05 0300 0400", {"line_1_period_in": 3, "line_1_period_out": 4}),
        ("0d 8d1a0000", {"line_4_total_out": 6797}),
        ("0f 02100709", {"region_1_count": 2, "region_2_count": 16, "region_3_count": 7,
                         "region_4_count": 9}),
        ("10 01 0910", {"region_1_avg_dwell": 4105}),
        ("11 0a000000", {"line_1_child_total_in": 10}),
        ("13 0100 0200", {"line_1_child_period_in": 1, "line_1_child_period_out": 2}),
        ("1c 0500 0600", {"line_4_child_period_in": 5, "line_4_child_period_out": 6}),
        ("1d 01020304", {f"region_{r}_child_count": r for r in range(1, 5)}),
        ("1e 03 3c00", {"region_3_child_avg_dwell": 60}),
        ("3c 04 7800", {"region_4_child_max_dwell": 120}),
    ],
)  # fmt: skip
def test_history_record_types(record: str, fields: dict[str, Any]) -> None:
    data = vs133.decode(85, bytes.fromhex("20ce 00e1f565 " + record))
    assert data == {"history": [{"timestamp": 1710612736, **fields}]}


def test_attributes_of_this_device() -> None:
    # hardware "v<b0>.<b1>" in decimal (not the common hex / nibble form), firmware 0xFF1F
    # four bytes in decimal, 8-byte sn
    payload = bytes.fromhex("ff0112 ff090110 ff1f01020a04 ff166749d19054690031")
    assert vs133.decode(85, payload) == {
        "ipso_version": "v1.2",
        "hardware_version": "v1.16",
        "firmware_version": "v1.2.10.4",
        "sn": "6749d19054690031",
    }


def test_common_attribute_items_are_unknown_on_this_device() -> None:
    # vs133-decoder.js has no 0xFF0B / 0xFF0A item: they fall to "unknown downlink response"
    with pytest.raises(DecodeError, match=r"^unknown channel 0xff 0x0b at byte 3$") as exc:
        vs133.decode(85, bytes.fromhex("ff0112 ff0b01"))
    assert exc.value.partial == {"ipso_version": "v1.2"}


def test_downlink_answers() -> None:
    payload = bytes.fromhex("ff032c01 fe10ff ff1100e1f565 ff27ff ff4201 fe4300 ff4401 fe51ff")
    assert vs133.decode(85, payload) == {
        "report_interval": 300,
        "reboot": "yes",
        "timestamp": 1710612736,
        "clear_history": "yes",
        "wifi_enable": "enable",
        "periodic_report_enable": "disable",
        "trigger_report_enable": "enable",
        "clear_total_count": "yes",
    }


def test_unknown_history_record_type() -> None:
    with pytest.raises(DecodeError, match=r"^unknown history data type 0x40 at byte 6$"):
        vs133.decode(85, bytes.fromhex("20ce00e1f56540"))


@pytest.mark.parametrize(
    ("downlink", "hex_payload"),
    [
        (vs133.clear_total_count(), "ff51ff"),
        (vs133.reboot(), "ff10ff"),
        (vs133.set_report_interval(300), "ff032c01"),
        (vs133.set_time(1710612736), "ff1100e1f565"),
        (vs133.set_wifi(False), "ff4200"),
        (vs133.set_periodic_report(True), "ff4301"),
        (vs133.set_trigger_report(True), "ff4401"),
    ],
)
def test_downlinks(downlink: Downlink, hex_payload: str) -> None:
    assert downlink == Downlink(85, bytes.fromhex(hex_payload))


def test_truncated_total() -> None:
    with pytest.raises(
        DecodeError, match=r"truncated frame: line_2_total_out needs 4 byte\(s\) at byte 8"
    ) as exc:
        vs133.decode(85, bytes.fromhex("03d24800000007d2c800"))
    assert exc.value.partial == {"line_1_total_in": 72}


def test_unknown_channel() -> None:
    with pytest.raises(DecodeError, match=r"^unknown channel 0x03 0xcc at byte 0$"):
        vs133.decode(85, bytes.fromhex("03cc00000000"))
