"""The live stream: what the writer announces reaches the streams of every API process,
each limited to its key's communes and its own filters; a slow client loses events, not
the others; the listener comes back after losing the database.

The service tests share one database and two API processes (starting one takes seconds):
a stream only hears what is written while it is open, so they do not see each other."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from fastapi import FastAPI

from api.serve import api_process
from api.stream import HEARTBEAT, Hub, Subscriber, Wanted, shutdown
from ingest import alerts, notify, store
from ingest.alerts import RuleInfo, Transition
from ingest.bridge import Bridge
from ingest.store import ReadingRow
from simulators.publish import Publisher
from simulators.simulate import messages
from tests.api.access import bearer, issue_key
from tests.services import ServiceEnv, service_env

LYON_BIN = "0004a30b001c0530"
LYON_LIGHT = "0004a30b001c0531"
VILLEURBANNE_BIN = "0004a30b001c0532"
T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)

# An API process whose hub has a small queue and a short heartbeat, so that tests of the
# slow client and of the key check take seconds.
SERVER = """
import sys, uvicorn
from api.app import create_app
from api.stream import Hub
from urbanpulse.settings import Settings
settings = Settings()
app = create_app(settings)
app.state.stream_hub = Hub(settings.database_url, queue_events=int(sys.argv[1]), heartbeat_s=float(sys.argv[2]))
uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_level="warning", timeout_graceful_shutdown=1)
"""


def reading(
    dev_eui: str, value: float, minutes: float = 0, quantity: str = "filling_level"
) -> ReadingRow:
    return (T0 + timedelta(minutes=minutes), dev_eui, quantity, "", value, None)


# --- the messages ----------------------------------------------------------------------


def test_messages_stay_under_the_notify_limit_and_carry_every_reading() -> None:
    rows = [
        reading(f"{d:016x}", float(i), minutes=i, quantity=q)
        for d in range(300)
        for i, q in enumerate(("filling_level", "temperature", "battery_level"))
    ]
    audience = {f"{d:016x}": ("lyon", "waste_bin") for d in range(300)}

    sent = notify.reading_messages(rows, audience)

    assert len(sent) > 1
    assert all(len(m.encode()) < notify.PAYLOAD_LIMIT_BYTES for m in sent)
    notices = [n for m in sent for n in notify.parse_message(m)]
    received = {(n.dev_eui, q, v) for n in notices for _, q, _, v in n.data["readings"]}
    assert received == {(r[1], r[2], r[4]) for r in rows}
    assert {(n.tenant_id, n.device_class) for n in notices} == {("lyon", "waste_bin")}


def test_a_device_with_more_readings_than_a_message_holds_is_split() -> None:
    rows = [reading(LYON_BIN, float(i), minutes=i) for i in range(500)]

    sent = notify.reading_messages(rows, {})

    assert len(sent) > 1
    assert all(len(m.encode()) < notify.PAYLOAD_LIMIT_BYTES for m in sent)
    notices = [n for m in sent for n in notify.parse_message(m)]
    assert sum(len(n.data["readings"]) for n in notices) == 500
    assert {(n.dev_eui, n.tenant_id, n.device_class) for n in notices} == {(LYON_BIN, None, None)}


def test_a_reading_too_long_for_any_message_is_left_out_of_the_stream() -> None:
    huge = (T0, LYON_BIN, "object.x", "c" * 9000, 1.0, None)

    sent = notify.reading_messages([huge, reading(LYON_BIN, 2.0)], {})

    readings = [r for m in sent for n in notify.parse_message(m) for r in n.data["readings"]]
    assert [r[3] for r in readings] == [2.0]


def test_a_message_that_is_not_ours_is_refused() -> None:
    with pytest.raises(ValueError, match="not a stream message"):
        notify.parse_message('{"something": 1}')


# --- filters and queues ----------------------------------------------------------------


def notice(
    kind: str = "readings",
    tenant: str | None = "lyon",
    device_class: str = "waste_bin",
    dev_eui: str = LYON_BIN,
) -> notify.Notice:
    return notify.Notice(kind, dev_eui, tenant, device_class, {})


@pytest.mark.parametrize(
    ("wanted", "admitted"),
    [
        (Wanted(None, frozenset({"readings", "alerts"})), True),
        (Wanted(frozenset({"villeurbanne"}), frozenset({"readings"})), False),
        (Wanted(frozenset({"lyon"}), frozenset({"alerts"})), False),
        (Wanted(None, frozenset({"readings"}), tenants=frozenset({"villeurbanne"})), False),
        (Wanted(None, frozenset({"readings"}), classes=frozenset({"streetlight"})), False),
        (Wanted(None, frozenset({"readings"}), dev_euis=frozenset({LYON_LIGHT})), False),
        (
            Wanted(
                frozenset({"lyon", "villeurbanne"}),
                frozenset({"readings"}),
                tenants=frozenset({"lyon"}),
                classes=frozenset({"waste_bin"}),
                dev_euis=frozenset({LYON_BIN}),
            ),
            True,
        ),
    ],
)
def test_a_stream_admits_what_its_scope_and_filters_let_through(
    wanted: Wanted, admitted: bool
) -> None:
    assert wanted.admits(notice()) is admitted


def test_a_device_without_a_commune_streams_only_to_keys_of_every_commune() -> None:
    orphan = notice(tenant=None)

    assert Wanted(None, frozenset({"readings"})).admits(orphan)
    assert not Wanted(frozenset({"lyon"}), frozenset({"readings"})).admits(orphan)


async def allowed() -> bool:
    return True


async def test_a_full_queue_loses_its_oldest_events_and_says_how_many() -> None:
    subscriber = Subscriber(Wanted(None, frozenset({"readings"})), queue_events=3)
    for i in range(5):
        subscriber.offer(f"event {i}\n\n".encode())
    frames = subscriber.frames(10.0, allowed)

    opening = await anext(frames)
    told = await anext(frames)
    kept = await anext(frames)

    assert opening.startswith(b":")
    assert told == b'event: dropped\ndata: {"count":2,"reason":"client too slow"}\n\n'
    assert kept == b"event 2\n\nevent 3\n\nevent 4\n\n"
    await frames.aclose()


async def test_an_idle_stream_beats_and_ends_once_its_key_is_revoked() -> None:
    answers = iter([True, False])

    async def still_allowed() -> bool:
        return next(answers)

    subscriber = Subscriber(Wanted(None, frozenset({"readings"})), queue_events=3)
    frames = [f async for f in subscriber.frames(0.05, still_allowed)]

    assert frames[1:] == [HEARTBEAT]


# --- against real API processes --------------------------------------------------------


@contextlib.contextmanager
def api_processes(
    env: ServiceEnv, count: int, queue_events: int, heartbeat_s: float
) -> Iterator[list[str]]:
    """`count` API processes on env's database; yields their base URLs once they answer."""
    command = ("-c", SERVER, str(queue_events), str(heartbeat_s))
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(
                api_process(env.environ(), env.log_dir / f"api-{i}.log", command, 90)
            )
            for i in range(count)
        ]


