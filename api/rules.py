"""Rules as data: create, read, replace, delete; domain presets installed per tenant.
A rule the engine could not use is refused with 422 and the reason."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Body, HTTPException, Path
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import Pool
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


async def store_rule(pool: Pool, definition: dict[str, Any], replace: bool) -> dict[str, Any]:
    tenant = None if definition["tenant_id"] == "*" else definition["tenant_id"]
    try:
        row = await pool.fetchrow(
            "insert into rules (id, tenant_id, definition) values ($1, $2, $3) "
            + ("on conflict (id) do update set tenant_id = excluded.tenant_id, definition = excluded.definition, updated_at = now() " if replace else "")
            + "returning id, tenant_id, enabled, definition",
            definition["id"], tenant, definition,
        )  # fmt: skip
    except asyncpg.UniqueViolationError:
        raise HTTPException(
            409, f"rule {definition['id']!r} exists; PUT /rules/{definition['id']} replaces it"
        ) from None
    except asyncpg.ForeignKeyViolationError:
        raise HTTPException(
            422, {"parameter": "tenant_id", "message": f"no tenant {tenant!r}"}
        ) from None
    assert row is not None
    return dict(row)


@router.get("", summary="List rules", response_model=list[StoredRule])
async def list_rules(pool: Pool) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in await pool.fetch(
            "select id, tenant_id, enabled, definition from rules order by id"
        )
    ]


@router.post("", status_code=201, summary="Create a rule", response_model=StoredRule)
async def create_rule(
    pool: Pool, body: Annotated[dict[str, Any], Body(examples=[EXAMPLE])]
) -> dict[str, Any]:
    return await store_rule(pool, validated(body), replace=False)


@router.get("/{rule_id}", summary="One rule", response_model=StoredRule)
async def get_rule(pool: Pool, rule_id: RuleId) -> dict[str, Any]:
    row = await pool.fetchrow(
        "select id, tenant_id, enabled, definition from rules where id = $1", rule_id
    )
    if row is None:
        raise HTTPException(404, f"no rule {rule_id!r}")
    return dict(row)


@router.put("/{rule_id}", summary="Create or replace a rule", response_model=StoredRule)
async def replace_rule(
    pool: Pool, rule_id: RuleId, body: Annotated[dict[str, Any], Body(examples=[EXAMPLE])]
) -> dict[str, Any]:
    return await store_rule(pool, validated({**body, "id": rule_id}), replace=True)


@router.delete("/{rule_id}", status_code=204, summary="Delete a rule and its alerts")
async def delete_rule(pool: Pool, rule_id: RuleId) -> Response:
    if await pool.fetchval("delete from rules where id = $1 returning 1", rule_id) is None:
        raise HTTPException(404, f"no rule {rule_id!r}")
    return Response(status_code=204)


@router.post(
    "/presets/{name}",
    status_code=201,
    summary="Install a domain preset for a tenant",
    response_model=list[StoredRule],
)
async def install_preset(
    pool: Pool, name: str, tenant_id: Annotated[str, Body(embed=True)]
) -> list[dict[str, Any]]:
    if name not in PRESETS:
        raise HTTPException(404, f"no preset {name!r} (known: {', '.join(sorted(PRESETS))})")
    installed = []
    for rule in preset(name, tenant_id):
        definition = {**rule.to_dict(), "id": f"{tenant_id}:{rule.id}"}
        installed.append(await store_rule(pool, validated(definition), replace=True))
    return installed
