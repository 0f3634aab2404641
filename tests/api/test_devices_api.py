"""Devices through the API: filters, status, GeoJSON, registry writes, CSV import, commands."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import paho.mqtt.client as mqtt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

import decoders
from api import commands, device_writes
from api.app import create_app
from api.devices import DeviceClass
from ingest import store
from ingest.pipeline import Message, ModelResolver, process
from tests.api.access import bearer, issue_key
from tests.services import ServiceEnv
from urbanpulse.settings import Settings

pytestmark = pytest.mark.services

LIGHT = "24e1240000000001"  # lyon, centre, seen 10 min ago: online
BIN = "24e1240000000002"  # lyon, nord, reports every 10 min, seen 1 h ago: silent, battery 15 %
AIR = "24e1240000000003"  # lyon, no position, never seen, battery 80 %
BIN_2 = "24e1240000000004"  # lyon, nord, seen 1 h ago, no interval: online (2 h default)
OTHER = "24e1240000000005"  # villeurbanne, seen now
LYON = {LIGHT, BIN, AIR, BIN_2}

DEVICES = f"""
insert into devices (dev_eui, tenant_id, model, device_class, name, latitude, longitude, zone,
                     tags, params, application_id, last_seen_at) values
('{LIGHT}', 'lyon', 'milesight-ws558', 'streetlight', 'Quai', 45.764, 4.8357, 'centre',
 '{{"quartier": "centre", "reseau": "est"}}', '{{}}', 'app-lyon', now() - interval '10 minutes'),
('{BIN}', 'lyon', 'milesight-em310-udl', 'waste_bin', 'Bac 2', 45.78, 4.83, 'nord',
 '{{"quartier": "nord", "reseau": "est"}}', '{{"bin_height_mm": 1200, "report_interval_s": 600}}',
 'app-lyon', now() - interval '1 hour'),
('{AIR}', 'lyon', 'decentlab-dl-pm', 'air_quality', 'Air', null, null, 'centre',
 '{{"quartier": "centre"}}', '{{}}', null, null),
('{BIN_2}', 'lyon', 'milesight-em310-udl', 'waste_bin', 'Bac 4', 45.79, 4.84, 'nord',
 '{{}}', '{{}}', 'app-lyon', now() - interval '1 hour'),
('{OTHER}', 'villeurbanne', 'milesight-em310-udl', 'waste_bin', 'Bac V', 45.77, 4.88, 'nord',
 '{{"quartier": "nord"}}', '{{}}', 'app-v', now())
