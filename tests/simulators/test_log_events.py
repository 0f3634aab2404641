"""The `log` events ChirpStack publishes for the simulated faults: a frame its frame-counter
check drops (an fCnt reset, a retransmission) gives a log and no `up`, in its JSON or
protobuf, the same for a scenario and seed."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from functools import cache
from itertools import pairwise
from pathlib import Path

import orjson

from ingest import parse_event
from simulators.chirpstack import rfc3339_ns
from simulators.engine import Engine
from simulators.faults import SimEvent
from simulators.run import scenario_events
from simulators.scenario import Scenario, parse_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "chirpstack"
RESET = "Frame-counter reset or rollover detected"
RETRANSMISSION = "Uplink was flagged as re-transmission / frame-counter did not increment"
SCENARIO = """\
name: resets
city: {{name: T, latitude: 45.0, longitude: 4.0, timezone: Europe/Paris}}
start: 2026-06-20T00:00:00+00:00
zones:
  - {{name: a, kind: centre, box: [45.0, 4.0, 45.01, 4.01]}}
gateways:
  - {{name: g, latitude: 45.005, longitude: 4.005}}
fleets:
  - {{class: waste_bin, model: milesight-em310-udl, count: 20, interval_s: 600}}
  - {{class: waste_bin, model: milesight-em400-mud, count: 20, interval_s: 600,
     skip_fcnt_check: true}}
faults:
  fcnt_reset: {{per_device_per_day: 6, rejoin_after_uplinks: {rejoin}}}
  retransmission: 0.05
