"""The alert lifecycle in the database: firing → acknowledged → resolved, one open alert
per (rule, device, channel) by a unique index, history in alert_events, actions queued
in the outbox of the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

import decoders
from ingest import notify

Conn = asyncpg.Connection | PoolConnectionProxy


@dataclass(frozen=True, slots=True)
class Transition:
    """What the rule engine decided for one (rule, device, channel) at one time."""

    rule_id: str
    dev_eui: str
    channel: str
    kind: str  # "fired" or "cleared"
    time: datetime
    value: float | None


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What the lifecycle needs of a rule: who sees it, how loud, what to do."""

    tenant_id: str | None
    name: str
    severity: str
    actions: Sequence[Mapping[str, Any]]


FIRE = """
insert into alerts (rule_id, dev_eui, channel, tenant_id, status, severity, message, value, fired_at, last_notified_at)
select $1, $2, $3, coalesce($4, (select tenant_id from devices where dev_eui = $2)), 'firing', $5, $6, $7, $8, $8
on conflict (rule_id, dev_eui, channel) where status <> 'resolved' do nothing
returning id, tenant_id
"""

RESOLVE = """
update alerts set status = 'resolved', resolved_at = $4, resolved_by = $5
where rule_id = $1 and dev_eui = $2 and channel = $3 and status <> 'resolved'
returning id
"""


async def apply_transitions(
    conn: Conn, transitions: Sequence[Transition], rules: Mapping[str, RuleInfo]
) -> tuple[int, int]:
    """Open and resolve alerts; returns (fired, resolved). An alert already open for the
    (rule, device, channel), by this bridge or another, is not opened twice."""
    fired = resolved = 0
    for t in transitions:
        rule = rules[t.rule_id]
        if t.kind == "fired":
            message = f"{rule.name}: {t.value:g}" if t.value is not None else rule.name
            row = await conn.fetchrow(
                FIRE,
                t.rule_id,
                t.dev_eui,
                t.channel,
                rule.tenant_id,
                rule.severity,
                message,
                t.value,
                t.time,
            )
            if row is None:
                continue
            fired += 1
            await record(
                conn,
                row["id"],
                "fired",
                "urbanpulse",
                {"value": t.value, "time": t.time.isoformat()},
            )
            payload = alert_payload(row["id"], t, rule, row["tenant_id"], "fired")
            await queue_actions(conn, row["id"], t.dev_eui, rule.actions, payload)
            await notify.publish_alert(conn, row["id"], "fired", t.time)
        else:
            for row in await conn.fetch(RESOLVE, t.rule_id, t.dev_eui, t.channel, t.time, "auto"):
                resolved += 1
                await record(
                    conn,
                    row["id"],
                    "resolved",
                    "auto",
                    {"value": t.value, "time": t.time.isoformat()},
                )
                await notify.publish_alert(conn, row["id"], "cleared", t.time)
    return fired, resolved


def alert_payload(
    alert_id: int, t: Transition, rule: RuleInfo, tenant_id: str | None, event: str
) -> dict[str, Any]:
    return {
        "event": event,
        "alert_id": alert_id,
        "rule_id": t.rule_id,
        "rule": rule.name,
        "severity": rule.severity,
        "tenant_id": tenant_id,
        "dev_eui": t.dev_eui,
        "channel": t.channel,
        "value": t.value,
        "time": t.time.isoformat(),
    }


async def record(
    conn: Conn, alert_id: int, kind: str, actor: str, detail: Mapping[str, Any]
) -> None:
    await conn.execute(
        "insert into alert_events (alert_id, kind, actor, detail) values ($1, $2, $3, $4)",
        alert_id, kind, actor, dict(detail),
    )  # fmt: skip


async def queue_actions(
    conn: Conn,
    alert_id: int,
    dev_eui: str,
    actions: Sequence[Mapping[str, Any]],
    payload: Mapping[str, Any],
) -> None:
    for action in actions:
        kind = str(action["type"])
        body = dict(payload)
        if kind == "downlink":
            f_port, frame = await downlink_frame(conn, dev_eui, action)
            body["downlink_id"] = await queue_downlink(
                conn, dev_eui, f_port, frame, bool(action.get("confirmed", False)), alert_id, "rule"
            )
        await conn.execute(
            "insert into action_outbox (alert_id, kind, spec, payload) values ($1, $2, $3, $4)",
            alert_id, kind, dict(action), body,
        )  # fmt: skip


