"""The lighting department's view: energy per controller and local day, the hours each
circuit burned, which circuits are on now, and the controllers in failure.

Energy is a cumulative meter (the WS558's `power_consumption`, Wh; no streetlight
controller we decode reports energy per period), so a day's energy is the meter's last
reading before the next local midnight (before now, today) less its last reading before
the day's midnight: two index probes per controller and day, whatever the reporting rate.
A meter lower than at the day's start was reset; the day then counts from the reset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
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
    Selection,
    TenantFilter,
    ZoneFilter,
    local_day,
    place,
    select_devices,
    the_day,
)
from ingest.store import Conn
from rules.derived import NO_POWER, OFF_AT_NIGHT, ON_IN_DAYLIGHT

router = APIRouter(prefix="/views", tags=["views"])

PAST_DAYS = 7
FAULTS = {
    NO_POWER: "on but drawing no power",
    ON_IN_DAYLIGHT: "on in daylight",
    OFF_AT_NIGHT: "off at night",
}

CONTROLLERS = (
    f"select {PLACE_COLUMNS} from devices where {{where}} order by zone nulls last, dev_eui"
)
# A meter's value at a moment is its last reading before it: in the hour the moment ends,
# or for a quiet hour, in the latest hour before (one index probe per controller).
METER_HOURS = """
select dev_eui, bucket, last from rollups_hourly
where dev_eui in (select dev_eui from devices where {where})
  and quantity = 'energy' and channel = '' and bucket = any($1::timestamptz[])
"""
METER_BEFORE = """
select p.dev_eui, p.bucket, m.last
from unnest($1::text[], $2::timestamptz[]) as p(dev_eui, bucket)
cross join lateral (
    select last from rollups_hourly
    where dev_eui = p.dev_eui and quantity = 'energy' and channel = ''
      and bucket < p.bucket and bucket >= $3
    order by bucket desc limit 1) m
"""
BURNING = """
select dev_eui, quantity, channel, sum(sum / count) as hours_on from rollups_hourly
where dev_eui in (select dev_eui from devices where {where})
  and quantity in ('circuit_state', 'relay_state') and bucket >= $1 and bucket < $2 and count > 0
group by dev_eui, quantity, channel
"""
LATEST = """
select dev_eui, quantity, channel, time, value from readings_latest
where dev_eui in (select dev_eui from devices where {where})
  and quantity in ('circuit_state', 'relay_state', 'energy')
"""
# A failure is a lamp_fault code above 0 now, or an open alert of a rule watching it.
FAILURES = f"""
with lights as (select {PLACE_COLUMNS} from devices where {{where}}),
faults as (
    select dev_eui, time, value from readings_latest
    where dev_eui in (select dev_eui from lights) and quantity = 'lamp_fault' and channel = ''
      and value > 0 and value <> 'NaN'),
open as (
    select distinct on (a.dev_eui) a.dev_eui, a.id, a.status, a.severity, a.fired_at, a.value
    from alerts a join rules r on r.id = a.rule_id
    where a.status <> 'resolved' and r.definition->>'quantity' = 'lamp_fault'
      and a.dev_eui in (select dev_eui from lights)
    order by a.dev_eui, a.fired_at desc)
select l.*, f.time as observed_at, coalesce(f.value, o.value) as code, o.id as alert_id,
       o.status as alert_status, o.severity, o.fired_at
