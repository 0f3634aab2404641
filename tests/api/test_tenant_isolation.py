"""Walks every operation of the OpenAPI document with a key of one commune, aimed at the
other commune's devices, alerts, rules and keys: nothing of the other commune is ever
seen or changed. An operation added to the API without a line here fails this test."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.access import bearer, issue_key
from tests.api.test_minimal_api import ingest_directly
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

# Covered by tests/api/test_stream.py: the stream never ends, it is read with a deadline.
STREAMED = {("GET", "/stream")}
SECRET = "secret-of-villeurbanne"
RANGE = {"start": "2026-10-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}


@dataclass
class Other:
    """The other commune's identifiers, aimed at by the walk."""

    devices: list[str]
    alert_id: int
    rule_id: str
    key_id: str
    path: dict[str, str] = field(default_factory=dict)


@dataclass
class Probe:
    """One call of the walk and the statuses it may answer."""

    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    content: str | None = None
    allowed: frozenset[int] = frozenset({200})


def probes(other: Other) -> dict[tuple[str, str], Probe]:
    target = other.devices[0]
    not_found = frozenset({404})
    # Filtering on a tenant out of scope: an empty answer, or 422 "no tenant".
    filtered = frozenset({200, 422})
    return {
        ("GET", "/health"): Probe(),
        ("GET", "/me"): Probe(),
        ("GET", "/keys"): Probe(),
        ("POST", "/keys"): Probe(
            body={"name": "x", "tenants": ["villeurbanne"]}, allowed=frozenset({422})
        ),
        ("DELETE", "/keys/{key_id}"): Probe(allowed=not_found),
        ("GET", "/tenants"): Probe(),
        ("PUT", "/tenants/{tenant_id}"): Probe(body={"name": "x"}, allowed=frozenset({403})),
        ("GET", "/devices"): Probe(query={"tenant": "villeurbanne"}, allowed=filtered),
        ("GET", "/devices/{dev_eui}"): Probe(allowed=not_found),
        ("GET", "/devices/{dev_eui}/readings"): Probe(query=RANGE, allowed=not_found),
        ("GET", "/devices/{dev_eui}/alerts"): Probe(allowed=not_found),
        ("GET", "/alerts"): Probe(),
        ("GET", "/alerts/{alert_id}"): Probe(allowed=not_found),
        ("POST", "/alerts/{alert_id}/acknowledge"): Probe(body={}, allowed=not_found),
        ("POST", "/alerts/{alert_id}/resolve"): Probe(body={}, allowed=not_found),
        ("GET", "/rules"): Probe(),
        ("POST", "/rules"): Probe(body=rule("x", "villeurbanne"), allowed=frozenset({422})),
        ("GET", "/rules/{rule_id}"): Probe(allowed=not_found),
        ("PUT", "/rules/{rule_id}"): Probe(
            body=rule(other.rule_id, "lyon"), allowed=frozenset({404, 409})
        ),
        ("DELETE", "/rules/{rule_id}"): Probe(allowed=not_found),
        ("POST", "/rules/presets/{name}"): Probe(
            body={"tenant_id": "villeurbanne"}, allowed=frozenset({422})
        ),
        ("GET", "/series"): Probe(
            query={"dev_eui": target, "quantity": "active_power", "bucket": "1h", **RANGE},
            allowed=not_found,
        ),
        ("GET", "/latest"): Probe(
            query={"class": "streetlight", "tenant": "villeurbanne"}, allowed=filtered
        ),
        ("GET", "/views/waste"): Probe(query={"tenant": "villeurbanne"}, allowed=filtered),
        ("GET", "/views/air"): Probe(query={"tenant": "villeurbanne"}, allowed=filtered),
        ("GET", "/views/lighting"): Probe(query={"tenant": "villeurbanne"}, allowed=filtered),
        ("GET", "/views/mobility"): Probe(query={"tenant": "villeurbanne"}, allowed=filtered),
        ("GET", "/exports/devices.csv"): Probe(query={"tenant": "villeurbanne"}, allowed=filtered),
        ("GET", "/exports/devices.geojson"): Probe(
            query={"tenant": "villeurbanne"}, allowed=filtered
        ),
        ("GET", "/exports/readings.csv"): Probe(
            query={"dev_eui": target, **RANGE}, allowed=not_found
        ),
        ("PUT", "/devices/{dev_eui}"): Probe(
            body={"name": "taken", "tenant_id": "lyon"}, allowed=frozenset({404})
        ),
        ("PATCH", "/devices/{dev_eui}"): Probe(body={"name": "taken"}, allowed=not_found),
        ("POST", "/devices/import"): Probe(
            content=f"dev_eui,tenant_id,name\n{target},lyon,taken\n",
            allowed=frozenset({404, 422}),
        ),
        ("POST", "/devices/{dev_eui}/commands"): Probe(
            body={"payload_hex": "080100ff", "f_port": 85}, allowed=not_found
        ),
        ("GET", "/devices/{dev_eui}/commands"): Probe(allowed=not_found),
    }


