"""`urbanpulse bench ingest`: committed uplinks/s end to end, next to a bare subscriber.

Both drain the same QoS 1 backlog from the same broker in one run: a paho subscriber
that only counts messages, then the bridge, which parses, decodes, writes and commits
before it acknowledges. Latency from publish to commit is measured apart, on a paced
stream at half the bridge's rate, so that queueing does not count as latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import migrations
from ingest import cpu_time
from ingest.bridge import Bridge
from ingest.mqtt import Received
from ingest.pipeline import Processed
from simulators.publish import Publisher, publish_in_parallel
from simulators.simulate import messages
from urbanpulse.settings import Settings

START = datetime(2026, 1, 1, tzinfo=UTC)


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
    client.loop_start()
    done.wait(600)
    client.disconnect()
    client.loop_stop()
    return (received - 1) / (last - first)


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

    def __call__(self, items: Sequence[Received], processed: Processed) -> None:
        now = time.time()
        for event in processed.events:
            if event.deduplication_id:
                self.committed[event.deduplication_id] = now
        self.messages += len(items)
        if self.messages >= self.expected and self.bridge is not None:
            self.bridge.stop()


def process_tree_peak_rss_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of a process and its children, summed."""
    total = 0.0
    for p in cpu_time.tree_pids(pid):
        with contextlib.suppress(OSError), open(f"/proc/{p}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
    return total


@dataclass(frozen=True)
class Drain:
    """A bridge draining a backlog: committed uplinks/s from its first commit to its last,
    its peak memory, and the CPU time each program spent per uplink meanwhile."""

    rate: float
    peak_rss_mb: float
    cpu_us_per_uplink: dict[str, float]


def bridge_drain(settings: Settings, count: int, devices: int, workers: int, prefix: str) -> Drain:
    """`urbanpulse ingest --workers N` draining a backlog of `count`, read from the
    database."""
    topic = settings.mqtt_event_topic
    group = "bench" if workers > 1 else None
    for i in range(workers):
        client_id = f"{settings.mqtt_client_id}-{i}" if workers > 1 else settings.mqtt_client_id
        prime_session(settings, client_id, f"$share/{group}/{topic}" if group else topic)
    publish_in_parallel(settings.mqtt_host, settings.mqtt_port, devices, count, 7, START, prefix)
    env = {
        **os.environ,
        "URBANPULSE_DATABASE_URL": settings.database_url,
        "URBANPULSE_MQTT_CLIENT_ID": settings.mqtt_client_id,
        "URBANPULSE_MQTT_EVENT_TOPIC": topic,
        "URBANPULSE_MQTT_HOST": settings.mqtt_host,
        "URBANPULSE_MQTT_PORT": str(settings.mqtt_port),
        **({"URBANPULSE_MQTT_SHARED_GROUP": group} if group else {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "urbanpulse.cli", "ingest", "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        return asyncio.run(watch_commits(settings.database_url, count, proc.pid))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


async def watch_commits(url: str, count: int, pid: int) -> Drain:
    conn = await asyncpg.connect(url)
    first_count, first_time, peak = 0, 0.0, 0.0
    first_cpu: dict[str, float] = {}
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline:
            stored = int(await conn.fetchval("select count(*) from uplinks"))
            now = time.perf_counter()
            peak = max(peak, process_tree_peak_rss_mb(pid))
            if stored and not first_count:
                first_count, first_time, first_cpu = stored, now, cpu_time.cpu_s(pid)
            if stored >= count:
                spent = cpu_time.cpu_s(pid)
                drained = count - first_count
                return Drain(
                    drained / (now - first_time),
                    peak,
                    {k: round((spent[k] - first_cpu[k]) / drained * 1e6, 1) for k in spent},
                )
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise TimeoutError(f"the bridge stored fewer than {count} uplinks in 600 s")


def paced_latencies(
    settings: Settings, prefix: str, rate: float, seconds: float, devices: int
) -> list[float]:
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


def run(settings: Settings, count: int, devices: int, workers: int) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]

    def scenario(name: str) -> tuple[Settings, str]:
        prefix = f"bench-{run_id}-{name}/"
        database = asyncio.run(fresh_database(settings, f"urbanpulse_bench_{name}"))
        return settings.model_copy(
            update={
                "database_url": database,
                "mqtt_client_id": f"bench-{name}-{run_id}",
                "mqtt_event_topic": f"{prefix}application/+/device/+/event/+",
            }
        ), prefix

    def bare_rate(name: str) -> tuple[float, float]:
        """(bare subscriber's rate, backlog publishing rate)"""
        bare, bare_prefix = scenario(name)
        prime_session(settings, bare.mqtt_client_id, bare.mqtt_event_topic)
        began = time.perf_counter()
        publish_in_parallel(
            settings.mqtt_host, settings.mqtt_port, devices, count, 7, START, bare_prefix
        )
        publish_rate = count / (time.perf_counter() - began)
        return bare_subscriber_rate(bare, bare.mqtt_client_id, count), publish_rate

    # The bare subscriber drains its backlog before and after the bridges, and the ratios
    # are to the mean of both: the speed of a shared machine drifts within one run.
    bare_before, publish_rate = bare_rate("bare")
    single_settings, single_prefix = scenario("one")
    single = bridge_drain(single_settings, count, devices, 1, single_prefix)
    multi_settings, multi_prefix = scenario("many")
    multi = bridge_drain(multi_settings, count, devices, workers, multi_prefix)
    bare_after, _ = bare_rate("bare_after")
    bare = (bare_before + bare_after) / 2

    paced, paced_prefix = scenario("latency")
    latencies = paced_latencies(paced, paced_prefix, single.rate / 2, 10.0, devices)
    return {
        "bench": "ingest",
        "messages": count,
        "devices": devices,
        "qos": 1,
        "bare_subscriber_msg_per_s": round(bare),
        "bare_subscriber_before_after_msg_per_s": [round(bare_before), round(bare_after)],
        "bridge_1_worker_uplinks_per_s": round(single.rate),
        "ratio_1_worker": round(single.rate / bare, 3),
        f"bridge_{workers}_workers_uplinks_per_s": round(multi.rate),
        f"ratio_{workers}_workers": round(multi.rate / bare, 3),
        "latency_rate_msg_per_s": round(single.rate / 2),
        "latency_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "latency_samples": len(latencies),
        "peak_rss_1_worker_mb": round(single.peak_rss_mb, 1),
        f"peak_rss_{workers}_workers_mb": round(multi.peak_rss_mb, 1),
        f"cpu_us_per_uplink_{workers}_workers": multi.cpu_us_per_uplink,
        "backlog_publish_msg_per_s": round(publish_rate),
        "batch_max_messages": settings.batch_max_messages,
    }
