"""Alert lifecycle, outbox delivery and downlink tracking against the real services."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import asyncpg
import httpx2
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest import alerts, store
from ingest.actions import Dispatcher, signature
from ingest.alerts import RuleInfo, Transition
from ingest.pipeline import Message, ModelResolver, process
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
DEV = "0004a30b001c0530"


async def connect(env: ServiceEnv) -> asyncpg.Connection:
    conn = await asyncpg.connect(env.settings.database_url)
    await store.prepare_connection(conn)
    return conn


def setup_rule(
    env: ServiceEnv, actions: list[dict[str, Any]] | None = None, renotify_s: float | None = None
) -> RuleInfo:
    env.query("insert into tenants (id, name) values ('lyon', 'Lyon') on conflict do nothing")
    env.query(
        "insert into devices (dev_eui, tenant_id, application_id) values ($1, 'lyon', 'app-1') on conflict do nothing",
        DEV,
    )
    definition = {
        "name": "bin full",
        "severity": "warning",
        "actions": actions or [],
        "renotify_s": renotify_s,
    }
    env.query(
        "insert into rules (id, tenant_id, definition) values ('bin-full', 'lyon', $1::jsonb)",
        json.dumps(definition),
    )
    return RuleInfo("lyon", "bin full", "warning", actions or [])


def apply(env: ServiceEnv, rule: RuleInfo, *transitions: Transition) -> tuple[int, int]:
    async def run() -> tuple[int, int]:
        conn = await connect(env)
        try:
            async with conn.transaction():
                return await alerts.apply_transitions(conn, transitions, {"bin-full": rule})
        finally:
            await conn.close()

    return asyncio.run(run())


def t(kind: str, minutes: int, value: float = 85.0) -> Transition:
    return Transition("bin-full", DEV, "", kind, T0 + timedelta(minutes=minutes), value)


def test_one_open_alert_per_rule_and_device_with_its_history(env: ServiceEnv) -> None:
    rule = setup_rule(env)

    assert apply(env, rule, t("fired", 0), t("fired", 5)) == (1, 0)
    assert apply(env, rule, t("fired", 6)) == (0, 0)
    assert apply(env, rule, t("cleared", 30, 40.0)) == (0, 1)
    assert apply(env, rule, t("fired", 60)) == (1, 0)

    rows = env.query("select status, tenant_id, fired_at from alerts order by id")
    assert [(r["status"], r["tenant_id"]) for r in rows] == [
        ("resolved", "lyon"),
        ("firing", "lyon"),
    ]
    kinds = [r["kind"] for r in env.query("select kind from alert_events order by id")]
    assert kinds == ["fired", "resolved", "fired"]


def test_two_writers_firing_at_once_open_one_alert(env: ServiceEnv) -> None:
    rule = setup_rule(env)

    async def fire_from_two_connections() -> list[tuple[int, int]]:
        first, second = await connect(env), await connect(env)
        try:

            async def fire(conn: asyncpg.Connection) -> tuple[int, int]:
                async with conn.transaction():
                    result = await alerts.apply_transitions(
                        conn, [t("fired", 0)], {"bin-full": rule}
                    )
                    await asyncio.sleep(0.2)  # both transactions overlap
                    return result

            return list(await asyncio.gather(fire(first), fire(second)))
        finally:
            await first.close()
            await second.close()

    results = asyncio.run(fire_from_two_connections())

    assert sorted(results) == [(0, 0), (1, 0)]
    assert env.scalar("select count(*) from alerts") == 1


def test_acknowledge_then_resolve_by_hand(env: ServiceEnv) -> None:
    rule = setup_rule(env)
    apply(env, rule, t("fired", 0))
    alert_id = env.scalar("select id from alerts")

    async def run() -> list[bool]:
        conn = await connect(env)
        try:
            now = T0 + timedelta(hours=1)
            return [
                await alerts.acknowledge(conn, alert_id, "agent.voirie", now),
                await alerts.acknowledge(conn, alert_id, "agent.voirie", now),
                await alerts.resolve(conn, alert_id, "agent.voirie", now),
            ]
        finally:
            await conn.close()

    assert asyncio.run(run()) == [True, False, True]
    row = env.query("select status, acknowledged_by, resolved_by from alerts")[0]
    assert tuple(row) == ("resolved", "agent.voirie", "agent.voirie")


class Receiver(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        Receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(Receiver.answers.pop(0) if Receiver.answers else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received, Receiver.answers = [], [500]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


async def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with httpx2.AsyncClient(timeout=5) as client:
        return (await client.post(url, content=body, headers=headers)).status_code


def mqtt_capture(env: ServiceEnv, topic: str) -> tuple[mqtt.Client, list[tuple[str, bytes]]]:
    seen: list[tuple[str, bytes]] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = lambda c, u, m: seen.append((m.topic, bytes(m.payload)))
    client.connect(env.settings.mqtt_host, env.settings.mqtt_port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    return client, seen


def test_actions_are_delivered_after_commit_signed_retried_and_tracked(
    env: ServiceEnv, webhook: str
) -> None:
    prefix = env.prefix
    actions = [
        {"type": "webhook", "url": webhook, "secret": "s3cret"},
        {"type": "mqtt", "topic": f"{prefix}alerts"},
        {"type": "downlink", "f_port": 85, "payload_hex": "080100"},
    ]
    rule = setup_rule(env, actions)
    listener, seen = mqtt_capture(env, f"{prefix}#")
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.connect(env.settings.mqtt_host, env.settings.mqtt_port)
    publisher.loop_start()
    dispatcher = Dispatcher(
        lambda topic, payload: publisher.publish(topic, payload, qos=1).wait_for_publish(5),
        post,
        command_topic=prefix + "application/{application_id}/device/{dev_eui}/command/down",
    )
    apply(env, rule, t("fired", 0))

    async def deliver() -> list[int]:
        conn = await connect(env)
        try:
            first = await dispatcher.deliver_due(conn)
            await conn.execute(
                "update action_outbox set next_attempt_at = now() where done_at is null"
            )
            return [first, await dispatcher.deliver_due(conn)]
        finally:
            await conn.close()

    assert asyncio.run(deliver()) == [2, 1]  # the webhook answered 500 once
    headers, body = Receiver.received[-1]
    assert headers["x-urbanpulse-signature"] == signature("s3cret", body)
    assert json.loads(body)["rule_id"] == "bin-full"
    env.wait_for(
        lambda: len(seen) >= 2, timeout_s=10, what="the MQTT notification and the downlink"
    )
    command = next(json.loads(p) for topic, p in seen if topic.endswith("/command/down"))
    assert command["devEui"] == DEV
    assert command["fPort"] == 85
    assert command["data"] == "CAEA"
    assert env.scalar("select status from downlinks") == "published"

    txack = {
        "downlinkId": 1, "time": "2026-11-01T12:00:05+00:00", "queueItemId": command["id"], "fCntDown": 1,
        "deviceInfo": {"tenantId": "lyon", "devEui": DEV, "applicationId": "app-1"},
    }  # fmt: skip

    async def feed() -> None:
        conn = await connect(env)
        try:
            message = Message(
                f"application/app-1/device/{DEV}/event/txack", json.dumps(txack).encode()
            )
            await store.write(conn, process([message], ModelResolver({}, {})).batch)
        finally:
            await conn.close()

    asyncio.run(feed())
    assert env.scalar("select status from downlinks") == "transmitted"
    for client in (listener, publisher):
        client.disconnect()
        client.loop_stop()


def test_alerts_still_firing_are_announced_again(env: ServiceEnv) -> None:
    rule = setup_rule(env, [{"type": "mqtt", "topic": "x"}], renotify_s=600)
    apply(env, rule, t("fired", 0))

    async def renotify(minutes: int) -> int:
        conn = await connect(env)
        try:
            return await alerts.renotify_due(conn, T0 + timedelta(minutes=minutes))
        finally:
            await conn.close()

    assert asyncio.run(renotify(5)) == 0
    assert asyncio.run(renotify(11)) == 1
    assert asyncio.run(renotify(12)) == 0
    assert env.scalar("select count(*) from action_outbox") == 2
