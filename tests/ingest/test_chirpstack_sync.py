"""The registry sync against a real gRPC server built from the chirpstack-api stubs, which
behaves as ChirpStack does where it matters: `limit` 0 lists nothing, list calls need
their parent's id, and every call needs the API token."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import grpc  # type: ignore[import-untyped]
import pytest
from chirpstack_api import api

from ingest.chirpstack_sync import (
    ChirpStackClient,
    ChirpStackError,
    SyncCounts,
    device_row,
    next_offset,
    resolve_model,
    sync_registry,
)
from tests.services import ServiceEnv

TOKEN = "admin-api-key"
PROFILE_MODELS = {"WS558 streetlight": "milesight-ws558"}


@dataclass
class Application:
    id: str
    tenant_id: str
    devices: list[Any] = field(default_factory=list)  # api.DeviceListItem


@dataclass
class FakeChirpStack:
    """In-memory tenants, applications and devices, served by the servicers below."""

    tenants: list[Any] = field(default_factory=list)  # api.TenantListItem
    applications: list[Application] = field(default_factory=list)
    delay_s: float = 0.0

    def device(self, dev_eui: str) -> Any:
        return next(d for a in self.applications for d in a.devices if d.dev_eui == dev_eui)


def city() -> FakeChirpStack:
    """Three tenants (one without applications); 260 + 5 + 30 devices."""
    ids = [str(uuid.UUID(int=i)) for i in range(1, 7)]
    fake = FakeChirpStack(
        tenants=[
            api.TenantListItem(id=ids[0], name="Ville de Lyon"),
            api.TenantListItem(id=ids[1], name="Métropole"),
            api.TenantListItem(id=ids[2], name="Empty"),
        ],
        applications=[
            Application(ids[3], ids[0]),
            Application(ids[4], ids[0]),
            Application(ids[5], ids[1]),
        ],
    )
    kinds = [
        ({"model": "milesight-em310-udl", "street": "rue Garibaldi"}, "EM310"),
        ({"model": "no-such-model"}, "WS558 streetlight"),
        ({}, "WS558 streetlight"),
        ({"site": "parc"}, "unknown profile"),
    ]
    sizes = (260, 5, 30)
    n = 0
    for app, size in zip(fake.applications, sizes, strict=True):
        for _ in range(size):
            tags, profile = kinds[n % len(kinds)]
            app.devices.append(
                api.DeviceListItem(
                    dev_eui=f"A84041{n:010X}",
                    name=f"dev-{n}",
                    device_profile_name=profile,
                    tags=tags,
                )
            )
            n += 1
    return fake


def page(items: list[Any], request: Any) -> list[Any]:
    return items[request.offset : request.offset + request.limit]


def parse_id(value: str, context: grpc.ServicerContext, what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{what}: invalid length: expected UUID")
        raise


def authorize(fake: FakeChirpStack, context: grpc.ServicerContext) -> None:
    time.sleep(fake.delay_s)
    metadata = dict(context.invocation_metadata())
    if metadata.get("authorization") != f"Bearer {TOKEN}":
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "Invalid token")


class Tenants(api.TenantServiceServicer):  # type: ignore[misc]
    def __init__(self, fake: FakeChirpStack) -> None:
        self.fake = fake

    def List(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        authorize(self.fake, context)
        tenants = self.fake.tenants
        return api.ListTenantsResponse(total_count=len(tenants), result=page(tenants, request))


class Applications(api.ApplicationServiceServicer):  # type: ignore[misc]
    def __init__(self, fake: FakeChirpStack) -> None:
        self.fake = fake

    def List(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        authorize(self.fake, context)
        tenant_id = parse_id(request.tenant_id, context, "tenant_id")
        apps = [
            api.ApplicationListItem(id=a.id, name=f"app {a.id[-1]}")
            for a in self.fake.applications
            if a.tenant_id == tenant_id
        ]
        return api.ListApplicationsResponse(total_count=len(apps), result=page(apps, request))


class Devices(api.DeviceServiceServicer):  # type: ignore[misc]
    def __init__(self, fake: FakeChirpStack) -> None:
        self.fake = fake

    def List(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        authorize(self.fake, context)
        application_id = parse_id(request.application_id, context, "application_id")
        devices = next((a.devices for a in self.fake.applications if a.id == application_id), [])
        return api.ListDevicesResponse(total_count=len(devices), result=page(devices, request))


@dataclass
class Server:
    target: str
    fake: FakeChirpStack


@pytest.fixture
def chirpstack() -> Iterator[Server]:
    fake = city()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    api.add_TenantServiceServicer_to_server(Tenants(fake), server)
    api.add_ApplicationServiceServicer_to_server(Applications(fake), server)
    api.add_DeviceServiceServicer_to_server(Devices(fake), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield Server(f"127.0.0.1:{port}", fake)
    finally:
        server.stop(grace=None).wait()


@pytest.fixture
def channel(chirpstack: Server) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(chirpstack.target) as ch:
        yield ch


def sync(env: ServiceEnv, chirpstack: Server, token: str = TOKEN) -> SyncCounts:
    async def main() -> SyncCounts:
        conn = await asyncpg.connect(env.settings.database_url)
        try:
            return await sync_registry(conn, chirpstack.target, token, PROFILE_MODELS)
        finally:
            await conn.close()

    return asyncio.run(main())


def test_model_comes_from_a_known_model_tag_then_the_profile_mapping() -> None:
    assert resolve_model({"model": "milesight-vs121"}, "WS558 streetlight", PROFILE_MODELS) == (
        "milesight-vs121"
    )
    assert resolve_model({"model": "typo"}, "WS558 streetlight", PROFILE_MODELS) == (
        "milesight-ws558"
    )
    assert resolve_model({}, "WS558 streetlight", PROFILE_MODELS) == "milesight-ws558"
    assert resolve_model({"model": "typo"}, "other", PROFILE_MODELS) is None


def test_a_device_maps_to_a_registry_row() -> None:
    item = api.DeviceListItem(
        dev_eui="A84041000000002A",
        name="bin 42",
        device_profile_name="EM310",
        tags={"model": "milesight-em310-udl", "street": "rue Garibaldi"},
    )
    row = device_row("tenant", "app", item, PROFILE_MODELS)
    assert row.dev_eui == "a84041000000002a"
    assert (row.tenant_id, row.application_id, row.name) == ("tenant", "app", "bin 42")
    assert row.device_profile_name == "EM310"
    assert row.tags == {"model": "milesight-em310-udl", "street": "rue Garibaldi"}
    assert (row.model, row.device_class) == ("milesight-em310-udl", "waste_bin")
    unknown = device_row("tenant", "app", api.DeviceListItem(dev_eui="00"), PROFILE_MODELS)
    assert (unknown.model, unknown.device_class, unknown.tags) == (None, None, {})


def test_paging_stops_at_the_total_or_at_an_empty_page() -> None:
    assert next_offset(0, 100, 260) == 100
    assert next_offset(200, 60, 260) is None
    assert next_offset(0, 100, 100) is None
    assert next_offset(100, 0, 260) is None


def test_the_fake_like_chirpstack_lists_nothing_without_a_limit_or_a_token(
    channel: grpc.Channel,
) -> None:
    stub = api.DeviceServiceStub(channel)
    request = api.ListDevicesRequest(application_id=str(uuid.UUID(int=4)))
    response = stub.List(request, metadata=[("authorization", f"Bearer {TOKEN}")])
    assert (response.total_count, len(response.result)) == (260, 0)
    with pytest.raises(grpc.RpcError) as caught:
        stub.List(request)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_client_pages_through_every_device(channel: grpc.Channel) -> None:
    client = ChirpStackClient(channel, TOKEN, page_size=7)
    tenants = list(client.tenants())
    assert [t.name for t in tenants] == ["Ville de Lyon", "Métropole", "Empty"]
    apps = [a for t in tenants for a in client.application_ids(t.id)]
    assert len(apps) == 3
    euis = [d.dev_eui for a in apps for d in client.devices(a)]
    assert len(euis) == len(set(euis)) == 295


def test_an_error_names_the_rpc_the_application_and_the_status(channel: grpc.Channel) -> None:
    client = ChirpStackClient(channel, TOKEN)
    with pytest.raises(ChirpStackError) as caught:
        list(client.devices("not-a-uuid"))
    assert str(caught.value) == (
        "ChirpStack DeviceService.List (application not-a-uuid) failed: "
        "INVALID_ARGUMENT: application_id: invalid length: expected UUID"
    )


def test_each_call_has_a_deadline(chirpstack: Server, channel: grpc.Channel) -> None:
    chirpstack.fake.delay_s = 0.5
    client = ChirpStackClient(channel, TOKEN, timeout_s=0.05)
    with pytest.raises(ChirpStackError) as caught:
        list(client.tenants())
    assert (caught.value.rpc, caught.value.code) == ("TenantService.List", "DEADLINE_EXCEEDED")


@pytest.mark.services
def test_sync_writes_tenants_and_devices_with_tags_and_models(
    env: ServiceEnv, chirpstack: Server
) -> None:
    assert sync(env, chirpstack) == SyncCounts(tenants=3, devices=295, created=295, updated=0)
    tenants = env.query("select id, name from tenants order by name")
    assert [r["name"] for r in tenants] == ["Empty", "Métropole", "Ville de Lyon"]
    rows = {r["dev_eui"]: r for r in env.query("select * from devices")}
    assert len(rows) == 295
    tagged, mistagged, untagged, unknown = (rows[f"a84041{n:010x}"] for n in range(4))
    assert json.loads(tagged["tags"]) == {"model": "milesight-em310-udl", "street": "rue Garibaldi"}
    assert (tagged["model"], tagged["device_class"]) == ("milesight-em310-udl", "waste_bin")
    assert (mistagged["model"], mistagged["device_class"]) == ("milesight-ws558", "streetlight")
    assert untagged["model"] == "milesight-ws558"
    assert (unknown["model"], unknown["device_class"]) == (None, None)
    assert (tagged["tenant_id"], tagged["application_id"]) == (
        str(uuid.UUID(int=1)),
        str(uuid.UUID(int=4)),
    )
    assert (tagged["name"], tagged["device_profile_name"]) == ("dev-0", "EM310")
    last = rows[f"a84041{294:010x}"]
    assert (last["tenant_id"], last["application_id"]) == (
        str(uuid.UUID(int=2)),
        str(uuid.UUID(int=6)),
    )


@pytest.mark.services
def test_a_second_sync_changes_nothing(env: ServiceEnv, chirpstack: Server) -> None:
    sync(env, chirpstack)
    before = env.query("select * from devices order by dev_eui")
    assert sync(env, chirpstack) == SyncCounts(tenants=3, devices=295, created=0, updated=0)
    assert env.query("select * from devices order by dev_eui") == before


@pytest.mark.services
def test_operator_values_survive_and_chirpstack_changes_follow(
    env: ServiceEnv, chirpstack: Server
) -> None:
    env.query("insert into tenants (id, name) values ($1, 'old name')", str(uuid.UUID(int=1)))
    env.query(
        "insert into devices (dev_eui, model, device_class, name, latitude, longitude, zone, "
        "params, tags) values ('a840410000000000', 'decentlab-dl-mbx', 'waste_bin', 'old', "
        "45.76, 4.84, 'presqu''île', '{\"bin_height_mm\": 1200}', '{\"old\": \"tag\"}')"
    )
    assert sync(env, chirpstack) == SyncCounts(tenants=3, devices=295, created=294, updated=1)
    row = env.query("select * from devices where dev_eui = 'a840410000000000'")[0]
    assert (row["model"], row["device_class"], row["zone"]) == (
        "decentlab-dl-mbx",
        "waste_bin",
        "presqu'île",
    )
    assert (row["latitude"], row["longitude"]) == (45.76, 4.84)
    assert json.loads(row["params"]) == {"bin_height_mm": 1200}
    assert (row["name"], row["device_profile_name"]) == ("dev-0", "EM310")
    assert json.loads(row["tags"]) == {"model": "milesight-em310-udl", "street": "rue Garibaldi"}
    assert env.scalar("select name from tenants where id = $1", str(uuid.UUID(int=1))) == (
        "Ville de Lyon"
    )

    chirpstack.fake.device("A840410000000005").name = "renamed"
    assert sync(env, chirpstack) == SyncCounts(tenants=3, devices=295, created=0, updated=1)
    assert env.scalar("select name from devices where dev_eui = 'a840410000000005'") == "renamed"


@pytest.mark.services
def test_a_wrong_or_missing_token_fails_clearly_and_writes_nothing(
    env: ServiceEnv, chirpstack: Server
) -> None:
    for token in ("wrong", ""):
        with pytest.raises(ChirpStackError) as caught:
            sync(env, chirpstack, token)
        assert str(caught.value) == (
            "ChirpStack TenantService.List (all tenants) failed: UNAUTHENTICATED: Invalid token"
        )
    assert env.scalar("select count(*) from tenants") == 0
    assert env.scalar("select count(*) from devices") == 0
