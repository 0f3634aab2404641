"""The `urbanpulse` command: one settings object built here and passed down."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from urbanpulse.settings import Settings


def services(settings: Settings, args: argparse.Namespace) -> int:
    from urbanpulse import services as svc

    try:
        if args.action == "up":
            svc.up(settings)
        elif args.action == "down":
            svc.down(settings)
    except svc.ServiceError as exc:
        print(f"urbanpulse services {args.action}: {exc}", file=sys.stderr)
        return 1
    print(svc.status_json(settings))
    return 0


def migrate(settings: Settings, args: argparse.Namespace) -> int:
    import asyncpg

    import migrations

    async def run() -> list[str]:
        conn = await asyncpg.connect(settings.database_url)
        try:
            return await migrations.migrate(conn)
        finally:
            await conn.close()

    applied = asyncio.run(run())
    print(json.dumps({"applied": applied}))
    return 0


def ingest(settings: Settings, args: argparse.Namespace) -> int:
    from ingest import bridge

    bridge.main(settings, args.workers)
    return 0


def api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    # Live streams never end by themselves: give them 5 s on SIGTERM, then close them.
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        timeout_graceful_shutdown=5,
    )
    return 0


def simulate(settings: Settings, args: argparse.Namespace) -> int:
    if args.scenario:
        from simulators.clock import parse_speed
        from simulators.run import run_scenario

        result = run_scenario(
            settings.mqtt_host, settings.mqtt_port, args.scenario, args.seed, args.start,
            parse_speed(args.speed), args.hours * 3600, args.format, record_path=args.record,
        )  # fmt: skip
        print(json.dumps(result))
        return 0
    from simulators.simulate import simulate as run

    start = (
        datetime.fromisoformat(args.start)
        if args.start
        else datetime.now(UTC).replace(microsecond=0)
    )
    sent = run(
        settings.mqtt_host,
        settings.mqtt_port,
        args.devices,
        args.uplinks,
        args.seed,
        start,
        args.rate,
        args.format,
    )
    print(json.dumps({"published": sent}))
    return 0


def retention(settings: Settings, args: argparse.Namespace) -> int:
    import asyncpg

    from ingest.retention import apply_retention

    async def main() -> dict[str, int]:
        conn = await asyncpg.connect(settings.database_url)
        try:
            return await apply_retention(conn)
        finally:
            await conn.close()

    print(json.dumps({"dropped": asyncio.run(main())}))
    return 0


def keys(settings: Settings, args: argparse.Namespace) -> int:
    import asyncpg

    from api.access import create_key

    async def main() -> Any:
        conn = await asyncpg.connect(settings.database_url)
        try:
            if args.action == "create":
                for tenant in args.tenant or []:
                    await conn.execute(
                        "insert into tenants (id) values ($1) on conflict do nothing", tenant
                    )
                return await create_key(conn, args.name, args.role, args.tenant or None)
            if args.action == "revoke":
                done = await conn.fetchval(
                    "update api_keys set revoked_at = coalesce(revoked_at, now()) "
                    "where id = $1 returning id",
                    args.id,
                )
                return {"revoked": done}
            rows = await conn.fetch(
                "select id, name, role, tenants, created_at, revoked_at from api_keys order by created_at"
            )
            return [dict(r) for r in rows]
        finally:
            await conn.close()

    print(json.dumps(asyncio.run(main()), default=str))
    return 0


def sync_devices(settings: Settings, args: argparse.Namespace) -> int:
    import dataclasses
    import os

    import asyncpg

    from ingest.chirpstack_sync import ChirpStackError, sync_registry

    token = os.environ.get("URBANPULSE_CHIRPSTACK_TOKEN", "")
    if not token:
        print(
            "urbanpulse sync-devices: set URBANPULSE_CHIRPSTACK_TOKEN to an admin API key",
            file=sys.stderr,
        )
        return 2

    async def main() -> dict[str, int]:
        conn = await asyncpg.connect(settings.database_url)
        try:
            counts = await sync_registry(
                conn, args.target, token, settings.profile_models, args.timeout
            )
            return dataclasses.asdict(counts)
        finally:
            await conn.close()

    try:
        print(json.dumps(asyncio.run(main())))
    except ChirpStackError as exc:
        print(f"urbanpulse sync-devices: {exc}", file=sys.stderr)
        return 1
    return 0


def redecode(settings: Settings, args: argparse.Namespace) -> int:
    import asyncpg

    from ingest.redecode import redecode as run

    async def main() -> dict[str, int]:
        conn = await asyncpg.connect(settings.database_url)
        try:
            since = datetime.fromisoformat(args.since) if args.since else None
            return vars(await run(conn, args.model, since, args.all))
        finally:
            await conn.close()

    print(json.dumps(asyncio.run(main())))
    return 0


def record(settings: Settings, args: argparse.Namespace) -> int:
    if args.mqtt:
        from simulators.recording import record_mqtt

        result = record_mqtt(
            settings.mqtt_host, settings.mqtt_port, args.mqtt, args.out, args.duration, args.count
        )
    else:
        from simulators.run import record_scenario

        result = record_scenario(
            args.scenario, args.seed, args.start, args.hours * 3600, args.format, args.out
        )
    print(json.dumps(result))
    return 0


def replay(settings: Settings, args: argparse.Namespace) -> int:
    from simulators.clock import parse_speed
    from simulators.recording import replay as run

    print(
        json.dumps(
            run(
                settings.mqtt_host,
                settings.mqtt_port,
                args.file,
                parse_speed(args.speed),
                args.topic_prefix,
            )
        )
    )
    return 0


def demo(settings: Settings, args: argparse.Namespace) -> int:
    from urbanpulse import demo as city

    return city.run(
        settings,
        speed=args.speed,
        duration_s=args.duration,
        scenario_path=args.scenario,
        seed=args.seed,
    )


def stats(settings: Settings, args: argparse.Namespace) -> int:
    from urbanpulse.stats import read_stats

    counts = asyncio.run(read_stats(settings.database_url))
    print(json.dumps(counts) if args.json else "\n".join(f"{k}: {v}" for k, v in counts.items()))
    return 0


# --readings is a batch to the rules benchmark and a city's year to the query benchmark.
DEFAULT_READINGS = {"rules": 200_000, "query": 100_000_000}


def bench(settings: Settings, args: argparse.Namespace) -> int:
    if args.readings is None:
        args.readings = DEFAULT_READINGS.get(args.what)
    if args.what == "query":
        return bench_query(settings, args)
    from urbanpulse import bench as benches

    result = benches.run(args.what, settings, args)
    print(json.dumps(result))
    return 0


def bench_query(settings: Settings, args: argparse.Namespace) -> int:
    from api import benchmark as query_benchmark

    result = query_benchmark.run(
        settings, args.scenario, args.readings, args.days, args.requests, args.reload,
        args.database,
    )  # fmt: skip
    print(json.dumps(result))
    return 0


Command = Callable[[Settings, argparse.Namespace], int]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="urbanpulse", description="Open sensor backend for cities.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("services", help="local Mosquitto and TimescaleDB for development and CI")
    s.add_argument("action", choices=["up", "down", "status"])
    s.set_defaults(run=services)

    sub.add_parser("migrate", help="apply the database migrations").set_defaults(run=migrate)
    s = sub.add_parser("ingest", help="run the MQTT → TimescaleDB bridge")
    s.add_argument(
        "--workers", type=int, default=1, help="processes sharing one MQTT v5 subscription"
    )
    s.set_defaults(run=ingest)
    sub.add_parser("api", help="serve the HTTP API").set_defaults(run=api)

    s = sub.add_parser("simulate", help="publish simulated ChirpStack uplinks")
    s.add_argument("--devices", type=int, default=100)
    s.add_argument("--uplinks", type=int, default=1000)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument(
        "--rate", type=float, default=0.0, help="messages per second, 0 for as fast as possible"
    )
    s.add_argument("--format", choices=["json", "protobuf"], default="json")
    s.add_argument("--start", help="time of the first uplink (RFC 3339, or 'now'); default now")
    s.add_argument(
        "--scenario", help="scenario file (scenarios/*.yaml); replaces --devices/--uplinks/--rate"
    )
    s.add_argument("--hours", type=float, default=24.0, help="with --scenario: simulated hours")
    s.add_argument(
        "--speed",
        default="1",
        help="with --scenario: simulated s per real s (1440 = a day a minute), or 'backfill'",
    )
    s.add_argument("--record", help="with --scenario: also write the run to this file (.gz ok)")
    s.set_defaults(run=simulate)

    s = sub.add_parser("record", help="write a scenario run, or a live MQTT stream, to a file")
    source = s.add_mutually_exclusive_group(required=True)
    source.add_argument("--scenario", help="scenario file to record (no broker needed)")
    source.add_argument(
        "--mqtt", metavar="TOPIC_FILTER", help="record a live stream, e.g. 'application/#'"
    )
    s.add_argument("--out", required=True, help="recording file (.jsonl, .jsonl.gz)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--start", help="RFC 3339 or 'now'; default the scenario's start")
    s.add_argument("--hours", type=float, default=24.0)
    s.add_argument("--format", choices=["json", "protobuf"], default="json")
    s.add_argument("--duration", type=float, default=None, help="--mqtt: seconds to record")
    s.add_argument("--count", type=int, default=None, help="--mqtt: stop after this many messages")
    s.set_defaults(run=record)

    s = sub.add_parser("replay", help="publish a recording again")
    s.add_argument("file")
    s.add_argument(
        "--speed",
        default="1",
        help="times the recorded pace; 0 or 'backfill' for as fast as possible",
    )
    s.add_argument("--topic-prefix", default="")
    s.set_defaults(run=replay)

    sub.add_parser("retention", help="drop data older than each data class keeps").set_defaults(
        run=retention
    )

    s = sub.add_parser("keys", help="API keys: create (printed once), list, revoke")
    keys_sub = s.add_subparsers(dest="action", required=True)
    k = keys_sub.add_parser("create", help="create a key and print it once")
    k.add_argument("--name", required=True)
    k.add_argument("--role", choices=["viewer", "operator", "admin"], default="viewer")
    k.add_argument("--tenant", action="append", help="a tenant it sees; repeat; none: all")
    keys_sub.add_parser("list", help="the keys, without their secrets")
    k = keys_sub.add_parser("revoke", help="revoke a key by its id")
    k.add_argument("id")
    s.set_defaults(run=keys)

    s = sub.add_parser("sync-devices", help="sync the device registry from ChirpStack's gRPC API")
    s.add_argument("--target", default="127.0.0.1:8080", help="ChirpStack gRPC host:port")
    s.add_argument("--timeout", type=float, default=10.0, help="deadline of each call, seconds")
    s.set_defaults(run=sync_devices)

    s = sub.add_parser("redecode", help="decode stored uplinks again (failed or undecoded)")
    s.add_argument("--model", help="only uplinks of this model")
    s.add_argument("--since", help="only uplinks from this time on (RFC 3339)")
    s.add_argument("--all", action="store_true", help="also uplinks that decoded fine")
    s.set_defaults(run=redecode)

    s = sub.add_parser("demo", help="bridge and API fed by a simulated city, with a live summary")
    s.add_argument(
        "--scenario", default=None, help="scenario file; default scenarios/small-town.yaml"
    )
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--speed", type=float, default=1440.0, help="simulated seconds per real second")
    s.add_argument("--duration", type=float, default=None, help="seconds; default until Ctrl-C")
    s.set_defaults(run=demo)

    s = sub.add_parser("stats", help="counts read from the database")
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=stats)

    s = sub.add_parser("bench", help="benchmarks; each prints one JSON line")
    s.add_argument("what", choices=["ingest", "decode", "rules", "simulate", "query"])
    s.add_argument("--messages", type=int, default=50000)
    s.add_argument("--devices", type=int, default=1000)
    s.add_argument("--workers", type=int, default=2, help="bridge processes in the scale-out run")
    s.add_argument("--payloads", type=int, default=1_000_000)
    s.add_argument(
        "--readings",
        type=int,
        default=None,
        help="readings in the rules benchmark (200 000) or loaded by the query benchmark (100 M)",
    )
    s.add_argument("--rules", type=int, default=100, help="rules in the rules benchmark")
    s.add_argument(
        "--scenario",
        default="scenarios/city-200k.yaml",
        help="the city of the simulate and query benchmarks",
    )
    s.add_argument("--events", type=int, default=300_000, help="events in the simulate benchmark")
    s.add_argument(
        "--days", type=int, default=365, help="days of readings the query benchmark loads"
    )
    s.add_argument(
        "--requests",
        type=int,
        default=200,
        help="timed requests per series kind (query; half for latest)",
    )
    s.add_argument(
        "--reload", action="store_true", help="query: load the city again even if it is there"
    )
    s.add_argument(
        "--database", default="urbanpulse_bench_query", help="the query benchmark's own database"
    )
    s.set_defaults(run=bench)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parser().parse_args(argv)
    settings = Settings()
    run: Command = args.run
    return run(settings, args)


if __name__ == "__main__":
    sys.exit(main())
