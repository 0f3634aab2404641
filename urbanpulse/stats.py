"""Counts read from the database, for `urbanpulse stats` and the demo's summary."""

from __future__ import annotations

import asyncpg

QUERY = """
select
  (select count(*) from uplinks) as uplinks,
  (select count(*) from readings) as readings,
  (select count(*) from rejected) as rejected,
  (select count(*) from device_events) as events,
  (select count(*) from devices) as devices,
  (select count(*) from uplinks where decode_status = 'error') as decode_errors,
  (select count(*) from uplinks where decode_status = 'no_decoder') as no_decoder,
  (select coalesce(sum(count), 0) from rollups_hourly) as rollup_hourly_count
"""


async def read_stats(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(QUERY)
    finally:
        await conn.close()
    assert row is not None
    return {key: int(value) for key, value in row.items()}
