"""`GET /stream`: readings and alert transitions as Server-Sent Events, as they commit.

One LISTEN connection per API process hears what every bridge and API process announces
(ingest/notify.py) and fans it out to this process's streams, each behind a bounded
queue: a client too slow to keep up loses its oldest events and is told how many by a
`dropped` event; it never delays the listener or the other clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

import decoders
from api.auth import Viewer
from api.deps import AppSettings, Pool
from api.devices import unit
from api.errors import ErrorBody
from api.keys import Caller
from api.scope import in_scope
from ingest import notify
from ingest.store import Conn

log = logging.getLogger(__name__)

router = APIRouter(tags=["stream"])

QUEUE_EVENTS = 1000
BURST_EVENTS = 100  # events sent in one write
HEARTBEAT_S = 15.0
LISTEN_WAIT_S = 5.0
MAX_STREAMS = 1000
KINDS = ("readings", "alerts")
DEV_EUI = re.compile(r"^[0-9a-fA-F]{16}$")

OPENING = b": stream open\n\n"
HEARTBEAT = b": heartbeat\n\n"
KEY_VALID = "select exists (select 1 from api_keys where id = $1 and revoked_at is null)"
CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresError)


@dataclass(frozen=True, slots=True)
class Wanted:
    """What one stream receives: the caller's tenants (None: all), and its filters (None:
    no filter)."""

    scope: frozenset[str] | None
    kinds: frozenset[str]
    tenants: frozenset[str] | None = None
    classes: frozenset[str] | None = None
    dev_euis: frozenset[str] | None = None

    def admits(self, notice: notify.Notice) -> bool:
        return (
            notice.kind in self.kinds
            and (self.scope is None or notice.tenant_id in self.scope)
            and (self.tenants is None or notice.tenant_id in self.tenants)
            and (self.classes is None or notice.device_class in self.classes)
            and (self.dev_euis is None or notice.dev_eui in self.dev_euis)
        )


def frame(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def notice_frame(notice: notify.Notice) -> bytes:
    if notice.kind == "alerts":
        return frame("alert", notice.data)
    readings = [
        {"time": t, "quantity": q, "channel": c, "value": v, "unit": unit(q)}
        for t, q, c, v in notice.data["readings"]
    ]
    return frame("reading", {**notice.data, "readings": readings})


class Subscriber:
    """One stream's queue: full, it gives up its oldest event for the newest."""

    def __init__(self, wanted: Wanted, queue_events: int) -> None:
        self.wanted = wanted
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_events)
        self.dropped = 0

    def offer(self, event: bytes) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    async def frames(
        self, heartbeat_s: float, still_allowed: Callable[[], Awaitable[bool]]
    ) -> AsyncGenerator[bytes, None]:
        """The stream's bytes: the events waiting, sent together; a heartbeat comment when
        idle for `heartbeat_s`. It ends when `still_allowed`, asked every `heartbeat_s`,
        says the caller's key was revoked."""
        yield OPENING
        checked = time.monotonic()
        while True:
            if self.dropped:
                yield frame("dropped", {"count": self.dropped, "reason": "client too slow"})
                self.dropped = 0
            events = []
            if self.queue.empty():
                with contextlib.suppress(TimeoutError):
                    events.append(await asyncio.wait_for(self.queue.get(), heartbeat_s))
            while not self.queue.empty() and len(events) < BURST_EVENTS:
                events.append(self.queue.get_nowait())
            if time.monotonic() - checked >= heartbeat_s:
                if not await still_allowed():
                    return
                checked = time.monotonic()
            yield b"".join(events) if events else HEARTBEAT


class Hub:
    """The process's LISTEN connection and the streams it feeds. Started by the first
    stream, it reconnects after losing the database, and then tells every stream that
    events may be missing."""

    def __init__(
        self,
        database_url: str,
        queue_events: int = QUEUE_EVENTS,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.database_url = database_url
        self.queue_events = queue_events
        self.heartbeat_s = heartbeat_s
        # Weak: a stream whose response never started still lets go of its subscriber.
        self.subscribers: weakref.WeakSet[Subscriber] = weakref.WeakSet()
        self.listening = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def subscribe(self, wanted: Wanted) -> Subscriber:
        """A new stream's subscriber, once the hub listens; TimeoutError if it cannot."""
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.listen())
        await asyncio.wait_for(self.listening.wait(), LISTEN_WAIT_S)
        subscriber = Subscriber(wanted, self.queue_events)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def deliver(self, conn: Conn, pid: int, channel: str, payload: object) -> None:
        try:
            notices = notify.parse_message(str(payload))
        except ValueError as exc:
            log.warning("ignored on %s: %s", channel, exc)
            return
        for notice in notices:
            encoded: bytes | None = None
            for subscriber in self.subscribers:
                if subscriber.wanted.admits(notice):
                    encoded = encoded or notice_frame(notice)
                    subscriber.offer(encoded)

    def tell_gap(self) -> None:
        gap = frame("dropped", {"count": None, "reason": "the database connection was lost"})
        for subscriber in self.subscribers:
            subscriber.offer(gap)

    async def listen(self) -> None:
        delay = 0.5
        lost = False
        while True:
            try:
                conn = await asyncpg.connect(
                    self.database_url,
                    timeout=10,
                    server_settings={"application_name": "urbanpulse-stream"},
                )
            except CONNECTION_ERRORS as exc:
                log.warning("stream listener cannot connect (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            try:
                await self.session(conn, lost)
            except CONNECTION_ERRORS as exc:
                log.warning("stream listener lost the database: %s", exc)
            except Exception:
                # Any other failure is cured by a new connection too, e.g. asyncpg's
                # InternalClientError when the server ends the session in the middle of the
                # heartbeat query: the listener lives as long as the process.
                log.exception("stream listener failed; connecting again")
            finally:
                if self.listening.is_set():
                    delay = 0.5
                self.listening.clear()
                conn.terminate()
            lost = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def session(self, conn: asyncpg.Connection, lost: bool) -> None:
        """Listen on `conn` until it closes."""
        closed = asyncio.Event()
        conn.add_termination_listener(lambda _: closed.set())
        await conn.add_listener(notify.CHANNEL, self.deliver)
        if lost:
            self.tell_gap()
        self.listening.set()
        while not closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), self.heartbeat_s)
            if not closed.is_set():  # a link that died silently shows here
                await conn.fetchval("select 1", timeout=self.heartbeat_s)
        log.warning("stream listener lost the database")

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None


