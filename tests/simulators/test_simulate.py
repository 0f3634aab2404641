"""The first simulator: deterministic, decodable, in ChirpStack's own envelope."""

from __future__ import annotations

from datetime import UTC, datetime

import decoders
from ingest import parse_event
from simulators.envelope import rfc3339
from simulators.simulate import messages

START = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_same_seed_gives_the_same_bytes_and_another_seed_others() -> None:
    first = list(messages(20, 200, 42, START))
    again = list(messages(20, 200, 42, START))
    other = list(messages(20, 200, 43, START))

    assert first == again
    assert first != other


def test_protobuf_and_json_carry_the_same_uplinks() -> None:
    as_json = [parse_event(t, p) for t, p in messages(10, 50, 1, START, "json")]
    as_protobuf = [parse_event(t, p) for t, p in messages(10, 50, 1, START, "protobuf")]

    assert [(e.deduplication_id, e.payload, e.f_cnt, e.time) for e in as_json] == [
        (e.deduplication_id, e.payload, e.f_cnt, e.time) for e in as_protobuf
    ]


def test_every_simulated_payload_decodes_with_its_model() -> None:
    for topic, payload in messages(len(decoders.MODELS) * 2, 300, 9, START):
        event = parse_event(topic, payload)
        model = event.tags["model"]
        assert event.payload is not None
        result = decoders.decode(model, event.f_port or 0, event.payload)
        assert result.errors == [], (model, event.payload.hex())


def test_fcnt_counts_per_device_and_times_advance() -> None:
    events = [parse_event(t, p) for t, p in messages(5, 50, 2, START)]
    by_device: dict[str, list[tuple[int, datetime]]] = {}
    for e in events:
        by_device.setdefault(e.dev_eui, []).append((e.f_cnt or 0, e.time))

    for sequence in by_device.values():
        assert [f for f, _ in sequence] == list(range(len(sequence)))
        assert [t for _, t in sequence] == sorted(t for _, t in sequence)


def test_timestamps_are_written_like_chrono() -> None:
    assert rfc3339(datetime(2022, 7, 18, 9, 34, 15, tzinfo=UTC)) == "2022-07-18T09:34:15+00:00"
    assert (
        rfc3339(datetime(2022, 7, 18, 9, 34, 15, 775000, tzinfo=UTC))
        == "2022-07-18T09:34:15.775+00:00"
    )
    assert (
        rfc3339(datetime(2022, 7, 18, 9, 34, 15, 775023, tzinfo=UTC))
        == "2022-07-18T09:34:15.775023+00:00"
    )
