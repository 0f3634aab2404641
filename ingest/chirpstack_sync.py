"""Device registry sync from ChirpStack's gRPC API.

ChirpStack has no "all devices" list, so the sync walks tenants → applications → devices a
page at a time, which needs an admin API key. Everything is read before anything is
written: a failed call leaves the database as it was. ChirpStack is the truth for a
device's tenant, application, name, device profile and tags; what an operator set in our
registry (model, zone, location, params) is never overwritten.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import grpc  # type: ignore[import-untyped]
import orjson
from chirpstack_api import api

from decoders.registry import MODELS, device_class
from ingest.store import Conn

PAGE_SIZE = 100
TIMEOUT_S = 10.0


class ChirpStackError(Exception):
    """A failed ChirpStack call: which RPC, for which tenant or application, and why."""

    def __init__(self, rpc: str, scope: str, code: str, details: str) -> None:
        super().__init__(f"ChirpStack {rpc} ({scope}) failed: {code}: {details}")
        self.rpc, self.scope, self.code, self.details = rpc, scope, code, details


class DeviceItem(Protocol):
    """The fields of `api.DeviceListItem` the sync reads."""

    dev_eui: str
    name: str
    device_profile_name: str
    tags: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """A device as our registry stores it; `model` None means "not known from ChirpStack"."""

    dev_eui: str
    tenant_id: str
    application_id: str
    name: str
    device_profile_name: str
    tags: dict[str, str]
    model: str | None
    device_class: str | None


@dataclass(frozen=True, slots=True)
class SyncCounts:
    tenants: int
    devices: int
    created: int
    updated: int


def next_offset(offset: int, received: int, total: int) -> int | None:
    """The offset of the next page, or None when the list is read. An empty page ends the
    walk too: the list shrank while we read it, and asking again could loop for ever."""
    following = offset + received
    return following if received and following < total else None


def resolve_model(
    tags: Mapping[str, str], profile_name: str, profile_models: Mapping[str, str]
) -> str | None:
    """The `model` tag if it names a decoder, else the device profile's mapped model."""
    tagged = tags.get("model", "")
    return tagged if tagged in MODELS else profile_models.get(profile_name)


def device_row(
    tenant_id: str, application_id: str, item: DeviceItem, profile_models: Mapping[str, str]
) -> DeviceRow:
    tags = dict(item.tags)
    model = resolve_model(tags, item.device_profile_name, profile_models)
    return DeviceRow(
        dev_eui=item.dev_eui.lower(),
        tenant_id=tenant_id,
        application_id=application_id,
        name=item.name,
        device_profile_name=item.device_profile_name,
        tags=tags,
        model=model,
        device_class=device_class(model) if model else None,
    )


