"""The MQTT edge: paho-mqtt 2 at QoS 1 with a fixed client id, a persistent MQTT v5
session, re-subscription on every connect and manual acknowledgements, so a message is
acknowledged only once the transaction that holds it has committed."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    mid: int
    qos: int
    topic: str
    payload: bytes


class Inbox:
    """Messages handed over from paho's network thread to the asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.items: deque[Received] = deque()
        self.arrived = asyncio.Event()

    def put(self, item: Received) -> None:
        """Called on paho's thread; wakes the loop only when the inbox was empty."""
        self.items.append(item)
        if len(self.items) == 1:
            self.loop.call_soon_threadsafe(self.arrived.set)

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
        deadline = self.loop.time() + max_wait_s
        while len(self.items) < max_messages and self.loop.time() < deadline:
            await asyncio.sleep(min(0.002, max(deadline - self.loop.time(), 0)))
        count = min(max_messages, len(self.items))
        return [self.items.popleft() for _ in range(count)]


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
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
        if username:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.session_expiry_s
        # Receive Maximum bounds the unacknowledged messages the broker sends us: while the
        # database is down nothing is acknowledged, so this is what bounds our memory.
        properties.ReceiveMaximum = self.receive_maximum
        self.client.connect_async(
            self.host, self.port, keepalive=30, clean_start=False, properties=properties
        )
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes) -> None:
        """Notifications and downlinks go out on the bridge's own connection, at QoS 1."""
        self.client.publish(topic, payload, qos=1)

    def ack(self, items: list[Received]) -> None:
        for item in items:
            if item.qos > 0:
                self.client.ack(item.mid, item.qos)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT connect to %s:%s refused: %s", self.host, self.port, reason)
            return
        self.connected = True
        # Subscribe again on every connect: a broker may have lost the session.
        client.subscribe(self.subscription, qos=1)
        log.info(
            "MQTT connected to %s:%s, subscribed to %s", self.host, self.port, self.subscription
        )

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        self.connected = False
        log.warning("MQTT disconnected (%s); paho reconnects", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.inbox.put(Received(message.mid, message.qos, message.topic, bytes(message.payload)))
