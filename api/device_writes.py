"""Registry writes: create or replace one device, change some of its fields, import many
from CSV in one transaction, all or nothing. Only the registry's fields are written;
what ChirpStack reports (last seen, application, profile) is left as it is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from api import device_csv, errors
from api.auth import Admin
from api.deps import Pool
from api.device_fields import DeviceFields, DevicePatch, Problem, merged
from api.devices import DevEui, Device, device_row, json_response
from api.keys import Caller
from api.scope import in_scope, tenant_allowed
from ingest.store import Conn

router = APIRouter(prefix="/devices", tags=["devices"])

FIELDS = tuple(DeviceFields.model_fields)
UPSERT = f"""
insert into devices (dev_eui, {", ".join(FIELDS)}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
on conflict (dev_eui) do update set {", ".join(f"{f} = excluded.{f}" for f in FIELDS)},
    updated_at = now()
"""
IMPORT_MAX_BYTES = 20 * 1024 * 1024
REPORTED_PROBLEMS_MAX = 100
CSV_EXAMPLE = (
    "dev_eui,tenant_id,model,device_class,name,latitude,longitude,zone,tags,param.bin_height_mm\n"
    "24e124713b230001,lyon,milesight-em310-udl,waste_bin,Bin place Bellecour,45.7578,4.8320,"
    "centre,quartier=centre;collecte=mardi,1200\n"
)


class ImportCounts(BaseModel):
    created: int
    updated: int


def rejected(problems: Sequence[Problem]) -> JSONResponse:
    shown = problems[:REPORTED_PROBLEMS_MAX]
    details = [p._asdict() for p in shown]
    summary = "; ".join(f"{p.parameter}: {p.message}" for p in shown)
    if len(problems) > len(shown):
        summary += f"; and {len(problems) - len(shown)} more"
    return errors.body(422, summary, details)


async def stored_devices(
    conn: Conn, who: Caller, dev_euis: list[str]
) -> dict[str, dict[str, Any] | None]:
    """The registry fields of the devices that exist, locked until the transaction ends;
    None for those the caller may not see."""
    rows = await conn.fetch(
        f"select dev_eui, {', '.join(FIELDS)}, {in_scope(2)} as visible from devices "
        "where dev_eui = any($1::text[]) order by dev_eui for update",
        dev_euis, who.scope,
    )  # fmt: skip
    return {r["dev_eui"]: {f: r[f] for f in FIELDS} if r["visible"] else None for r in rows}


async def known_tenants(conn: Conn, tenant_ids: set[str]) -> set[str]:
    rows = await conn.fetch("select id from tenants where id = any($1::text[])", list(tenant_ids))
    return {r["id"] for r in rows}


def tenant_problem(who: Caller, tenant_id: str | None, known: set[str]) -> str | None:
    if tenant_id is None:
        return None if who.tenants is None else "a key limited to some tenants must name one"
    if not who.sees(tenant_id) or tenant_id not in known:
        return f"no tenant {tenant_id!r}"
    return None


async def write(conn: Conn, rows: list[tuple[str, DeviceFields]]) -> None:
    await conn.executemany(
        UPSERT, [(dev_eui, *(getattr(f, n) for n in FIELDS)) for dev_eui, f in rows]
    )


async def write_one(
    pool: Pool, who: Caller, dev_eui: str, change: dict[str, Any], replace: bool
) -> Response:
    dev_eui = dev_eui.lower()
    async with pool.acquire() as conn, conn.transaction():
        stored = (await stored_devices(conn, who, [dev_eui])).get(dev_eui, {})
        if stored is None or (not stored and not replace):
            raise HTTPException(404, f"no device {dev_eui}")
        fields, problems = merged({} if replace else stored, change)
        if problems:
            return rejected(problems)
        tenant_allowed(who, fields.tenant_id)
        tenants = await known_tenants(conn, {fields.tenant_id} if fields.tenant_id else set())
        if (problem := tenant_problem(who, fields.tenant_id, tenants)) is not None:
            return rejected([Problem("tenant_id", problem)])
        await write(conn, [(dev_eui, fields)])
    device = await device_row(pool, who.scope, dev_eui)
    return json_response(device, status_code=200 if stored else 201)


@router.put(
    "/{dev_eui}",
    summary="Create or replace a device",
    description="Replaces every registry field; a field left out takes its default. "
    "201 when the device is new, 200 when it replaced one.",
    response_model=Device,
    responses={201: {"model": Device, "description": "Created"}},
)
async def put_device(pool: Pool, who: Admin, dev_eui: DevEui, body: DeviceFields) -> Response:
    return await write_one(pool, who, dev_eui, body.model_dump(), replace=True)


@router.patch(
    "/{dev_eui}",
    summary="Change some fields of a device",
    description="A JSON merge patch (RFC 7396): the fields given replace the stored ones, "
    "null resets a field, and tags and params are merged key by key (null removes a key).",
    response_model=Device,
)
async def patch_device(pool: Pool, who: Admin, dev_eui: DevEui, body: DevicePatch) -> Response:
    return await write_one(pool, who, dev_eui, body.model_dump(exclude_unset=True), replace=False)


def row_problems(
    who: Caller,
    row: device_csv.CsvRow,
    stored: dict[str, dict[str, Any] | None],
    tenants: set[str],
) -> tuple[DeviceFields | None, list[Problem]]:
    if row.dev_eui in stored and stored[row.dev_eui] is None:
        return None, [
            Problem(
                row.at("dev_eui"), f"{row.dev_eui} is registered outside the tenants of this key"
            )
        ]
    before = stored.get(row.dev_eui) or {}
    try:
        patch = device_csv.patch_of(row, before)
    except ValueError as exc:
        return None, [Problem(row.at("tags"), str(exc))]
    fields, problems = merged(before, patch)
    located = [Problem(row.at(device_csv.column_of(p.parameter)), p.message) for p in problems]
    if not problems and (problem := tenant_problem(who, fields.tenant_id, tenants)):
        located.append(Problem(row.at("tenant_id"), problem))
    return fields, located


@router.post(
    "/import",
    summary="Create or update devices from a CSV file",
    description=(device_csv.__doc__ or "")
    + " A column the file lacks is left as it is on the devices that exist. Every row is "
    "checked first: if any is wrong, nothing is written and the answer names each row and "
    "column at fault.",
    response_model=ImportCounts,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE}},
        }
    },
)
async def import_devices(request: Request, pool: Pool, who: Admin) -> Response:
    raw = await request.body()
    if len(raw) > IMPORT_MAX_BYTES:
        raise HTTPException(413, f"the file is over {IMPORT_MAX_BYTES // 1024 // 1024} MiB")
    try:
        rows = device_csv.read_rows(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return rejected([Problem("body", "the file must be UTF-8")])
    except device_csv.CsvError as exc:
        return rejected(exc.problems)
    async with pool.acquire() as conn, conn.transaction():
        stored = await stored_devices(conn, who, [r.dev_eui for r in rows])
        named = {c for r in rows if (c := r.cells.get("tenant_id"))}
        tenants = await known_tenants(conn, named | {s["tenant_id"] for s in stored.values() if s})
        problems: list[Problem] = []
        writes: list[tuple[str, DeviceFields]] = []
        for row in rows:
            fields, found = row_problems(who, row, stored, tenants)
            problems += found
            if fields is not None and not found:
                writes.append((row.dev_eui, fields))
        if problems:
            return rejected(problems)
        await write(conn, writes)
    created = sum(1 for dev_eui, _ in writes if dev_eui not in stored)
    return json_response({"created": created, "updated": len(writes) - created})
