"""Every query is scoped to the caller's tenants; a device of another tenant is not found
(404), never forbidden, so that its existence does not leak."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import HTTPException

from api.keys import Caller

# Binds the caller's scope (`Caller.scope`) as the parameter it names.
DEVICE_IN_SCOPE = "($%d::text[] is null or tenant_id = any($%d))"


def in_scope(param: int) -> str:
    return DEVICE_IN_SCOPE % (param, param)


async def visible_device(
    conn: asyncpg.Pool | asyncpg.Connection, who: Caller, dev_eui: str, columns: str = "dev_eui"
) -> asyncpg.Record:
    """The device's row if the caller may see it; 404 otherwise, whoever owns it."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"select {columns} from devices where dev_eui = $1 and {in_scope(2)}",
        dev_eui.lower(),
        who.scope,
    )
    if row is None:
        raise HTTPException(404, f"no device {dev_eui.lower()}")
    return row


def tenant_allowed(who: Caller, tenant_id: Any) -> None:
    """A write naming a tenant outside the caller's scope is refused as a bad parameter."""
    if tenant_id is None or tenant_id == "*":
        if who.tenants is not None:
            raise HTTPException(
                403, "only a key of every tenant can write what applies to every tenant"
            )
        return
    if not who.sees(str(tenant_id)):
        raise HTTPException(422, {"parameter": "tenant_id", "message": f"no tenant {tenant_id!r}"})
