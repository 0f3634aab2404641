"""Alerts: list, one with its history, acknowledge, resolve; a device's alert history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from api.auth import Operator, Viewer
from api.deps import Pool
from api.scope import visible_device
from ingest import alerts as lifecycle

router = APIRouter(tags=["alerts"])

Status = Literal["open", "firing", "acknowledged", "resolved"]
DevEui = Annotated[str, Path(pattern="^[0-9a-fA-F]{16}$", description="16 hex digits")]


class Alert(BaseModel):
    id: int
    rule_id: str
    dev_eui: str
    channel: str
    tenant_id: str | None
    status: str
    severity: str
    message: str
    value: float | None
    fired_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class AlertEvent(BaseModel):
    time: datetime
    kind: str
    actor: str
    detail: dict[str, Any]


class AlertDetail(Alert):
    events: list[AlertEvent]


class Actor(BaseModel):
    actor: str = Field(
        default="api",
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        examples=["agent.proprete"],
    )


COLUMNS = (
    "id, rule_id, dev_eui, channel, tenant_id, status, severity, message, value, fired_at, "
    "acknowledged_at, acknowledged_by, resolved_at, resolved_by"
)
# An alert is visible when its device is.
ALERT_IN_SCOPE = (
    "exists (select 1 from devices d where d.dev_eui = alerts.dev_eui "
    "and ($%d::text[] is null or d.tenant_id = any($%d)))"
)


@router.get("/alerts", summary="List alerts, newest first", response_model=list[Alert])
async def list_alerts(
    pool: Pool,
    who: Viewer,
    status: Annotated[Status | None, Query(description="open = firing or acknowledged")] = None,
    rule_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 500,
) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"select {COLUMNS} from alerts where ($1::text is null or status = $1 "
        "or ($1 = 'open' and status <> 'resolved')) and ($2::text is null or rule_id = $2) "
        f"and {ALERT_IN_SCOPE % (4, 4)} order by fired_at desc, id desc limit $3",
        status, rule_id, limit, who.scope,
    )  # fmt: skip
    return [dict(r) for r in rows]


@router.get("/alerts/{alert_id}", summary="One alert with its history", response_model=AlertDetail)
async def get_alert(pool: Pool, who: Viewer, alert_id: int) -> dict[str, Any]:
    row = await pool.fetchrow(
        f"select {COLUMNS} from alerts where id = $1 and {ALERT_IN_SCOPE % (2, 2)}",
        alert_id, who.scope,
    )  # fmt: skip
    if row is None:
        raise HTTPException(404, f"no alert {alert_id}")
    events = await pool.fetch(
        "select time, kind, actor, detail from alert_events where alert_id = $1 order by time, id",
        alert_id,
    )
    return {**dict(row), "events": [dict(e) for e in events]}


async def change(
    pool: Pool, who: Operator, alert_id: int, actor: str, action: str
) -> dict[str, Any]:
    async with pool.acquire() as conn, conn.transaction():
        exists = await conn.fetchval(
            f"select status from alerts where id = $1 and {ALERT_IN_SCOPE % (2, 2)}",
            alert_id, who.scope,
        )  # fmt: skip
        if exists is None:
            raise HTTPException(404, f"no alert {alert_id}")
        apply = lifecycle.acknowledge if action == "acknowledge" else lifecycle.resolve
        if not await apply(conn, alert_id, actor, datetime.now(UTC)):
            raise HTTPException(409, f"alert {alert_id} is {exists}: it cannot be {action}d")
    return await get_alert(pool, who, alert_id)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    summary="Acknowledge a firing alert",
    response_model=AlertDetail,
)
async def acknowledge(pool: Pool, who: Operator, alert_id: int, body: Actor) -> dict[str, Any]:
    return await change(pool, who, alert_id, body.actor, "acknowledge")


@router.post(
    "/alerts/{alert_id}/resolve",
    summary="Resolve an open alert by hand",
    response_model=AlertDetail,
)
async def resolve(pool: Pool, who: Operator, alert_id: int, body: Actor) -> dict[str, Any]:
    return await change(pool, who, alert_id, body.actor, "resolve")


@router.get(
    "/devices/{dev_eui}/alerts", summary="Alert history of one device", response_model=list[Alert]
)
async def device_alerts(
    pool: Pool, who: Viewer, dev_eui: DevEui, limit: Annotated[int, Query(ge=1, le=10000)] = 500
) -> list[dict[str, Any]]:
    await visible_device(pool, who, dev_eui)
    rows = await pool.fetch(
        f"select {COLUMNS} from alerts where dev_eui = $1 order by fired_at desc, id desc limit $2",
        dev_eui.lower(), limit,
    )  # fmt: skip
    return [dict(r) for r in rows]