"""


@cache
def scenario(rejoin: int = 3) -> Scenario:
    return parse_scenario(SCENARIO.format(rejoin=rejoin), "resets.yaml")


@cache
def day(fmt: str = "json", seed: int = 4, rejoin: int = 3) -> tuple[SimEvent, ...]:
    s = scenario(rejoin)
    assert s.start is not None
    return tuple(scenario_events(s, seed, s.start, 12 * 3600, fmt))


def by_device(events: tuple[SimEvent, ...]) -> dict[str, list[SimEvent]]:
    devices: dict[str, list[SimEvent]] = {}
    for event in events:
        devices.setdefault(event.topic.split("/")[3], []).append(event)
    return devices


def test_an_fcnt_reset_gives_the_log_chirpstack_publishes() -> None:
    resets = [e for e in day() if e.fault == "fcnt_reset"]
    assert len(resets) >= 20

    for event in resets:
        parsed = parse_event(event.topic, event.payload)
        assert (parsed.kind, event.kind, event.model) == ("log", "log", "milesight-em310-udl")
        assert event.topic.endswith(f"/device/{parsed.dev_eui}/event/log")
        assert parsed.body["level"] == "WARNING"
        # a counter restarted at 0 is a retransmission to ChirpStack when it expected 1
        logged = (parsed.body["code"], parsed.body["description"])
        assert logged in {
            ("UPLINK_F_CNT_RESET", RESET),
            ("UPLINK_F_CNT_RETRANSMISSION", RETRANSMISSION),
        }
        assert parsed.body["context"] == {"deduplication_id": event.dedup_id}
        assert str(uuid.UUID(event.dedup_id)) == event.dedup_id
        assert orjson.loads(event.payload)["time"] == rfc3339_ns(event.at_ns)
    codes = Counter(parse_event(e.topic, e.payload).body["code"] for e in resets)
    assert codes["UPLINK_F_CNT_RESET"] > codes["UPLINK_F_CNT_RETRANSMISSION"]


def test_chirpstack_publishes_no_up_whose_counter_went_back_in_its_session() -> None:
    checked = tuple(e for e in day() if e.model == "milesight-em310-udl")
    joins = 0
    for events in by_device(checked).values():
        expected = None  # ChirpStack's next fCnt in the device's session
        for event in events:
            if event.kind == "join":
                expected, joins = 0, joins + 1
            elif event.kind == "up" and event.fault != "retransmission":
                f_cnt = parse_event(event.topic, event.payload).f_cnt
                assert f_cnt is not None
                assert expected is None or f_cnt >= expected
                expected = f_cnt + 1
    assert joins >= 10  # the devices that reset their counter rejoined


def test_a_reset_device_rejoins_once_three_uplinks_went_unanswered() -> None:
    for events in by_device(day()).values():
        dropped = 0  # since the device was last taken
        for event in events:
            if event.fault == "fcnt_reset":
                dropped += 1
                assert dropped <= 3  # rejoin_after_uplinks
            elif event.kind in ("join", "up") and event.fault != "retransmission":
                dropped = 0


def test_retransmissions_are_logged_unless_the_device_skips_the_check() -> None:
    again = [e for e in day() if e.fault == "retransmission"]
    checked = [e for e in again if e.model == "milesight-em310-udl"]
    skipped = [e for e in again if e.model == "milesight-em400-mud"]
    assert checked
    assert skipped

    for event in checked:
        parsed = parse_event(event.topic, event.payload)
        assert (parsed.kind, parsed.body["level"], parsed.body["code"]) == (
            "log", "WARNING", "UPLINK_F_CNT_RETRANSMISSION")  # fmt: skip
        assert parsed.body["description"] == RETRANSMISSION
        assert parsed.body["context"] == {"deduplication_id": event.dedup_id}
    first = [e for e in day() if e.kind == "up" and not e.fault]
    ups = {(e.topic, parse_event(e.topic, e.payload).f_cnt) for e in first}
    for event in skipped:
        parsed = parse_event(event.topic, event.payload)
        assert parsed.kind == "up"
        assert (event.topic, parsed.f_cnt) in ups  # the same frame counter again


def test_a_device_that_skips_the_check_goes_on_with_its_restarted_counter() -> None:
    skipping = [e for e in day() if e.model == "milesight-em400-mud"]
    assert not [e for e in skipping if e.kind == "log"]
    restarted = 0
    for events in by_device(tuple(skipping)).values():
        ups = [e for e in events if e.kind == "up" and not e.fault]
        counters = [parse_event(e.topic, e.payload).f_cnt for e in ups]
        restarted += sum(b == 0 and a > 0 for a, b in pairwise(counters))
    joins = sum(e.kind == "join" for e in skipping)
    assert restarted > joins


def test_rejoining_as_it_boots_gives_a_join_and_no_log() -> None:
    events = day(rejoin=0)
    assert not [e for e in events if e.fault == "fcnt_reset"]
    assert sum(e.kind == "join" for e in events) > sum(e.kind == "join" for e in day()) // 2


def test_log_events_are_written_like_chirpstack_writes_them() -> None:
    event = next(e for e in day() if e.kind == "log")
    doc = orjson.loads(event.payload)
    fixture = json.loads((FIXTURES / "chirpstack-docs_events-md_log.json").read_text())

    assert list(doc) == list(fixture) == ["time", "deviceInfo", "level", "code", "description",
                                          "context"]  # fmt: skip
    assert doc["time"].endswith("+00:00")
    assert "deduplicationId" not in doc
    assert b'"level":"WARNING","code":"UPLINK_F_CNT_' in event.payload


def test_the_same_scenario_and_seed_give_the_same_logs_in_json_and_protobuf() -> None:
    s = scenario()
    assert s.start is not None
    again = tuple(scenario_events(s, 4, s.start, 12 * 3600))
    assert [(e.topic, e.payload) for e in again] == [(e.topic, e.payload) for e in day()]
    as_json = [e for e in day() if e.kind == "log"]
    as_protobuf = [e for e in day("protobuf") if e.kind == "log"]
    assert len(as_json) == len(as_protobuf)
    for j, p in zip(as_json, as_protobuf, strict=True):
        a, b = parse_event(j.topic, j.payload), parse_event(p.topic, p.payload)
        assert not p.payload.startswith(b"{")
        assert (a.kind, a.dev_eui, a.time, a.body) == (b.kind, b.dev_eui, b.time, b.body)


def test_the_engine_alone_logs_them_too() -> None:
    s = scenario()
    assert s.start is not None
    logs = [e for e in Engine(s, 4, s.start).events(12 * 3600) if e.kind == "log"]
    assert logs == [e for e in day() if e.kind == "log"]
