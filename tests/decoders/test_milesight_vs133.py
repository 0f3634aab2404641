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
