"""The mobility department's view: people counted per counter and counting line since
local midnight, against the same weekday a week before up to the same time of day.

Counts are the per-period quantities `people_in` and `people_out`: whole hours from the
hourly rollups, the hour in progress from the readings. Counters that report only
cumulative totals have no per-period count and are not listed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.auth import Viewer
from api.deps import AppSettings, Pool
from api.views_common import (
    PLACE_COLUMNS,
    DayParam,
    Place,
    TenantFilter,
    ZoneFilter,
    local_day,
    place,
    select_devices,
    the_day,
)

router = APIRouter(prefix="/views", tags=["views"])

WEEK = timedelta(days=7)

# $1..$3: this week's midnight, last whole hour, moment; $4..$6 the same a week before.
COUNTS = f"""
with counters as (select {PLACE_COLUMNS} from devices where {{where}}),
counted as (
    select dev_eui, quantity, channel, 0 as week, sum as people from rollups_hourly
    where dev_eui in (select dev_eui from counters) and quantity in ('people_in', 'people_out')
      and bucket >= $1 and bucket < $2
    union all
    select dev_eui, quantity, channel, 0, value from readings
    where dev_eui in (select dev_eui from counters) and quantity in ('people_in', 'people_out')
      and time >= $2 and time < $3
    union all
    select dev_eui, quantity, channel, 1, sum from rollups_hourly
    where dev_eui in (select dev_eui from counters) and quantity in ('people_in', 'people_out')
      and bucket >= $4 and bucket < $5
    union all
    select dev_eui, quantity, channel, 1, value from readings
    where dev_eui in (select dev_eui from counters) and quantity in ('people_in', 'people_out')
      and time >= $5 and time < $6),
per_line as (
    select dev_eui, channel,
           coalesce(sum(people) filter (where week = 0 and quantity = 'people_in'), 0) as people_in,
           coalesce(sum(people) filter (where week = 0 and quantity = 'people_out'), 0) as people_out,
           coalesce(sum(people) filter (where week = 1 and quantity = 'people_in'), 0) as last_week_in,
           coalesce(sum(people) filter (where week = 1 and quantity = 'people_out'), 0) as last_week_out
    from counted group by dev_eui, channel)
select c.*, n.channel, n.people_in, n.people_out, n.last_week_in, n.last_week_out
from counters c join per_line n on n.dev_eui = c.dev_eui
order by c.zone nulls last, c.dev_eui, n.channel
"""


class Count(Place):
    channel: str = Field(description="the counting line; '' for the device's own", examples=[""])
    people_in: float = Field(examples=[1520])
    people_out: float = Field(examples=[1490])
    total: float = Field(examples=[3010])
    last_week_in: float = Field(examples=[1710])
    last_week_out: float = Field(examples=[1650])
    last_week_total: float = Field(examples=[3360])
    ratio: float | None = Field(
        description="total / last_week_total; null when last week counted nobody",
        examples=[0.896],
    )


class MobilityView(BaseModel):
    day: date
    since: datetime = Field(description="local midnight of the day")
    until: datetime = Field(description="now for today, the next midnight for a past day")
    last_week_since: datetime
    last_week_until: datetime
    counters: list[Count]


def period(day: date, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime, datetime]:
    """(midnight, start of the hour in progress, end) of the day's counting so far: the
    whole day for a past day, nothing yet for a future one."""
    local = local_day(day, tz)
    end = min(max(now, local.start), local.end)
    return local.start, end.replace(minute=0, second=0, microsecond=0), end


def week_before(moment: datetime, tz: ZoneInfo) -> datetime:
    """The same local time of day a week before (a week is 167 to 169 hours around a
    change of offset)."""
    return (moment.astimezone(tz) - WEEK).astimezone(UTC)


def with_totals(row: Any) -> dict[str, Any]:
    total = row["people_in"] + row["people_out"]
    before = row["last_week_in"] + row["last_week_out"]
    return {
        **place(row),
        **{
            k: row[k]
            for k in ("channel", "people_in", "people_out", "last_week_in", "last_week_out")
        },
        "total": total,
        "last_week_total": before,
        "ratio": total / before if before > 0 else None,
    }


@router.get(
    "/mobility",
    summary="Pedestrians today against the same day last week",
    response_model=MobilityView,
)
async def mobility_view(
    pool: Pool,
    who: Viewer,
    settings: AppSettings,
    tenant: TenantFilter = None,
    zone: ZoneFilter = None,
    day: DayParam = None,
) -> dict[str, Any]:
    selection = select_devices(who, "people_counter", tenant, zone)
    tz = ZoneInfo(settings.timezone)
    now = datetime.now(UTC)
    local = the_day(day, now, tz)
    since, hour, until = period(local.day, now, tz)
    before = [week_before(t, tz) for t in (since, hour, until)]
    rows = await pool.fetch(
        COUNTS.format(where=selection.where(7)), since, hour, until, *before, *selection.args()
    )
    return {
        "day": local.day,
        "since": since,
        "until": until,
        "last_week_since": before[0],
        "last_week_until": before[2],
        "counters": [with_totals(r) for r in rows],
    }
