"""The live stream's messages: readings and alert transitions sent with `pg_notify` inside
the transaction that writes them, so that listeners hear of them once committed, never
before and never of a rolled-back batch. Both ends of the message format live here.

A readings message packs device groups, each `{"dev_eui", "tenant_id", "device_class",
"readings": [[time, quantity, channel, value], …]}`, into `{"readings": [group, …]}`
of fewer than PAYLOAD_LIMIT_BYTES. An alert message is `{"alert": {…}, "tenant_id",
"device_class"}`, the tenant and class being the device's: an alert is seen where its
device is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from ingest.store import Conn, ReadingRow

log = logging.getLogger(__name__)

CHANNEL = "urbanpulse_stream"
# PostgreSQL refuses a payload of 8000 bytes or more (NOTIFY_PAYLOAD_MAX_LENGTH).
PAYLOAD_LIMIT_BYTES = 8000

READINGS_OPEN = b'{"readings":['
READINGS_CLOSE = b"]}"

# (tenant_id, device_class) of a device: who may see its events, and its class filter.
Audience = tuple[str | None, str | None]
UNKNOWN: Audience = (None, None)

AUDIENCE = "select dev_eui, tenant_id, device_class from devices where dev_eui = any($1::text[])"
PUBLISH = "select pg_notify($1, m) from unnest($2::text[]) with ordinality as u(m, n) order by n"

# Built in SQL from the rows just written, so that the tenant is the database's own.
PUBLISH_ALERT = f"""
with message as (
    select json_build_object(
        'alert', json_build_object(
            'transition', $2::text, 'time', $3::timestamptz, 'alert_id', a.id,
            'rule_id', a.rule_id, 'dev_eui', a.dev_eui, 'channel', a.channel,
            'tenant_id', a.tenant_id, 'status', a.status, 'severity', a.severity,
            'value', a.value, 'message', a.message),
        'tenant_id', d.tenant_id, 'device_class', d.device_class)::text as payload
    from alerts a left join devices d on d.dev_eui = a.dev_eui
    where a.id = $1)
select pg_notify('{CHANNEL}', payload) from message
where octet_length(payload) < {PAYLOAD_LIMIT_BYTES}
"""


@dataclass(frozen=True, slots=True)
class Notice:
    """One event of the stream as a listener reads it: `kind` "readings" (the readings of
    one device) or "alerts" (one transition), who may see it, and what it says."""

    kind: str
    dev_eui: str
    tenant_id: str | None
    device_class: str | None
    data: Mapping[str, Any]


def reading_messages(
    readings: Sequence[ReadingRow],
    audience: Mapping[str, Audience],
    limit_bytes: int = PAYLOAD_LIMIT_BYTES,
) -> list[str]:
    """The readings as messages, each under `limit_bytes`. A device's readings stay in
    one group unless they do not fit a message; a reading too long for any message alone
    (a channel name of kilobytes) is left out of the stream, not out of the database."""
    by_device: dict[str, list[tuple[datetime, str, str, float]]] = {}
    for time, dev_eui, quantity, channel, value, _ in readings:
        by_device.setdefault(dev_eui, []).append((time, quantity, channel, value))
    budget = limit_bytes - 1 - len(READINGS_OPEN) - len(READINGS_CLOSE)
    messages: list[str] = []
    parts: list[bytes] = []
    size = 0
    for dev_eui, rows in by_device.items():
        tenant_id, device_class = audience.get(dev_eui, UNKNOWN)
        head = {"dev_eui": dev_eui, "tenant_id": tenant_id, "device_class": device_class}
        for part in device_groups(head, rows, budget):
            if parts and size + 1 + len(part) > budget:
                messages.append(pack(parts))
                parts, size = [], 0
            size += len(part) + (1 if parts else 0)
            parts.append(part)
    if parts:
        messages.append(pack(parts))
    return messages


def device_groups(
    head: dict[str, Any], rows: list[tuple[datetime, str, str, float]], budget: int
) -> Iterator[bytes]:
    """One device's readings as encoded groups of at most `budget` bytes, halving the rows
    until they fit."""
    try:
        encoded = orjson.dumps({**head, "readings": rows})
    except orjson.JSONEncodeError as exc:  # a text PostgreSQL stored but JSON cannot carry
        log.warning("readings of %s left out of the stream: %s", head["dev_eui"], exc)
        return
    if len(encoded) <= budget:
        yield encoded
    elif len(rows) > 1:
        middle = len(rows) // 2
        yield from device_groups(head, rows[:middle], budget)
        yield from device_groups(head, rows[middle:], budget)
    else:
        log.warning(
            "a reading of %s is too long for the stream: %d bytes", head["dev_eui"], len(encoded)
        )


def pack(parts: list[bytes]) -> str:
    return (READINGS_OPEN + b",".join(parts) + READINGS_CLOSE).decode()


async def publish_readings(conn: Conn, readings: Sequence[ReadingRow]) -> int:
    """Announce a batch's fresh readings; returns the number of messages sent. Tenant and
    class are read in this transaction, not from a snapshot: a device moved to another
    commune a moment ago streams to its new one only."""
    if not readings:
        return 0
    devices = list({r[1] for r in readings})
    audience = {
        r["dev_eui"]: (r["tenant_id"], r["device_class"])
        for r in await conn.fetch(AUDIENCE, devices)
    }
    messages = reading_messages(readings, audience)
    await conn.execute(PUBLISH, CHANNEL, messages)
    return len(messages)


async def publish_alert(conn: Conn, alert_id: int, transition: str, time: datetime) -> None:
    """Announce an alert's transition: fired, cleared (resolved by its rule), acknowledged
    or resolved (by hand)."""
    await conn.execute(PUBLISH_ALERT, alert_id, transition, time)


def parse_message(payload: str) -> list[Notice]:
    """The notices of one message; ValueError if it is not one of ours."""
    try:
        message = orjson.loads(payload)
        if "readings" in message:
            return [
                Notice("readings", g["dev_eui"], g["tenant_id"], g["device_class"], g)
                for g in message["readings"]
            ]
        alert = message["alert"]
        return [
            Notice("alerts", alert["dev_eui"], message["tenant_id"], message["device_class"], alert)
        ]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"not a stream message: {payload[:200]!r}") from exc
