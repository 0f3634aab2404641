"""Rules through the API: refused with the reason when the engine could not use them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.access import bearer, issue_key
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

RULE = {
    "id": "bins-full",
    "tenant_id": "lyon",
    "name": "bin full",
    "kind": "threshold",
    "quantity": "filling_level",
    "threshold": 80,
    "clear_threshold": 60,
    "selector": {"device_class": "waste_bin"},
}


@pytest.fixture
def client(env: ServiceEnv) -> Iterator[TestClient]:
    env.query("insert into tenants (id) values ('lyon')")
    with TestClient(create_app(env.settings), headers=bearer(issue_key(env))) as c:
        yield c


def test_create_read_replace_delete(client: TestClient) -> None:
    created = client.post("/rules", json=RULE)
    duplicate = client.post("/rules", json=RULE)
    replaced = client.put("/rules/bins-full", json={**RULE, "threshold": 90})

    assert created.status_code == 201
    assert duplicate.status_code == 409
    assert replaced.json()["definition"]["threshold"] == 90
    assert [r["id"] for r in client.get("/rules").json()] == ["bins-full"]
    assert client.delete("/rules/bins-full").status_code == 204
    assert client.get("/rules/bins-full").status_code == 404


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"quantity": "fill_level"}, ["quantity", "filling_level"]),
        ({"clear_threshold": 90}, ["clear_threshold", "wrong side"]),
        ({"kind": "explode"}, ["kind"]),
        ({"tenant_id": "nowhere"}, ["tenant_id", "nowhere"]),
    ],
)
def test_an_invalid_rule_is_refused_with_the_reason(
    client: TestClient, change: dict[str, object], words: list[str]
) -> None:
    response = client.post("/rules", json={**RULE, **change})

    assert response.status_code == 422
    for word in words:
        assert word in response.text


def test_a_preset_installs_its_rules_for_a_tenant(client: TestClient) -> None:
    installed = client.post("/rules/presets/bin_full", json={"tenant_id": "lyon"})
    unknown = client.post("/rules/presets/nope", json={"tenant_id": "lyon"})

    assert installed.status_code == 201
    assert all(r["id"].startswith("lyon:") for r in installed.json())
    assert unknown.status_code == 404
