"""ChirpStack v4 events of every kind and minor, JSON and protobuf, and what is malformed."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest import KINDS, EventError, parse_event
from simulators.envelope import Gateway, Reception, SimDevice, Uplink, uplink_json, uplink_protobuf

FIXTURES = Path(__file__).parent.parent / "fixtures" / "chirpstack"
TOPIC = "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/{}"


def fixture(kind: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (FIXTURES / f"chirpstack-docs_events-md_{kind}.json").read_text()
    )
    return doc


def parse(kind: str, doc: dict[str, Any]) -> Any:
    return parse_event(TOPIC.format(kind), json.dumps(doc).encode())


@pytest.mark.parametrize(
    "kind", ["up", "status", "join", "ack", "txack", "log", "location", "integration"]
)
def test_every_documented_event_parses(kind: str) -> None:
    event = parse(kind, fixture(kind))

    assert event.kind == kind
    assert event.dev_eui == fixture(kind)["deviceInfo"]["devEui"]
    assert event.time.tzinfo is not None
    assert event.tenant_id == "52f14cd4-c6f1-4fbd-8f87-4025e1d49242"
    assert event.application_id == "17c82e96-be03-4f38-aef3-f83d48582d97"
    assert event.device_profile_name == "Test device-profile"


def test_uplink_fields() -> None:
    event = parse("up", fixture("up"))

    assert event.deduplication_id == "3ac7e3c4-4401-4b8d-9386-a5c902f9202d"
    assert event.time == datetime(2022, 7, 18, 9, 34, 15, 775023, tzinfo=UTC)  # 9 digits, truncated
    assert (event.f_port, event.payload, event.f_cnt) == (1, b"\xaa", 0)  # fCnt absent before 4.1
    assert (event.rssi, event.snr, event.gateway_count) == (-36, 10.5, 1)
    assert event.tags == {"key": "value"}
    assert event.object is None


def test_best_gateway_gives_rssi_and_snr() -> None:
    doc = fixture("up")
    doc["rxInfo"] = [{"gatewayId": "a", "rssi": -110, "snr": -3.0}, {"gatewayId": "b", "rssi": -70}]

    event = parse("up", doc)

    assert (event.rssi, event.snr, event.gateway_count) == (-70, 0.0, 2)  # snr 0 is absent


def test_other_kinds_keep_their_fields() -> None:
    assert parse("status", fixture("status")).body["batteryLevel"] == 88.3
    assert (
        parse("ack", fixture("ack")).body["queueItemId"] == "1bbcab1d-6ec6-4136-b3f5-d63be1dc08de"
    )
    txack = parse("txack", fixture("txack"))
    assert txack.deduplication_id is None
    assert txack.event_key == "42cb6459-a640-46ec-9623-bdff39dc4736:3461958127"
    log = parse("log", fixture("log"))
    assert log.body["context"]["deduplication_id"] == "4e91db13-5ce3-4c8c-ab0f-dfc626cf0771"
    assert parse("location", fixture("location")).body["latitude"] == 37.344214


def test_one_uplink_and_its_status_share_the_id_but_not_the_key_space() -> None:
    up = parse("up", fixture("up"))
    status = fixture("status")
    status["deduplicationId"] = up.deduplication_id

    assert parse("status", status).event_key == up.event_key
    assert parse("status", status).kind != up.kind  # stored apart: (kind, key)


def test_pre_4_6_rx_time_and_post_4_11_region_and_unknown_fields() -> None:
    doc = fixture("up")
    doc["rxInfo"][0]["time"] = "2022-07-18T09:34:15.775Z"
    doc["regionConfigId"] = "eu868"
    doc["someFutureField"] = {"x": 1}
    doc["time"] = "2026-01-02T03:04:05+00:00"

    event = parse("up", doc)

    assert event.region_config_id == "eu868"
    assert event.time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_time_falls_back_to_the_gateway_receive_time() -> None:
    doc = fixture("up")
    del doc["time"]
    doc["rxInfo"][0]["nsTime"] = "2022-07-18T09:34:16.5+00:00"

    assert parse("up", doc).time == datetime(2022, 7, 18, 9, 34, 16, 500000, tzinfo=UTC)


def test_url_safe_and_unpadded_base64_is_accepted() -> None:
    doc = fixture("up")
    doc["data"] = base64.urlsafe_b64encode(b"\xfb\xff\xfe").decode().rstrip("=")

    assert parse("up", doc).payload == b"\xfb\xff\xfe"


@pytest.mark.parametrize(
    "written",
    [
        "3AC7E3C4-4401-4B8D-9386-A5C902F9202D",
        "{3ac7e3c4-4401-4b8d-9386-a5c902f9202d}",
        "urn:uuid:3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
        "3ac7e3c444014b8d9386a5c902f9202d",
    ],
)
def test_deduplication_ids_in_other_spellings_are_written_canonically(written: str) -> None:
    doc = fixture("up")
    doc["deduplicationId"] = written

    event = parse("up", doc)

    assert event.deduplication_id == "3ac7e3c4-4401-4b8d-9386-a5c902f9202d"
    assert event.event_key == event.deduplication_id


def test_leading_whitespace_before_the_json_is_accepted() -> None:
    payload = b"\n  " + json.dumps(fixture("up")).encode()

    assert parse_event(TOPIC.format("up"), payload).f_port == 1


@pytest.mark.parametrize(
    ("device_info", "message"),
    [
        ({"tenantName": 7}, "deviceInfo.tenantName: expected a string, got 7"),
        ({"deviceName": None}, "deviceInfo.deviceName: expected a string, got nothing"),
        ({"tags": {"model": 1}}, "deviceInfo.tags: expected an object of strings"),
    ],
)
def test_device_info_fields_of_the_wrong_type_are_named(
    device_info: dict[str, Any], message: str
) -> None:
    doc = fixture("up")
    doc["deviceInfo"].update(device_info)

    with pytest.raises(EventError, match=message):
        parse("up", doc)


def test_the_best_gateway_is_the_first_of_equals_and_a_missing_snr_reads_zero() -> None:
    doc = fixture("up")
    doc["rxInfo"] = [
        {"gatewayId": "a", "rssi": -90},
        {"gatewayId": "b", "rssi": -90},
        {"gatewayId": "c", "rssi": -120, "snr": 9.0},
    ]

    event = parse("up", doc)

    assert (event.rssi, event.snr, event.gateway_count) == (-90, 0.0, 3)
    assert event.radio["rxInfo"][0] == {"gatewayId": "a", "rssi": -90}


@pytest.mark.parametrize(
    ("rx_info", "message"),
    [
        ([{"rssi": -90}, "gateway"], "rxInfo: expected a list of objects"),
        ([{"rssi": "loud"}], r"rxInfo\[\].rssi: expected a number"),
        ([{"rssi": -90, "snr": True}], r"rxInfo\[\].snr: expected a number"),
    ],
)
def test_malformed_gateway_receptions_are_named(rx_info: list[Any], message: str) -> None:
    doc = fixture("up")
    doc["rxInfo"] = rx_info

    with pytest.raises(EventError, match=message):
        parse("up", doc)


def sim_uplink() -> Uplink:
    device = SimDevice(
        "0004a30b001c0530",
        "milesight-ws558",
        "lamp",
        "01020304",
        "00000000-0000-0000-0000-000000000001",
        "WS558",
    )
    return Uplink(
        device,
        "5b3c9f1e-8e2c-4a57-9f0a-1c2d3e4f5a6b",
        datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC),
        42,
        85,
        bytes.fromhex("0374b208"),
        (
            Reception(Gateway("0016c001f153a14c", 45.7, 4.8), 7, -80, 5.5),
            Reception(Gateway("0016c001f153a14d", 45.7, 4.8), 8, -95, -2.0),
        ),
    )


def test_protobuf_and_json_of_one_uplink_parse_alike() -> None:
    up = sim_uplink()
    topic = TOPIC.format("up")

    from_json = parse_event(topic, uplink_json(up))
    from_protobuf = parse_event(topic, uplink_protobuf(up))

    for field in (
        "dev_eui",
        "time",
        "deduplication_id",
        "f_cnt",
        "f_port",
        "payload",
        "rssi",
        "snr",
        "gateway_count",
        "tags",
        "region_config_id",
    ):
        assert getattr(from_json, field) == getattr(from_protobuf, field), field
    assert from_json.payload == bytes.fromhex("0374b208")
    assert (from_json.rssi, from_json.snr) == (-80, 5.5)


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        ("up", b"{not json", "invalid JSON"),
        ("up", b"[1, 2]", "must be a JSON object"),
        ("up", b"", "empty payload"),
        ("up", b"   ", "empty payload"),
        ("up", bytes.fromhex("0a2466"), "invalid protobuf"),
        ("teleport", b"{}", "unknown event kind 'teleport'"),
        (
            "up",
            json.dumps({**fixture("up"), "fPort": "eighty"}).encode(),
            "fPort: expected an integer",
        ),
        ("up", json.dumps({**fixture("up"), "data": "!!!"}).encode(), "data: invalid base64"),
        (
            "up",
            json.dumps({**fixture("up"), "deviceInfo": None}).encode(),
            "deviceInfo: expected an object",
        ),
        (
            "up",
            json.dumps({**fixture("up"), "deduplicationId": "nope"}).encode(),
            "deduplicationId: expected a UUID",
        ),
        (
            "up",
            json.dumps({**fixture("up"), "time": "yesterday"}).encode(),
            "time: not an RFC 3339 timestamp",
        ),
        (
            "up",
            json.dumps({**fixture("up"), "rxInfo": {"a": 1}}).encode(),
            "rxInfo: expected a list",
        ),
        (
            "status",
            json.dumps({**fixture("status"), "margin": 1.5}).encode(),
            "margin: expected an integer",
        ),
    ],
)
def test_malformed_events_raise_one_error_type_naming_the_problem(
    kind: str, payload: bytes, message: str
) -> None:
    with pytest.raises(EventError, match=message):
        parse_event(TOPIC.format(kind), payload)


def test_bad_dev_eui_is_refused() -> None:
    doc = fixture("up")
    doc["deviceInfo"]["devEui"] = "0101"

    with pytest.raises(EventError, match="devEui: expected 16 hex digits"):
        parse("up", doc)


def test_the_integration_kind_is_json_only() -> None:
    assert "integration" in KINDS
    with pytest.raises(EventError, match="only as JSON"):
        parse_event(TOPIC.format("integration"), b"\x0a\x01a")
