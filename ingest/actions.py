"""Delivering the action outbox after commit: webhooks (signed, retried), MQTT
notifications, ChirpStack downlinks (`command/down` with our own id, which comes back as
`queueItemId` in `txack` and `ack`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from ingest.store import Conn

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
Publish = Callable[[str, bytes], None]
Post = Callable[[str, bytes, dict[str, str]], Awaitable[int]]

DUE = """
select o.id, o.kind, o.spec, o.payload, o.attempts
from action_outbox o
where o.done_at is null and o.next_attempt_at <= now()
order by o.next_attempt_at
limit $1
for update skip locked
"""


def signature(secret: str, body: bytes) -> str:
    """`X-Urbanpulse-Signature`: HMAC-SHA256 of the body, as GitHub and Stripe do it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 600))


def downlink_command(
    downlink_id: str, dev_eui: str, f_port: int, payload: bytes, confirmed: bool
) -> bytes:
    """An `integration.DownlinkCommand` as ChirpStack parses it; devEui must equal the topic's."""
    return orjson.dumps(
        {
            "id": downlink_id,
            "devEui": dev_eui,
            "confirmed": confirmed,
            "fPort": f_port,
            "data": base64.b64encode(payload).decode(),
        }
    )


@dataclass
class Dispatcher:
    publish: Publish
    post: Post
    command_topic: str = "application/{application_id}/device/{dev_eui}/command/down"

    async def deliver_due(self, conn: Conn, limit: int = 100) -> int:
        """Deliver what is due; each row is locked while delivered, so several bridges can
        run this at once without delivering anything twice."""
        delivered = 0
        async with conn.transaction():
            for row in await conn.fetch(DUE, limit):
                try:
                    await self.deliver(conn, row["kind"], row["spec"], row["payload"])
                except (OSError, ValueError, RuntimeError) as exc:
                    attempts = row["attempts"] + 1
                    give_up = attempts >= MAX_ATTEMPTS
                    log.warning(
                        "action %s (%s) failed, attempt %d: %s",
                        row["id"],
                        row["kind"],
                        attempts,
                        exc,
                    )
                    await conn.execute(
                        "update action_outbox set attempts = $2, last_error = $3, "
                        "next_attempt_at = now() + $4::interval, done_at = case when $5 then now() end "
                        "where id = $1",
                        row["id"], attempts, str(exc)[:500], backoff(attempts), give_up,
                    )  # fmt: skip
                    continue
                await conn.execute(
                    "update action_outbox set attempts = attempts + 1, done_at = now(), last_error = null where id = $1",
                    row["id"],
                )
                delivered += 1
        return delivered

    async def deliver(
        self, conn: Conn, kind: str, spec: dict[str, Any], payload: dict[str, Any]
    ) -> None:
        if kind == "webhook":
            body = orjson.dumps(payload)
            headers = {"content-type": "application/json"}
            if spec.get("secret"):
                headers["x-urbanpulse-signature"] = signature(str(spec["secret"]), body)
            status = await self.post(str(spec["url"]), body, headers)
            if not 200 <= status < 300:
                raise RuntimeError(f"webhook {spec['url']} answered {status}")
        elif kind == "mqtt":
            self.publish(str(spec["topic"]), orjson.dumps(payload))
        elif kind == "downlink":
            await self.send_downlink(conn, str(payload["downlink_id"]))
        else:
            raise ValueError(f"unknown action kind {kind!r}")

    async def send_downlink(self, conn: Conn, downlink_id: str) -> None:
        row = await conn.fetchrow(
            "select k.id::text as id, k.dev_eui, k.f_port, k.payload, k.confirmed, d.application_id "
            "from downlinks k join devices d using (dev_eui) where k.id = $1::uuid",
            downlink_id,
        )
        if row is None or not row["application_id"]:
            raise ValueError(f"downlink {downlink_id}: unknown device or no ChirpStack application")
        topic = self.command_topic.format(
            application_id=row["application_id"], dev_eui=row["dev_eui"]
        )
        self.publish(
            topic,
            downlink_command(
                row["id"], row["dev_eui"], row["f_port"], row["payload"], row["confirmed"]
            ),
        )
        await conn.execute(
            "update downlinks set status = 'published', updated_at = now() where id = $1::uuid",
            downlink_id,
        )
