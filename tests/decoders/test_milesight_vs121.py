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
    ],
)
def test_downlinks(downlink: Downlink, hex_payload: str) -> None:
    assert downlink == Downlink(85, bytes.fromhex(hex_payload))


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