class ChirpStackClient:
    """List calls with the API token as metadata, a deadline each, and paging."""

    def __init__(
        self,
        channel: grpc.Channel,
        token: str,
        timeout_s: float = TIMEOUT_S,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.tenant_service = api.TenantServiceStub(channel)
        self.application_service = api.ApplicationServiceStub(channel)
        self.device_service = api.DeviceServiceStub(channel)
        self.metadata = [("authorization", f"Bearer {token}")]  # the key must be lowercase
        self.timeout_s = timeout_s
        self.page_size = page_size

    def pages(
        self, rpc: str, scope: str, method: Callable[..., Any], request: Any
    ) -> Iterator[Any]:
        """Every item of a List RPC. `limit` must be set: ChirpStack answers a request
        without one with no items at all, and the full `total_count`."""
        offset: int | None = 0
        while offset is not None:
            request.limit, request.offset = self.page_size, offset
            try:
                response = method(request, timeout=self.timeout_s, metadata=self.metadata)
            except grpc.RpcError as exc:
                raise ChirpStackError(rpc, scope, exc.code().name, exc.details() or "") from exc
            yield from response.result
            offset = next_offset(offset, len(response.result), int(response.total_count))

    def tenants(self) -> Iterator[Tenant]:
        for item in self.pages(
            "TenantService.List", "all tenants", self.tenant_service.List, api.ListTenantsRequest()
        ):
            yield Tenant(str(item.id), str(item.name))

    def application_ids(self, tenant_id: str) -> Iterator[str]:
        request = api.ListApplicationsRequest(tenant_id=tenant_id)
        scope = f"tenant {tenant_id}"
        for item in self.pages(
            "ApplicationService.List", scope, self.application_service.List, request
        ):
            yield str(item.id)

    def devices(self, application_id: str) -> Iterator[DeviceItem]:
        """Ordered by DevEUI, which is unique: paging by offset over a tie-free order
        neither skips nor repeats a device."""
        request = api.ListDevicesRequest(
            application_id=application_id, order_by=api.ListDevicesRequest.DEV_EUI
        )
        scope = f"application {application_id}"
        yield from self.pages("DeviceService.List", scope, self.device_service.List, request)


def read_registry(
    client: ChirpStackClient, profile_models: Mapping[str, str]
) -> tuple[list[Tenant], list[DeviceRow]]:
    """Every tenant and every device, one row per DevEUI."""
    tenants = list(client.tenants())
    devices: dict[str, DeviceRow] = {}
    for tenant in tenants:
        for application_id in client.application_ids(tenant.id):
            for item in client.devices(application_id):
                row = device_row(tenant.id, application_id, item, profile_models)
                devices[row.dev_eui] = row
    return tenants, list(devices.values())


UPSERT_TENANTS = """
insert into tenants as t (id, name) select * from unnest($1::text[], $2::text[])
on conflict (id) do update set name = excluded.name where t.name <> excluded.name
"""

# `xmax = 0` tells an inserted row from an updated one. A row that would not change is
# not updated, so a repeated sync touches nothing, updated_at included.
UPSERT_DEVICES = """
insert into devices as d (dev_eui, tenant_id, application_id, name, device_profile_name, tags,
                          model, device_class)
select e, t, a, n, p, g::jsonb, m, c
from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::text[]) as s(e, t, a, n, p, g, m, c)
order by e
on conflict (dev_eui) do update set
    tenant_id = excluded.tenant_id,
    application_id = excluded.application_id,
    name = excluded.name,
    device_profile_name = excluded.device_profile_name,
    tags = excluded.tags,
    model = coalesce(d.model, excluded.model),
    device_class = case when d.model is null and excluded.model is not null
                        then excluded.device_class else d.device_class end,
    updated_at = now()
where (d.tenant_id, d.application_id, d.name, d.device_profile_name, d.tags)
      is distinct from
      (excluded.tenant_id, excluded.application_id, excluded.name,
       excluded.device_profile_name, excluded.tags)
   or (d.model is null and excluded.model is not null)
returning xmax = 0 as created
"""


async def upsert_registry(conn: Conn, tenants: list[Tenant], rows: list[DeviceRow]) -> SyncCounts:
    """Write tenants and devices in one transaction. Tags go as JSON text, so this works
    whatever jsonb codec the connection has."""
    async with conn.transaction():
        await conn.execute(UPSERT_TENANTS, [t.id for t in tenants], [t.name for t in tenants])
        written = await conn.fetch(
            UPSERT_DEVICES,
            [r.dev_eui for r in rows],
            [r.tenant_id for r in rows],
            [r.application_id for r in rows],
            [r.name for r in rows],
            [r.device_profile_name for r in rows],
            [orjson.dumps(r.tags).decode() for r in rows],
            [r.model for r in rows],
            [r.device_class for r in rows],
        )
    created = sum(1 for record in written if record["created"])
    return SyncCounts(len(tenants), len(rows), created, len(written) - created)


async def sync_registry(
    conn: Conn,
    target: str,
    token: str,
    profile_models: Mapping[str, str] | None = None,
    timeout_s: float = TIMEOUT_S,
) -> SyncCounts:
    """Read the whole registry from ChirpStack at `target` (host:port, plain gRPC: ChirpStack
    has no TLS of its own) with an admin API key, then upsert it; raises ChirpStackError."""

    def read() -> tuple[list[Tenant], list[DeviceRow]]:
        with grpc.insecure_channel(target) as channel:
            return read_registry(ChirpStackClient(channel, token, timeout_s), profile_models or {})

    tenants, rows = await asyncio.to_thread(read)
    return await upsert_registry(conn, tenants, rows)