@dataclass(frozen=True)
class City:
    env: ServiceEnv
    first: str  # base URL of one API process
    second: str  # and of another
    keys: dict[str, str]


@pytest.fixture(scope="module")
def city() -> Iterator[City]:
    """Lyon (a bin, a streetlight) and Villeurbanne (a bin), served by two API processes
    whose streams keep at most 50 events and check their key every second."""
    with service_env() as env:
        env.query("insert into tenants (id) values ('lyon'), ('villeurbanne')")
        env.query(
            "insert into devices (dev_eui, tenant_id, device_class) values ($1, 'lyon', "
            "'waste_bin'), ($2, 'lyon', 'streetlight'), ($3, 'villeurbanne', 'waste_bin')",
            LYON_BIN, LYON_LIGHT, VILLEURBANNE_BIN,
        )  # fmt: skip
        keys = {
            "lyon": issue_key(env, "viewer", ["lyon"]),
            "lyon operator": issue_key(env, "operator", ["lyon"]),
            "villeurbanne": issue_key(env, "viewer", ["villeurbanne"]),
            "everyone": issue_key(env, "viewer"),
            "admin": issue_key(env, "admin"),
        }
        with api_processes(env, 2, queue_events=50, heartbeat_s=1.0) as (first, second):
            yield City(env, first, second, keys)


