"""Terabee People Flow Counting L/XL: round trips, command responses, errors, downlinks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import terabee_people_flow_counting_l_xl as tb
from decoders.codec import Downlink, Reading

FLAGS = ("TPC_STOPPED", "TPC_STUCK", "MULTI_DEV_ISSUE", "WIFI_AP_ENABLED")
U32 = st.integers(0, 2**32 - 1)
U16 = st.integers(0, 2**16 - 1)

counting_frames = st.fixed_dictionaries(
    {
        "count_in": U32,
        "count_out": U32,
        "flags": st.sets(st.sampled_from(FLAGS)).map(lambda names: dict.fromkeys(names, 1)),
    }
)


def response(
    name: str, cmd_id: int, value: st.SearchStrategy[dict[str, Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    return value.map(lambda v: {"cmd": {"name": name, "id": cmd_id, "success": True, "value": v}})


versions = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
responses = st.one_of(
    response("CMD_CNT_GET", 2, st.fixed_dictionaries({"count_in": U32, "count_out": U32})),
    response(
        "CMD_GET_VER_FAN_SERVICE",
        6,
        versions.map(lambda v: {"software_version": ".".join(map(str, v))}),
    ),
    response(
        "CMD_GET_AP_STATE", 1, st.sampled_from(["enabled", "disabled"]).map(lambda s: {"state": s})
    ),
    response("CMD_GET_HEIGHT", 1, U16.map(lambda h: {"mounting_height": h})),
    response(
        "CMD_GET_REVERSE",
        2,
        st.sampled_from(["reversed", "normal"]).map(lambda d: {"direction": d}),
    ),
    response("CMD_GET_PUSH_PERIOD", 3, U16.map(lambda p: {"push_period_min": p})),
)
ACKNOWLEDGED = {"CMD_CNT_RST": 1, "CMD_CNT_SET": 130, "CMD_SET_HEIGHT": 129, "CMD_SET_AREA_PTS": 0}
acknowledgements = st.builds(
    lambda item, success: {"cmd": {"name": item[0], "id": item[1], "success": success}},
    st.sampled_from(sorted(ACKNOWLEDGED.items())),
    st.booleans(),
)
points = st.lists(
    st.fixed_dictionaries({"x": st.integers(0, 127), "y": st.integers(0, 63)}), max_size=255
)
areas = points.map(
    lambda p: {
        "cmd": {
            "name": "CMD_GET_AREA_PTS",
            "id": None,
            "success": True,
            "value": {"nb_of_points": len(p), "points": p},
        }
    }
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(counting_frames, responses, acknowledgements, areas))
def test_decode_inverts_encode_uplink(data: dict[str, Any]) -> None:
    assert tb.decode(*tb.encode_uplink(data)) == data


def test_counting_frame_layout() -> None:
    data = {"count_in": 200, "count_out": 456, "flags": {"TPC_STUCK": 1, "WIFI_AP_ENABLED": 1}}

    assert tb.encode_uplink(data) == (1, bytes.fromhex("000000c8000001c80a"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"count_in": -1, "count_out": 0, "flags": {}}, "count_in must be 0..4294967295, got -1"),
        ({"count_in": 1, "count_out": 0, "flags": {"TPC_STUCK": 2}}, "not an uplink"),
        (
            {
                "cmd": {
                    "name": "CMD_GET_VER_WEB_GUI",
                    "id": 2,
                    "success": True,
                    "value": {"software_version": "01.2.3"},
                }
            },
            "not an uplink",
        ),
        (
            {
                "cmd": {
                    "name": "CMD_GET_HEIGHT",
                    "id": 9,
                    "success": True,
                    "value": {"mounting_height": 1},
                }
            },
            "not an uplink",
        ),
        (
            {"cmd": {"name": "CMD_CNT_RST", "id": 1, "success": True, "value": {}}},
            "CMD_CNT_RST responses carry no value",
        ),
    ],
)
def test_encode_uplink_rejects_what_the_device_cannot_send(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        tb.encode_uplink(data)


def test_vendor_push_period_and_area_examples() -> None:
    assert tb.decode(100, bytes([3, 0, 60])) == {
        "cmd": {
            "name": "CMD_GET_PUSH_PERIOD",
            "id": 3,
            "success": True,
            "value": {"push_period_min": 60},
        }
    }
    assert tb.decode(101, bytes([2, 0, 0, 0, 0]))["cmd"] == {
        "name": "CMD_GET_AREA_PTS",
        "id": None,
        "success": True,
        "value": {"nb_of_points": 2, "points": [{"x": 0, "y": 0}, {"x": 0, "y": 0}]},
    }


def test_area_points_are_msb_first_after_left_padding() -> None:
    # 6 padding bits, then x=80 (1010000) y=60 (111100), then x=1 y=2
    payload = bytes([2]) + int("000000" + "1010000111100" + "0000001000010", 2).to_bytes(4, "big")

    assert tb.decode(101, payload)["cmd"]["value"]["points"] == [
        {"x": 80, "y": 60},
        {"x": 1, "y": 2},
    ]


def test_acknowledgement_reports_failure_with_status_ff() -> None:
    assert tb.decode(2, bytes.fromhex("ff01ff")) == {
        "cmd": {"name": "CMD_CNT_RST", "id": 1, "success": False}
    }
    assert tb.decode(2, bytes.fromhex("ff01")) == {
        "cmd": {"name": "CMD_CNT_RST", "id": 1, "success": True}
    }


def test_state_is_enabled_only_for_a_single_01_byte() -> None:
    def state(payload: str) -> str:
        value: str = tb.decode(5, bytes.fromhex(payload))["cmd"]["value"]["state"]
        return value

    assert [state("0101"), state("0100"), state("010100"), state("01")] == [
        "enabled",
        "disabled",
        "disabled",
        "disabled",
    ]


def test_flags_keep_only_the_four_known_bits() -> None:
    # f5 = 1111 0101: bits 0 TPC_STOPPED and 2 MULTI_DEV_ISSUE; bits 4-7 name nothing;
    # bytes after the ninth are not read
    assert tb.decode(1, bytes.fromhex("00000001 00000002 f5 ee")) == {
        "count_in": 1,
        "count_out": 2,
        "flags": {"TPC_STOPPED": 1, "MULTI_DEV_ISSUE": 1},
    }


def test_direction_is_reversed_only_for_a_single_01_byte() -> None:
    def direction(payload: str) -> str:
        value: str = tb.decode(100, bytes.fromhex(payload))["cmd"]["value"]["direction"]
        return value

    assert [direction("0201"), direction("0200"), direction("020101")] == [
        "reversed",
        "normal",
        "normal",
    ]


@pytest.mark.parametrize(
    ("f_port", "payload", "name", "cmd_id", "success"),
    [
        (2, "ff8200", "CMD_CNT_SET", 130, True),
        (3, "ff0100", "CMD_DEV_RBT", 1, True),
        (3, "ff02ff", "CMD_TPC_RST", 2, False),
        (5, "ff81ff", "CMD_SET_AP_STATE", 129, False),
        (6, "ff0100", "CMD_FORCE_REJOIN", 1, True),
        (7, "ff0100", "CMD_FORCE_TIME_SYNC", 1, True),
        (100, "ff8100", "CMD_SET_HEIGHT", 129, True),
        (100, "ff8200", "CMD_SET_REVERSE", 130, True),
        (100, "ff8300", "CMD_SET_PUSH_PERIOD", 131, True),
        (102, "ff0000", "CMD_SET_AREA_PTS", 0, True),
    ],
)
def test_acknowledgements_of_every_group(
    f_port: int, payload: str, name: str, cmd_id: int, success: bool
) -> None:
    # FF <id> <status>: no value; status FF is a failure
    assert tb.decode(f_port, bytes.fromhex(payload)) == {
        "cmd": {"name": name, "id": cmd_id, "success": success}
    }


@pytest.mark.parametrize(
    ("cmd_id", "name"),
    [
        (1, "CMD_GET_VER_PEOPLE_COUNTING"),
        (2, "CMD_GET_VER_WEB_GUI"),
        (3, "CMD_GET_VER_LORA_AGENT"),
        (4, "CMD_GET_VER_ACCESS_POINT"),
        (5, "CMD_GET_VER_UPDATER_WEB_GUI"),
        (6, "CMD_GET_VER_FAN_SERVICE"),
    ],
)
def test_software_versions(cmd_id: int, name: str) -> None:
    # fPort 4: three bytes in decimal joined by "."
    assert tb.decode(4, bytes([cmd_id, 10, 255, 0])) == {
        "cmd": {
            "name": name,
            "id": cmd_id,
            "success": True,
            "value": {"software_version": "10.255.0"},
        }
    }


def test_area_with_no_point_and_with_one_point() -> None:
    assert tb.decode(101, bytes.fromhex("00"))["cmd"]["value"] == {"nb_of_points": 0, "points": []}
    # one point is 13 bits in 2 bytes: 3 padding bits, then x 1111111 = 127, y 111111 = 63
    assert tb.decode(101, bytes.fromhex("01 1fff"))["cmd"]["value"] == {
        "nb_of_points": 1,
        "points": [{"x": 127, "y": 63}],
    }


def test_command_id_of_another_group_is_unknown() -> None:
    # fPort 5 has no id 2, also in an acknowledgement
    assert decoders.decode(tb.MODEL, 5, bytes.fromhex("ff0200")).errors == ["unknown command"]
    assert decoders.decode(tb.MODEL, 5, bytes.fromhex("ff0200")).data == {}


def test_counting_frame_normalizes_to_cumulative_totals() -> None:
    result = decoders.decode(tb.MODEL, 1, bytes.fromhex("000000c8000001c800"))

    assert result.readings == [
        Reading("people_in_total", 200.0),
        Reading("people_out_total", 456.0),
    ]


def test_command_responses_give_no_readings() -> None:
    assert tb.normalize(tb.decode(2, bytes.fromhex("020000000500000003"))) == []


def test_batch_fast_path_matches_per_payload() -> None:
    payloads = [
        tb.encode_uplink({"count_in": i * 7919, "count_out": i, "flags": {}})[1] for i in range(50)
    ]

    result = decoders.decode_batch(tb.MODEL, [1] * 50, payloads)

    assert result.readings.quantity.tolist() == ["people_in_total"] * 50 + ["people_out_total"] * 50
    np.testing.assert_array_equal(result.readings.value[:50], np.arange(50) * 7919.0)


@pytest.mark.parametrize(
    ("f_port", "payload", "error"),
    [
        (1, "000000c80000", "truncated frame: count_out needs 4 byte(s) at byte 4, frame has 6"),
        (1, "000000c8000001c8", "truncated frame: flags needs 1 byte(s) at byte 8, frame has 8"),
        (100, "01 05", "truncated frame: mounting_height needs 2 byte(s) at byte 1, frame has 2"),
        (4, "03 0200", "truncated frame: software_version needs 1 byte(s) at byte 3, frame has 3"),
        (8, "01", "unknown command"),
        (2, "09", "unknown command"),
        (2, "", "unknown command"),
        (2, "ff", "unknown command"),
        (101, "0200", "Couldn't decode area payload: Inconsistent number of points"),
        (101, "", "Couldn't decode area payload: Inconsistent number of points"),
    ],
)
def test_errors_say_what_and_where(f_port: int, payload: str, error: str) -> None:
    assert decoders.decode(tb.MODEL, f_port, bytes.fromhex(payload)).errors == [error]


def test_response_of_a_command_without_value_is_an_error_naming_it() -> None:
    (error,) = decoders.decode(tb.MODEL, 2, b"\x01").errors

    assert error.startswith("CMD_CNT_RST response at byte 0 has no value")


@pytest.mark.parametrize(
    ("downlink", "expected"),
    [
        (tb.reset_counters(), Downlink(2, b"\x01")),
        (tb.set_counters(200, 456), Downlink(2, bytes.fromhex("82000000c8000001c8"))),
        (tb.reboot(), Downlink(3, b"\x01")),
        (tb.force_rejoin(), Downlink(6, b"\x01")),
        (tb.set_access_point(True), Downlink(5, bytes.fromhex("8101"))),
        (tb.set_access_point(False), Downlink(5, bytes.fromhex("8100"))),
        (tb.get_mounting_height(), Downlink(100, b"\x01")),
        (tb.set_mounting_height(1500), Downlink(100, bytes.fromhex("8105dc"))),
        (tb.set_direction(True), Downlink(100, bytes.fromhex("8201"))),
        (tb.get_push_period(), Downlink(100, b"\x03")),
        (tb.set_push_period(60), Downlink(100, bytes.fromhex("83003c"))),
        (tb.command("CMD_GET_VER_LORA_AGENT"), Downlink(4, b"\x03")),
        (tb.command("CMD_FORCE_TIME_SYNC"), Downlink(7, b"\x01")),
    ],
)
def test_downlinks(downlink: Downlink, expected: Downlink) -> None:
    assert downlink == expected


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: tb.set_mounting_height(0), "mounting_height_mm"),
        (lambda: tb.set_mounting_height(70_000), "mounting_height_mm"),
        (lambda: tb.set_push_period(0), "push_period_min"),
        (lambda: tb.set_counters(2**32, 0), "count_in"),
        (lambda: tb.command("CMD_GET_AREA_PTS"), "name"),
    ],
)
def test_downlink_arguments_are_validated(call: Any, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        call()
