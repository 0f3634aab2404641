"""The rule engine at work in the bridge: rules and registry compiled into arrays, state
loaded and saved in the writer's transaction, transitions turned into alerts.

Only the (rule, device) pairs a batch touches are read, locked (`for update`) and
written back, so several bridges on one shared subscription evaluate a device one after
the other, each from the state the other committed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np

from ingest import alerts
from ingest.alerts import Conn, RuleInfo, Transition
from ingest.derived import derived_readings
from rules import kernels, windows
from rules.model import DERIVED, Rule, RuleError, parse_rule
from rules.state import State, StateRow, Transitions, from_rows, to_rows, transition_rows
from rules.table import Batch, Device, RuleTable, compile_table, encode
from rules.timers import due, silent

REFRESH_S = 30.0

LOAD_STATE = """
select rule_id, dev_eui, active, extract(epoch from pending_since), pending_value, streak,
       last_value, extract(epoch from last_time), extract(epoch from fired_at)
from rule_state where rule_id = any($1::text[]) and dev_eui = any($2::text[])
order by rule_id, dev_eui
for update
"""

LOAD_TIMED_STATE = """
select rule_id, dev_eui, active, extract(epoch from pending_since), pending_value, streak,
       last_value, extract(epoch from last_time), extract(epoch from fired_at)
from rule_state where rule_id = any($1::text[]) and (pending_since is not null or active)
order by rule_id, dev_eui
for update skip locked
"""

SAVE_STATE = """
insert into rule_state as s (rule_id, dev_eui, channel, active, pending_since, pending_value,
                             streak, last_value, last_time, fired_at)
select r.rule_id, r.dev_eui, r.channel, r.active, to_timestamp(r.pending_since), r.pending_value,
       r.streak, r.last_value, to_timestamp(r.last_time), to_timestamp(r.fired_at)
from unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::float8[], $6::float8[], $7::int[],
            $8::float8[], $9::float8[], $10::float8[])
     as r(rule_id, dev_eui, channel, active, pending_since, pending_value, streak, last_value,
          last_time, fired_at)
on conflict (rule_id, dev_eui, channel) do update set
    active = excluded.active, pending_since = excluded.pending_since,
    pending_value = excluded.pending_value, streak = excluded.streak,
    last_value = excluded.last_value, last_time = excluded.last_time, fired_at = excluded.fired_at
"""

ReadingRow = tuple[datetime, str, str, str, float, Any]


@dataclass(frozen=True)
class Compiled:
    table: RuleTable
    infos: dict[str, RuleInfo]
    channel: dict[str, str]


WINDOW_ROLLUPS = """
select dev_eui, quantity, channel, bucket, count, sum from rollups_hourly
where dev_eui = any($1::text[]) and quantity = any($2::text[]) and bucket >= $3 and bucket < $4
"""


def window_value(window: str, hourly: windows.FloatArray, hour: int) -> float:
    """A windowed value of a (1, 48) grid of hourly means (yesterday and today, local
    time) as of `hour`: the current hour's mean, the 8 h running mean ending in it, or
    today's 24 h mean or maximum hourly mean so far."""
    if window == "hourly_mean":
        return float(hourly[0, hour])
    if window == "running_mean_8h":
        return float(windows.running_mean_8h(hourly)[0, hour])
    if window == "mean_24h":
        return float(windows.mean_24h(hourly)[0, 1])
    return float(windows.daily_max_hourly_mean(hourly)[0, 1])


