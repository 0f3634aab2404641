"""The compiled rule table: rules and the device registry turned into arrays, and a batch
of readings encoded against it (device and key codes), so that the kernels never touch a
string or a Rule object per reading."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from rules.model import Rule

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

THRESHOLD, RATE, SILENCE = 0, 1, 2
Key = tuple[str, str, str]  # (quantity, channel, window)


@dataclass(frozen=True, slots=True)
class Device:
    """A registry row as the selectors see it."""

    dev_eui: str
    tenant_id: str
    device_class: str | None = None
    zone: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuleTable:
    """Per-rule parameters (index r), the (rule, device) pairs (index p), and `pair_of`,
    a dense rules × devices matrix of pair indices, -1 where a rule does not apply."""

    rules: tuple[Rule, ...]
    dev_euis: tuple[str, ...]
    keys: tuple[Key, ...]
    kind: IntArray
    key: IntArray  # key code of the rule's (quantity, channel, window); -1 for silence
    sign: FloatArray  # +1 for "above", -1 for "below": kernels compare sign * value
    threshold: FloatArray
    clear: FloatArray
    for_s: FloatArray
    count: IntArray
    pair_rule: IntArray
    pair_device: IntArray
    pair_of: npt.NDArray[np.int32]
    rules_by_key: tuple[tuple[int, IntArray], ...]

    @property
    def pairs(self) -> int:
        return int(self.pair_rule.size)


@dataclass(frozen=True, slots=True)
class Batch:
    """Readings as columns: `device` indexes table.dev_euis, `key` table.keys (-1: none)."""

    time_s: FloatArray
    device: IntArray
    key: IntArray
    value: FloatArray

    def __len__(self) -> int:
        return int(self.time_s.size)


def _kind(rule: Rule) -> int:
    return {"rate_of_change": RATE, "silence": SILENCE}.get(rule.kind, THRESHOLD)


def _applies(rules: Sequence[Rule], devices: Sequence[Device]) -> list[IntArray]:
    """Device indices each rule watches; one vector comparison per rule and criterion."""
    index = {d.dev_eui: i for i, d in enumerate(devices)}
    tenant = np.array([d.tenant_id for d in devices], dtype=object)
    cls = np.array([d.device_class for d in devices], dtype=object)
    zone = np.array([d.zone for d in devices], dtype=object)
    tag_cache: dict[tuple[str, str], BoolArray] = {}
    out = []
    for rule in rules:
        sel = rule.selector
        # "*": a rule of the intercommunality, over every member commune's devices
        ok = np.ones(len(devices), bool) if rule.tenant_id == "*" else tenant == rule.tenant_id
        if sel.device_class is not None:
            ok &= cls == sel.device_class
        if sel.zone is not None:
            ok &= zone == sel.zone
        for tag in sel.tags.items():
            if tag not in tag_cache:
                tag_cache[tag] = np.array([d.tags.get(tag[0]) == tag[1] for d in devices], bool)
            ok &= tag_cache[tag]
        if sel.dev_euis:
            listed = np.zeros(len(devices), bool)
            listed[[index[e] for e in sel.dev_euis if e in index]] = True
            ok &= listed
        out.append(np.flatnonzero(ok).astype(np.int64))
    return out


def compile_table(rules: Sequence[Rule], devices: Sequence[Device]) -> RuleTable:
    """Pairs are numbered rule by rule, devices in registry order within a rule."""
    keys: dict[Key, int] = {}
    for rule in rules:
        if rule.quantity is not None:
            keys.setdefault((rule.quantity, rule.channel, rule.window), len(keys))
    watched = _applies(rules, devices)
    pair_of = np.full((len(rules), len(devices)), -1, dtype=np.int32)
    start = 0
    for r, devs in enumerate(watched):
        pair_of[r, devs] = np.arange(start, start + devs.size, dtype=np.int32)
        start += devs.size
    kind = np.array([_kind(r) for r in rules], dtype=np.int64)
    key = np.array(
        [keys[(r.quantity, r.channel, r.window)] if r.quantity else -1 for r in rules],
        dtype=np.int64,
    )
    engine = np.flatnonzero(kind != SILENCE)
    by_key = tuple((k, engine[key[engine] == k]) for k in range(len(keys)))
    return RuleTable(
        rules=tuple(rules),
        dev_euis=tuple(d.dev_eui for d in devices),
        keys=tuple(keys),
        kind=kind,
        key=key,
        sign=np.array([1.0 if r.direction == "above" else -1.0 for r in rules]),
        threshold=np.array([np.nan if r.threshold is None else r.threshold for r in rules]),
        clear=np.array([np.nan if r.threshold is None else r.clear for r in rules]),
        for_s=np.array([r.for_s for r in rules], dtype=np.float64),
        count=np.array([r.count for r in rules], dtype=np.int64),
        pair_rule=np.repeat(np.arange(len(rules), dtype=np.int64), [d.size for d in watched]),
        pair_device=np.concatenate([*watched, np.empty(0, np.int64)]),
        pair_of=pair_of,
        rules_by_key=tuple((k, rs) for k, rs in by_key if rs.size),
    )


def _codes(names: Sequence[str] | npt.NDArray[np.str_], table: Mapping[str, int]) -> IntArray:
    """Codes of many strings, with one dict look-up per distinct string (-1 if unknown)."""
    uniq, inverse = np.unique(np.asarray(names, dtype=str), return_inverse=True)
    codes = np.array([table.get(str(u), -1) for u in uniq], dtype=np.int64)
    return codes[inverse.reshape(-1)] if uniq.size else np.empty(0, np.int64)


def encode(
    table: RuleTable,
    time_s: Sequence[float] | FloatArray,
    dev_euis: Sequence[str],
    quantities: Sequence[str],
    channels: Sequence[str],
    values: Sequence[float] | FloatArray,
    window: str = "raw",
) -> Batch:
    """A Batch from reading columns; readings that no rule looks at get key -1."""
    q_names = sorted({k[0] for k in table.keys})
    c_names = sorted({k[1] for k in table.keys})
    q = _codes(quantities, {n: i for i, n in enumerate(q_names)})
    c = _codes(channels, {n: i for i, n in enumerate(c_names)})
    grid = np.full((len(q_names) + 1, len(c_names) + 1), -1, dtype=np.int64)
    for code, (quantity, channel, win) in enumerate(table.keys):
        if win == window:
            grid[q_names.index(quantity), c_names.index(channel)] = code
    return Batch(
        np.asarray(time_s, dtype=np.float64),
        _codes(dev_euis, {e: i for i, e in enumerate(table.dev_euis)}),
        grid[q, c],  # -1 codes land on the last row/column, which stays -1
        np.asarray(values, dtype=np.float64),
    )
