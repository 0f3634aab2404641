"""`urbanpulse demo`: the bridge and the API fed by a simulated city, with a live summary.

Everything runs against the local services; the simulated fleet publishes ChirpStack v4
events at a steady rate, with timestamps running at `speed` times real time."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from simulators.envelope import event_topic, uplink_json
from simulators.fleet import make_fleet, uplinks
from simulators.publish import Publisher
from urbanpulse.settings import Settings
from urbanpulse.stats import read_stats


def start(command: list[str], settings: Settings) -> subprocess.Popen[bytes]:
    env = {**os.environ, "URBANPULSE_DATABASE_URL": settings.database_url}
    return subprocess.Popen([sys.executable, "-m", "urbanpulse.cli", *command], env=env)


def run(
    settings: Settings, devices: int, rate: float, speed: float, duration_s: float | None
) -> int:
    bridge = start(["ingest"], settings)
    api = start(["api"], settings)
    stop = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    base = f"http://{settings.api_host}:{settings.api_port}"
    print(f"urbanpulse demo: {devices} simulated devices, {rate:g} uplinks/s, time x{speed:g}")
    print(f"  API docs     {base}/docs")
    print(f"  devices      {base}/devices")
    print(f"  health       {base}/health")
    print("  counts       .venv/bin/urbanpulse stats")
    print("Ctrl-C stops the demo.", flush=True)
    time.sleep(3)  # the bridge subscribes before the city starts talking
    fleet = make_fleet(devices, seed=int(time.time()))
    interval_s = devices / rate * speed
    stream = uplinks(
        fleet,
        10**9,
        seed=1,
        start=datetime.now(UTC) - timedelta(seconds=interval_s),
        interval_s=interval_s,
    )
    publisher = Publisher(settings.mqtt_host, settings.mqtt_port)
    began = last_report = time.monotonic()
    sent = 0
    try:
        for up in stream:
            if stop or (duration_s is not None and time.monotonic() - began > duration_s):
                break
            publisher.publish(event_topic(up.device, "up"), uplink_json(up))
            sent += 1
            delay = began + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() - last_report >= 5:
                last_report = time.monotonic()
                counts = asyncio.run(read_stats(settings.database_url))
                print(
                    f"[{time.monotonic() - began:6.0f} s] published {sent}, stored {counts['uplinks']} uplinks, "
                    f"{counts['readings']} readings, {counts['devices']} devices, {counts['rejected']} rejected",
                    flush=True,
                )
                if len(publisher.pending) > 10000:
                    publisher.flush()
    finally:
        publisher.close()
        for process in (bridge, api):
            process.send_signal(signal.SIGTERM)
        for process in (bridge, api):
            process.wait(timeout=30)
    return 0
