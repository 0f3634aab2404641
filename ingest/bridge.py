"""`urbanpulse ingest`: MQTT in, one transaction per batch, acknowledgements after commit.

Broker down: paho reconnects and the persistent session keeps what was not acknowledged.
Database down: the batch is retried with back-off, nothing is acknowledged meanwhile.
Data the database refuses (class 22) sends that message alone to `rejected` with the reason;
any other database error is our bug and stops the bridge, unacknowledged messages intact.
SIGTERM: the messages already received are committed and acknowledged, then it exits.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import asyncpg

from ingest import notify, store
from ingest.engine import RuleEngine
from ingest.maintenance import RollupUpkeep, maintain
from ingest.mqtt import Inbox, MqttSource, Received
from ingest.pipeline import KnownDevice, Message, ModelResolver, Processed, message_key, process
from urbanpulse.settings import Settings

log = logging.getLogger(__name__)

TRANSIENT = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.TransactionRollbackError,  # deadlock or serialization failure between bridges
    # The server went away in the middle of an operation and asyncpg's connection broke
    # ("cannot switch to state …"); the pool terminates it and the retry takes a new one.
    asyncpg.InternalClientError,
    TimeoutError,
)
REGISTRY_REFRESH_S = 30.0
LAST_SEEN_RESOLUTION_S = 60.0


@dataclass
class Totals:
    messages: int = 0
    uplinks: int = 0
    readings: int = 0
    rejected: int = 0
    batches: int = 0
    started: float = field(default_factory=time.monotonic)


OnCommit = Callable[[Sequence[Received], Processed], None]


@dataclass(frozen=True)
class Job:
    """A batch ready to be written: what to acknowledge, and what to write."""

    items: list[Received]
    messages: list[Message]
    processed: Processed
    resolver: ModelResolver


class Bridge:
    def __init__(self, settings: Settings, on_commit: OnCommit | None = None) -> None:
        self.settings = settings
        self.on_commit = on_commit
        self.stopping = asyncio.Event()
        self.totals = Totals()
        self.registry: dict[str, KnownDevice] = {}
        self.registry_loaded_at = -REGISTRY_REFRESH_S
        self.devices_written: dict[str, tuple[tuple[object, ...], float]] = {}
        self.engine = RuleEngine(settings.timezone)

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> Totals:
        settings = self.settings
        pool = await connect_with_retry(settings.database_url, self.stopping)
        if pool is None:
            return self.totals
        inbox = Inbox()
        source = MqttSource(
            inbox,
            settings.mqtt_host,
            settings.mqtt_port,
            settings.mqtt_client_id,
            settings.mqtt_event_topic,
            settings.mqtt_shared_group,
            settings.mqtt_session_expiry_s,
            settings.mqtt_username,
            settings.mqtt_password,
            receive_maximum=receive_window(settings.batch_max_messages),
        )
        source.start()
        # Batch k+1 is parsed and decoded while batch k is written: the database works on
        # the other core. The queue is short, so memory stays bounded.
        jobs: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=2)
        writer = asyncio.create_task(self.write_loop(pool, source, jobs))
        maintenance = asyncio.create_task(
            maintain(
                pool,
                self.engine,
                source.publish,
                self.stopping,
                settings.rules_tick_s,
                upkeep=RollupUpkeep.from_settings(settings),
            )
        )
        try:
            while not self.stopping.is_set() and not writer.done():
                items = await inbox.take(
                    settings.batch_max_messages, settings.batch_max_wait_ms / 1000
                )
                if items:
                    await self.submit(jobs, writer, await self.prepare(pool, items))
            # Flush what was received before the stop; later arrivals stay unacknowledged
            # in the broker's session and come back to the next bridge.
            source.pause()
            while inbox.items and not writer.done():
                count = min(settings.batch_max_messages, len(inbox.items))
                await self.submit(
                    jobs,
                    writer,
                    await self.prepare(pool, [inbox.items.popleft() for _ in range(count)]),
                )
            if not writer.done():
                await jobs.put(None)
            await writer  # re-raises a failure of the writer
        finally:
            writer.cancel()
            maintenance.cancel()
            source.stop()
            await pool.close()
        return self.totals

    async def prepare(self, pool: asyncpg.Pool, items: list[Received]) -> Job:
        await self.refresh_registry(pool)
        resolver = ModelResolver(self.registry, self.settings.profile_models)
        messages = [Message(item.topic, item.payload) for item in items]
        # Parsed and decoded on a worker thread, so that the loop keeps answering the
        # database between the statements of the batch being written: its transaction
        # would otherwise wait for the whole decoding, holding the row locks another
        # bridge's batch may be waiting for (measured: 3 307 -> 4 057-4 159 uplinks/s).
        processed = await asyncio.to_thread(process, messages, resolver)
        processed.batch.devices = self.devices_to_write(processed.batch.devices)
        return Job(items, messages, processed, resolver)

    def devices_to_write(self, rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        """Registry rows worth an update: new or changed devices, and last_seen_at at most
        once a minute per device; a device sending every few seconds is not an update each
        batch. (A refused batch is retried as a whole, so skipping here loses nothing but
        a last_seen_at at most a minute stale.)"""
        now = time.monotonic()
        chosen = []
        for row in rows:
            dev_eui = str(row[0])
            static = row[1:9]
            known = self.devices_written.get(dev_eui)
            if known and known[0] == static and now - known[1] < LAST_SEEN_RESOLUTION_S:
                continue
            self.devices_written[dev_eui] = (static, now)
            chosen.append(row)
        return chosen

    @staticmethod
    async def submit(jobs: asyncio.Queue[Job | None], writer: asyncio.Task[None], job: Job) -> None:
        put = asyncio.create_task(jobs.put(job))
        await asyncio.wait({put, writer}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
            await writer  # the writer failed: raise its error

    async def write_loop(
        self, pool: asyncpg.Pool, source: MqttSource, jobs: asyncio.Queue[Job | None]
    ) -> None:
        while (job := await jobs.get()) is not None:
            counts = await self.write(pool, job.messages, job.processed, job.resolver)
            source.ack(job.items)
            t = self.totals
            t.messages += len(job.items)
            t.uplinks += counts.uplinks
            t.readings += counts.readings
            t.rejected += counts.rejected
            t.batches += 1
            if self.on_commit:
                self.on_commit(job.items, job.processed)

    async def write(
        self,
        pool: asyncpg.Pool,
        messages: list[Message],
        processed: Processed,
        resolver: ModelResolver,
    ) -> store.WriteCounts:
        try:
            return await write_with_retry(pool, processed.batch, self.evaluate)
        except asyncpg.DataError as exc:  # the input, not our SQL: find the message at fault
            log.warning(
                "batch of %d refused (%s); writing its messages one by one", len(messages), exc
            )
        totals = store.WriteCounts(0, 0, 0, 0)
        for message in messages:
            one = process([message], resolver).batch
            try:
                counts = await write_with_retry(pool, one, self.evaluate)
            except asyncpg.DataError as exc:
                reason = f"database refused the event: {exc}"
                one = store.WriteBatch(
                    rejected=[(message_key(message), message.topic, message.payload, reason)]
                )
                counts = await write_with_retry(pool, one)
            totals = totals + counts
        return totals

    async def evaluate(self, conn: store.Conn, fresh: list[store.ReadingRow]) -> tuple[int, int]:
        """The writer's hook, inside the batch's transaction: announce the fresh readings
        on the live stream, then run the rules on them."""
        await notify.publish_readings(conn, fresh)
        return await self.engine.evaluate(conn, fresh)

    async def refresh_registry(self, pool: asyncpg.Pool) -> None:
        now = time.monotonic()
        if now - self.registry_loaded_at < REGISTRY_REFRESH_S:
            return
        try:
            async with pool.acquire() as conn:
                rows = await conn.fetch("select dev_eui, model, params from devices")
        except TRANSIENT:
            return
        self.registry = {r["dev_eui"]: KnownDevice(r["model"], numeric(r["params"])) for r in rows}
        self.registry_loaded_at = now


def numeric(params: object) -> dict[str, float]:
    if not isinstance(params, dict):
        return {}
    return {
        k: float(v)
        for k, v in params.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


async def write_with_retry(
    pool: asyncpg.Pool, batch: store.WriteBatch, evaluate: store.Evaluate | None = None
) -> store.WriteCounts:
    """Retry while the database is unreachable; give up only on a refusal of the data.
    A stop request does not interrupt the retries: acknowledged means committed."""
    delay = 0.2
    while True:
        try:
            async with pool.acquire(timeout=10) as conn:
                return await store.write(conn, batch, evaluate)
        except TRANSIENT as exc:
            log.warning(
                "database unavailable (%s: %s); retrying in %.1f s", type(exc).__name__, exc, delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def connect_with_retry(url: str, stopping: asyncio.Event) -> asyncpg.Pool | None:
    delay = 0.5
    while not stopping.is_set():
        try:
            pool: asyncpg.Pool = await asyncpg.create_pool(
                url, min_size=1, max_size=4, init=store.prepare_connection
            )
            return pool
        except TRANSIENT as exc:
            log.warning("database unavailable (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
    return None


def main(settings: Settings, workers: int = 1) -> None:
    """Run the bridge; with several workers, as processes sharing one MQTT v5 subscription."""
    if workers > 1:
        run_workers(settings, workers)
        return

    async def run() -> None:
        steady_state_gc()
        bridge = Bridge(settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, bridge.stop)
        totals = await bridge.run()
        log.info(
            "stopped: %d messages, %d uplinks, %d readings, %d rejected in %d batches",
            totals.messages, totals.uplinks, totals.readings, totals.rejected, totals.batches,
        )  # fmt: skip

    asyncio.run(run())


def receive_window(batch_max_messages: int) -> int:
    """The unacknowledged messages the broker may send us (MQTT v5 Receive Maximum). A
    batch is acknowledged only once committed, and up to four are in hand at once (being
    received, prepared, queued, written): with room for only four batches, a backlog would
    drain one commit at a time. Sixteen keep it flowing; the bound is also our memory's
    (32 000 messages of ~1.3 kB at the default batch size)."""
    return max(16 * batch_max_messages, 1000)  # MqttSource caps it at MQTT's 65 535


def steady_state_gc() -> None:
    """Every message leaves a few dozen short-lived objects (its JSON, its event, its rows),
    freed by reference counting; the default threshold would run the cycle collector every
    few dozen messages, and now and then over every live object. Objects that live as long
    as the process are set aside, and the young generation is collected 30 times less often
    (measured: parsing and decoding 5-10 us a message cheaper)."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def worker_settings(settings: Settings, index: int) -> Settings:
    return settings.model_copy(
        update={
            "mqtt_client_id": f"{settings.mqtt_client_id}-{index}",
            "mqtt_shared_group": settings.mqtt_shared_group or "urbanpulse",
        }
    )


def worker(settings: Settings) -> None:
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s %(levelname)s {settings.mqtt_client_id}: %(message)s",
    )
    main(settings)


def run_workers(settings: Settings, workers: int) -> None:
    """Each worker has its own client id (so its own persistent session) in one shared
    subscription group; the broker hands every message to one of them."""
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=worker, args=(worker_settings(settings, i),)) for i in range(workers)
    ]
    for child in processes:
        child.start()

    def forward(signum: int, frame: object) -> None:
        for child in processes:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    # A worker that fails takes the others down with it, so that a supervisor restarts
    # the whole bridge instead of leaving its share of messages waiting in a dead session.
    running = list(processes)
    while running:
        multiprocessing.connection.wait([p.sentinel for p in running])
        for ended in [p for p in running if not p.is_alive()]:
            running.remove(ended)
            if ended.exitcode != 0:
                log.error(
                    "worker %s exited with %s; stopping the others", ended.name, ended.exitcode
                )
                forward(signal.SIGTERM, None)
    failed = [p for p in processes if p.exitcode != 0]
    if failed:
        raise SystemExit(1)
