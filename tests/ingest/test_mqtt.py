"""The MQTT edge against the real Mosquitto: what is acknowledged, and on which connection."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from ingest.mqtt import Inbox, MqttSource, Received
from simulators.publish import Publisher, publish_all
from tests.services import ServiceEnv

pytestmark = pytest.mark.services


def source_of(env: ServiceEnv, receive_maximum: int = 20000) -> MqttSource:
    s = env.settings
    source = MqttSource(
        Inbox(), s.mqtt_host, s.mqtt_port, s.mqtt_client_id, s.mqtt_event_topic,
        session_expiry_s=600, receive_maximum=receive_maximum,
    )  # fmt: skip
    source.start()
    return source


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def take(source: MqttSource, count: int, timeout_s: float = 20.0) -> list[Received]:
    taken: list[Received] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len(taken) < count and asyncio.get_running_loop().time() < deadline:
        taken += await source.inbox.take(count - len(taken), 0.05, idle_s=0.2)
    return taken


def publish(env: ServiceEnv, count: int) -> list[bytes]:
    topic = f"{env.prefix}application/a/device/0000000000000001/event/up"
    payloads = [f'{{"n": {n}}}'.encode() for n in range(count)]
    publisher = Publisher(env.settings.mqtt_host, env.settings.mqtt_port)
    try:
        publish_all(publisher, [(topic, p) for p in payloads])
    finally:
        publisher.close()
    return payloads


async def test_messages_are_acknowledged_on_the_connection_that_delivered_them(
    env: ServiceEnv,
) -> None:
    source = source_of(env)
    await until(lambda: source.connected, "the first connection")
    payloads = await asyncio.to_thread(publish, env, 5)
    first = await take(source, 5)
    assert [m.payload for m in first] == payloads

    # The connection drops before the batch commits: the broker sends the five again, on
    # the next connection, under the same packet ids.
    sock = source.client.socket()
    assert sock is not None
    sock.shutdown(socket.SHUT_RDWR)  # type: ignore[attr-defined]
    copies = await take(source, 5)
    assert [m.payload for m in copies] == payloads
    assert [m.mid for m in copies] == [m.mid for m in first]
    assert all(m.connection == first[0].connection + 1 for m in copies)

    # The first delivery's batch commits now: acknowledging it on this connection would
    # acknowledge the copies, before their own batch commits. Nothing is sent.
    source.ack(first)
    source.stop()
    source = source_of(env)
    again = await take(source, 5)
    assert [m.payload for m in again] == payloads, "the session still holds all five"

    source.ack(again)  # on the connection that delivered them: the session lets go
    source.stop()
    source = source_of(env)
    await until(lambda: source.connected, "a last connection")
    assert await take(source, 1, timeout_s=1.0) == []
    source.stop()


async def test_a_lost_connection_is_made_again(env: ServiceEnv) -> None:
    source = source_of(env)
    await until(lambda: source.connected, "the first connection")
    sock = source.client.socket()
    assert sock is not None
    sock.shutdown(socket.SHUT_RDWR)  # type: ignore[attr-defined]
    await until(lambda: source.connection == 2 and source.connected, "a reconnect")

    payloads = await asyncio.to_thread(publish, env, 3)
    assert [m.payload for m in await take(source, 3)] == payloads, "subscribed again"
    source.stop()


async def test_a_paused_source_leaves_what_follows_to_the_session(env: ServiceEnv) -> None:
    source = source_of(env)
    await until(lambda: source.connected, "the first connection")
    source.pause()
    payloads = await asyncio.to_thread(publish, env, 5)
    assert await take(source, 1, timeout_s=1.0) == [], "nothing read once paused"
    source.stop()

    source = source_of(env)
    assert [m.payload for m in await take(source, 5)] == payloads
    source.stop()


async def test_the_inbox_holds_no_more_than_the_receive_window(env: ServiceEnv) -> None:
    source = source_of(env, receive_maximum=100)
    await until(lambda: source.connected, "the first connection")
    publishing = asyncio.create_task(asyncio.to_thread(publish, env, 2000))
    received: list[bytes] = []
    most_held = 0
    while len(received) < 2000:
        await asyncio.sleep(0.01)
        most_held = max(most_held, len(source.inbox.items))
        batch = await take(source, 20, timeout_s=5.0)
        assert batch, f"stalled after {len(received)} messages"
        source.ack(batch)  # acknowledged as they come: Mosquitto then sends past the window
        received += [m.payload for m in batch]
    assert received == await publishing
    assert most_held <= 100
    source.stop()
