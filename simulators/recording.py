"""Recordings of MQTT traffic, simulated or live, and their replay.

A recording is JSON lines: a header `{"urbanpulse_recording": 1, "source": ...,
"start_ns": ...}`, then one line per message `{"at_s": ..., "topic": ..., "payload": ...}`
with `at_s` seconds after the start (simulated time for a scenario, wall time for a live
capture) and the payload in base64. A name ending in `.gz` is gzip-compressed."""

from __future__ import annotations

import base64
import gzip
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from simulators.publish import Publisher

NS = 1_000_000_000
FORMAT_VERSION = 1


def _open(path: Path, mode: str) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, mode + "b")  # type: ignore[return-value]
    return path.open(mode + "b")


@dataclass
class Recorder:
    file: IO[bytes]
    start_ns: int

    @classmethod
    def create(cls, path: Path, source: str, start_ns: int) -> Recorder:
        file = _open(path, "w")
        header = {"urbanpulse_recording": FORMAT_VERSION, "source": source, "start_ns": start_ns}
        file.write(orjson.dumps(header) + b"\n")
        return cls(file, start_ns)

    def write(self, at_ns: int, topic: str, payload: bytes) -> None:
        line = {"at_s": (at_ns - self.start_ns) / NS, "topic": topic,
                "payload": base64.b64encode(payload).decode()}  # fmt: skip
        self.file.write(orjson.dumps(line) + b"\n")

    def close(self) -> None:
        self.file.close()


def read_recording(path: Path) -> tuple[dict[str, Any], Iterator[tuple[float, str, bytes]]]:
    """The header and the (at_s, topic, payload) of every message, in file order."""
    file = _open(path, "r")
    header = orjson.loads(file.readline() or b"{}")
    if header.get("urbanpulse_recording") != FORMAT_VERSION:
        file.close()
        raise ValueError(f"{path}: not an urbanpulse recording (version {FORMAT_VERSION})")

    def messages() -> Iterator[tuple[float, str, bytes]]:
        with file:
            for line in file:
                doc = orjson.loads(line)
                yield float(doc["at_s"]), str(doc["topic"]), base64.b64decode(doc["payload"])

    return header, messages()


def replay(
    host: str, port: int, path: str, speed: float, topic_prefix: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:  # fmt: skip
    """`urbanpulse replay FILE --speed X`: publish a recording at X times its pace (0 or
    inf: as fast as possible), topics optionally prefixed."""
    _, messages = read_recording(Path(path))
    publisher = Publisher(host, port)
    began = time.monotonic()
    sent = 0
    try:
        for at_s, topic, payload in messages:
            if speed and speed != float("inf"):
                delay = began + at_s / speed - time.monotonic()
                if delay > 0:
                    sleep(delay)
            publisher.publish(topic_prefix + topic, payload)
            sent += 1
            if len(publisher.pending) >= 20000:
                publisher.flush()
    finally:
        publisher.close()
    return {"replayed": sent, "file": path, "seconds": round(time.monotonic() - began, 3)}


def record_mqtt(
    host: str, port: int, topic_filter: str, out_path: str, duration_s: float | None,
    count: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """`urbanpulse record --mqtt FILTER --out FILE`: capture a live stream (QoS 1) until
    `duration_s` has passed or `count` messages arrived."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    start_ns = time.time_ns()
    began = time.monotonic()
    recorder = Recorder.create(Path(out_path), f"mqtt {host}:{port} {topic_filter}", start_ns)
    received = 0

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        nonlocal received
        at_ns = start_ns + int((time.monotonic() - began) * NS)
        recorder.write(at_ns, message.topic, bytes(message.payload))
        received += 1

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic_filter, qos=1)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    try:
        while (duration_s is None or time.monotonic() - began < duration_s) and (
            count is None or received < count
        ):
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
        recorder.close()
    return {"recorded": received, "file": out_path}
