"""`urbanpulse simulate`: a deterministic fleet publishing ChirpStack `up` events."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from simulators.envelope import event_topic, uplink_json, uplink_protobuf
from simulators.fleet import make_fleet, uplinks
from simulators.publish import Publisher, publish_all


def messages(
    devices: int,
    count: int,
    seed: int,
    start: datetime,
    fmt: str = "json",
    topic_prefix: str = "",
    models: Sequence[str] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """The (topic, payload) of `count` uplinks of a `devices`-strong fleet."""
    encode = uplink_protobuf if fmt == "protobuf" else uplink_json
    fleet = make_fleet(devices, seed, models)
    for up in uplinks(fleet, count, seed, start):
        yield event_topic(up.device, "up", topic_prefix), encode(up)


def simulate(
    host: str,
    port: int,
    devices: int,
    count: int,
    seed: int,
    start: datetime,
    rate: float,
    fmt: str,
    topic_prefix: str = "",
) -> int:
    publisher = Publisher(host, port)
    try:
        return publish_all(
            publisher, messages(devices, count, seed, start, fmt, topic_prefix), rate
        )
    finally:
        publisher.close()
