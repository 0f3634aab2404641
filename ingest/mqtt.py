"""The MQTT edge: paho-mqtt 2 at QoS 1 with a fixed client id, a persistent MQTT v5
session, re-subscription on every connect and manual acknowledgements, so a message is
acknowledged only once the transaction that holds it has committed.

paho runs on the asyncio loop through its external-loop interface (socket callbacks,
`loop_read`, `loop_write`, `loop_misc`) rather than in a network thread of its own:
messages arrive on the thread that batches them, a batch's acknowledgements leave in one
burst when the socket is writable, and no second thread competes for the interpreter
(`urbanpulse bench ingest`: the bridge's CPU time an uplink 185-268 -> 136-149 us,
docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

KEEPALIVE_S = 30
MISC_TICK_S = 1.0  # paho's keepalive bookkeeping (PINGREQ, a dead broker detected)
RETRY_MIN_S = 1.0
RETRY_MAX_S = 10.0
PACKETS_PER_WAKE = 256  # bounds a read burst, so that a backlog does not starve the loop


@dataclass(frozen=True, slots=True)
class Received:
    mid: int
    qos: int
    topic: str
    payload: bytes
    connection: int = 0  # which connection brought it: packet ids belong to one connection


class Inbox:
    """Messages received, waiting to be taken in batches (paho calls `put` on the loop)."""

    def __init__(self) -> None:
        self.items: deque[Received] = deque()
        self.arrived = asyncio.Event()
        self.on_taken: Callable[[], None] = lambda: None

    def put(self, item: Received) -> None:
        self.items.append(item)
        self.arrived.set()

    async def take(
        self, max_messages: int, max_wait_s: float, idle_s: float = 0.5
    ) -> list[Received]:
        """Up to max_messages, waiting at most max_wait_s after the first one arrived.
        Returns [] after idle_s without any message, so the caller can check for a stop."""
        if not self.items:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), idle_s)
            except TimeoutError:
                return []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait_s
        while len(self.items) < max_messages and loop.time() < deadline:
            await asyncio.sleep(min(0.002, max(deadline - loop.time(), 0)))
        count = min(max_messages, len(self.items))
        taken = [self.items.popleft() for _ in range(count)]
        self.on_taken()
        return taken


class MqttSource:
    def __init__(
        self,
        inbox: Inbox,
        host: str,
        port: int,
        client_id: str,
        topic: str,
        shared_group: str | None = None,
        session_expiry_s: int = 7 * 24 * 3600,
        username: str | None = None,
        password: str | None = None,
        receive_maximum: int = 20000,
    ) -> None:
        self.inbox = inbox
        self.host = host
        self.port = port
        self.subscription = f"$share/{shared_group}/{topic}" if shared_group else topic
        self.session_expiry_s = session_expiry_s
        self.receive_maximum = min(receive_maximum, 65535)
        self.connected = False
        self.connection = 0
        self.retry_s = 0.0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_socket_open = self._on_socket_open
        self.client.on_socket_close = self._on_socket_close
        self.client.on_socket_register_write = self._on_socket_register_write
        self.client.on_socket_unregister_write = self._on_socket_unregister_write
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread = 0
        self.keeper: asyncio.Task[None] | None = None
        self.stopping = False
        self.paused = False
        self.reading = False
        inbox.on_taken = self._update_reading

    def start(self) -> None:
        """Connect in the background, on the running loop; reconnects on its own."""
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.session_expiry_s
        # Receive Maximum bounds the unacknowledged messages the broker sends us: while the
        # database is down nothing is acknowledged, so this bounds our memory (the inbox
        # holds to it too, for brokers that overrun it: _update_reading).
        properties.ReceiveMaximum = self.receive_maximum
        self.client.connect_async(
            self.host, self.port, keepalive=KEEPALIVE_S, clean_start=False, properties=properties
        )
        self.keeper = self.loop.create_task(self._keep_connected())

    def publish(self, topic: str, payload: bytes) -> None:
        """Notifications and downlinks go out on the bridge's own connection, at QoS 1."""
        self.client.publish(topic, payload, qos=1)

    def ack(self, items: list[Received]) -> None:
        """Acknowledge on the connection that delivered them. A message from an earlier
        connection is not acknowledged: the broker sends it again after the reconnect, with
        the same packet id, and the copy is acknowledged once its own batch commits
        (acknowledging now could free that id for a message not yet committed). Nor while
        the connection is down: paho would queue the acknowledgement ahead of CONNECT."""
        if not self.connected:
            return
        for item in items:
            if item.qos > 0 and item.connection == self.connection:
                self.client.ack(item.mid, item.qos)

    def pause(self) -> None:
        """Receive nothing more (before a stop): what is not received yet stays in the
        broker's session for the next bridge, instead of prolonging the stop."""
        self.paused = True
        self._update_reading()

    def _update_reading(self) -> None:
        """Read the socket while the inbox has room. The broker should send no more than
        the receive window unacknowledged, but Mosquitto 2.0 sends past it once
        acknowledgements flow; so the inbox is held to the window here too, and a broker
        that sends on meets TCP's back-pressure and keeps the rest in its session.
        Resumes once half the window is free. (Held past the keepalive, as when the database
        is down for long, the unread PINGRESP makes paho drop the connection; it is made
        again, and what the old one delivered comes again, to be stored once.)"""
        held = len(self.inbox.items)
        wanted = not self.paused and (
            held < self.receive_maximum // 2 or (self.reading and held < self.receive_maximum)
        )
        sock = self.client.socket()
        if wanted != self.reading and sock is not None and self.loop is not None:
            if wanted:
                self.loop.add_reader(sock.fileno(), self._read)
            else:
                self.loop.remove_reader(sock.fileno())
        self.reading = wanted

    def stop(self) -> None:
        """Send what is queued (the last acknowledgements), then DISCONNECT."""
        self.stopping = True
        if self.keeper is not None:
            self.keeper.cancel()
        self.client.disconnect()
        self.client.loop_write()

    async def _keep_connected(self) -> None:
        """Connect, reconnect after a loss (1 s, then doubling up to 10 s while it fails),
        and keep paho's keepalive running."""
        client = self.client
        while True:
            if client.socket() is not None:
                await asyncio.sleep(MISC_TICK_S)
                client.loop_misc()
                continue
            await asyncio.sleep(self.retry_s)
            self.retry_s = min(max(2 * self.retry_s, RETRY_MIN_S), RETRY_MAX_S)
            try:
                # Name resolution and the TCP handshake block: kept off the loop.
                await asyncio.to_thread(client.reconnect)
            except OSError as exc:
                log.warning(
                    "MQTT connect to %s:%s failed (%s); retrying in %.0f s",
                    self.host, self.port, exc, self.retry_s,
                )  # fmt: skip
            except Exception:  # not ours to understand, but the bridge must stay connected
                log.exception(
                    "MQTT connect to %s:%s failed; retrying in %.0f s",
                    self.host, self.port, self.retry_s,
                )  # fmt: skip

    def _read(self) -> None:
        """The socket is readable: paho reads one packet a call, so read on while messages
        keep coming, up to a bound."""
        for _ in range(PACKETS_PER_WAKE):
            before = len(self.inbox.items)  # nothing takes from the inbox meanwhile
            self.client.loop_read()
            if len(self.inbox.items) == before:
                return
            if len(self.inbox.items) >= self.receive_maximum:
                self._update_reading()
                return

    def _write(self) -> None:
        self.client.loop_write()

    def _on_loop(self, call: Callable[..., object], *args: object) -> None:
        """paho calls the socket callbacks on the loop, or on the thread that connects."""
        assert self.loop is not None
        if threading.get_ident() == self.loop_thread:
            call(*args)
        else:
            self.loop.call_soon_threadsafe(call, *args)

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self.reading = False
        self._on_loop(self._update_reading)

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        assert self.loop is not None
        self._on_loop(self.loop.remove_reader, sock.fileno())
        self.reading = False

    def _on_socket_register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        assert self.loop is not None
        self._on_loop(self.loop.add_writer, sock.fileno(), self._write)

    def _on_socket_unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        assert self.loop is not None
        self._on_loop(self.loop.remove_writer, sock.fileno())

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT connect to %s:%s refused: %s", self.host, self.port, reason)
            return
        self.connected = True
        self.connection += 1
        self.retry_s = RETRY_MIN_S
        # Subscribe again on every connect: a broker may have lost the session.
        client.subscribe(self.subscription, qos=1)
        log.info(
            "MQTT connected to %s:%s, subscribed to %s", self.host, self.port, self.subscription
        )

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        self.connected = False
        if not self.stopping:
            log.warning("MQTT disconnected (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.inbox.put(
            Received(
                message.mid, message.qos, message.topic, bytes(message.payload), self.connection
            )
        )