async def shutdown(app: FastAPI) -> None:
    """Close the process's listener, if a stream started one: for the app's lifespan."""
    hub: Hub | None = getattr(app.state, "stream_hub", None)
    if hub is not None:
        await hub.close()


def hub_of(request: Request, database_url: str) -> Hub:
    hub: Hub | None = getattr(request.app.state, "stream_hub", None)
    if hub is None:
        hub = request.app.state.stream_hub = Hub(database_url)
    return hub


def bad(parameter: str, message: str) -> HTTPException:
    return HTTPException(422, {"parameter": parameter, "message": message})


async def wanted_of(
    pool: asyncpg.Pool,
    who: Caller,
    kinds: str,
    tenants: list[str] | None,
    classes: list[str] | None,
    dev_euis: list[str] | None,
) -> Wanted:
    chosen = {k.strip() for k in kinds.split(",") if k.strip()}
    if not chosen or not chosen <= set(KINDS):
        raise bad("kinds", f"a comma-separated list of {', '.join(KINDS)}")
    for tenant in tenants or []:
        if not who.sees(tenant):
            raise bad("tenant", f"no tenant {tenant!r}")
    for device_class in classes or []:
        if device_class not in decoders.DEVICE_CLASSES:
            raise bad("class", f"one of {', '.join(decoders.DEVICE_CLASSES)}")
    devices = None
    if dev_euis:
        malformed = [d for d in dev_euis if not DEV_EUI.match(d)]
        if malformed:
            raise bad("dev_eui", f"16 hex digits, not {malformed[0]!r}")
        devices = frozenset(d.lower() for d in dev_euis)
        visible = {
            r["dev_eui"]
            for r in await pool.fetch(
                f"select dev_eui from devices where dev_eui = any($1::text[]) and {in_scope(2)}",
                list(devices),
                who.scope,
            )
        }
        unseen = sorted(devices - visible)
        if unseen:
            raise HTTPException(404, f"no device {unseen[0]}")
    return Wanted(
        scope=None if who.tenants is None else frozenset(who.tenants),
        kinds=frozenset(chosen),
        tenants=frozenset(tenants) if tenants else None,
        classes=frozenset(classes) if classes else None,
        dev_euis=devices,
    )


DESCRIPTION = f"""Server-Sent Events of what is committed from now on, within the key's
tenants and the filters given (filters of different names combine, values of one name add up):

- `reading`: a device's new readings of one write, `{{"dev_eui", "tenant_id",
  "device_class", "readings": [{{"time", "quantity", "channel", "value", "unit"}}, …]}}`;
- `alert`: an alert's transition, `{{"transition": "fired" | "cleared" | "acknowledged" |
  "resolved", "time", "alert_id", "rule_id", "dev_eui", "channel", "tenant_id", "status",
  "severity", "value", "message"}}`;
- `dropped`: `{{"count", "reason"}}`, events this stream lost because it read too slowly
  (`count` of them) or the server lost the database for a while (`count` null): fetch what
  matters again through the other routes.

A comment line every {HEARTBEAT_S:g} s keeps idle connections open. The stream ends when
its key is revoked."""


@router.get(
    "/stream",
    summary="Live readings and alerts (Server-Sent Events)",
    description=DESCRIPTION,
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "an endless stream of events",
        },
        503: {"model": ErrorBody, "description": "the live stream is unavailable"},
    },
)
async def stream(
    request: Request,
    pool: Pool,
    settings: AppSettings,
    who: Viewer,
    kinds: Annotated[
        str, Query(description="comma-separated: readings, alerts")
    ] = "readings,alerts",
    tenant: Annotated[list[str] | None, Query(description="repeatable")] = None,
    device_class: Annotated[
        list[str] | None, Query(alias="class", description="repeatable: waste_bin, …")
    ] = None,
    dev_eui: Annotated[list[str] | None, Query(description="repeatable: 16 hex digits")] = None,
) -> StreamingResponse:
    wanted = await wanted_of(pool, who, kinds, tenant, device_class, dev_eui)
    hub = hub_of(request, settings.database_url)
    if len(hub.subscribers) >= MAX_STREAMS:
        raise HTTPException(503, f"this server already feeds {MAX_STREAMS} streams")
    try:
        subscriber = await hub.subscribe(wanted)
    except TimeoutError:
        raise HTTPException(503, "the live stream is unavailable: no database") from None

    async def still_allowed() -> bool:
        try:
            return bool(await pool.fetchval(KEY_VALID, who.key_id))
        except CONNECTION_ERRORS:  # no database, no events either: asked again next time
            return True

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in subscriber.frames(hub.heartbeat_s, still_allowed):
                yield chunk
        finally:
            hub.unsubscribe(subscriber)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
