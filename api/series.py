"""Time series of readings in calendar buckets. Whole-hour buckets are summed from the
hourly rollups, shorter ones from the raw readings; days, weeks and months are those of
the city's clock, summed from the daily rollups where maintenance has filled them. Each
answer is one query, its JSON built without a model per point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as midnight
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

import decoders
from api.auth import Viewer
from api.deps import AppSettings, Pool
from api.scope import in_scope

router = APIRouter(tags=["series"])


DAY = timedelta(days=1)


@dataclass(frozen=True)
class Bucket:
    interval: str  # as PostgreSQL reads it
    seconds: int  # its length; the nominal one for calendar buckets
    span: timedelta  # the range asked for when none is given
    calendar: Literal["", "day", "week", "month"] = ""  # in days of the city's clock


BUCKETS = {
    "1m": Bucket("1 minute", 60, DAY),
    "5m": Bucket("5 minutes", 300, DAY),
    "15m": Bucket("15 minutes", 900, DAY),
    "30m": Bucket("30 minutes", 1800, DAY),
    "1h": Bucket("1 hour", 3600, 30 * DAY),
    "3h": Bucket("3 hours", 3 * 3600, 30 * DAY),
    "6h": Bucket("6 hours", 6 * 3600, 30 * DAY),
    "12h": Bucket("12 hours", 12 * 3600, 30 * DAY),
    "1d": Bucket("1 day", 86400, 365 * DAY, "day"),
    "1w": Bucket("1 week", 7 * 86400, 365 * DAY, "week"),
    "1mo": Bucket("1 month", 30 * 86400, 365 * DAY, "month"),
}
BucketName = Literal["1m", "5m", "15m", "30m", "1h", "3h", "6h", "12h", "1d", "1w", "1mo"]
Agg = Literal["avg", "min", "max", "sum", "count", "last"]
Source = Literal["auto", "rollups", "readings"]
DeviceClass = Literal["streetlight", "waste_bin", "air_quality", "people_counter"]

MAX_BUCKETS = 10_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BEYOND = datetime(9000, 1, 1, tzinfo=UTC)  # far from datetime.max, so that buckets fit

# agg → (over raw readings, over rollups: hourly or daily, they combine alike)
AGGREGATES: dict[str, tuple[str, str]] = {
    "avg": ("avg(value)", "sum(sum) / sum(count)::float8"),
    "min": ("min(value)", "min(min)"),
    "max": ("max(value)", "max(max)"),
    "sum": ("sum(value)", "sum(sum)"),
    "count": ("count(*)", "sum(count)::bigint"),
    "last": ("last(value, time)", "last(last, last_time)"),
}

SERIES = """
with visible as (
    select dev_eui from devices where dev_eui = any($1::text[]) and {scope}),{ctes}
points as (
    select dev_eui, quantity, channel, {bucket} as t, {agg} as v from {rows}
    group by dev_eui, quantity, channel, t),
series as (
    select dev_eui, quantity, channel, array_agg(t order by t) as times,
           array_agg(v order by t) as vals
    from points group by dev_eui, quantity, channel)
select asked.dev_eui, visible.dev_eui is not null as visible, s.quantity, s.channel, s.times, s.vals
from unnest($1::text[]) as asked (dev_eui)
left join visible on visible.dev_eui = asked.dev_eui
left join series s on s.dev_eui = visible.dev_eui
order by asked.dev_eui, s.quantity, s.channel
"""

# readings_latest names every series: with their channels, the index scan (its key is
# device, quantity, channel, time) is bounded by the range instead of reading every
# bucket of a device's quantity in each chunk.
WANTED = """{devices} and quantity = any($2::text[])
      and channel = any(array(
          select distinct channel from readings_latest
          where dev_eui = any($1::text[]) and quantity = any($2::text[])
            and ($3::text is null or channel = $3)))"""

DEVICES = "dev_eui = any($1::text[])"

# The first day rollups_daily does not hold if its days are those of our clock ($8), and
# the days of the range read from the hourly rollups: from that one on, up to the one of
# the newest reading (not every day of a range reaching far ahead), and the stale ones.
DAYS_FROM_HOURS = """
mark as (
    select coalesce((select next_day from rollups_daily_watermark where timezone = $8),
                    '-infinity') as next_day),
