"""Test helpers around the real services: a database per test, bridges as processes."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

import migrations
from ingest import store
from urbanpulse.settings import Settings

# One template per test session: concurrent sessions must not drop each other's.
T = TypeVar("T")

TEMPLATE = f"urbanpulse_test_template_{os.getpid()}"
_template_ready = False


def reachable(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(with_database(url, "postgres"))
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def make_template(url: str) -> None:
    await admin(
        url, f"drop database if exists {TEMPLATE} with (force)", f"create database {TEMPLATE}"
    )
    conn = await asyncpg.connect(with_database(url, TEMPLATE))
    try:
        await migrations.migrate(conn)
    finally:
        await conn.close()
    # TimescaleDB's background scheduler connects to every database with the extension;
    # a template must have no session to be copied.
    await admin(
        url,
        f"alter database {TEMPLATE} with allow_connections false",
        f"select pg_terminate_backend(pid) from pg_stat_activity where datname = '{TEMPLATE}'",
    )


@dataclass
class ServiceEnv:
    settings: Settings
    prefix: str
    log_dir: Path
    bridges: list[BridgeProcess] = field(default_factory=list)

    def environ(self, **overrides: str) -> dict[str, str]:
        s = self.settings
        values = {
            "URBANPULSE_DATABASE_URL": s.database_url,
            "URBANPULSE_MQTT_HOST": s.mqtt_host,
            "URBANPULSE_MQTT_PORT": str(s.mqtt_port),
            "URBANPULSE_MQTT_CLIENT_ID": s.mqtt_client_id,
            "URBANPULSE_MQTT_EVENT_TOPIC": s.mqtt_event_topic,
            "URBANPULSE_BATCH_MAX_WAIT_MS": "50",
            "URBANPULSE_MQTT_SESSION_EXPIRY_S": "600",
        }
        values.update(overrides)
        return {**os.environ, **values}

    def start_bridge(self, **overrides: str) -> BridgeProcess:
        bridge = BridgeProcess(
            self.environ(**overrides), self.log_dir / f"bridge-{len(self.bridges)}.log"
        )
        self.bridges.append(bridge)
        return bridge

    def query(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.settings.database_url)
            try:
                return list(await conn.fetch(sql, *args))
            finally:
                await conn.close()

        return asyncio.run(run())

    def scalar(self, sql: str, *args: Any) -> Any:
        return self.query(sql, *args)[0][0]

    def on(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run `work` on a connection prepared as the writer prepares its own."""

        async def run() -> T:
            conn = await asyncpg.connect(self.settings.database_url)
            try:
                await store.prepare_connection(conn)
                return await work(conn)
            finally:
                await conn.close()

        return asyncio.run(run())

    def wait_for(
        self, condition: Callable[[], bool], timeout_s: float = 60.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        logs = "\n".join(b.tail() for b in self.bridges)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{logs}")


class BridgeProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "urbanpulse.cli", "ingest"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def signal(self, sig: int) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.signal(signal.SIGTERM)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def wait_subscribed(self, count: int = 1, timeout_s: float = 30.0) -> None:
        """Until the bridge has subscribed `count` times: published before that, a message
        has no session to wait in."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.log_path.read_text(errors="replace").count("subscribed to") >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"bridge did not subscribe\n{self.tail()}")

    def running(self) -> bool:
        return self.proc.poll() is None

    def tail(self) -> str:
        text = self.log_path.read_text(errors="replace")
        return f"--- {self.log_path.name}\n{text[-3000:]}"


@contextlib.contextmanager
def service_env() -> Iterator[ServiceEnv]:
    global _template_ready
    base = Settings()
    url = urlsplit(base.database_url)
    if not reachable(url.hostname or "127.0.0.1", url.port or 5432) or not reachable(
        base.mqtt_host, base.mqtt_port
    ):
        pytest.fail("Mosquitto or TimescaleDB is not running: run `urbanpulse services up` first")
    if not _template_ready:
        asyncio.run(make_template(base.database_url))
        atexit.register(
            lambda: asyncio.run(
                admin(base.database_url, f"drop database if exists {TEMPLATE} with (force)")
            )
        )
        _template_ready = True
    name = f"urbanpulse_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin(base.database_url, f"create database {name} template {TEMPLATE}"))
    prefix = f"test-{uuid.uuid4().hex[:8]}/"
    settings = base.model_copy(
        update={
            "database_url": with_database(base.database_url, name),
            "mqtt_client_id": f"urbanpulse-{prefix[:-1]}",
            "mqtt_event_topic": f"{prefix}application/+/device/+/event/+",
        }
    )
    log_dir = Path(os.environ.get("URBANPULSE_TEST_LOGS", "/tmp/urbanpulse-test-logs")) / prefix
    log_dir.mkdir(parents=True, exist_ok=True)
    env = ServiceEnv(settings, prefix, log_dir)
    try:
        yield env
    finally:
        for bridge in env.bridges:
            bridge.stop()
        asyncio.run(admin(base.database_url, f"drop database if exists {name} with (force)"))
