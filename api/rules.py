"""Rules as data: create, read, replace, delete; domain presets installed per tenant.
A rule the engine could not use is refused with 422 and the reason."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Body, HTTPException, Path
from fastapi.responses import Response
from pydantic import BaseModel

from api.auth import Admin, Viewer
from api.deps import Pool
from api.keys import Caller
from api.scope import tenant_allowed
from rules.model import RuleError, parse_rule
from rules.presets import PRESETS, preset

router = APIRouter(prefix="/rules", tags=["rules"])

RuleId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
EXAMPLE = {
    "id": "bins-full",
    "tenant_id": "lyon",
    "name": "bin full",
    "kind": "threshold",
    "quantity": "filling_level",
    "direction": "above",
    "threshold": 80,
    "clear_threshold": 60,
    "selector": {"device_class": "waste_bin"},
    "actions": [{"type": "webhook", "url": "https://example.org/hooks/waste", "secret": "s3cret"}],
}


class StoredRule(BaseModel):
    id: str
    tenant_id: str | None
    enabled: bool
    definition: dict[str, Any]


def validated(data: dict[str, Any]) -> dict[str, Any]:
    try:
        return parse_rule(data).to_dict()
    except RuleError as exc:
        raise HTTPException(422, {"parameter": "body", "message": str(exc)}) from None


# A scoped key sees the rules of its tenants and those of every tenant, and writes only
# its tenants' rules.
RULE_VISIBLE = "($%d::text[] is null or tenant_id is null or tenant_id = any($%d))"
RULE_WRITABLE = "($%d::text[] is null or rules.tenant_id = any($%d))"


async def store_rule(
    pool: Pool, who: Caller, definition: dict[str, Any], replace: bool
) -> dict[str, Any]:
    tenant_allowed(who, definition["tenant_id"])
    tenant = None if definition["tenant_id"] == "*" else definition["tenant_id"]
    insert = "insert into rules (id, tenant_id, definition) values ($1, $2, $3) "
    returning = "returning id, tenant_id, enabled, definition"
    args: tuple[Any, ...] = (definition["id"], tenant, definition)
    if replace:
        insert += (
            "on conflict (id) do update set tenant_id = excluded.tenant_id, "
            "definition = excluded.definition, updated_at = now() "
            f"where {RULE_WRITABLE % (4, 4)} "
        )
        args += (who.scope,)
    try:
        row = await pool.fetchrow(insert + returning, *args)
    except asyncpg.UniqueViolationError:
        raise HTTPException(
            409, f"rule {definition['id']!r} exists; PUT /rules/{definition['id']} replaces it"
        ) from None
    except asyncpg.ForeignKeyViolationError:
        raise HTTPException(
            422, {"parameter": "tenant_id", "message": f"no tenant {tenant!r}"}
        ) from None
    if row is None:
        raise HTTPException(
            409, f"rule {definition['id']!r} exists outside the tenants of this key"
        )
    return dict(row)


@router.get("", summary="List rules", response_model=list[StoredRule])
async def list_rules(pool: Pool, who: Viewer) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "select id, tenant_id, enabled, definition from rules "
        f"where {RULE_VISIBLE % (1, 1)} order by id",
        who.scope,
    )
    return [dict(r) for r in rows]


@router.post("", status_code=201, summary="Create a rule", response_model=StoredRule)
async def create_rule(
    pool: Pool, who: Admin, body: Annotated[dict[str, Any], Body(examples=[EXAMPLE])]
) -> dict[str, Any]:
    return await store_rule(pool, who, validated(body), replace=False)


@router.get("/{rule_id}", summary="One rule", response_model=StoredRule)
async def get_rule(pool: Pool, who: Viewer, rule_id: RuleId) -> dict[str, Any]:
    row = await pool.fetchrow(
        "select id, tenant_id, enabled, definition from rules "
        f"where id = $1 and {RULE_VISIBLE % (2, 2)}",
        rule_id, who.scope,
    )  # fmt: skip
    if row is None:
        raise HTTPException(404, f"no rule {rule_id!r}")
    return dict(row)


@router.put("/{rule_id}", summary="Create or replace a rule", response_model=StoredRule)
async def replace_rule(
    pool: Pool,
    who: Admin,
    rule_id: RuleId,
    body: Annotated[dict[str, Any], Body(examples=[EXAMPLE])],
) -> dict[str, Any]:
    return await store_rule(pool, who, validated({**body, "id": rule_id}), replace=True)


@router.delete("/{rule_id}", status_code=204, summary="Delete a rule and its alerts")
async def delete_rule(pool: Pool, who: Admin, rule_id: RuleId) -> Response:
    deleted = await pool.fetchval(
        f"delete from rules where id = $1 and {RULE_WRITABLE % (2, 2)} returning 1",
        rule_id, who.scope,
    )  # fmt: skip
    if deleted is None:
        raise HTTPException(404, f"no rule {rule_id!r}")
    return Response(status_code=204)


@router.post(
    "/presets/{name}",
    status_code=201,
    summary="Install a domain preset for a tenant",
    response_model=list[StoredRule],
)
async def install_preset(
    pool: Pool, who: Admin, name: str, tenant_id: Annotated[str, Body(embed=True)]
) -> list[dict[str, Any]]:
    tenant_allowed(who, tenant_id)
    if name not in PRESETS:
        raise HTTPException(404, f"no preset {name!r} (known: {', '.join(sorted(PRESETS))})")
    installed = []
    for rule in preset(name, tenant_id):
        definition = {**rule.to_dict(), "id": f"{tenant_id}:{rule.id}"}
        installed.append(await store_rule(pool, who, validated(definition), replace=True))
    return installed
