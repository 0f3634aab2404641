"""`urbanpulse demo`: the bridge and the API fed by a simulated city in accelerated time,
with a live summary in the terminal (published, stored, rejected, per device class).

The bridge and the API run as subprocesses against the local services; the city is a
scenario file (the small test city by default) published at `speed` times real time."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from simulators.clock import A_DAY_IN_A_MINUTE, Clock
from simulators.faults import SimEvent
from simulators.publish import Publisher
from simulators.run import publish_events, scenario_events
from simulators.scenario import load_scenario
from urbanpulse.settings import Settings
from urbanpulse.stats import read_stats

SMALL_TOWN = Path(__file__).resolve().parent.parent / "scenarios" / "small-town.yaml"
NS = 1_000_000_000


def start(command: list[str], settings: Settings) -> subprocess.Popen[bytes]:
    env = {**os.environ, "URBANPULSE_DATABASE_URL": settings.database_url,
           "URBANPULSE_MQTT_HOST": settings.mqtt_host, "URBANPULSE_MQTT_PORT": str(settings.mqtt_port),
           "URBANPULSE_MQTT_CLIENT_ID": settings.mqtt_client_id,
           "URBANPULSE_MQTT_EVENT_TOPIC": settings.mqtt_event_topic}  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "urbanpulse.cli", *command], env=env)


async def demo_key(database_url: str) -> str:
    """A fresh admin key of every tenant for this demo; the previous demo's stops working."""
    import asyncpg

    from api.access import create_key

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "update api_keys set revoked_at = now() where name = 'demo' and revoked_at is null"
        )
        return str((await create_key(conn, "demo", "admin", None))["key"])
    finally:
        await conn.close()


def summary(
    elapsed_s: float, sim_ns: int, published: dict[str, int], counts: dict[str, int]
) -> str:
    when = datetime.fromtimestamp(sim_ns / NS, UTC).strftime("%a %d %b %H:%M UTC")
    classes = ", ".join(f"{k} {v}" for k, v in sorted(published.items()))
    return (
        f"[{elapsed_s:5.0f} s | city time {when}] published {sum(published.values())} ({classes}); "
        f"stored {counts.get('uplinks', 0)} uplinks, {counts.get('readings', 0)} readings, "
        f"{counts.get('events', 0)} device events; rejected {counts.get('rejected', 0)}"
    )


def run(
    settings: Settings, devices: int | None = None, rate: float | None = None,
    speed: float = A_DAY_IN_A_MINUTE, duration_s: float | None = None,
    scenario_path: str | None = None, seed: int = 1,
) -> int:  # fmt: skip
    """`devices` and `rate` are the first demo's flags, still passed by the CLI until it
    takes `--scenario`: a scenario file now sets the fleet and its pace."""
    scenario = load_scenario(scenario_path or SMALL_TOWN)
    bridge, api = start(["ingest"], settings), start(["api"], settings)
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = (
        signal.signal(signal.SIGINT, request_stop),
        signal.signal(signal.SIGTERM, request_stop),
    )
    base = f"http://{settings.api_host}:{settings.api_port}"
    print(
        f"urbanpulse demo: {scenario.city.name}, {scenario.device_count} devices, time x{speed:g}"
    )
    key = asyncio.run(demo_key(settings.database_url))
    print(
        f"  API docs     {base}/docs\n  health       {base}/health\n  API key      {key}\n"
        f'  devices      curl -H "Authorization: Bearer {key}" {base}/devices'
    )
    print("  counts       urbanpulse stats\nCtrl-C stops the demo.", flush=True)
    time.sleep(3)  # the bridge subscribes before the city starts talking
    began_wall = time.monotonic()
    sim_start = datetime.now(UTC).replace(microsecond=0)
    clock = Clock(int(sim_start.timestamp()) * NS, speed)
    published: dict[str, int] = {}
    last_report = [began_wall]
    last_sim = [clock.sim_start_ns]

    def on_event(event: SimEvent) -> None:
        key = f"{event.device_class}" if event.kind == "up" else event.kind
        published[key] = published.get(key, 0) + 1
        last_sim[0] = event.at_ns
        if time.monotonic() - last_report[0] >= 2:
            last_report[0] = time.monotonic()
            counts = asyncio.run(read_stats(settings.database_url))
            print(
                summary(time.monotonic() - began_wall, event.at_ns, published, counts), flush=True
            )

    def over() -> bool:
        return stopping or (duration_s is not None and time.monotonic() - began_wall >= duration_s)

    horizon_s = (duration_s or 365 * 86400.0) * speed
    publisher = Publisher(settings.mqtt_host, settings.mqtt_port)
    try:
        prefix = settings.mqtt_event_topic.split("application/")[0]  # where the bridge listens
        events = scenario_events(scenario, seed, sim_start, horizon_s, topic_prefix=prefix)
        publish_events(publisher, events, clock, on_event, over)
    finally:
        publisher.close()
        time.sleep(1)  # the bridge's last batch
        counts = asyncio.run(read_stats(settings.database_url))
        print(summary(time.monotonic() - began_wall, last_sim[0], published, counts), flush=True)
        for process in (bridge, api):
            process.send_signal(signal.SIGTERM)
        for process in (bridge, api):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
    return 0