async def downlink_frame(conn: Conn, dev_eui: str, action: Mapping[str, Any]) -> tuple[int, bytes]:
    """Raw bytes from the action, or a named command of the device's decoder module (a
    function taking no argument, e.g. `reboot`), encoded for this device's model."""
    if action.get("payload_hex"):
        return int(action["f_port"]), bytes.fromhex(str(action["payload_hex"]))
    command = str(action.get("command"))
    model = await conn.fetchval("select model from devices where dev_eui = $1", dev_eui)
    module = decoders.device_module(model) if model else None
    encode = getattr(module, command, None) if module else None
    if encode is None or command.startswith("_"):
        raise ValueError(
            f"downlink command {command!r} is not known for model {model!r} of {dev_eui}"
        )
    downlink = encode()
    if not isinstance(downlink, decoders.Downlink):
        raise ValueError(f"{model}.{command} does not give a downlink")
    return downlink.f_port, downlink.payload


async def queue_downlink(
    conn: Conn,
    dev_eui: str,
    f_port: int,
    payload: bytes,
    confirmed: bool,
    alert_id: int | None,
    requested_by: str,
) -> str:
    downlink_id = str(uuid.uuid4())
    await conn.execute(
        "insert into downlinks (id, dev_eui, f_port, payload, confirmed, alert_id, requested_by) "
        "values ($1::uuid, $2, $3, $4, $5, $6, $7)",
        downlink_id, dev_eui, f_port, payload, confirmed, alert_id, requested_by,
    )  # fmt: skip
    return downlink_id


async def acknowledge(conn: Conn, alert_id: int, actor: str, now: datetime) -> bool:
    row = await conn.fetchrow(
        "update alerts set status = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3 "
        "where id = $1 and status = 'firing' returning id",
        alert_id, now, actor,
    )  # fmt: skip
    if row is not None:
        await record(conn, alert_id, "acknowledged", actor, {})
        await notify.publish_alert(conn, alert_id, "acknowledged", now)
    return row is not None


async def resolve(conn: Conn, alert_id: int, actor: str, now: datetime) -> bool:
    row = await conn.fetchrow(
        "update alerts set status = 'resolved', resolved_at = $2, resolved_by = $3 "
        "where id = $1 and status <> 'resolved' returning id",
        alert_id, now, actor,
    )  # fmt: skip
    if row is not None:
        await record(conn, alert_id, "resolved", actor, {})
        await notify.publish_alert(conn, alert_id, "resolved", now)
    return row is not None


RENOTIFY_DUE = """
select a.id, a.rule_id, a.dev_eui, a.channel, a.tenant_id, a.value, a.fired_at, r.definition
from alerts a join rules r on r.id = a.rule_id
where a.status = 'firing'
  and (r.definition->>'renotify_s') is not null
  and a.last_notified_at + make_interval(secs => (r.definition->>'renotify_s')::double precision) <= $1
for update of a skip locked
"""


async def renotify_due(conn: Conn, now: datetime) -> int:
    """Alerts still firing and not acknowledged are announced again every renotify_s."""
    count = 0
    for row in await conn.fetch(RENOTIFY_DUE, now):
        definition = row["definition"]
        rule = RuleInfo(row["tenant_id"], str(definition.get("name", row["rule_id"])),
                        str(definition.get("severity", "warning")), definition.get("actions", []))  # fmt: skip
        t = Transition(
            row["rule_id"], row["dev_eui"], row["channel"], "fired", row["fired_at"], row["value"]
        )
        payload = alert_payload(row["id"], t, rule, row["tenant_id"], "still_firing")
        actions = [a for a in rule.actions if a.get("type") != "downlink"]  # a command is sent once
        await queue_actions(conn, row["id"], row["dev_eui"], actions, payload)
        await conn.execute("update alerts set last_notified_at = $2 where id = $1", row["id"], now)
        await record(conn, row["id"], "notified", "urbanpulse", {})
        count += 1
    return count
