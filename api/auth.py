"""Who calls: the API key of `Authorization: Bearer …` (or `X-API-Key`) checked against the
database, with a short cache so that a revoked key stops working within seconds."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.deps import Pool
from api.keys import Caller, parse_token, secret_matches

CACHE_SECONDS = 10.0

bearer = HTTPBearer(auto_error=False, description="an API key: `upk_…`")
header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key: `upk_…`")


class KeyCache:
    """Checked keys by token, each for CACHE_SECONDS."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, Caller]] = {}

    def get(self, token: str) -> Caller | None:
        entry = self.entries.get(token)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def forget(self, key_id: str) -> None:
        self.entries = {t: e for t, e in self.entries.items() if e[1].key_id != key_id}

    def put(self, token: str, caller: Caller) -> None:
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[token] = (time.monotonic() + CACHE_SECONDS, caller)


def unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


async def lookup(pool: asyncpg.Pool, token: str) -> Caller:
    parsed = parse_token(token)
    if parsed is None:
        raise unauthorized("the API key is malformed: expected upk_<12 hex>_<43 characters>")
    key_id, secret = parsed
    row = await pool.fetchrow(
        "select name, role, tenants, secret_hash from api_keys where id = $1 and revoked_at is null",
        key_id,
    )
    if row is None or not secret_matches(secret, row["secret_hash"]):
        raise unauthorized("unknown or revoked API key")
    tenants = None if row["tenants"] is None else tuple(row["tenants"])
    return Caller(key_id, row["name"], row["role"], tenants)


async def caller(
    request: Request,
    pool: Pool,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    api_key: Annotated[str | None, Security(header)],
) -> Caller:
    token = credentials.credentials if credentials is not None else api_key
    if not token:
        raise unauthorized("an API key is needed: Authorization: Bearer upk_…")
    cache: KeyCache = request.app.state.key_cache
    known = cache.get(token)
    if known is None:
        known = await lookup(pool, token)
        cache.put(token, known)
    return known


def with_role(role: str) -> Callable[..., Coroutine[Any, Any, Caller]]:
    async def check(who: Annotated[Caller, Depends(caller)]) -> Caller:
        if not who.has_role(role):
            raise HTTPException(
                403, f"this needs the {role} role; the key {who.key_id} is {who.role}"
            )
        return who

    return check


Viewer = Annotated[Caller, Depends(caller)]
Operator = Annotated[Caller, Depends(with_role("operator"))]
Admin = Annotated[Caller, Depends(with_role("admin"))]
