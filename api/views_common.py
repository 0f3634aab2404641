"""What the department views share: which devices a caller asks about (class, tenant
scope, `tenant` and `zone` filters) and the local calendar day a view is about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Query
from pydantic import BaseModel, Field

from api.keys import Caller
from api.scope import in_scope

TenantFilter = Annotated[
    str | None,
    Query(max_length=100, description="only this tenant's devices", examples=["villeurbanne"]),
]
ZoneFilter = Annotated[
    str | None,
    Query(max_length=200, description="only the devices of this zone", examples=["centre"]),
]
DayParam = Annotated[
    date | None,
    Query(
        ge=date(2000, 1, 1),
        le=date(2100, 12, 31),
        description="the local day (settings timezone) the view is about; default today",
        examples=["2026-11-28"],
    ),
]

PLACE_COLUMNS = "dev_eui, tenant_id, name, zone, latitude, longitude"


class Place(BaseModel):
    """A device and where it stands."""

    dev_eui: str = Field(examples=["24e124468d217001"])
    tenant_id: str | None = Field(examples=["villeurbanne"])
    name: str = Field(examples=["Rue Anatole France 12"])
    zone: str | None = Field(examples=["centre"])
    latitude: float | None = Field(examples=[45.7665])
    longitude: float | None = Field(examples=[4.8795])


@dataclass(frozen=True)
class Selection:
    """The devices of one class a caller may see, narrowed by the optional filters."""

    device_class: str
    scope: list[str] | None
    tenant: str | None
    zone: str | None

    def where(self, first: int) -> str:
        """The condition on `devices`, binding `args()` as parameters $first, $first+1, …"""
        return (
            f"device_class = ${first} and {in_scope(first + 1)} "
            f"and (${first + 2}::text is null or tenant_id = ${first + 2}) "
            f"and (${first + 3}::text is null or zone = ${first + 3})"
        )

    def args(self) -> tuple[Any, ...]:
        return (self.device_class, self.scope, self.tenant, self.zone)


def select_devices(
    who: Caller, device_class: str, tenant: str | None, zone: str | None
) -> Selection:
    """A tenant outside the caller's scope is refused whether it exists or not."""
    if tenant is not None and not who.sees(tenant):
        raise HTTPException(422, {"parameter": "tenant", "message": f"no tenant {tenant!r}"})
    return Selection(device_class, who.scope, tenant, zone)


@dataclass(frozen=True)
class LocalDay:
    """A calendar day of the city: [start, end) as aware datetimes, 23 to 25 hours long."""

    day: date
    start: datetime
    end: datetime


def local_day(day: date, tz: ZoneInfo) -> LocalDay:
    start = datetime.combine(day, time.min, tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tz)
    return LocalDay(day, start.astimezone(UTC), end.astimezone(UTC))


def the_day(day: date | None, now: datetime, tz: ZoneInfo) -> LocalDay:
    """The day asked for, today (in `tz`) when none is."""
    return local_day(day if day is not None else now.astimezone(tz).date(), tz)


def place(row: Any) -> dict[str, Any]:
    return {k: row[k] for k in Place.model_fields}