def rule(rule_id: str, tenant: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "tenant_id": tenant,
        "name": "power",
        "kind": "threshold",
        "quantity": "active_power",
        "direction": "above",
        "threshold": 1000,
        "clear_threshold": 900,
        "selector": {"device_class": "streetlight"},
    }


def split_between_communes(env: ServiceEnv) -> Other:
    ingest_directly(env, 40)
    env.query("insert into tenants (id) values ('lyon'), ('villeurbanne')")
    devices = [
        r["dev_eui"] for r in env.query("select dev_eui from devices order by model, dev_eui")
    ]
    theirs = devices[1::2]
    env.query("update devices set tenant_id = 'lyon'")
    env.query(
        "update devices set tenant_id = 'villeurbanne', name = $2 where dev_eui = any($1)",
        theirs,
        SECRET,
    )
    for tenant in ("lyon", "villeurbanne"):
        env.query(
            "insert into rules (id, tenant_id, definition) values ($1, $2, $3::text::jsonb)",
            f"{tenant}-rule",
            tenant,
            orjson.dumps(rule(f"{tenant}-rule", tenant)).decode(),
        )
        env.query(
            "insert into alerts (rule_id, dev_eui, tenant_id, status, message, fired_at) "
            "select $1, dev_eui, tenant_id, 'firing', $2, now() from devices "
            "where tenant_id = $3 order by dev_eui limit 1",
            f"{tenant}-rule",
            f"alert of {tenant}: {SECRET if tenant == 'villeurbanne' else 'ours'}",
            tenant,
        )
    issue_key(env, "viewer", ["villeurbanne"])
    return Other(
        devices=theirs,
        alert_id=env.scalar("select id from alerts where tenant_id = 'villeurbanne'"),
        rule_id="villeurbanne-rule",
        key_id=env.scalar("select id from api_keys where tenants = '{villeurbanne}'"),
    )


def snapshot(env: ServiceEnv) -> list[Any]:
    return [
        [
            dict(r)
            for r in env.query(
                "select * from devices where tenant_id = 'villeurbanne' order by dev_eui"
            )
        ],
        [dict(r) for r in env.query("select * from alerts where tenant_id = 'villeurbanne'")],
        [dict(r) for r in env.query("select * from rules where tenant_id = 'villeurbanne'")],
        [
            dict(r)
            for r in env.query(
                "select id, revoked_at from api_keys where tenants = '{villeurbanne}'"
            )
        ],
        env.scalar("select count(*) from downlinks"),
        env.scalar("select count(*) from tenants"),
    ]


def test_a_commune_key_never_sees_nor_changes_another_communes_data(env: ServiceEnv) -> None:
    other = split_between_communes(env)
    before = snapshot(env)
    path_values = {
        "dev_eui": other.devices[0],
        "alert_id": str(other.alert_id),
        "rule_id": other.rule_id,
        "key_id": other.key_id,
        "tenant_id": "villeurbanne",
        "name": "bin-full",
    }
    table = probes(other)
    with TestClient(
        create_app(env.settings), headers=bearer(issue_key(env, "admin", ["lyon"]))
    ) as client:
        operations = [
            (method.upper(), path)
            for path, methods in client.get("/openapi.json").json()["paths"].items()
            for method in methods
        ]
        unclassified = sorted(set(operations) - set(table) - STREAMED)
        assert not unclassified, f"operations with no isolation probe: {unclassified}"

        for method, path in operations:
            if (method, path) in STREAMED:
                continue
            probe = table[(method, path)]
            response = client.request(
                method,
                path.format(**path_values),
                params=probe.query,
                json=probe.body,
                content=probe.content,
                headers={"Content-Type": "text/csv"} if probe.content is not None else {},
            )
            where = f"{method} {path} answered {response.status_code}: {response.text[:300]}"
            assert response.status_code in probe.allowed, where
            assert SECRET not in response.text, where
            assert other.devices[1] not in response.text, where
            asked = f"{probe.query} {probe.content} {path.format(**path_values)}"
            if other.devices[0] not in asked:
                assert other.devices[0] not in response.text, where

        ours = client.get("/devices").json()
        assert len(ours) == 2
        assert {d["tenant_id"] for d in ours} == {"lyon"}
        assert [a["rule_id"] for a in client.get("/alerts").json()] == ["lyon-rule"]

    assert snapshot(env) == before
