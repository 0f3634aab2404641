"""`urbanpulse bench ingest`: committed uplinks/s end to end, next to a bare subscriber.

Both drain the same QoS 1 backlog from the same broker in one run: a paho subscriber
that only counts messages, then the bridge, which parses, decodes, writes and commits
before it acknowledges. Latency from publish to commit is measured apart, on a paced
stream at half the bridge's rate, so that queueing does not count as latency.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import migrations
from ingest.bridge import Bridge
from ingest.mqtt import Received
from ingest.pipeline import Processed
from simulators.publish import Publisher, publish_all, publish_in_parallel
from simulators.simulate import messages
from urbanpulse.settings import Settings

START = datetime(2026, 1, 1, tzinfo=UTC)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def session_client(settings: Settings, client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 600
    properties.ReceiveMaximum = 65535
    client.connect(settings.mqtt_host, settings.mqtt_port, clean_start=False, properties=properties)
    return client


def prime_session(settings: Settings, client_id: str, topic: str) -> None:
    """Create a persistent session subscribed to `topic`, so a backlog waits in it."""
    client = session_client(settings, client_id)
    client.loop_start()
    done = threading.Event()
    client.on_subscribe = lambda *args: done.set()
    client.subscribe(topic, qos=1)
    done.wait(10)
    client.disconnect()
    client.loop_stop()


def bare_subscriber_rate(settings: Settings, client_id: str, count: int) -> float:
    client = session_client(settings, client_id)
    received = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        nonlocal received, first, last
        received += 1
        last = time.perf_counter()
        if received == 1:
            first = last
        if received >= count:
            done.set()

    client.on_message = on_message
    started = time.perf_counter()
    client.loop_start()
    done.wait(600)
    client.disconnect()
    client.loop_stop()
    del first
    return received / (last - started)


async def fresh_database(settings: Settings, name: str) -> str:
    url = settings.database_url.rsplit("/", 1)[0]
    conn = await asyncpg.connect(f"{url}/postgres")
    try:
        await conn.execute(f"drop database if exists {name} with (force)")
        await conn.execute(f"create database {name}")
    finally:
        await conn.close()
    conn = await asyncpg.connect(f"{url}/{name}")
    try:
        await migrations.migrate(conn)
    finally:
        await conn.close()
    return f"{url}/{name}"


class Recorder:
    """Commit times of the uplinks the bridge stored, by deduplication id."""

    def __init__(self, expected: int, bridge: Bridge | None = None) -> None:
        self.expected = expected
        self.committed: dict[str, float] = {}
        self.messages = 0
        self.bridge = bridge
        self.peak_rss_mb = 0.0

    def __call__(self, items: Sequence[Received], processed: Processed) -> None:
        now = time.time()
        for event in processed.events:
            if event.deduplication_id:
                self.committed[event.deduplication_id] = now
        self.messages += len(items)
        self.peak_rss_mb = max(self.peak_rss_mb, rss_mb())
        if self.messages >= self.expected and self.bridge is not None:
            self.bridge.stop()


async def run_bridge(settings: Settings, recorder: Recorder) -> Bridge:
    bridge = Bridge(settings, on_commit=recorder)
    recorder.bridge = bridge
    await bridge.run()
    return bridge


def bridge_drain_rate(settings: Settings, count: int) -> tuple[float, float]:
    recorder = Recorder(count)
    started = time.perf_counter()
    asyncio.run(run_bridge(settings, recorder))
    elapsed = time.perf_counter() - started
    return recorder.messages / elapsed, recorder.peak_rss_mb


def paced_latencies(settings: Settings, prefix: str, rate: float, seconds: float, devices: int) -> list[float]:
    """Publish at `rate` while the bridge runs; latency = commit time - publish time."""
    count = int(rate * seconds)
    stream = list(messages(devices, count, 99, START, "json", prefix))
    published: dict[str, float] = {}
    recorder = Recorder(count)

    def publish() -> None:
        publisher = Publisher(settings.mqtt_host, settings.mqtt_port)
        began = time.monotonic()
        for n, (topic, payload) in enumerate(stream):
            delay = began + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            published[dedup_id(payload)] = time.time()
            publisher.publish(topic, payload)
        publisher.close()

    async def run() -> None:
        bridge = Bridge(settings, on_commit=recorder)
        recorder.bridge = bridge
        task = asyncio.create_task(bridge.run())
        await asyncio.sleep(1.0)
        await asyncio.to_thread(publish)
        await asyncio.wait_for(task, timeout=seconds * 10 + 60)

    asyncio.run(run())
    return [recorder.committed[k] - t for k, t in published.items() if k in recorder.committed]


def dedup_id(payload: bytes) -> str:
    start = payload.index(b'"deduplicationId":"') + 19
    return payload[start : start + 36].decode()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] if len(values) > 1 else values[0]


def run(settings: Settings, count: int, devices: int) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    prefix = f"bench-{run_id}/"
    topic = f"{prefix}application/+/device/+/event/+"
    database = asyncio.run(fresh_database(settings, "urbanpulse_bench"))
    bridge_settings = settings.model_copy(
        update={"database_url": database, "mqtt_client_id": f"bench-bridge-{run_id}", "mqtt_event_topic": topic}
    )
    bare_id = f"bench-bare-{run_id}"
    prime_session(settings, bare_id, topic)
    prime_session(settings, bridge_settings.mqtt_client_id, topic)

    began = time.perf_counter()
    publish_in_parallel(settings.mqtt_host, settings.mqtt_port, devices, count, 7, START, prefix)
    publish_rate = count / (time.perf_counter() - began)

    bare_rate = bare_subscriber_rate(settings, bare_id, count)
    rss_before = rss_mb()
    bridge_rate, peak_rss = bridge_drain_rate(bridge_settings, count)

    latency_settings = bridge_settings.model_copy(
        update={"mqtt_client_id": f"bench-latency-{run_id}", "mqtt_event_topic": f"lat-{topic}"}
    )
    latencies = paced_latencies(latency_settings, f"lat-{prefix}", bridge_rate / 2, 10.0, devices)
    return {
        "bench": "ingest",
        "messages": count,
        "devices": devices,
        "qos": 1,
        "bare_subscriber_msg_per_s": round(bare_rate),
        "bridge_committed_uplinks_per_s": round(bridge_rate),
        "ratio": round(bridge_rate / bare_rate, 3),
        "backlog_publish_msg_per_s": round(publish_rate),
        "latency_rate_msg_per_s": round(bridge_rate / 2),
        "latency_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "latency_samples": len(latencies),
        "rss_before_bridge_mb": round(rss_before, 1),
        "rss_peak_bridge_mb": round(peak_rss, 1),
        "max_rss_process_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "batch_max_messages": settings.batch_max_messages,
    }
