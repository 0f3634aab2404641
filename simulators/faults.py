"""Faults on demand: what a scenario asks for, and the publication-side faults (duplicates,
redeliveries, out-of-order and late events) applied to a stream of events.

Device-side faults (corrupt payloads, retransmissions, fCnt resets, silent devices,
gateway outages, bursts) change what is generated and are applied by `simulators.engine`.
An fCnt reset is a reboot that restarts the frame counter in the session ChirpStack
holds: ChirpStack drops the frames (a `log` each) until the device rejoins, which it does
once `rejoin_after_uplinks` uplinks went unanswered (an assumption: firmwares check the
link with LinkCheckReq or ADRACKReq); with 0 it rejoins as it boots."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import yaml

from simulators.nodes import Node

NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class GatewayOutage:
    gateway: str
    at_s: float
    for_s: float


@dataclass(frozen=True, slots=True)
class Burst:
    """Every device of a class reports once more, spread over `within_s` (a power return)."""

    device_class: str
    at_s: float
    within_s: float


@dataclass(frozen=True, slots=True)
class Faults:
    """Probabilities are per event; times are seconds after the start of the run."""

    duplicate: float = 0.0
    redelivery: float = 0.0
    redelivery_delay_s: float = 60.0
    retransmission: float = 0.0
    out_of_order: float = 0.0
    out_of_order_delay_s: float = 30.0
    late: float = 0.0
    late_delay_s: float = 3600.0
    corrupt: float = 0.0
    fcnt_reset_per_day: float = 0.0
    rejoin_after_uplinks: int = 8
    silent_fraction: float = 0.0
    silent_after_s: float = 0.0
    silent_for_s: float | None = None
    gateway_outages: tuple[GatewayOutage, ...] = ()
    bursts: tuple[Burst, ...] = ()


@dataclass(slots=True)
class SimEvent:
    """One MQTT publication: `at_ns` is its simulated publication time (Unix ns).

    `intended` is the vendor output the payload was encoded from (None when corrupted on
    purpose or for events without payload); `fault` names the fault that produced it."""

    at_ns: int
    topic: str
    payload: bytes
    kind: str
    device_class: str
    model: str
    dedup_id: str
    intended: dict[str, object] | None = None
    fault: str = ""


def _probability(node: Node, delay_key: str | None = None) -> tuple[float, float | None]:
    if delay_key is None or isinstance(node.node, yaml.ScalarNode):
        value = node.number(minimum=0)
        if value > 1:
            raise node.error(f"a probability is at most 1, got {value:g}")
        return value, None
    f = node.fields(("probability", delay_key))
    p, _ = _probability(node.require(f, "probability"))
    return p, f[delay_key].number(above=0) if delay_key in f else None


def read_faults(node: Node, gateways: set[str]) -> Faults:
    keys = ("duplicate", "redelivery", "retransmission", "out_of_order", "late", "corrupt",
            "fcnt_reset", "silent", "gateway_outage", "burst")  # fmt: skip
    f = node.fields(keys)
    values: dict[str, float] = {}
    for key in ("duplicate", "retransmission", "corrupt"):
        if key in f:
            values[key] = _probability(f[key])[0]
    for key in ("redelivery", "out_of_order", "late"):
        if key in f:
            values[key], delay = _probability(f[key], "delay_s")
            if delay is not None:
                values[f"{key}_delay_s"] = delay
    faults = Faults(**values)  # type: ignore[arg-type]
    if "fcnt_reset" in f:
        reset = f["fcnt_reset"].fields(("per_device_per_day", "rejoin_after_uplinks"))
        rate = f["fcnt_reset"].require(reset, "per_device_per_day").number(minimum=0)
        faults = replace(faults, fcnt_reset_per_day=rate)
        if "rejoin_after_uplinks" in reset:
            rejoin = reset["rejoin_after_uplinks"].integer(minimum=0)
            faults = replace(faults, rejoin_after_uplinks=rejoin)
    if "silent" in f:
        s = f["silent"].fields(("fraction", "after_s", "for_s"))
        faults = replace(
            faults,
            silent_fraction=_probability(f["silent"].require(s, "fraction"))[0],
            silent_after_s=s["after_s"].number(minimum=0) if "after_s" in s else 0.0,
            silent_for_s=s["for_s"].number(above=0) if "for_s" in s else None,
        )
    outages = []
    for o in f["gateway_outage"].items() if "gateway_outage" in f else ():
        g = o.fields(("gateway", "at_s", "for_s"))
        name = o.require(g, "gateway")
        if name.text() not in gateways:
            raise name.error(
                f"unknown gateway {name.text()!r} (known: {', '.join(sorted(gateways))})"
            )
        outages.append(
            GatewayOutage(name.text(), o.require(g, "at_s").number(minimum=0),
                          o.require(g, "for_s").number(above=0))
        )  # fmt: skip
    bursts = []
    for b in f["burst"].items() if "burst" in f else ():
        g = b.fields(("class", "at_s", "within_s"))
        bursts.append(
            Burst(b.require(g, "class").text(), b.require(g, "at_s").number(minimum=0),
                  b.require(g, "within_s").number(above=0))
        )  # fmt: skip
    return replace(faults, gateway_outages=tuple(outages), bursts=tuple(bursts))


def disorder(events: Iterable[SimEvent], faults: Faults, seed: int) -> Iterator[SimEvent]:
    """The events in publication order once duplicated, redelivered, delayed a little (out
    of order) or a lot (late), each with the probability the faults give."""
    publication_faults = (faults.duplicate, faults.redelivery, faults.out_of_order, faults.late)
    if not any(publication_faults):
        return iter(events)
    return _disordered(events, faults, seed)


def _disordered(events: Iterable[SimEvent], faults: Faults, seed: int) -> Iterator[SimEvent]:
    rng = random.Random(seed ^ 0xD15_0DE5)
    delays = (
        ("redelivery", faults.redelivery, faults.redelivery_delay_s),
        ("out_of_order", faults.out_of_order, faults.out_of_order_delay_s),
        ("late", faults.late, faults.late_delay_s),
    )
    any_delay = any(p > 0 for _, p, _ in delays)
    held: list[tuple[int, int, SimEvent]] = []
    seq = 0
    for event in events:
        while held and held[0][0] <= event.at_ns:
            yield heapq.heappop(held)[2]
        late = False
        if any_delay:
            for name, p, delay_s in delays:
                if p and rng.random() < p:
                    at = event.at_ns + int(rng.uniform(0.1, 1.0) * delay_s * NS)
                    copy = replace(event, at_ns=at, fault=name)
                    heapq.heappush(held, (at, seq, copy))
                    seq += 1
                    late = late or name != "redelivery"
        if not late:
            yield event
        if faults.duplicate and rng.random() < faults.duplicate:
            yield replace(event, fault="duplicate")
    while held:
        yield heapq.heappop(held)[2]
