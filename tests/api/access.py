"""API keys for tests, made the way `urbanpulse keys create` makes them."""

from __future__ import annotations

import asyncio

import asyncpg

from api.access import create_key
from tests.services import ServiceEnv


def issue_key(env: ServiceEnv, role: str = "admin", tenants: list[str] | None = None) -> str:
    async def run() -> str:
        conn = await asyncpg.connect(env.settings.database_url)
        try:
            for tenant in tenants or []:
                await conn.execute(
                    "insert into tenants (id) values ($1) on conflict do nothing", tenant
                )
            made = await create_key(conn, f"test {role}", role, tenants)
            return str(made["key"])
        finally:
            await conn.close()

    return asyncio.run(run())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
