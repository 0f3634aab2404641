"""Ordered, forward-only SQL migrations and the small runner that applies them once."""

from __future__ import annotations

from importlib import resources

import asyncpg

# Any constant works: it only serializes concurrent `migrate` runs.
LOCK_KEY = 0x75726270


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) of every migration, in order."""
    files = sorted(
        (f for f in resources.files(__package__).iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    return [(f.name.removesuffix(".sql"), f.read_text()) for f in files]


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction; return them."""
    await conn.execute("select pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(
            "create table if not exists schema_migrations "
            "(version text primary key, applied_at timestamptz not null default now())"
        )
        done = {r["version"] for r in await conn.fetch("select version from schema_migrations")}
        applied = []
        for version, sql in migration_files():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("insert into schema_migrations (version) values ($1)", version)
            applied.append(version)
        return applied
    finally:
        await conn.execute("select pg_advisory_unlock($1)", LOCK_KEY)
