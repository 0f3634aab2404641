"""Publishing simulated ChirpStack events on MQTT at QoS 1, at a given rate."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterable
from datetime import datetime
from itertools import islice

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class Publisher:
    """A paho client that publishes at QoS 1 and can wait until the broker has them all."""

    def __init__(self, host: str, port: int, client_id: str = "") -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.max_inflight_messages_set(2000)
        self.client.max_queued_messages_set(0)
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        self.pending: list[mqtt.MQTTMessageInfo] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self.pending.append(self.client.publish(topic, payload, qos=1))

    def flush(self, timeout_s: float = 300.0) -> None:
        """Wait until the broker acknowledged every message published so far."""
        deadline = time.monotonic() + timeout_s
        for info in self.pending:
            info.wait_for_publish(max(deadline - time.monotonic(), 0.001))
            if not info.is_published():
                raise TimeoutError(
                    f"broker did not acknowledge message {info.mid} in {timeout_s} s"
                )
        self.pending.clear()

    def close(self) -> None:
        self.flush()
        self.client.disconnect()
        self.client.loop_stop()


def publish_all(
    publisher: Publisher, messages: Iterable[tuple[str, bytes]], rate_per_s: float = 0.0
) -> int:
    """Publish (topic, payload) pairs, paced at rate_per_s (0: as fast as possible)."""
    started = time.monotonic()
    sent = 0
    for topic, payload in messages:
        if rate_per_s > 0:
            delay = started + sent / rate_per_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        publisher.publish(topic, payload)
        sent += 1
        if len(publisher.pending) >= 20000:
            publisher.flush()
    publisher.flush()
    return sent


def _publish_part(
    host: str,
    port: int,
    devices: int,
    count: int,
    seed: int,
    start: datetime,
    prefix: str,
    part: int,
    parts: int,
) -> None:
    from simulators.simulate import messages

    publisher = Publisher(host, port)
    try:
        stream = messages(devices, count, seed, start, "json", prefix)
        publish_all(publisher, islice(stream, part, None, parts))
    finally:
        publisher.close()


def publish_in_parallel(
    host: str,
    port: int,
    devices: int,
    count: int,
    seed: int,
    start: datetime,
    prefix: str,
    parts: int = 2,
) -> None:
    """Publish a simulation from several processes, to fill a broker faster than one can."""
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=_publish_part, args=(host, port, devices, count, seed, start, prefix, i, parts)
        )
        for i in range(parts)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError(f"publisher process failed with exit code {worker.exitcode}")
