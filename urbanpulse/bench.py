"""Benchmark dispatch: each benchmark returns one dict, printed as one JSON line."""

from __future__ import annotations

import argparse
from typing import Any

from urbanpulse.settings import Settings


def run(what: str, settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    if what == "ingest":
        from ingest import benchmark

        return benchmark.run(settings, args.messages, args.devices, args.workers)
    if what == "decode":
        from decoders import benchmark as decode_benchmark

        return decode_benchmark.run(args.payloads)
    if what == "rules":
        from rules import benchmark as rules_benchmark

        return rules_benchmark.run(args.readings, args.rules)
    if what == "simulate":
        from simulators import bench as simulator_bench

        return simulator_bench.run(args.scenario, args.events)
    raise ValueError(f"unknown benchmark {what!r}")