class Stream:
    """A client of `GET /stream` reading in the background: its events as (name, data)."""

    def __init__(self, base: str, token: str, **params: Any) -> None:
        self.client = httpx.AsyncClient(
            base_url=base, headers=bearer(token), timeout=httpx.Timeout(10, read=None)
        )
        self.params = params
        self.status = 0
        self.error: dict[str, Any] = {}
        self.events: list[tuple[str, Any]] = []
        self.opened = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Stream:
        self.task = asyncio.create_task(self.read())
        opened = asyncio.create_task(self.opened.wait())
        await asyncio.wait({self.task, opened}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        opened.cancel()
        if self.task.done():
            self.task.result()
        assert self.opened.is_set(), "the stream did not open"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.client.aclose()

    async def read(self) -> None:
        async with self.client.stream("GET", "/stream", params=self.params) as response:
            self.status = response.status_code
            if response.status_code != 200:
                self.error = orjson.loads(await response.aread())
                self.opened.set()
                return
            self.opened.set()
            name, data = "message", []
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif not line and data:
                    self.events.append((name, orjson.loads("\n".join(data))))
                    name, data = "message", []

    def named(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    def readings(self) -> set[tuple[str, float]]:
        return {(e["dev_eui"], r["value"]) for e in self.named("reading") for r in e["readings"]}

    def ended(self) -> bool:
        assert self.task is not None
        return self.task.done()

    async def until(self, condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert self.task is not None
            if self.task.done():
                self.task.result()
                raise AssertionError(f"the stream ended; events: {self.events[-5:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; events: {self.events[-5:]}")
            await asyncio.sleep(0.05)


async def write(env: ServiceEnv, rows: list[ReadingRow]) -> None:
    """Write readings the way the bridge does: one transaction, its hook announcing them."""
    conn = await asyncpg.connect(env.settings.database_url)
    try:
        await store.prepare_connection(conn)
        await store.write(conn, store.WriteBatch(readings=rows), Bridge(env.settings).evaluate)
    finally:
        await conn.close()


def every_device(minutes: float) -> list[ReadingRow]:
    return [
        reading(LYON_BIN, 1.0, minutes),
        reading(LYON_LIGHT, 2.0, minutes),
        reading(VILLEURBANNE_BIN, 3.0, minutes),
    ]


EVERYTHING = {(LYON_BIN, 1.0), (LYON_LIGHT, 2.0), (VILLEURBANNE_BIN, 3.0)}


@pytest.mark.services
async def test_each_process_streams_a_commune_its_readings_and_never_anothers(
    city: City,
) -> None:
    lyon, everyone = city.keys["lyon"], city.keys["everyone"]
    async with (
        Stream(city.first, lyon) as lyon_first,
        Stream(city.second, lyon) as lyon_second,
        Stream(city.second, everyone) as everyone_second,
    ):
        await write(city.env, every_device(minutes=0))
        await write(city.env, [reading(LYON_BIN, 4.0, minutes=1)])

        await everyone_second.until(
            lambda: everyone_second.readings() == EVERYTHING | {(LYON_BIN, 4.0)}
        )
        await lyon_first.until(lambda: (LYON_BIN, 4.0) in lyon_first.readings())
        await lyon_second.until(lambda: (LYON_BIN, 4.0) in lyon_second.readings())

    for stream in (lyon_first, lyon_second):
        assert stream.readings() == {(LYON_BIN, 1.0), (LYON_LIGHT, 2.0), (LYON_BIN, 4.0)}
    event = lyon_first.named("reading")[0]
    assert (event["tenant_id"], event["device_class"]) == ("lyon", "waste_bin")
    assert event["readings"] == [
        {"time": "2026-11-01T12:00:00+00:00", "quantity": "filling_level", "channel": "",
         "value": 1.0, "unit": "%"}
    ]  # fmt: skip


@pytest.mark.services
async def test_filters_by_class_device_commune_and_kind(city: City) -> None:
    everyone = city.keys["everyone"]
    async with (
        Stream(city.first, everyone, **{"class": "waste_bin"}) as bins,
        Stream(city.first, everyone, dev_eui=[LYON_LIGHT, VILLEURBANNE_BIN.upper()]) as two,
        Stream(city.first, everyone, tenant="villeurbanne") as villeurbanne,
        Stream(city.first, everyone, kinds="alerts") as alerts_only,
        Stream(city.first, everyone, kinds="readings,alerts") as everything,
    ):
        await write(city.env, every_device(minutes=2))
        await everything.until(lambda: everything.readings() == EVERYTHING)
        await villeurbanne.until(lambda: bool(villeurbanne.readings()))
        await asyncio.sleep(0.5)  # time enough for anything unwanted to arrive

    assert bins.readings() == {(LYON_BIN, 1.0), (VILLEURBANNE_BIN, 3.0)}
    assert two.readings() == {(LYON_LIGHT, 2.0), (VILLEURBANNE_BIN, 3.0)}
    assert villeurbanne.readings() == {(VILLEURBANNE_BIN, 3.0)}
    assert alerts_only.events == []


@pytest.mark.services
async def test_bad_filters_are_refused_before_the_stream_opens(city: City) -> None:
    refusals = []
    for params in (
        {"class": "lamppost"},
        {"kinds": "readings,gossip"},
        {"tenant": "villeurbanne"},
        {"dev_eui": "xyz"},
        {"dev_eui": [LYON_BIN, VILLEURBANNE_BIN]},
    ):
        async with Stream(city.first, city.keys["lyon"], **params) as refused:
            refusals.append((refused.status, refused.error["detail"]))
    async with httpx.AsyncClient(base_url=city.first) as http:
        anonymous = (await http.get("/stream")).status_code

    assert refusals == [
        (422, "class: one of waste_bin, air_quality, people_counter, streetlight"),
        (422, "kinds: a comma-separated list of readings, alerts"),
        (422, "tenant: no tenant 'villeurbanne'"),
        (422, "dev_eui: 16 hex digits, not 'xyz'"),
        (404, f"no device {VILLEURBANNE_BIN}"),
    ]
    assert anonymous == 401


@pytest.mark.services
async def test_alert_transitions_reach_the_devices_commune_only(city: City) -> None:
    lyon = city.keys["lyon operator"]
    rule = {"bin-full": RuleInfo("lyon", "bin full", "critical", [])}

    async def transition(kind: str, minutes: float) -> None:
        conn = await asyncpg.connect(city.env.settings.database_url)
        try:
            await store.prepare_connection(conn)
            await conn.execute(
                "insert into rules (id, tenant_id, definition) values ('bin-full', 'lyon', '{}') "
                "on conflict do nothing"
            )
            async with conn.transaction():
                moment = T0 + timedelta(minutes=minutes)
                change = Transition("bin-full", LYON_BIN, "", kind, moment, 95.0)
                await alerts.apply_transitions(conn, [change], rule)
        finally:
            await conn.close()

    async with (
        Stream(city.first, lyon) as seen,
        Stream(city.second, city.keys["villeurbanne"]) as unseen,
        Stream(city.second, city.keys["everyone"], kinds="alerts") as everyone,
    ):
        await transition("fired", 0)
        await seen.until(lambda: len(seen.named("alert")) == 1)
        alert_id = seen.named("alert")[0]["alert_id"]
        async with httpx.AsyncClient(base_url=city.second, headers=bearer(lyon)) as http:
            answer = await http.post(f"/alerts/{alert_id}/acknowledge", json={"actor": "agent"})
            assert answer.status_code == 200
        await transition("cleared", 30)
        await everyone.until(lambda: len(everyone.named("alert")) == 3)
        await seen.until(lambda: len(seen.named("alert")) == 3)

    fired, acknowledged, cleared = seen.named("alert")
    assert fired == {
        "transition": "fired", "time": "2026-11-01T12:00:00+00:00", "alert_id": alert_id,
        "rule_id": "bin-full", "dev_eui": LYON_BIN, "channel": "", "tenant_id": "lyon",
        "status": "firing", "severity": "critical", "value": 95.0, "message": "bin full: 95",
    }  # fmt: skip
    assert (acknowledged["transition"], acknowledged["status"]) == ("acknowledged", "acknowledged")
    assert (cleared["transition"], cleared["status"]) == ("cleared", "resolved")
    assert unseen.events == []


async def silent_client(base: str, token: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client that asks for the stream, then reads nothing: with a tiny receive buffer,
    the server's writes to it soon block."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    host, port = base.removeprefix("http://").split(":")
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    request = f"GET /stream?dev_eui={LYON_BIN} HTTP/1.1\r\nHost: {host}\r\n"
    writer.write(f"{request}Authorization: Bearer {token}\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


@pytest.mark.services
async def test_a_slow_client_loses_its_oldest_events_without_stalling_a_fast_one(
    city: City,
) -> None:
    everyone = city.keys["everyone"]
    flood = [reading(LYON_BIN, float(i), minutes=10 + i / 60) for i in range(20000)]
    reader, writer = await silent_client(city.first, everyone)
    try:
        async with Stream(city.first, everyone, dev_eui=LYON_LIGHT) as fast:
            await write(city.env, flood)
            await write(city.env, [reading(LYON_LIGHT, 7.0, minutes=10)])
            await fast.until(lambda: fast.readings() == {(LYON_LIGHT, 7.0)}, timeout_s=5)
        received = b""
        with contextlib.suppress(TimeoutError):
            while chunk := await asyncio.wait_for(reader.read(1 << 20), 1):
                received += chunk
    finally:
        writer.close()

    assert b'event: dropped\ndata: {"count":' in received
    assert b"client too slow" in received
    assert received.count(b'"quantity":"filling_level"') < len(flood)


@pytest.mark.services
async def test_the_listener_comes_back_after_losing_the_database(city: City) -> None:
    async with (
        Stream(city.first, city.keys["lyon"]),  # both API processes listen, whatever ran before
        Stream(city.second, city.keys["lyon"]) as stream,
    ):
        killed = await terminate_listeners(city.env)
        await stream.until(lambda: bool(stream.named("dropped")), timeout_s=10)
        await write(city.env, every_device(minutes=5000))
        await stream.until(lambda: (LYON_BIN, 1.0) in stream.readings())

    assert killed == 2  # one listener per API process
    assert stream.named("dropped") == [
        {"count": None, "reason": "the database connection was lost"}
    ]


async def terminate_listeners(env: ServiceEnv) -> int:
    conn = await asyncpg.connect(env.settings.database_url)
    try:
        return len(
            await conn.fetch(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where application_name = 'urbanpulse-stream' and datname = current_database()"
            )
        )
    finally:
        await conn.close()


async def listeners(env: ServiceEnv) -> int:
    conn = await asyncpg.connect(env.settings.database_url)
    try:
        count: int = await conn.fetchval(
            "select count(*) from pg_stat_activity "
            "where application_name = 'urbanpulse-stream' and datname = current_database()"
        )
        return count
    finally:
        await conn.close()


@pytest.mark.services
async def test_one_listener_feeds_every_stream_of_a_process_until_shutdown(city: City) -> None:
    app = FastAPI()
    hub = app.state.stream_hub = Hub(city.env.settings.database_url)
    before = await listeners(city.env)
    everything = await hub.subscribe(Wanted(None, frozenset({"readings"})))
    villeurbanne = await hub.subscribe(Wanted(frozenset({"villeurbanne"}), frozenset({"readings"})))
    during = await listeners(city.env)

    await write(city.env, every_device(minutes=6000))
    deadline = time.monotonic() + 10
    while everything.queue.qsize() < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await shutdown(app)

    assert (during - before, await listeners(city.env) - before) == (1, 0)
    assert {e["dev_eui"] for e in queued(everything)} == {LYON_BIN, LYON_LIGHT, VILLEURBANNE_BIN}
    assert [e["dev_eui"] for e in queued(villeurbanne)] == [VILLEURBANNE_BIN]


class FailingOnce(Hub):
    """A hub whose first session fails the way asyncpg failed when the server ended it in
    the middle of the heartbeat query."""

    failed = False

    async def session(self, conn: asyncpg.Connection, lost: bool) -> None:
        if not self.failed:
            self.failed = True
            self.listening.set()
            raise asyncpg.InternalClientError(
                "cannot switch to state 12; another operation (2) is in progress"
            )
        await super().session(conn, lost)


@pytest.mark.services
async def test_the_listener_outlives_any_failure_of_its_session(city: City) -> None:
    app = FastAPI()
    hub = app.state.stream_hub = FailingOnce(city.env.settings.database_url)
    subscriber = await hub.subscribe(Wanted(None, frozenset({"readings"})))

    deadline = time.monotonic() + 10
    while subscriber.queue.empty() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    gap = queued(subscriber)
    await write(city.env, every_device(minutes=7000))
    while subscriber.queue.qsize() < 3 and time.monotonic() < deadline + 10:
        await asyncio.sleep(0.05)
    await shutdown(app)

    assert gap == [{"count": None, "reason": "the database connection was lost"}]
    assert {e["dev_eui"] for e in queued(subscriber)} == {LYON_BIN, LYON_LIGHT, VILLEURBANNE_BIN}


def queued(subscriber: Subscriber) -> list[Any]:
    """The data of the events waiting in a subscriber's queue."""
    frames = [subscriber.queue.get_nowait() for _ in range(subscriber.queue.qsize())]
    return [orjson.loads(f.split(b"data: ", 1)[1]) for f in frames]


@pytest.mark.services
async def test_the_stream_of_a_revoked_key_ends(city: City) -> None:
    async with httpx.AsyncClient(base_url=city.first, headers=bearer(city.keys["admin"])) as http:
        made = (await http.post("/keys", json={"name": "kiosk", "tenants": ["lyon"]})).json()
        async with (
            Stream(city.first, made["key"]) as stream,
            Stream(city.first, city.keys["lyon"]) as other,
        ):
            await asyncio.sleep(1.5)
            assert not stream.ended()
            assert (await http.delete(f"/keys/{made['id']}")).status_code == 204
            await stream.until(stream.ended, timeout_s=5)

            assert not other.ended()


@pytest.mark.services
async def test_a_bridge_streams_what_it_commits_to_the_devices_commune(city: City) -> None:
    env = city.env
    sent = list(messages(3, 12, 7, T0, "json", env.prefix, ["milesight-ws558", "decentlab-dl-pm"]))
    fleet = sorted({orjson.loads(payload)["deviceInfo"]["devEui"] for _, payload in sent})
    ours, theirs = fleet[0], fleet[1:]
    conn = await asyncpg.connect(env.settings.database_url)
    try:
        await conn.execute(
            "insert into devices (dev_eui, tenant_id) select d, case when d = $1 then 'lyon' "
            "else 'villeurbanne' end from unnest($2::text[]) d",
            ours,
            fleet,
        )
    finally:
        await conn.close()
    bridge = env.start_bridge()
    try:
        bridge.wait_subscribed()
        async with (
            Stream(city.first, city.keys["lyon"]) as lyon,
            Stream(city.second, city.keys["everyone"], dev_eui=fleet) as everyone,
        ):
            publisher = Publisher(env.settings.mqtt_host, env.settings.mqtt_port)
            for topic, payload in sent:
                publisher.publish(topic, payload)
            publisher.close()
            await everyone.until(
                lambda: {e["dev_eui"] for e in everyone.named("reading")} == set(fleet),
                timeout_s=30,
            )
            await lyon.until(lambda: bool(lyon.named("reading")))
            await asyncio.sleep(0.5)
    finally:
        bridge.stop()

    assert {e["dev_eui"] for e in lyon.named("reading")} == {ours}
    assert {e["tenant_id"] for e in everyone.named("reading") if e["dev_eui"] in theirs} == {
        "villeurbanne"
    }
    assert all(e["device_class"] for e in everyone.named("reading"))
