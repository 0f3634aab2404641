"""Milesight VS121: round trip, the big-endian region bitmap, history, downlinks, errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import decoders
from decoders import milesight_vs121 as vs121
from decoders.codec import DecodeError, Downlink, Reading

U8, U16 = st.integers(0, 0xFF), st.integers(0, 0xFFFF)


def occupancy(count: int) -> st.SearchStrategy[dict[str, Any]]:
    regions = {f"region_{k}": st.integers(0, 1) for k in range(1, count + 1)}
    return st.fixed_dictionaries(
        {"people_count_all": U8, "region_count": st.just(count), **regions}
    )


def fields(keys: list[str], values: st.SearchStrategy[int]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(dict.fromkeys(keys, values))


ITEMS = [
    st.integers(0, 16).flatmap(occupancy),
    fields(["people_in", "people_out"], st.integers(-0x8000, 0x7FFF)),
    fields(["people_count_max"], U8),
    fields([f"region_{k}_count" for k in range(1, 9)], U8),
    fields([f"region_{k}_count" for k in range(9, 17)], U8),
    *(fields([f"{row}_to_{t}" for t in "abcd"], U16) for row in "abcd"),
    fields(["people_total_in", "people_total_out"], U16),
    fields(["dwell_time_avg", "dwell_time_max"], U16),
    fields(["timestamp"], st.integers(0, 0xFFFF_FFFF)),
    fields(["line_in", "line_out"], U16),
]
UPLINKS = (
    st.lists(st.sampled_from(range(len(ITEMS))), min_size=1, unique=True)
    .flatmap(lambda picks: st.tuples(*(ITEMS[i] for i in picks)))
    .map(lambda parts: {k: v for part in parts for k, v in part.items()})
)


@given(UPLINKS)
def test_decode_inverts_encode_uplink(data: dict[str, Any]) -> None:
    assert vs121.decode(*vs121.encode_uplink(data)) == data


def test_readme_flow_matrix_values_are_little_endian() -> None:
    payload = bytes.fromhex(
        "09da00010002000000000ada00000000000000000bda00000000000000120cda0000000000000000"
    )
    data = vs121.decode(85, payload)
    assert (data["a_to_a"], data["a_to_b"], data["c_to_d"], data["d_to_d"]) == (256, 512, 4608, 0)
    assert vs121.normalize(data) == []  # no flow quantity in the vocabulary


def test_readme_region_counts_and_readings() -> None:
    data = vs121.decode(85, bytes.fromhex("07d5000100000000000308d50100000000000000"))
    assert data == {f"region_{k}_count": {2: 1, 8: 3, 9: 1}.get(k, 0) for k in range(1, 17)}
    assert Reading("occupancy", 3.0, "8") in vs121.normalize(data)


def test_occupancy_readings() -> None:
    readings = decoders.decode("milesight-vs121", 85, bytes.fromhex("04c9030800a106cd05")).readings
    assert readings == [
        Reading("occupancy", 3.0),
        Reading("occupancy_max", 5.0),
        *(Reading("region_occupied", float(k in (1, 6, 8)), str(k)) for k in range(1, 9)),
    ]


def test_history_records() -> None:
    payload = bytes.fromhex("20ce9e744663020500030020ce9e74466311011e005a00")
    assert vs121.decode(85, payload) == {
        "history": [
            {"timestamp": 1665561758, "people_in": 5, "people_out": 3},
            {"timestamp": 1665561758, "dwell_time_avg": 30, "dwell_time_max": 90},
        ]
    }


def test_sixteen_region_bitmap_is_big_endian() -> None:
    # 04 c9: total 5, 16 regions, bitmap 8001 read big-endian: bits 0 and 15 set
    data = vs121.decode(85, bytes.fromhex("04c9 05 10 8001"))
    assert data == {
        "people_count_all": 5,
        "region_count": 16,
        **{f"region_{k}": int(k in (1, 16)) for k in range(1, 17)},
    }


def test_region_count_past_32_wraps_like_the_javascript_shift() -> None:
    # `region >> idx` takes idx modulo 32: region_33 and region_34 repeat bits 0 and 1
    data = vs121.decode(85, bytes.fromhex("04c9 00 22 0003"))
    assert data["region_count"] == 34
    assert [data[f"region_{k}"] for k in range(1, 35)] == [1, 1] + [0] * 30 + [1, 1]


def test_other_telemetry_items() -> None:
    payload = bytes.fromhex(
        "05cc ffff 0080"  # people_in / people_out int16 LE: -1, -32768
        " 0dcc 0304 0a00"  # people_total_in / _out uint16 LE: 1027, 10
        " 0ee4 03 1e00 5a00"  # dwell: region 3 (not output), avg 30, max 90
        " 0f85 9e744663"  # timestamp uint32 LE
        " 10f7 0e00 0900"  # line_in / line_out uint16 LE
    )
    assert vs121.decode(85, payload) == {
        "people_in": -1,
        "people_out": -32768,
        "people_total_in": 1027,
        "people_total_out": 10,
        "dwell_time_avg": 30,
        "dwell_time_max": 90,
        "timestamp": 1665561758,
        "line_in": 14,
        "line_out": 9,
    }


@pytest.mark.parametrize(
    ("record", "fields"),
    [
        # type 01: as 0x04 0xC9, bitmap big-endian
        ("01 02 04 0002", {"people_count_all": 2, "region_count": 4, "region_1": 0,
                           "region_2": 1, "region_3": 0, "region_4": 0}),
        ("02 ffff 0000", {"people_in": 65535, "people_out": 0}),  # uint16 here, not int16
        ("03 07", {"people_count_max": 7}),
        ("04 01020304", {f"region_{k}_count": k for k in range(1, 5)}),
        ("05 05060708", {f"region_{k}_count": k for k in range(5, 9)}),
        ("06 090a0b0c", {f"region_{k}_count": k for k in range(9, 13)}),
        ("07 0d0e0f10", {f"region_{k}_count": k for k in range(13, 17)}),
        ("08 0100 0200", {"a_to_a": 1, "a_to_b": 2}),
        ("09 0100 0200", {"a_to_c": 1, "a_to_d": 2}),
        ("0a 0100 0200", {"b_to_a": 1, "b_to_b": 2}),
        ("0d 0100 0200", {"c_to_c": 1, "c_to_d": 2}),
        ("0f 0300 0400", {"d_to_c": 3, "d_to_d": 4}),
        ("10 e803 d007", {"people_total_in": 1000, "people_total_out": 2000}),
        ("12 0500 0600", {"line_in": 5, "line_out": 6}),
    ],
)  # fmt: skip
def test_history_record_types(record: str, fields: dict[str, Any]) -> None:
    data = vs121.decode(85, bytes.fromhex("20ce 9e744663 " + record))
    assert data == {"history": [{"timestamp": 1665561758, **fields}]}


def test_downlink_answers() -> None:
    payload = bytes.fromhex("fe51ff ff4801 fe5000 fe10ff")
    assert vs121.decode(85, payload) == {
        "clear_cumulative_count": "yes",
        "line_detect_enable": "enable",
        "region_people_counting_enable": "disable",
        "reboot": "yes",
    }


def test_timed_reset_answers() -> None:
    # F9 95: mode 01 add, index 00 + 1, week mask 3e = mon..fri (bit 0 sun), time 1e0000 = 30
    week = {
        "sun": "disable", "mon": "enable", "tue": "enable", "wed": "enable",
        "thu": "enable", "fri": "enable", "sat": "disable",
    }  # fmt: skip
    schedule = {"mode": "add", "index": 1, "week_cycle": week, "time": 30}
    payload = bytes.fromhex("f99401 f995 01 00 3e 1e0000 f995 00 04 3e 1e0000")
    assert vs121.decode(85, payload) == {
        "timed_reset_cumulative_enable": "enable",
        "reset_cumulative_schedule": [schedule, {**schedule, "mode": "modify", "index": 5}],
    }
    # in the order of the vendor's week_offset_bitmap
    assert list(vs121.decode(85, payload)["reset_cumulative_schedule"][0]["week_cycle"]) == list(
        week
    )


def test_answers_with_a_result_byte() -> None:
    # F8 answers end in a result byte: 00 success keeps the answer, 02 wraps it
    assert vs121.decode(85, bytes.fromhex("f894 00 00")) == {
        "timed_reset_cumulative_enable": "disable"
    }
    assert vs121.decode(85, bytes.fromhex("f894 01 02")) == {
        "device_response_result": {
            "channel_type": 0x94,
            "result": "invalid parameter",
            "request": {"timed_reset_cumulative_enable": "enable"},
        }
    }


def test_unknown_history_record_type() -> None:
    with pytest.raises(DecodeError, match=r"^unknown history data type 0x13 at byte 6$") as exc:
        vs121.decode(85, bytes.fromhex("20ce9e74466313"))
    assert exc.value.partial == {}


@pytest.mark.parametrize(
    ("downlink", "hex_payload"),
    [
        (vs121.clear_cumulative_count(), "ff51ff"),
        (vs121.reboot(), "ff10ff"),
        (vs121.set_region_counting(True), "ff5001"),
        (vs121.set_line_detection(False), "ff4800"),
        (vs121.set_timed_reset(True), "f99401"),
        # vs121-encoder setResetCumulativeSchedule: mode, index - 1, week mask, time u24 LE
        (
            vs121.set_reset_schedule("add", 1, {"mon", "tue", "wed", "thu", "fri"}, 1230),
            "f995 01 00 3e ce0400",
        ),
    ],
)
def test_downlinks(downlink: Downlink, hex_payload: str) -> None:
    assert downlink == Downlink(85, bytes.fromhex(hex_payload))


def test_reset_schedule_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match=r"index must be an integer in 1\.\.5, got 6"):
        vs121.set_reset_schedule("add", 6, {"mon"}, 0)
    with pytest.raises(ValueError, match="weekdays must be among"):
        vs121.set_reset_schedule("add", 1, {"monday"}, 0)
    with pytest.raises(ValueError, match="mode must be one of"):
        vs121.set_reset_schedule("replace", 1, {"mon"}, 0)


def test_encode_refuses_regions_beyond_the_bitmap() -> None:
    with pytest.raises(ValueError, match="not a 16-bit occupancy bitmap"):
        vs121.encode_uplink(
            {"people_count_all": 1, "region_count": 17, **{f"region_{k}": 1 for k in range(1, 18)}}
        )


def test_truncated_bitmap() -> None:
    with pytest.raises(
        DecodeError,
        match=r"truncated frame: region bitmap needs 2 byte\(s\) at byte 4, frame has 5",
    ):
        vs121.decode(85, bytes.fromhex("04c9030800"))


def test_common_attribute_ids_are_unknown_on_this_device() -> None:
    with pytest.raises(DecodeError, match=r"^unknown channel 0xff 0x0a at byte 3$") as exc:
        vs121.decode(85, bytes.fromhex("ff0101ff0a0110"))
    assert exc.value.partial == {"protocol_version": 1}
