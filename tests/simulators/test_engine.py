"""The simulated city's events: deterministic, decodable, in ChirpStack's own envelopes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from itertools import islice, pairwise
from pathlib import Path

import orjson

import decoders
from ingest import parse_event
from simulators.engine import Engine
from simulators.faults import SimEvent
from simulators.run import scenario_events
from simulators.scenario import Scenario, load_scenario

SMALL_TOWN = Path(__file__).resolve().parents[2] / "scenarios" / "small-town.yaml"
# the small town's first two hours, seed 7, as JSON: what it publishes changes only on purpose
PINNED_JSON_SHA256 = "c545369dcf285633889763d8c4c9d03c6acd1639c5b7a8c4d18820233bc82f1a"


@cache
def town() -> Scenario:
    return load_scenario(SMALL_TOWN)


@cache
def six_hours(seed: int = 7) -> list[SimEvent]:
    scenario = town()
    assert scenario.start is not None
    return list(scenario_events(scenario, seed, scenario.start, 6 * 3600))


def test_the_same_scenario_and_seed_give_the_same_bytes() -> None:
    scenario = town()
    assert scenario.start is not None
    again = list(scenario_events(scenario, 7, scenario.start, 6 * 3600))
    other = list(islice(scenario_events(scenario, 8, scenario.start, 6 * 3600), 500))

    assert [(e.topic, e.payload) for e in again] == [(e.topic, e.payload) for e in six_hours()]
    assert [e.payload for e in other] != [e.payload for e in six_hours()[:500]]


def digest(fmt: str) -> str:
    scenario = town()
    assert scenario.start is not None
    h = hashlib.sha256()
    for event in scenario_events(scenario, 7, scenario.start, 2 * 3600, fmt):
        h.update(event.topic.encode() + b"\0" + event.payload + b"\0")
    return h.hexdigest()


def test_the_published_bytes_change_only_on_purpose() -> None:
    assert digest("json") == PINNED_JSON_SHA256, "update the pinned digest and say why"


def test_protobuf_events_are_the_same_bytes_in_another_process() -> None:
    code = "from tests.simulators.test_engine import digest; print(digest('protobuf'))"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert other == digest("protobuf")


def test_every_payload_decodes_back_to_what_the_simulator_intended() -> None:
    checked: Counter[str] = Counter()
    for event in six_hours():
        if event.kind != "up" or event.intended is None:
            continue
        parsed = parse_event(event.topic, event.payload)
        module = decoders.device_module(event.model)
        assert module is not None
        assert parsed.payload is not None
        assert module.decode(parsed.f_port or 0, parsed.payload) == event.intended, event.model
        assert decoders.decode(event.model, parsed.f_port or 0, parsed.payload).errors == []
        checked[event.model] += 1
    assert set(checked) == {f.model for f in town().fleets}


def test_the_events_are_up_status_and_join_with_several_gateways_and_counting_fcnt() -> None:
    kinds = Counter(e.kind for e in six_hours())
    assert kinds["up"] > 2000
    assert kinds["status"] > 100
    assert kinds["join"] >= 1
    ups = [parse_event(e.topic, e.payload) for e in six_hours() if e.kind == "up" and not e.fault]
    assert max(u.gateway_count for u in ups) >= 2
    by_device: dict[str, list[int]] = {}
    for u in sorted(ups, key=lambda u: u.time):
        by_device.setdefault(u.dev_eui, []).append(u.f_cnt or 0)
    increasing = sum(all(b > a or b == 0 for a, b in pairwise(f)) for f in by_device.values())
    assert increasing == len(by_device)


def test_envelopes_are_written_like_chirpstack_writes_them() -> None:
    up = next(e for e in six_hours() if e.kind == "up")
    status = next(e for e in six_hours() if e.kind == "status")
    doc = orjson.loads(up.payload)

    assert list(doc) == ["deduplicationId", "time", "deviceInfo", "devAddr", "adr", "dr", "fCnt",
                         "fPort", "confirmed", "data", "rxInfo", "txInfo", "regionConfigId"]  # fmt: skip
    assert doc["time"].endswith("+00:00")
    assert "Z" not in doc["time"]
    assert all("channel" not in rx or rx["channel"] != 0 for rx in doc["rxInfo"])
    assert b'"snr":' in up.payload
    assert b'"crcStatus":"CRC_OK"' in up.payload
    assert list(orjson.loads(status.payload)) == ["deduplicationId", "time", "deviceInfo", "margin",
        "externalPowerSource", "batteryLevelUnavailable", "batteryLevel"]  # fmt: skip
    assert status.dedup_id in {e.dedup_id for e in six_hours() if e.kind == "up"}
    mains = next(e for e in six_hours() if e.kind == "status" and e.device_class == "streetlight")
    assert (
        b'"externalPowerSource":true,"batteryLevelUnavailable":false,"batteryLevel":0.0}'
        in mains.payload
    )


def test_protobuf_carries_the_same_events_as_json() -> None:
    scenario = town()
    start = datetime(2026, 6, 20, 12, tzinfo=UTC)
    as_json = list(islice(Engine(scenario, 3, start, "json").events(3600), 300))
    as_protobuf = list(islice(Engine(scenario, 3, start, "protobuf").events(3600), 300))
    for j, p in zip(as_json, as_protobuf, strict=True):
        a, b = parse_event(j.topic, j.payload), parse_event(p.topic, p.payload)
        assert (a.kind, a.deduplication_id, a.time, a.payload, a.f_cnt) == (
            b.kind, b.deduplication_id, b.time, b.payload, b.f_cnt)  # fmt: skip


def test_faults_happen_as_asked() -> None:
    faults = Counter(e.fault for e in six_hours())
    assert faults["corrupt"] >= 1
    assert faults["duplicate"] >= 1
    assert faults["out_of_order"] >= 1
    published = [e.at_ns for e in six_hours()]
    assert published != sorted(published)  # out-of-order and late events
    duplicate = next(e for e in six_hours() if e.fault == "duplicate")
    assert [e.payload for e in six_hours()].count(duplicate.payload) >= 2


def test_silent_devices_send_nothing_during_their_silence() -> None:
    engine = Engine(town(), 7, town().start or datetime.now(UTC))
    assert engine.silent
    quiet = {engine.devices[i].topic_up: w for i, w in engine.silent.items()}
    for event in engine.events(8 * 3600):
        window = quiet.get(event.topic)
        assert window is None or not window[0] <= event.at_ns - 10**9 < window[1]


def test_nobody_hears_the_gateway_during_its_outage() -> None:
    engine = Engine(town(), 7, town().start or datetime.now(UTC))
    gateway = engine.stations[2].gateway_id.encode()
    start_ns, end_ns = engine.outages[2][0]
    during = [
        e
        for e in engine.events(11 * 3600)
        if e.kind == "up" and start_ns + 10**9 < e.at_ns < end_ns
    ]
    assert during
    assert not any(gateway in e.payload for e in during)
