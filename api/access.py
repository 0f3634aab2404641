"""Tenants and API keys: who the caller is, the keys an admin hands out and revokes, the
tenants of the intercommunality."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.auth import Admin, Viewer
from api.deps import Pool
from api.keys import ROLES, new_key

router = APIRouter(tags=["access"])

Role = Literal["viewer", "operator", "admin"]
TenantId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
# Printable text: PostgreSQL cannot store NUL, and names are shown to people.
NAME_PATTERN = r"^[^\x00-\x1f\x7f]*$"


class Me(BaseModel):
    key_id: str
    name: str
    role: str
    tenants: list[str] | None = Field(description="null: every tenant")


class KeyRequest(BaseModel):
    name: str = Field(
        min_length=1, max_length=100, pattern=NAME_PATTERN, examples=["service propreté"]
    )
    role: Role = "viewer"
    tenants: list[TenantId] | None = Field(
        default=None,
        min_length=1,
        description="the tenants the key sees; null: every tenant the creator sees",
        examples=[["villeurbanne"]],
    )


class StoredKey(BaseModel):
    id: str
    name: str
    role: str
    tenants: list[str] | None
    created_at: datetime
    revoked_at: datetime | None


class CreatedKey(StoredKey):
    key: str = Field(description="shown once; only its hash is kept")


class TenantName(BaseModel):
    name: str = Field(default="", max_length=200, pattern=NAME_PATTERN, examples=["Villeurbanne"])


class Tenant(TenantName):
    id: TenantId


async def create_key(
    conn: asyncpg.Pool | asyncpg.Connection, name: str, role: str, tenants: list[str] | None
) -> dict[str, Any]:
    """Store a new key and return its row with the token, which is never stored."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    made = new_key()
    row = await conn.fetchrow(
        "insert into api_keys (id, secret_hash, name, role, tenants) values ($1, $2, $3, $4, $5) "
        "returning id, name, role, tenants, created_at, revoked_at",
        made.id, made.secret_hash, name, role, tenants,
    )  # fmt: skip
    assert row is not None
    return {**dict(row), "key": made.token}


@router.get("/me", summary="The calling key: its role and tenants", response_model=Me)
async def me(who: Viewer) -> dict[str, Any]:
    return {
        "key_id": who.key_id,
        "name": who.name,
        "role": who.role,
        "tenants": who.scope,
    }


@router.post("/keys", status_code=201, summary="Create an API key", response_model=CreatedKey)
async def post_key(pool: Pool, who: Admin, body: KeyRequest) -> dict[str, Any]:
    tenants = body.tenants if body.tenants is not None else who.scope
    if tenants is not None and not all(who.sees(t) for t in tenants):
        raise HTTPException(
            422, {"parameter": "tenants", "message": "a key can only see tenants its creator sees"}
        )
    if tenants is not None:
        known = await pool.fetchval("select count(*) from tenants where id = any($1)", tenants)
        if known != len(set(tenants)):
            raise HTTPException(422, {"parameter": "tenants", "message": "unknown tenant"})
    return await create_key(pool, body.name, body.role, tenants)


@router.get("/keys", summary="API keys within the caller's tenants", response_model=list[StoredKey])
async def list_keys(pool: Pool, who: Admin) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "select id, name, role, tenants, created_at, revoked_at from api_keys "
        "where $1::text[] is null or (tenants is not null and tenants <@ $1) order by created_at, id",
        who.scope,
    )
    return [dict(r) for r in rows]


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_key(
    request: Request, pool: Pool, who: Admin, key_id: Annotated[str, Path(pattern="^[0-9a-f]{12}$")]
) -> Response:
    revoked = await pool.fetchval(
        "update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 "
        "and ($2::text[] is null or (tenants is not null and tenants <@ $2)) returning 1",
        key_id, who.scope,
    )  # fmt: skip
    if revoked is None:
        raise HTTPException(404, f"no key {key_id}")
    request.app.state.key_cache.forget(key_id)
    return Response(status_code=204)


@router.get("/tenants", summary="Tenants the caller sees", response_model=list[Tenant])
async def list_tenants(pool: Pool, who: Viewer) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "select id, name from tenants where $1::text[] is null or id = any($1) order by id",
        who.scope,
    )
    return [dict(r) for r in rows]


@router.put("/tenants/{tenant_id}", summary="Create or rename a tenant", response_model=Tenant)
async def put_tenant(
    pool: Pool,
    who: Admin,
    tenant_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")],
    body: TenantName,
) -> dict[str, Any]:
    if who.tenants is not None:
        raise HTTPException(403, "only a key of every tenant can create or rename tenants")
    row = await pool.fetchrow(
        "insert into tenants (id, name) values ($1, $2) on conflict (id) do update "
        "set name = excluded.name returning id, name",
        tenant_id, body.name,
    )  # fmt: skip
    assert row is not None
    return dict(row)
