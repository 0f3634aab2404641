"""/latest served from snapshots, over a real database filled by the real writer: a new
reading shows once the snapshot is older than latest_max_age_s, an unchanged answer is
not sent again, a failed build is not kept, and a key never gets another scope's answer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import asyncpg
import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest import store
from tests.api.access import bearer, issue_key
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

LYON = ["0004a30b001d0001", "0004a30b001d0003"]
VILLEURBANNE = ["0004a30b001d0002"]
STREETLIGHTS = {"class": "streetlight"}


def write_power(env: ServiceEnv, dev_eui: str, time_iso: str, watts: float) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(env.settings.database_url)
        try:
            await store.prepare_connection(conn)
            row = (datetime.fromisoformat(time_iso), dev_eui, "active_power", "", watts, None)
            await store.write(conn, store.WriteBatch(readings=[row]))
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture
def city(env: ServiceEnv) -> ServiceEnv:
    """Streetlights of two communes, each with a reading of its power."""
    env.query("insert into tenants (id) values ('lyon'), ('villeurbanne')")
    for tenant, euis in (("lyon", LYON), ("villeurbanne", VILLEURBANNE)):
        for dev_eui in euis:
            env.query(
                "insert into devices (dev_eui, tenant_id, device_class, name) "
                "values ($1, $2, 'streetlight', $3)",
                dev_eui, tenant, f"light of {tenant}",
            )  # fmt: skip
            write_power(env, dev_eui, "2026-11-01T18:00:00+00:00", 40.0)
    return env


@contextlib.contextmanager
def serving(env: ServiceEnv, **settings: Any) -> Iterator[TestClient]:
    app = create_app(env.settings.model_copy(update=settings))
    with TestClient(app, headers=bearer(issue_key(env)), raise_server_exceptions=False) as c:
        yield c


def power_of(client: TestClient, dev_eui: str) -> float:
    response = client.get("/latest", params=STREETLIGHTS)
    assert response.status_code == 200, response.text
    devices = {d["dev_eui"]: d for d in orjson.loads(response.content)["devices"]}
    value: float = devices[dev_eui]["values"]["active_power"]["value"]
    return value


def test_the_answer_tells_its_age_and_tag_and_an_unchanged_one_is_not_sent_again(
    city: ServiceEnv,
) -> None:
    with serving(city, latest_max_age_s=30.0) as client:
        first = client.get("/latest", params=STREETLIGHTS)
        etag = first.headers["ETag"]
        unchanged = client.get("/latest", params=STREETLIGHTS, headers={"If-None-Match": etag})
        other = client.get("/latest", params=STREETLIGHTS, headers={"If-None-Match": '"old"'})

    assert first.status_code == 200
    assert int(first.headers["Age"]) >= 0
    assert first.headers["Cache-Control"] == "private, max-age=30"
    assert len(orjson.loads(first.content)["devices"]) == 3
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["ETag"] == etag
    assert "Age" in unchanged.headers
    assert (other.status_code, other.content) == (200, first.content)


def test_a_new_reading_shows_once_the_snapshot_is_older_than_its_max_age(
    city: ServiceEnv,
) -> None:
    max_age_s = 2.0
    with serving(city, latest_max_age_s=max_age_s) as client:
        asked_at = time.monotonic()
        assert power_of(client, LYON[0]) == 40.0
        write_power(city, LYON[0], "2026-11-01T18:30:00+00:00", 55.5)

        seen: list[float] = []
        while time.monotonic() - asked_at < 20.0 and (not seen or seen[-1] != 55.5):
            seen.append(power_of(client, LYON[0]))
            time.sleep(0.05)
        shown_after_s = time.monotonic() - asked_at

    assert seen[0] == 40.0  # the snapshot, younger than its max age
    assert seen[-1] == 55.5
    assert shown_after_s >= max_age_s
    assert set(seen) == {40.0, 55.5}


def test_keys_of_two_communes_asking_in_turn_see_only_their_own_devices(
    city: ServiceEnv,
) -> None:
    scopes = {"lyon": ["lyon"], "villeurbanne": ["villeurbanne"], "both": ["villeurbanne", "lyon"]}
    keys = {name: bearer(issue_key(city, "viewer", tenants)) for name, tenants in scopes.items()}
    communes = {"lyon": LYON, "villeurbanne": VILLEURBANNE}
    seen: list[tuple[str, str | None, list[str]]] = []
    with serving(city, latest_max_age_s=60.0) as client:
        for _ in range(3):  # the first round builds the snapshots, the others reuse them
            for name, key in keys.items():
                for tenant in (None, "lyon", "villeurbanne"):
                    params = {**STREETLIGHTS, **({"tenant": tenant} if tenant else {})}
                    response = client.get("/latest", params=params, headers=key)
                    assert response.status_code == 200, response.text
                    euis = [d["dev_eui"] for d in response.json()["devices"]]
                    seen.append((name, tenant, euis))
        kept = len(client.app.state.latest_snapshots.entries)  # type: ignore[attr-defined]

    for name, tenant, euis in seen:
        visible = [c for c in scopes[name] if tenant in (None, c)]
        assert euis == sorted(e for c in visible for e in communes[c]), (name, tenant)
    assert kept == 9


def test_a_failed_build_is_not_kept(city: ServiceEnv) -> None:
    with serving(city, latest_max_age_s=60.0) as client:
        city.query("alter table readings_latest rename to readings_latest_away")
        failed = client.get("/latest", params=STREETLIGHTS)
        city.query("alter table readings_latest_away rename to readings_latest")
        answered = client.get("/latest", params=STREETLIGHTS)

    assert failed.status_code == 500
    assert answered.status_code == 200
    assert len(answered.json()["devices"]) == 3


def test_a_bad_parameter_is_refused_before_any_snapshot(city: ServiceEnv) -> None:
    with serving(city) as client:
        response = client.get("/latest", params={"class": "streetlight", "quantity": "warp"})
        kept = len(client.app.state.latest_snapshots.entries)  # type: ignore[attr-defined]

    assert response.status_code == 422
    assert response.json()["details"][0]["parameter"] == "quantity"
    assert kept == 0


def test_a_device_moved_to_another_commune_leaves_the_first_ones_answer_at_once(
    city: ServiceEnv,
) -> None:
    lyon, villeurbanne = (bearer(issue_key(city, "viewer", [t])) for t in ("lyon", "villeurbanne"))
    moved = LYON[0]

    def seen_by(client: TestClient, key: dict[str, str]) -> list[str]:
        response = client.get("/latest", params=STREETLIGHTS, headers=key)
        assert response.status_code == 200, response.text
        return [d["dev_eui"] for d in response.json()["devices"]]

    with serving(city, latest_max_age_s=600.0, latest_stale_s=600.0) as client:
        before = seen_by(client, lyon), seen_by(client, villeurbanne)
        # as another API process or an operator at the database would
        city.query("update devices set tenant_id = 'villeurbanne' where dev_eui = $1", moved)
        after = seen_by(client, lyon), seen_by(client, villeurbanne)
        city.query("update devices set name = 'renamed' where dev_eui = $1", moved)
        still = len(client.app.state.latest_snapshots.entries)  # type: ignore[attr-defined]
        seen_by(client, lyon)
        reused = len(client.app.state.latest_snapshots.entries)  # type: ignore[attr-defined]

    assert before == (LYON, VILLEURBANNE)
    assert after == ([LYON[1]], sorted([*VILLEURBANNE, moved]))
    assert reused == still  # a change that moves nothing keeps the snapshots