hourly_days as (
    select local at time zone $8 as day, (local + interval '1 day') at time zone $8 as day_end
    from generate_series(
        greatest($4, (select next_day from mark)) at time zone $8,
        least($5 at time zone $8 - interval '1 day',
              (select max(time) from readings_latest
               where dev_eui = any($1::text[]) and quantity = any($2::text[])) at time zone $8),
        interval '1 day') as local
    union all
    select day, (day at time zone $8 + interval '1 day') at time zone $8 from rollups_daily_stale
    where day >= $4 and day < $5 and day < (select next_day from mark)),"""

ROLLUP_COLUMNS = "dev_eui, quantity, channel, count, sum, min, max, last, last_time"

# Calendar buckets are whole days of the city's clock: each day from the daily rollups if
# it is below the watermark and not stale, else from the hourly ones (see
# ingest/rollups_daily.py). Rows of both are partial aggregates, and combine alike. The
# hourly rows are looked up one device and day at a time (offset 0 keeps the lateral
# subquery apart): bounded by parameters, a range of hours would look as cheap to read
# from the index on bucket alone, which holds every device's rows.
DAYS_AND_HOURS = f"""(
    select day as bucket, {ROLLUP_COLUMNS} from rollups_daily d
    where {WANTED.format(devices=DEVICES)} and day >= $4 and day < $5
      and day < (select next_day from mark)
      and not exists (select from rollups_daily_stale s where s.day = d.day)
    union all
    select h.* from hourly_days, unnest($1::text[]) as device, lateral (
        select bucket, {ROLLUP_COLUMNS} from rollups_hourly
        where {WANTED.format(devices="dev_eui = device")}
          and bucket >= $4 and bucket < $5 and bucket >= day and bucket < day_end
        offset 0) as h
) as r"""


class Series(BaseModel):
    dev_eui: str
    quantity: str
    channel: str
    unit: str
    points: list[tuple[datetime, float]] = Field(
        description="[bucket start in UTC, value], oldest first; empty buckets are absent",
        examples=[[["2026-11-01T00:00:00+00:00", 12.5], ["2026-11-01T01:00:00+00:00", 13.0]]],
    )


class SeriesAnswer(BaseModel):
    bucket: BucketName
    agg: Agg
    source: Literal["rollups", "readings"]
    series: list[Series] = Field(
        description="one per device, quantity and channel with readings in the range; "
        "ordered by device, quantity, channel"
    )


def bad(parameter: str, message: str) -> HTTPException:
    return HTTPException(422, {"parameter": parameter, "message": message})


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, midnight(), tz).astimezone(UTC)


def floor(t: datetime, bucket: Bucket, tz: ZoneInfo) -> datetime:
    """The start of the bucket holding `t`, as time_bucket places it."""
    if not bucket.calendar:
        step = timedelta(seconds=bucket.seconds)
        return EPOCH + (t - EPOCH) // step * step
    day = t.astimezone(tz).date()
    if bucket.calendar == "week":
        day -= timedelta(days=day.weekday())
    elif bucket.calendar == "month":
        day = day.replace(day=1)
    return local_midnight(day, tz)


def following(start: datetime, bucket: Bucket, tz: ZoneInfo) -> datetime:
    """The start of the bucket after the one starting at `start`."""
    if not bucket.calendar:
        return start + timedelta(seconds=bucket.seconds)
    day = start.astimezone(tz).date()
    if bucket.calendar == "month":
        return local_midnight(date(day.year + day.month // 12, day.month % 12 + 1, 1), tz)
    return local_midnight(day + timedelta(days=7 if bucket.calendar == "week" else 1), tz)


def whole_buckets(
    start: datetime, end: datetime, bucket: Bucket, tz: ZoneInfo
) -> tuple[datetime, datetime, int]:
    """The range widened to whole buckets: from the one holding `start` to the one holding
    the last instant before `end`; and how many buckets that is."""
    lo = floor(start, bucket, tz)
    last = floor(end - timedelta(microseconds=1), bucket, tz)
    hi = following(last, bucket, tz)
    if bucket.calendar == "month":
        a, b = lo.astimezone(tz), last.astimezone(tz)
        count = (b.year - a.year) * 12 + b.month - a.month + 1
    else:
        count = round((hi - lo).total_seconds() / bucket.seconds)
    return lo, hi, count


def edges(lo: datetime, hi: datetime, bucket: Bucket, tz: ZoneInfo) -> list[datetime]:
    """The start of every bucket from `lo`, then `hi`."""
    found = [lo]
    while found[-1] < hi:
        found.append(following(found[-1], bucket, tz))
    return found


def time_range(
    start: datetime | None, end: datetime | None, span: timedelta
) -> tuple[datetime, datetime]:
    for name, t in (("start", start), ("end", end)):
        if t is not None and t.tzinfo is None:
            raise bad(name, "a time needs an offset (RFC 3339), e.g. 2026-11-01T00:00:00+01:00")
        if t is not None and not EPOCH <= t < BEYOND:
            raise bad(name, f"a time from {EPOCH.year} to {BEYOND.year}")
    end = end or datetime.now(UTC)
    start = start or end - span
    if end <= start:
        raise bad("end", "end must be after start")
    return start, end


def known_quantities(quantities: list[str]) -> list[str]:
    for q in quantities:
        if not (q in decoders.QUANTITIES or q.startswith("object.")) or not q.isprintable():
            raise bad("quantity", f"unknown quantity {q!r}: see the vocabulary, or object.<key>")
    return sorted(set(quantities))


def device_euis(dev_euis: list[str]) -> list[str]:
    for d in dev_euis:
        if len(d) != 16 or any(c not in "0123456789abcdefABCDEF" for c in d):
            raise bad("dev_eui", f"{d!r} is not 16 hex digits")
    return sorted({d.lower() for d in dev_euis})


def series_sql(bucket: Bucket, agg: str, from_rollups: bool) -> str:
    """The query for `bucket`: $1–$6 devices, quantities, channel, range, scope; $7 the
    edges of calendar buckets, and over rollups $8 the city's clock."""
    column = "bucket" if from_rollups else "time"
    if bucket.calendar:
        # $7: the bucket edges on the city's clock, cheaper than time_bucket in a time zone
        start = f"($7::timestamptz[])[width_bucket({column}, $7::timestamptz[])]"
    else:
        start = f"time_bucket(interval '{bucket.interval}', {column})"
    if bucket.calendar and from_rollups:
        ctes, rows = DAYS_FROM_HOURS, DAYS_AND_HOURS
    else:
        table = "rollups_hourly" if from_rollups else "readings"
        wanted = WANTED.format(devices=DEVICES)
        ctes, rows = "", f"{table} where {wanted} and {column} >= $4 and {column} < $5"
    return SERIES.format(
        scope=in_scope(6), ctes=ctes, bucket=start, agg=AGGREGATES[agg][from_rollups], rows=rows
    )


