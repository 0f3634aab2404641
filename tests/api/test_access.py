"""API keys and tenant scope: who may call, what each key sees, what each role may do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.access import bearer, issue_key
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

LYON_BIN = "0004a30b001c0530"
VILLEURBANNE_BIN = "0004a30b001c0531"


@pytest.fixture
def app_client(env: ServiceEnv) -> Iterator[TestClient]:
    env.query("insert into tenants (id) values ('lyon'), ('villeurbanne')")
    env.query(
        "insert into devices (dev_eui, tenant_id, device_class) values "
        "($1, 'lyon', 'waste_bin'), ($2, 'villeurbanne', 'waste_bin')",
        LYON_BIN,
        VILLEURBANNE_BIN,
    )
    with TestClient(create_app(env.settings)) as c:
        yield c


def test_a_request_without_a_key_is_refused_with_401(app_client: TestClient) -> None:
    response = app_client.get("/devices")

    assert response.status_code == 401
    assert "API key" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "token", ["nonsense", "upk_000000000000_" + "a" * 43, "upk_zz_" + "a" * 43]
)
def test_a_malformed_or_unknown_key_is_refused(app_client: TestClient, token: str) -> None:
    assert app_client.get("/devices", headers=bearer(token)).status_code == 401


def test_the_key_is_also_read_from_x_api_key(env: ServiceEnv, app_client: TestClient) -> None:
    token = issue_key(env, "viewer")

    assert app_client.get("/devices", headers={"X-API-Key": token}).status_code == 200


def test_health_and_openapi_need_no_key(app_client: TestClient) -> None:
    assert app_client.get("/health").status_code == 200
    assert app_client.get("/openapi.json").status_code == 200


def test_a_commune_key_sees_only_its_devices(env: ServiceEnv, app_client: TestClient) -> None:
    lyon = bearer(issue_key(env, "viewer", ["lyon"]))

    listed = app_client.get("/devices", headers=lyon).json()

    assert [d["dev_eui"] for d in listed] == [LYON_BIN]
    assert app_client.get(f"/devices/{LYON_BIN}", headers=lyon).status_code == 200
    other = app_client.get(f"/devices/{VILLEURBANNE_BIN}", headers=lyon)
    assert other.status_code == 404
    assert other.json()["detail"] == f"no device {VILLEURBANNE_BIN}"


def test_an_intercommunality_key_sees_every_commune(
    env: ServiceEnv, app_client: TestClient
) -> None:
    metropole = bearer(issue_key(env, "viewer", ["lyon", "villeurbanne"]))
    everything = bearer(issue_key(env, "viewer"))

    assert len(app_client.get("/devices", headers=metropole).json()) == 2
    assert len(app_client.get("/devices", headers=everything).json()) == 2


def test_a_viewer_cannot_write(env: ServiceEnv, app_client: TestClient) -> None:
    viewer = bearer(issue_key(env, "viewer", ["lyon"]))

    response = app_client.post("/alerts/1/acknowledge", json={}, headers=viewer)

    assert response.status_code == 403
    assert "operator" in response.json()["detail"]


def test_an_admin_makes_keys_only_within_its_tenants(
    env: ServiceEnv, app_client: TestClient
) -> None:
    admin = bearer(issue_key(env, "admin", ["lyon"]))

    made = app_client.post("/keys", json={"name": "propreté", "role": "operator"}, headers=admin)
    outside = app_client.post(
        "/keys", json={"name": "x", "tenants": ["villeurbanne"]}, headers=admin
    )

    assert made.status_code == 201
    assert made.json()["tenants"] == ["lyon"]
    me = app_client.get("/me", headers=bearer(made.json()["key"])).json()
    assert me["role"] == "operator"
    assert me["tenants"] == ["lyon"]
    assert outside.status_code == 422
    assert outside.json()["details"][0]["parameter"] == "tenants"


def test_a_revoked_key_stops_working_at_once(env: ServiceEnv, app_client: TestClient) -> None:
    admin = bearer(issue_key(env, "admin"))
    made = app_client.post("/keys", json={"name": "temporary"}, headers=admin).json()
    assert app_client.get("/me", headers=bearer(made["key"])).status_code == 200

    assert app_client.delete(f"/keys/{made['id']}", headers=admin).status_code == 204

    assert app_client.get("/me", headers=bearer(made["key"])).status_code == 401
    stored = env.scalar("select secret_hash from api_keys where id = $1", made["id"])
    assert made["key"].encode() not in stored


def test_only_a_key_of_every_tenant_creates_tenants(
    env: ServiceEnv, app_client: TestClient
) -> None:
    scoped = bearer(issue_key(env, "admin", ["lyon"]))
    everything = bearer(issue_key(env, "admin"))

    refused = app_client.put("/tenants/bron", json={"name": "Bron"}, headers=scoped)
    created = app_client.put("/tenants/bron", json={"name": "Bron"}, headers=everything)

    assert refused.status_code == 403
    assert created.json() == {"id": "bron", "name": "Bron"}
    visible = app_client.get("/tenants", headers=scoped).json()
    assert [t["id"] for t in visible] == ["lyon"]