from lights l left join faults f on f.dev_eui = l.dev_eui left join open o on o.dev_eui = l.dev_eui
where f.dev_eui is not null or o.dev_eui is not null
order by l.zone nulls last, l.dev_eui
"""


class DayEnergy(BaseModel):
    day: date
    energy_wh: float | None = Field(description="null: no meter reading", examples=[5250.0])


class Circuit(BaseModel):
    quantity: str = Field(description="circuit_state or relay_state", examples=["circuit_state"])
    channel: str = Field(examples=["1"])
    on_now: bool | None = Field(description="the latest state", examples=[True])
    state_at: datetime | None
    burning_hours: float = Field(
        description="over the day: the sum of each hour's mean 0/1 state", examples=[14.5]
    )


class Controller(Place):
    energy_wh: float | None = Field(description="the day's energy", examples=[5250.0])
    energy_by_day: list[DayEnergy] = Field(description="the seven days before, then the day")
    circuits: list[Circuit]


class Failure(Place):
    code: int | None = Field(
        description="1 on but no power, 2 on in daylight, 3 off at night", examples=[1]
    )
    fault: str | None = Field(examples=[FAULTS[NO_POWER]])
    observed_at: datetime | None = Field(description="the latest lamp_fault reading")
    alert_id: int | None = Field(examples=[42])
    alert_status: str | None = Field(examples=["firing"])
    severity: str | None = Field(examples=["major"])
    fired_at: datetime | None


class LightingView(BaseModel):
    day: date
    energy_by_day: list[DayEnergy] = Field(description="every controller seen, per day")
    controllers: list[Controller]
    failures: list[Failure]


def hour_of(moment: datetime) -> datetime:
    """The hourly bucket holding the last reading before `moment`."""
    return (moment - timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0)


def meter_energy(values: list[float | None]) -> list[float | None]:
    """The energy between consecutive meter values. A value below the one before is a
    reset of the meter, which then counts what it shows since."""
    return [
        None if before is None or after is None else after - before if after >= before else after
        for before, after in pairwise(values)
    ]


def daily_energy(
    meters: dict[str, dict[datetime, float]], hours: list[datetime], open_days: int
) -> tuple[dict[str, list[float | None]], list[float | None]]:
    """Per controller and in total, the energy of each day between the meter readings at
    its bounds (`hours`: one more than the days); None for days not begun (the last
    `len(hours) - 1 - open_days`) or without a reading at either bound."""
    per: dict[str, list[float | None]] = {}
    total: list[float | None] = [None] * (len(hours) - 1)
    for dev_eui, values in meters.items():
        energy = meter_energy([values.get(h) for h in hours])
        energy = [e if n < open_days else None for n, e in enumerate(energy)]
        per[dev_eui] = energy
        total = [t if e is None else (t or 0.0) + e for t, e in zip(total, energy, strict=True)]
    return per, total


async def meter_values(
    conn: Conn, selection: Selection, hours: list[datetime], metering: list[str]
) -> dict[str, dict[datetime, float]]:
    """Per controller, the meter's last reading up to the end of each hourly bucket in
    `hours`; `metering` names the controllers whose meter has ever been read."""
    meters: dict[str, dict[datetime, float]] = {d: {} for d in metering}
    found = await conn.fetch(METER_HOURS.format(where=selection.where(2)), hours, *selection.args())
    for r in found:
        meters.setdefault(r["dev_eui"], {})[r["bucket"]] = r["last"]
    quiet = [(d, h) for d, values in meters.items() for h in set(hours) if h not in values]
    lookback = hours[0] - timedelta(days=PAST_DAYS)
    for r in await conn.fetch(METER_BEFORE, [d for d, _ in quiet], [h for _, h in quiet], lookback):
        meters[r["dev_eui"]][r["bucket"]] = r["last"]
    return meters


def circuits_of(burning: list[Any], states: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """Per controller, each circuit seen today or with a known state."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in burning:
        found[(r["dev_eui"], r["quantity"], r["channel"])] = {
            "quantity": r["quantity"], "channel": r["channel"], "on_now": None,
            "state_at": None, "burning_hours": r["hours_on"],
        }  # fmt: skip
    for r in states:
        circuit = found.setdefault(
            (r["dev_eui"], r["quantity"], r["channel"]),
            {"quantity": r["quantity"], "channel": r["channel"], "burning_hours": 0.0},
        )
        circuit.update(on_now=r["value"] >= 0.5, state_at=r["time"])
    out: dict[str, list[dict[str, Any]]] = {}
    for (dev_eui, _, _), circuit in sorted(found.items()):
        out.setdefault(dev_eui, []).append(circuit)
    return out


@router.get(
    "/lighting", summary="Energy, burning hours, circuits on, failures", response_model=LightingView
)
async def lighting_view(
    pool: Pool,
    who: Viewer,
    settings: AppSettings,
    tenant: TenantFilter = None,
    zone: ZoneFilter = None,
    day: DayParam = None,
) -> dict[str, Any]:
    selection = select_devices(who, "streetlight", tenant, zone)
    tz = ZoneInfo(settings.timezone)
    now = datetime.now(UTC)
    local = the_day(day, now, tz)
    days = [local.day - timedelta(days=n) for n in range(PAST_DAYS, -1, -1)]
    bounds = [local_day(d, tz).start for d in days] + [local.end]
    hours = [hour_of(min(b, now)) for b in bounds]
    args = selection.args()
    async with pool.acquire() as conn:
        controllers = await conn.fetch(CONTROLLERS.format(where=selection.where(1)), *args)
        latest = await conn.fetch(LATEST.format(where=selection.where(1)), *args)
        metering = [r["dev_eui"] for r in latest if r["quantity"] == "energy"]
        meters = await meter_values(conn, selection, hours, metering)
        burning = await conn.fetch(
            BURNING.format(where=selection.where(3)), local.start, local.end, *args
        )
        failures = await conn.fetch(FAILURES.format(where=selection.where(1)), *args)
    begun = sum(local_day(d, tz).start < now for d in days)
    per_device, total = daily_energy(meters, hours, begun)
    circuits = circuits_of(burning, [r for r in latest if r["quantity"] != "energy"])

    def by_day(values: list[float | None]) -> list[dict[str, Any]]:
        return [{"day": d, "energy_wh": v} for d, v in zip(days, values, strict=True)]

    return {
        "day": local.day,
        "energy_by_day": by_day(total),
        "controllers": [
            {
                **place(c),
                "energy_wh": per_device.get(c["dev_eui"], [None] * len(days))[-1],
                "energy_by_day": by_day(per_device.get(c["dev_eui"], [None] * len(days))),
                "circuits": circuits.get(c["dev_eui"], []),
            }
            for c in controllers
        ],
        "failures": [
            {
                **place(f),
                "code": None if f["code"] is None else int(f["code"]),
                "fault": None if f["code"] is None else FAULTS.get(int(f["code"])),
                **{
                    k: f[k]
                    for k in ("observed_at", "alert_id", "alert_status", "severity", "fired_at")
                },
            }
            for f in failures
        ],
    }
