"""Preset rules on quantities the engine derives: lamp faults, bins full soon, footfall
far below last week; written through the store with the engine in its transaction."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

import decoders
from ingest import store
from ingest.engine import RuleEngine
from ingest.pipeline import KnownDevice, Message, ModelResolver, process
from rules.presets import preset
from simulators.envelope import (
    TENANT_ID,
    Gateway,
    Reception,
    SimDevice,
    Uplink,
    event_topic,
    uplink_json,
)
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

GATEWAY = Gateway("0016c001f153a14c", 45.76, 4.84)


def message(model: str, dev_eui: str, time: datetime, data: dict[str, Any]) -> Message:
    module = decoders.device_module(model)
    assert module is not None
    f_port, payload = module.encode_uplink(data)
    device = SimDevice(
        dev_eui, model, dev_eui, "01020304", str(uuid.UUID(int=2)), model, tags={"model": model}
    )
    dedup = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dev_eui}/{time.isoformat()}"))
    up = Uplink(device, dedup, time, 0, f_port, payload, (Reception(GATEWAY, 1, -80, 7.5),))
    return Message(event_topic(device, "up"), uplink_json(up))


def install(env: ServiceEnv, name: str) -> None:
    env.query("insert into tenants (id) values ($1) on conflict do nothing", TENANT_ID)
    for rule in preset(name, TENANT_ID):
        env.query("insert into rules (id, tenant_id, definition) values ($1, $2, $3::jsonb)",
                  f"{name}-{len(env.query('select 1 from rules'))}", TENANT_ID, json.dumps(rule.to_dict()))  # fmt: skip


def write(
    env: ServiceEnv, messages: list[Message], registry: dict[str, KnownDevice] | None = None
) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(env.settings.database_url)
        await store.prepare_connection(conn)
        engine = RuleEngine()
        try:
            for m in messages:  # one batch each, as a live stream would come
                await store.write(
                    conn, process([m], ModelResolver(registry or {}, {})).batch, engine.evaluate
                )
        finally:
            await conn.close()

    asyncio.run(run())


def fired(env: ServiceEnv) -> list[tuple[str, str, datetime]]:
    return [
        (r["dev_eui"], r["channel"], r["fired_at"])
        for r in env.query("select * from alerts order by fired_at")
    ]


def test_a_circuit_on_at_noon_is_a_lamp_fault(env: ServiceEnv) -> None:
    install(env, "streetlight_failure")
    dev = "00000000000000a1"
    noon = datetime(2026, 6, 21, 10, tzinfo=UTC)
    lights = {f"switch_{i}": "on" if i == 1 else "off" for i in range(1, 9)}
    data = {
        **lights,
        "power_factor": 98,
        "total_current": 1830,
        "voltage": 229.4,
        "power_consumption": 125000,
        "active_power": 412,
    }
    write(env, [message("milesight-ws558", dev, noon - timedelta(minutes=30), data)])
    env.query("update devices set latitude = 45.76, longitude = 4.84")

    write(
        env, [message("milesight-ws558", dev, noon + timedelta(minutes=m), data) for m in (0, 10)]
    )

    assert fired(env) == [(dev, "", noon + timedelta(minutes=10))]  # twice in a row


def test_a_bin_filling_fast_is_announced_before_it_is_full(env: ServiceEnv) -> None:
    install(env, "bin_full_soon")
    dev = "00000000000000b1"
    t0 = datetime(2026, 11, 2, 6, tzinfo=UTC)
    registry = {dev: KnownDevice("milesight-em310-udl", {"bin_height_mm": 1000.0})}
    # 1000 mm bin, surface rising 40 mm an hour: 4 %/h from 20 %, full in about 20 h
    stream = [
        message(
            "milesight-em310-udl",
            dev,
            t0 + timedelta(hours=h),
            {"battery": 90, "distance": 800 - 40 * h, "position": "normal"},
        )
        for h in range(12)
    ]

    write(env, stream, registry)

    alerts = fired(env)
    assert len(alerts) == 1
    # below 12 h to full once the level passes about 52 %, i.e. after 8 hours
    assert t0 + timedelta(hours=7) <= alerts[0][2] <= t0 + timedelta(hours=9)


def test_a_counter_far_below_the_same_hour_last_week_is_reported(env: ServiceEnv) -> None:
    install(env, "people_counter_low")
    dev = "00000000000000c1"
    model = "imbuildings-people-counter"
    base = {"device_type_identifier": 2, "device_type": "People Counter", "device_type_variant": 5,
            "device_id": "0004a30b00f0d40e", "device_status": 0, "battery_voltage": 3.3,
            "counter_b": 0, "sensor_status": 32, "payload_counter": 1}  # fmt: skip
    week_ago = datetime(2026, 11, 2, 8, tzinfo=UTC)
    now = week_ago + timedelta(days=7)

    def hour(start: datetime, people: int) -> list[Message]:  # 4 uplinks in the hour
        return [
            message(
                model, dev, start + timedelta(minutes=15 * q), {**base, "counter_a": people // 4}
            )
            for q in range(4)
        ]

    stream = (
        hour(week_ago, 200)
        + hour(week_ago + timedelta(hours=1), 200)
        + hour(week_ago + timedelta(hours=2), 200)
    )
    stream += (
        hour(now, 200) + hour(now + timedelta(hours=1), 20) + hour(now + timedelta(hours=2), 20)
    )
    stream += [message(model, dev, now + timedelta(hours=3), {**base, "counter_a": 5})]

    write(env, stream)

    # 20 against 200 at 09:00 and at 10:00 (twice in a row), known when each next hour opens
    assert fired(env) == [(dev, "", now + timedelta(hours=3))]


def test_a_zone_whose_air_index_turns_poor_raises_one_alert_on_its_first_sensor(
    env: ServiceEnv,
) -> None:
    install(env, "air_index_poor")
    model = "decentlab-dl-pm"
    module = decoders.device_module(model)
    assert module is not None
    sample = module.SAMPLE_UPLINKS[0]

    def dirty(pm2_5: float) -> dict[str, Any]:
        return {
            **sample,
            "pm2_5_mass_concentration": {**sample["pm2_5_mass_concentration"], "value": pm2_5},
        }

    quiet, busy = "00000000000000d1", "00000000000000d2"
    neighbour = "00000000000000d0"  # another commune's sensor in its own "centre"
    day = datetime(2026, 11, 3, 0, 30, tzinfo=UTC)  # 01:30 in Paris
    write(
        env,
        [message(model, dev, day - timedelta(hours=2), dirty(5.0)) for dev in (quiet, busy)]
        + [message(model, neighbour, day - timedelta(hours=2), dirty(60.0))],
    )
    env.query("insert into tenants (id) values ('neighbour')")
    env.query("update devices set zone = 'centre'")
    env.query("update devices set tenant_id = 'neighbour' where dev_eui = $1", neighbour)

    # 60 µg/m³ of PM2.5 all day: "very poor" once 18 hours give a valid daily mean
    write(env, [message(model, busy, day + timedelta(hours=h), dirty(60.0)) for h in range(20)])

    alerts = fired(env)
    assert len(alerts) == 1
    assert alerts[0][0] == quiet  # the zone's first sensor carries its index
    assert alerts[0][2] == day + timedelta(hours=17)
    assert env.scalar("select value from alerts") == 5.0


def test_a_silent_device_fires_on_the_timer_and_clears_when_heard_again(env: ServiceEnv) -> None:
    env.query("insert into tenants (id) values ($1)", TENANT_ID)
    rule = {
        "name": "bin silent",
        "kind": "silence",
        "for_s": 3600,
        "selector": {"device_class": "waste_bin"},
    }
    env.query(
        "insert into rules (id, tenant_id, definition) values ('silent', $1, $2::jsonb)",
        TENANT_ID,
        json.dumps(rule),
    )
    now = datetime(2026, 11, 3, 12, tzinfo=UTC)
    env.query(
        "insert into devices (dev_eui, tenant_id, device_class, last_seen_at) values "
        "('00000000000000e1', $1, 'waste_bin', $2), ('00000000000000e2', $1, 'waste_bin', $3)",
        TENANT_ID, now - timedelta(hours=2), now - timedelta(minutes=5),
    )  # fmt: skip

    async def tick(at: datetime) -> tuple[int, int]:
        conn = await asyncpg.connect(env.settings.database_url)
        await store.prepare_connection(conn)
        try:
            async with conn.transaction():
                return await RuleEngine().tick(conn, at)
        finally:
            await conn.close()

    assert asyncio.run(tick(now)) == (1, 0)
    assert asyncio.run(tick(now + timedelta(minutes=1))) == (0, 0)
    assert fired(env) == [("00000000000000e1", "", now - timedelta(hours=1))]
    env.query(
        "update devices set last_seen_at = $1 where dev_eui = '00000000000000e1'",
        now + timedelta(minutes=2),
    )
    assert asyncio.run(tick(now + timedelta(minutes=3))) == (0, 1)
    assert env.scalar("select status from alerts") == "resolved"