"""
BATTERIES = f"""
insert into readings_latest (dev_eui, quantity, channel, time, value) values
('{BIN}', 'battery_level', '', now() - interval '2 days', 90),
('{BIN}', 'battery_level', 'network', now() - interval '1 hour', 15),
('{AIR}', 'battery_level', '', now() - interval '1 hour', 80),
('{AIR}', 'pm2_5', '', now() - interval '1 hour', 12.5)
"""


def full_app(settings: Settings) -> FastAPI:
    """The app with the write and command routers, whether or not app.py includes them yet."""
    app = create_app(settings)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/devices/import" not in paths:
        app.include_router(device_writes.router)
    if "/devices/{dev_eui}/commands" not in paths:
        app.include_router(commands.router)
    return app


def fill(env: ServiceEnv) -> None:
    env.query("insert into tenants (id) values ('lyon'), ('villeurbanne')")
    env.query(DEVICES)
    env.query(BATTERIES)


@pytest.fixture
def app(env: ServiceEnv) -> Iterator[TestClient]:
    fill(env)
    with TestClient(full_app(env.settings)) as c:
        yield c


def as_(env: ServiceEnv, role: str, tenants: list[str] | None = None) -> dict[str, str]:
    return bearer(issue_key(env, role, tenants))


def listed(app: TestClient, headers: dict[str, str], **params: Any) -> set[str]:
    response = app.get("/devices", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {d["dev_eui"] for d in response.json()}


def test_the_class_literal_is_the_decoders_list() -> None:
    assert set(DeviceClass.__args__) == set(decoders.DEVICE_CLASSES)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, LYON | {OTHER}),
        ({"class": "waste_bin"}, {BIN, BIN_2, OTHER}),
        ({"model": "decentlab-dl-pm"}, {AIR}),
        ({"tenant": "villeurbanne"}, {OTHER}),
        ({"zone": "centre"}, {LIGHT, AIR}),
        ({"tag": "quartier:nord"}, {BIN, OTHER}),
        ({"tag": ["quartier:centre", "reseau:est"]}, {LIGHT}),
        ({"status": "online"}, {LIGHT, BIN_2, OTHER}),
        ({"status": "silent"}, {BIN}),
        ({"status": "never_seen"}, {AIR}),
        ({"status": "battery_low"}, {BIN}),
        ({"status": ["silent", "battery_low"]}, {BIN}),
        ({"status": ["online", "battery_low"]}, set()),
        ({"class": "waste_bin", "zone": "nord", "tenant": "lyon"}, {BIN, BIN_2}),
    ],
)
def test_every_filter(
    env: ServiceEnv, app: TestClient, params: dict[str, Any], expected: set[str]
) -> None:
    assert listed(app, as_(env, "viewer"), **params) == expected


def test_each_device_carries_its_status(env: ServiceEnv, app: TestClient) -> None:
    devices = {d["dev_eui"]: d for d in app.get("/devices", headers=as_(env, "viewer")).json()}

    assert devices[BIN]["status"] == ["silent", "battery_low"]
    assert devices[BIN]["silent_after_s"] == 1800  # 3 × its report interval
    assert devices[BIN]["battery_pct"] == 15  # the newest battery reading, not the 90 %
    assert devices[BIN_2]["status"] == ["online"]
    assert devices[BIN_2]["silent_after_s"] == 7200
    assert devices[AIR]["status"] == ["never_seen"]
    assert devices[AIR]["battery_pct"] == 80


def test_a_commune_key_lists_only_its_devices(env: ServiceEnv, app: TestClient) -> None:
    lyon = as_(env, "viewer", ["lyon"])

    assert listed(app, lyon) == LYON
    assert listed(app, lyon, tenant="villeurbanne") == set()
    assert listed(app, lyon, tag="quartier:nord") == {BIN}


def test_pages_follow_each_other(env: ServiceEnv, app: TestClient) -> None:
    viewer = as_(env, "viewer")
    pages = [
        [d["dev_eui"] for d in app.get("/devices", params=p, headers=viewer).json()]
        for p in ({"limit": 2}, {"limit": 2, "offset": 2}, {"limit": 2, "offset": 4})
    ]

    assert pages == [[LIGHT, BIN], [AIR, BIN_2], [OTHER]]


@pytest.mark.parametrize("tag", ["quartier", ":nord", ["quartier:nord", "quartier:sud"]])
def test_a_tag_that_is_not_key_value_is_a_422(
    env: ServiceEnv, app: TestClient, tag: str | list[str]
) -> None:
    response = app.get("/devices", params={"tag": tag}, headers=as_(env, "viewer"))

    assert response.status_code == 422
    assert response.json()["details"][0]["parameter"] == "tag"


@pytest.mark.parametrize(
    ("params", "headers"),
    [({"format": "geojson"}, {}), ({}, {"Accept": "application/geo+json"})],
)
def test_geojson_points_are_longitude_then_latitude(
    env: ServiceEnv, app: TestClient, params: dict[str, str], headers: dict[str, str]
) -> None:
    response = app.get(
        "/devices", params=params, headers={**headers, **as_(env, "viewer", ["lyon"])}
    )

    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    features = {f["id"]: f for f in body["features"]}
    assert set(features) == LYON
    assert features[LIGHT]["type"] == "Feature"
    assert features[LIGHT]["geometry"] == {"type": "Point", "coordinates": [4.8357, 45.764]}
    assert features[AIR]["geometry"] is None
    assert features[LIGHT]["properties"]["name"] == "Quai"
    assert features[LIGHT]["properties"]["status"] == ["online"]
    assert "latitude" not in features[LIGHT]["properties"]


def test_format_json_wins_over_the_accept_header(env: ServiceEnv, app: TestClient) -> None:
    headers = {"Accept": "application/geo+json", **as_(env, "viewer")}

    response = app.get("/devices", params={"format": "json"}, headers=headers)

    assert isinstance(response.json(), list)


def test_one_device_has_its_latest_values_from_readings_latest(
    env: ServiceEnv, app: TestClient
) -> None:
    device = app.get(f"/devices/{AIR.upper()}", headers=as_(env, "viewer", ["lyon"])).json()

    assert device["status"] == ["never_seen"]
    assert {(r["quantity"], r["value"], r["unit"]) for r in device["latest"]} == {
        ("battery_level", 80, "%"),
        ("pm2_5", 12.5, "µg/m³"),
    }
    assert app.get(f"/devices/{OTHER}", headers=as_(env, "viewer", ["lyon"])).status_code == 404


NEW = "24e12400000000aa"


def test_put_creates_then_replaces_and_keeps_what_chirpstack_reports(
    env: ServiceEnv, app: TestClient
) -> None:
    admin = as_(env, "admin")
    body = {
        "tenant_id": "lyon",
        "model": "milesight-em310-udl",
        "name": "Bac neuf",
        "latitude": 45.75,
        "longitude": 4.85,
        "zone": "sud",
        "tags": {"quartier": "sud"},
        "params": {"bin_height_mm": 1100},
    }

    created = app.put(f"/devices/{NEW}", json=body, headers=admin)
    env.query(
        "update devices set application_id = 'app-lyon', last_seen_at = now() where dev_eui = $1",
        NEW,
    )
    replaced = app.put(f"/devices/{NEW}", json={"tenant_id": "lyon", "name": "Bac"}, headers=admin)

    assert created.status_code == 201
    assert created.json()["device_class"] == "waste_bin"  # the model's class
    assert created.json()["params"] == {"bin_height_mm": 1100}
    assert replaced.status_code == 200
    assert replaced.json()["status"] == ["online"]
    row = env.query("select * from devices where dev_eui = $1", NEW)[0]
    assert (row["name"], row["model"], row["zone"], row["latitude"]) == ("Bac", None, None, None)
    assert row["application_id"] == "app-lyon"
    assert row["last_seen_at"] is not None


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"model": "acme-9000"}, "model"),
        ({"latitude": 91, "longitude": 4.8}, "latitude"),
        ({"latitude": 45.7, "longitude": -181}, "longitude"),
        ({"latitude": 45.7}, "longitude"),
        ({"model": "milesight-ws558", "device_class": "waste_bin"}, "device_class"),
        ({"device_class": "lamp"}, "device_class"),
        ({"params": {"bin_height_mm": -5}}, "params.bin_height_mm"),
        ({"params": {"report_interval_s": "often"}}, "params.report_interval_s"),
        ({"tags": {"a;b": "c"}}, "tags.a;b.[key]"),
        ({"tenant_id": "grenoble"}, "tenant_id"),
        ({"colour": "green"}, "colour"),
    ],
)
def test_put_names_the_parameter_at_fault_and_writes_nothing(
    env: ServiceEnv, app: TestClient, body: dict[str, Any], parameter: str
) -> None:
    response = app.put(f"/devices/{NEW}", json=body, headers=as_(env, "admin"))

    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["parameter"] == parameter
    assert env.scalar("select count(*) from devices where dev_eui = $1", NEW) == 0


def test_writes_stay_within_the_keys_tenants(env: ServiceEnv, app: TestClient) -> None:
    lyon = as_(env, "admin", ["lyon"])

    other = app.put(f"/devices/{OTHER}", json={"tenant_id": "lyon"}, headers=lyon)
    outside = app.put(f"/devices/{NEW}", json={"tenant_id": "villeurbanne"}, headers=lyon)
    patch_other = app.patch(f"/devices/{OTHER}", json={"name": "x"}, headers=lyon)
    move = app.patch(f"/devices/{BIN}", json={"tenant_id": "villeurbanne"}, headers=lyon)

    assert other.status_code == 404
    assert outside.status_code == 422
    assert outside.json()["details"][0]["parameter"] == "tenant_id"
    assert patch_other.status_code == 404
    assert move.status_code == 422
    assert env.scalar("select tenant_id from devices where dev_eui = $1", BIN) == "lyon"
    assert env.scalar("select name from devices where dev_eui = $1", OTHER) == "Bac V"


def test_writing_needs_the_admin_role(env: ServiceEnv, app: TestClient) -> None:
    operator = as_(env, "operator")

    assert app.put(f"/devices/{NEW}", json={}, headers=operator).status_code == 403
    assert app.patch(f"/devices/{BIN}", json={}, headers=operator).status_code == 403
    assert app.post("/devices/import", content="dev_eui\n", headers=operator).status_code == 403


def test_patch_changes_only_what_it_names_and_merges_tags_and_params(
    env: ServiceEnv, app: TestClient
) -> None:
    change = {
        "name": "Bac 2 bis",
        "tags": {"reseau": None, "collecte": "mardi"},
        "params": {"report_interval_s": None},
    }

    response = app.patch(f"/devices/{BIN}", json=change, headers=as_(env, "admin"))

    device = response.json()
    assert response.status_code == 200, response.text
    assert device["name"] == "Bac 2 bis"
    assert device["tags"] == {"quartier": "nord", "collecte": "mardi"}
    assert device["params"] == {"bin_height_mm": 1200}
    assert device["silent_after_s"] == 7200
    assert (device["zone"], device["latitude"], device["model"]) == (
        "nord", 45.78, "milesight-em310-udl",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"latitude": None}, "latitude"),
        ({"model": "milesight-ws558"}, "device_class"),
        ({"params": {"bin_height_mm": 0}}, "params.bin_height_mm"),
        ({"longitude": 200}, "longitude"),
    ],
)
def test_patch_checks_the_device_it_would_make(
    env: ServiceEnv, app: TestClient, change: dict[str, Any], parameter: str
) -> None:
    response = app.patch(f"/devices/{BIN}", json=change, headers=as_(env, "admin"))

    assert response.status_code == 422
    assert response.json()["details"][0]["parameter"] == parameter


def test_patch_of_an_unknown_device_is_404(env: ServiceEnv, app: TestClient) -> None:
    assert (
        app.patch(f"/devices/{NEW}", json={"name": "x"}, headers=as_(env, "admin")).status_code
        == 404
    )


def import_csv(app: TestClient, headers: dict[str, str], text: str) -> Any:
    return app.post(
        "/devices/import", content=text.encode(), headers={**headers, "Content-Type": "text/csv"}
    )


def test_import_creates_and_updates_in_one_go(env: ServiceEnv, app: TestClient) -> None:
    text = (
        "dev_eui,tenant_id,model,name,latitude,longitude,tags,param.bin_height_mm\n"
        f"{NEW},lyon,milesight-em310-udl,Bac neuf,45.7,4.8,quartier=sud;collecte=lundi,1000\n"
        f"{BIN.upper()},lyon,milesight-em310-udl,Bac 2,45.78,4.83,quartier=nord,\n"
    )

    response = import_csv(app, as_(env, "admin", ["lyon"]), text)

    assert response.status_code == 200, response.text
    assert response.json() == {"created": 1, "updated": 1}
    new = env.query("select * from devices where dev_eui = $1", NEW)[0]
    assert new["device_class"] == "waste_bin"
    assert json.loads(new["tags"]) == {"collecte": "lundi", "quartier": "sud"}
    assert json.loads(new["params"]) == {"bin_height_mm": 1000}
    updated = env.query("select * from devices where dev_eui = $1", BIN)[0]
    assert json.loads(updated["tags"]) == {"quartier": "nord"}  # the cell is the whole set
    assert json.loads(updated["params"]) == {"report_interval_s": 600}  # emptied cell removed
    assert updated["zone"] == "nord"  # not a column of the file: kept


def test_import_reads_semicolon_separated_files(env: ServiceEnv, app: TestClient) -> None:
    text = f'dev_eui;tenant_id;zone;tags\r\n{NEW};lyon;sud;"quartier=sud;collecte=lundi"\r\n'

    response = import_csv(app, as_(env, "admin"), text)

    assert response.json() == {"created": 1, "updated": 0}
    row = env.query("select zone, tags from devices where dev_eui = $1", NEW)[0]
    assert row["zone"] == "sud"
    assert json.loads(row["tags"]) == {"quartier": "sud", "collecte": "lundi"}


@pytest.mark.parametrize(
    ("rows", "where"),
    [
        ([f"{NEW},lyon,91,4.8"], "row 3, column latitude"),
        ([f"{NEW},lyon,45.7,"], "row 3, column longitude"),
        ([f"{NEW},grenoble,45.7,4.8"], "row 3, column tenant_id"),
        ([f"{NEW},lyon,45.7,4.8", f"{NEW},lyon,45.7,4.8"], "row 4, column dev_eui"),
        (["0xdeadbeef,lyon,45.7,4.8"], "row 3, column dev_eui"),
        ([f"{OTHER},lyon,45.7,4.8"], "row 3, column dev_eui"),
        ([f"{NEW},lyon,45.7"], "row 3"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_written(
    env: ServiceEnv, app: TestClient, rows: list[str], where: str
) -> None:
    text = "\n".join(["dev_eui,tenant_id,latitude,longitude", f"{BIN},lyon,1,1", *rows]) + "\n"

    response = import_csv(app, as_(env, "admin", ["lyon"]), text)

    assert response.status_code == 422
    assert [d["parameter"] for d in response.json()["details"]] == [where]
    assert env.scalar("select latitude from devices where dev_eui = $1", BIN) == 45.78
    assert env.scalar("select count(*) from devices where dev_eui = $1", NEW) == 0


def test_every_bad_row_and_column_is_reported(env: ServiceEnv, app: TestClient) -> None:
    text = f"dev_eui,model,param.bin_height_mm,colour\n{NEW},acme,-1,red\n"
    header = import_csv(app, as_(env, "admin"), text).json()["details"]
    text = f"dev_eui,model,param.bin_height_mm,tags\n{NEW},acme,-1,\n{BIN},,5,oops\n"
    rows = import_csv(app, as_(env, "admin"), text).json()["details"]

    assert [d["parameter"] for d in header] == ["row 1, column colour"]
    assert [d["parameter"] for d in rows] == [
        "row 2, column model",
        "row 3, column tags",
    ]


def test_an_empty_or_broken_file_is_a_422(env: ServiceEnv, app: TestClient) -> None:
    admin = as_(env, "admin")

    assert import_csv(app, admin, "dev_eui,name\n").json()["details"][0]["parameter"] == "body"
    assert import_csv(app, admin, "name\nx\n").json()["details"][0]["parameter"] == (
        "row 1, column dev_eui"
    )
    broken = app.post("/devices/import", content=b"\xff\xfe", headers=admin)
    assert broken.status_code == 422


def subscribe(env: ServiceEnv, topic: str) -> tuple[mqtt.Client, list[tuple[str, bytes]]]:
    seen: list[tuple[str, bytes]] = []
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = lambda c, u, m: seen.append((m.topic, bytes(m.payload)))
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect(env.settings.mqtt_host, env.settings.mqtt_port)
    client.loop_start()
    client.subscribe(topic, qos=1)
    assert subscribed.wait(10)
    return client, seen


def feed_txack(env: ServiceEnv, application_id: str, dev_eui: str, downlink_id: str) -> None:
    txack = {
        "downlinkId": 1, "time": "2026-11-01T12:00:05+00:00", "queueItemId": downlink_id,
        "fCntDown": 1, "deviceInfo": {"tenantId": "lyon", "devEui": dev_eui, "applicationId": application_id},
    }  # fmt: skip
    topic = f"application/{application_id}/device/{dev_eui}/event/txack"

    async def run() -> None:
        conn = await asyncpg.connect(env.settings.database_url)
        try:
            await store.prepare_connection(conn)
            batch = process([Message(topic, json.dumps(txack).encode())], ModelResolver({}, {}))
            await store.write(conn, batch.batch)
        finally:
            await conn.close()

    asyncio.run(run())


def test_a_command_goes_out_through_the_bridge_and_its_status_follows(
    env: ServiceEnv, app: TestClient
) -> None:
    application = f"app-{uuid.uuid4().hex[:8]}"
    env.query("update devices set application_id = $1 where dev_eui = $2", application, LIGHT)
    listener, seen = subscribe(env, f"application/{application}/device/+/command/down")
    operator = as_(env, "operator", ["lyon"])
    bridge = env.start_bridge()
    bridge.wait_subscribed()

    response = app.post(
        f"/devices/{LIGHT}/commands",
        json={"command": "switch_circuits", "args": {"states": {"1": True, "3": False}}},
        headers=operator,
    )

    assert response.status_code == 202, response.text
    downlink_id = response.json()["id"]
    env.wait_for(lambda: bool(seen), timeout_s=30, what="the command/down message")
    topic, payload = seen[0]
    command = json.loads(payload)
    assert topic == f"application/{application}/device/{LIGHT}/command/down"
    assert command["id"] == downlink_id
    assert command["devEui"] == LIGHT
    assert command["fPort"] == 85
    assert base64.b64decode(command["data"]) == bytes.fromhex("080501")
    env.wait_for(
        lambda: env.scalar("select status from downlinks") == "published", what="published"
    )
    feed_txack(env, application, LIGHT, downlink_id)
    history = app.get(f"/devices/{LIGHT}/commands", headers=as_(env, "viewer")).json()
    assert [(c["id"], c["status"], c["payload_hex"]) for c in history] == [
        (downlink_id, "transmitted", "080501")
    ]
    assert history[0]["requested_by"].startswith("key ")
    listener.disconnect()
    listener.loop_stop()


def test_a_raw_command_is_queued_with_its_outbox_row(env: ServiceEnv, app: TestClient) -> None:
    response = app.post(
        f"/devices/{BIN}/commands",
        json={"payload_hex": "FF10FF", "f_port": 85, "confirmed": True},
        headers=as_(env, "operator"),
    )

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    row = env.query("select * from downlinks")[0]
    assert (bytes(row["payload"]), row["f_port"], row["confirmed"]) == (b"\xff\x10\xff", 85, True)
    outbox = env.query("select kind, payload from action_outbox where done_at is null")
    assert [(o["kind"], json.loads(o["payload"])["downlink_id"]) for o in outbox] == [
        ("downlink", response.json()["id"])
    ]


@pytest.mark.parametrize(
    ("dev_eui", "body", "status", "parameter"),
    [
        (LIGHT, {"command": "self_destruct"}, 422, "command"),
        (LIGHT, {"command": "switch_circuits", "args": {"states": {"9": True}}}, 422, "args"),
        (LIGHT, {"command": "switch_circuits", "args": {}}, 422, "args.states"),
        (LIGHT, {"command": "reboot", "args": {"now": True}}, 422, "args.now"),
        (LIGHT, {"command": "reboot", "f_port": 2}, 422, "f_port"),
        (LIGHT, {"command": "reboot", "payload_hex": "ff"}, 422, "command"),
        (LIGHT, {"payload_hex": "ff10ff"}, 422, "f_port"),
        (LIGHT, {"payload_hex": "f", "f_port": 2}, 422, "payload_hex"),
        (LIGHT, {"payload_hex": "ff", "f_port": 224}, 422, "f_port"),
        (AIR, {"command": "reset"}, 409, None),
        (OTHER, {"command": "reboot"}, 404, None),
    ],
)
def test_a_command_that_cannot_be_sent_is_refused_and_nothing_queued(
    env: ServiceEnv,
    app: TestClient,
    dev_eui: str,
    body: dict[str, Any],
    status: int,
    parameter: str | None,
) -> None:
    response = app.post(
        f"/devices/{dev_eui}/commands", json=body, headers=as_(env, "operator", ["lyon"])
    )

    assert response.status_code == status, response.text
    if parameter is not None:
        assert response.json()["details"][0]["parameter"] == parameter
    assert env.scalar("select count(*) from downlinks") == 0
    assert env.scalar("select count(*) from action_outbox") == 0


def test_an_unknown_command_lists_those_of_the_model(env: ServiceEnv, app: TestClient) -> None:
    response = app.post(
        f"/devices/{LIGHT}/commands", json={"command": "dim"}, headers=as_(env, "operator")
    )

    assert "switch_circuits" in response.json()["details"][0]["message"]


def test_commands_need_the_operator_role(env: ServiceEnv, app: TestClient) -> None:
    response = app.post(
        f"/devices/{LIGHT}/commands", json={"command": "reboot"}, headers=as_(env, "viewer")
    )

    assert response.status_code == 403