class RuleEngine:
    def __init__(self, timezone: str = "Europe/Paris") -> None:
        self.zone = ZoneInfo(timezone)
        self.compiled: Compiled | None = None
        self.loaded_at = -REFRESH_S
        self.invalid: dict[str, str] = {}

    async def refresh(self, conn: Conn, force: bool = False) -> Compiled | None:
        """Rules and registry, compiled again at most every REFRESH_S seconds."""
        now = time.monotonic()
        if not force and now - self.loaded_at < REFRESH_S:
            return self.compiled
        rules: list[Rule] = []
        self.invalid = {}
        for row in await conn.fetch(
            "select id, tenant_id, definition from rules where enabled order by id"
        ):
            try:
                rules.append(
                    parse_rule(
                        {**row["definition"], "id": row["id"], "tenant_id": row["tenant_id"] or "*"}
                    )
                )
            except RuleError as exc:  # refused at the API; a hand-edited row must not stop ingest
                self.invalid[row["id"]] = str(exc)
        devices = [
            Device(
                r["dev_eui"], r["tenant_id"] or "", r["device_class"], r["zone"], r["tags"] or {}
            )
            for r in await conn.fetch(
                "select dev_eui, tenant_id, device_class, zone, tags from devices order by dev_eui"
            )
        ]
        self.loaded_at = now
        if not rules:
            self.compiled = None
            return None
        table = compile_table(rules, devices)
        infos = {
            r.id: RuleInfo(None if r.tenant_id == "*" else r.tenant_id, r.name or r.id, r.severity,
                           [a.model_dump(mode="json") for a in r.actions])
            for r in rules
        }  # fmt: skip
        self.compiled = Compiled(table, infos, {r.id: r.channel for r in rules})
        return self.compiled

    async def evaluate(self, conn: Conn, readings: Sequence[ReadingRow]) -> tuple[int, int]:
        """Evaluate a batch's fresh readings inside the writer's transaction."""
        compiled = await self.refresh(conn)
        if compiled is not None and not {r[1] for r in readings} <= set(compiled.table.dev_euis):
            compiled = await self.refresh(conn, force=True)  # new devices, registered just now
        if compiled is None or not readings:
            return 0, 0
        ordered_rows = sorted(readings, key=lambda r: r[0])
        batch = encode(
            compiled.table,
            [r[0].timestamp() for r in ordered_rows],
            [r[1] for r in ordered_rows],
            [r[2] for r in ordered_rows],
            [r[3] for r in ordered_rows],
            [r[4] for r in ordered_rows],
        )
        extra_rows: dict[str, list[tuple[float, str, str, str, float]]] = dict(
            await self.windowed(conn, compiled, ordered_rows)
        )
        wanted = {q for q, _, w in compiled.table.keys if q in DERIVED and w == "raw"}
        if wanted:
            extra_rows.setdefault("raw", []).extend(
                await derived_readings(conn, wanted, ordered_rows, self.zone)
            )
        for window, rows in extra_rows.items():
            if not rows:
                continue
            extra = encode(
                compiled.table,
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
                [r[4] for r in rows],
                window=window,
            )
            batch = merge(batch, extra)
        if not np.any(batch.key >= 0):
            return 0, 0
        watched = batch.device[(batch.key >= 0) & (batch.device >= 0)]
        touched = {compiled.table.dev_euis[d] for d in np.unique(watched).tolist()}
        devices = sorted(touched)
        state = from_rows(compiled.table, await self.load(conn, compiled, devices))
        new, transitions = kernels.evaluate(
            compiled.table, state, not_late(compiled.table, state, batch)
        )
        await self.save(
            conn, compiled, [row for row in to_rows(compiled.table, new) if row[1] in touched]
        )
        return await self.apply(conn, compiled, transitions)

    async def windowed(
        self, conn: Conn, compiled: Compiled, readings: Sequence[ReadingRow]
    ) -> dict[str, list[tuple[float, str, str, str, float]]]:
        """Windowed values (hourly mean, 8 h running mean, 24 h mean, daily max of hourly
        means) of the series this batch touched that a windowed rule watches, from the
        hourly rollups already updated in this transaction; one value per series and
        window, at the series' latest reading. Days are the city's calendar days."""
        wanted = {(q, c) for q, c, w in compiled.table.keys if w != "raw"}
        latest: dict[tuple[str, str, str], datetime] = {}
        for t, dev_eui, quantity, channel, _, _ in readings:
            if (quantity, channel) in wanted:
                latest[(dev_eui, quantity, channel)] = t
        if not latest:
            return {}
        newest = max(latest.values()).astimezone(self.zone)
        start = datetime.combine(newest.date() - timedelta(days=1), datetime.min.time(), self.zone)
        rows = await conn.fetch(
            WINDOW_ROLLUPS, sorted({k[0] for k in latest}), sorted({k[1] for k in latest}),
            start, start + timedelta(days=2),
        )  # fmt: skip
        series = sorted(latest)
        index = {key: i for i, key in enumerate(series)}
        count, total = np.zeros((len(series), 48)), np.zeros((len(series), 48))
        for r in rows:
            i = index.get((r["dev_eui"], r["quantity"], r["channel"]))
            hour = int((r["bucket"] - start).total_seconds() // 3600)
            if i is not None and 0 <= hour < 48:
                count[i, hour], total[i, hour] = r["count"], r["sum"]
        hourly = windows.hourly_means(count, total)
        out: dict[str, list[tuple[float, str, str, str, float]]] = {}
        for window in {w for _, _, w in compiled.table.keys if w != "raw"}:
            for i, (dev_eui, quantity, channel) in enumerate(series):
                moment = latest[(dev_eui, quantity, channel)]
                hour = min(int((moment - start).total_seconds() // 3600), 47)
                value = window_value(window, hourly[i : i + 1], hour)
                out.setdefault(window, []).append(
                    (moment.timestamp(), dev_eui, quantity, channel, value)
                )
        return out

    async def tick(self, conn: Conn, now: datetime) -> tuple[int, int]:
        """Timers: pending "for at least D" runs that came due, and silent devices."""
        compiled = await self.refresh(conn)
        if compiled is None:
            return 0, 0
        table = compiled.table
        # Only pending runs and open conditions can change on a timer: a city's idle pairs
        # are neither read nor locked.
        rows = await conn.fetch(LOAD_TIMED_STATE, [r.id for r in table.rules])
        state = from_rows(table, [tuple(r) for r in rows])
        seen = {
            r["dev_eui"]: r["last_seen_at"].timestamp()
            for r in await conn.fetch(
                "select dev_eui, last_seen_at from devices where last_seen_at is not null"
            )
        }
        last_seen = np.array([seen.get(d, math.nan) for d in table.dev_euis], dtype=np.float64)
        after_due, fired = due(table, state, now.timestamp())
        after_silence, silence = silent(table, after_due, last_seen, now.timestamp())
        await self.save(conn, compiled, to_rows(table, after_silence))
        a = await self.apply(conn, compiled, fired)
        b = await self.apply(conn, compiled, silence)
        return a[0] + b[0], a[1] + b[1]

    async def load(self, conn: Conn, compiled: Compiled, devices: Sequence[str]) -> list[StateRow]:
        rule_ids = [r.id for r in compiled.table.rules]
        return [tuple(r) for r in await conn.fetch(LOAD_STATE, rule_ids, list(devices))]

    async def save(self, conn: Conn, compiled: Compiled, rows: Sequence[StateRow]) -> None:
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        channels = [compiled.channel[rule_id] for rule_id in columns[0]]
        await conn.execute(
            SAVE_STATE,
            list(columns[0]),
            list(columns[1]),
            channels,
            *(list(c) for c in columns[2:]),
        )

    async def apply(
        self, conn: Conn, compiled: Compiled, transitions: Transitions
    ) -> tuple[int, int]:
        if not len(transitions):
            return 0, 0
        changes = [
            Transition(rule_id, dev_eui, channel, kind, datetime.fromtimestamp(t, UTC), value)
            for rule_id, dev_eui, channel, kind, t, value in transition_rows(
                compiled.table, transitions
            )
        ]
        return await alerts.apply_transitions(conn, changes, compiled.infos)


def merge(a: Batch, b: Batch) -> Batch:
    """Two batches as one, in time order (windowed values after raw ones at equal times)."""
    time_s = np.concatenate([a.time_s, b.time_s])
    order = np.argsort(time_s, kind="stable")
    return Batch(
        time_s[order],
        np.concatenate([a.device, b.device])[order],
        np.concatenate([a.key, b.key])[order],
        np.concatenate([a.value, b.value])[order],
    )


def not_late(table: RuleTable, state: State, batch: Batch) -> Batch:
    """The batch without readings at or before the last one the engine saw for their
    device and quantity: a late uplink, or one another bridge had already passed, does
    not move the state backwards in time."""
    last = np.full((len(table.dev_euis) + 1, len(table.keys) + 1), -np.inf)
    for k, rules in table.rules_by_key:
        pairs = table.pair_of[rules]
        times = np.where(pairs >= 0, state.last_time[np.maximum(pairs, 0)], np.nan)
        seen = ~np.all(np.isnan(times), axis=0)
        last[: len(table.dev_euis), k][seen] = np.nanmax(times[:, seen], axis=0)
    keep = ~(batch.time_s <= last[batch.device, batch.key])  # -1 codes land on the -inf margin
    return Batch(batch.time_s[keep], batch.device[keep], batch.key[keep], batch.value[keep])


async def tick_once(pool: asyncpg.Pool, engine: RuleEngine) -> tuple[int, int]:
    async with pool.acquire() as conn, conn.transaction():
        return await engine.tick(conn, datetime.now(UTC))