def unit(quantity: str) -> str:
    known = decoders.QUANTITIES.get(quantity)
    return known.unit if known else ""


@router.get(
    "/series",
    summary="Readings of devices aggregated in time buckets",
    response_model=SeriesAnswer,
)
async def series(
    pool: Pool,
    who: Viewer,
    settings: AppSettings,
    dev_eui: Annotated[
        list[str],
        Query(min_length=1, max_length=100, description="16 hex digits; 1 to 100 devices"),
    ],
    quantity: Annotated[
        list[str],
        Query(min_length=1, max_length=50, description="of the vocabulary, or object.<key>"),
    ],
    channel: Annotated[
        str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f]*$", description="one channel")
    ] = None,
    start: Annotated[
        datetime | None,
        Query(
            description="RFC 3339; the bucket holding it is returned whole. Default: a day "
            "(minute buckets), 30 days (hour buckets) or a year before end"
        ),
    ] = None,
    end: Annotated[datetime | None, Query(description="RFC 3339, exclusive; default now")] = None,
    bucket: Annotated[
        BucketName, Query(description="1d and longer: days of the city's clock")
    ] = "1h",
    agg: Agg = "avg",
    source: Annotated[
        Source,
        Query(description="auto: the hourly rollups for buckets of whole hours, else readings"),
    ] = "auto",
) -> Response:
    width = BUCKETS[bucket]
    tz = ZoneInfo(settings.timezone)
    devices = device_euis(dev_eui)
    quantities = known_quantities(quantity)
    lo, hi, count = whole_buckets(*time_range(start, end, width.span), width, tz)
    if count > MAX_BUCKETS:
        raise bad("bucket", f"{count} buckets from start to end; at most {MAX_BUCKETS}")
    if source == "rollups" and width.seconds < 3600:
        raise bad("source", "the rollups are hourly: buckets of 1h and longer only")
    from_rollups = source == "rollups" or (source == "auto" and width.seconds >= 3600)
    args: list[object] = [devices, quantities, channel, lo, hi, who.scope]
    if width.calendar:
        args.append(edges(lo, hi, width, tz))
        if from_rollups:
            args.append(settings.timezone)
    rows = await pool.fetch(series_sql(width, agg, from_rollups), *args)
    found = []
    for row in rows:
        if not row["visible"]:
            raise HTTPException(404, f"no device {row['dev_eui']}")
        if row["quantity"] is not None:
            found.append(
                {
                    "dev_eui": row["dev_eui"],
                    "quantity": row["quantity"],
                    "channel": row["channel"],
                    "unit": unit(row["quantity"]),
                    "points": list(zip(row["times"], row["vals"], strict=True)),
                }
            )
    answer = {
        "bucket": bucket,
        "agg": agg,
        "source": "rollups" if from_rollups else "readings",
        "series": found,
    }
    return Response(orjson.dumps(answer), media_type="application/json")
