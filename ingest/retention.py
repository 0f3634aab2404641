"""Retention per data class (GDPR): what the `retention` table says is too old is dropped,
whole chunks at a time with TimescaleDB's drop_chunks, plain rows for plain tables."""

from __future__ import annotations

from datetime import timedelta

from ingest.store import Conn

POLICIES = """
select r.relation, r.keep, h.hypertable_name is not null as is_hypertable
from retention r
left join timescaledb_information.hypertables h on h.hypertable_name = r.relation
where r.keep is not null
order by r.relation
"""

PLAIN_TIME_COLUMN = {"rejected": "received_at"}


async def apply_retention(conn: Conn) -> dict[str, int]:
    """Drop what is older than each relation's `keep`; returns chunks or rows dropped."""
    dropped: dict[str, int] = {}
    for policy in await conn.fetch(POLICIES):
        relation: str = policy["relation"]
        keep: timedelta = policy["keep"]
        if policy["is_hypertable"]:
            chunks = await conn.fetch(
                "select drop_chunks($1::regclass, older_than => now() - $2::interval)",
                relation,
                keep,
            )
            dropped[relation] = len(chunks)
        elif relation in PLAIN_TIME_COLUMN:
            column = PLAIN_TIME_COLUMN[relation]
            status = await conn.execute(
                f"delete from {relation} where {column} < now() - $1::interval", keep
            )
            dropped[relation] = int(status.rsplit(" ", 1)[-1])
    return dropped
