"""The rule engine inside the bridge: alerts commit with the readings, state survives a
kill, hysteresis holds, and two bridges on one shared subscription raise one alert."""

from __future__ import annotations

import json
import signal
import uuid
from datetime import UTC, datetime, timedelta

import pytest

import decoders
from simulators.envelope import (
    TENANT_ID,
    Gateway,
    Reception,
    SimDevice,
    Uplink,
    event_topic,
    uplink_json,
)
from simulators.publish import Publisher, publish_all
from tests.services import ServiceEnv

pytestmark = pytest.mark.services

MODEL = "milesight-em400-mud"
GATEWAY = Gateway("0016c001f153a14c", 45.76, 4.84)


def device(n: int) -> SimDevice:
    return SimDevice(f"00000000000000{n:02x}", MODEL, f"bin-{n}", "01020304", str(uuid.UUID(int=1)), "EM400-MUD",
                     tags={"model": MODEL})  # fmt: skip


def uplink(dev: SimDevice, time: datetime, temperature: float, f_cnt: int) -> tuple[str, bytes]:
    module = decoders.device_module(MODEL)
    assert module is not None
    f_port, payload = module.encode_uplink(
        {"battery": 90, "temperature": temperature, "distance": 900, "position": "normal"}
    )
    dedup = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dev.dev_eui}/{f_cnt}"))
    up = Uplink(dev, dedup, time, f_cnt, f_port, payload, (Reception(GATEWAY, f_cnt, -80, 7.5),))
    return event_topic(dev, "up"), uplink_json(up)


def publish(env: ServiceEnv, items: list[tuple[str, bytes]]) -> None:
    publisher = Publisher(env.settings.mqtt_host, env.settings.mqtt_port)
    try:
        publish_all(publisher, [(env.prefix + topic, payload) for topic, payload in items])
    finally:
        publisher.close()


def add_rule(env: ServiceEnv, **definition: object) -> None:
    env.query(
        "insert into tenants (id, name) values ($1, 'Ville') on conflict do nothing", TENANT_ID
    )
    rule = {"kind": "threshold", "name": "hot bin", "quantity": "temperature", "direction": "above",
            "threshold": 60.0, "clear_threshold": 50.0, **definition}  # fmt: skip
    env.query(
        "insert into rules (id, tenant_id, definition) values ('hot-bin', $1, $2::jsonb)",
        TENANT_ID,
        json.dumps(rule),
    )


def alerts(env: ServiceEnv) -> list[tuple[str, str, datetime]]:
    rows = env.query("select dev_eui, status, fired_at from alerts order by fired_at")
    return [(r["dev_eui"], r["status"], r["fired_at"]) for r in rows]


def test_a_flapping_value_with_hysteresis_raises_one_alert_which_then_clears(
    env: ServiceEnv,
) -> None:
    add_rule(env)
    env.start_bridge().wait_subscribed()
    dev = device(1)
    t0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
    flapping = [58, 61, 59, 62, 55, 63, 51, 61, 52, 60.5]  # crosses 60 many times, never below 50
    items = [uplink(dev, t0 + timedelta(minutes=i), v, i) for i, v in enumerate(flapping)]
    items.append(uplink(dev, t0 + timedelta(minutes=20), 49.0, 20))

    publish(env, items)
    env.wait_for(lambda: env.scalar("select count(*) from uplinks") == 11, what="11 uplinks")
    env.wait_for(lambda: [a[1] for a in alerts(env)] == ["resolved"], what="one alert, resolved")

    assert alerts(env)[0][2] == t0 + timedelta(minutes=1)
    assert env.scalar("select count(*) from alert_events") == 2


def test_a_bridge_killed_during_a_for_10_minutes_condition_fires_it_on_time(
    env: ServiceEnv,
) -> None:
    add_rule(env, for_s=600)
    bridge = env.start_bridge(URBANPULSE_RULES_TICK_S="1")
    bridge.wait_subscribed()
    dev = device(2)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    publish(env, [uplink(dev, start + timedelta(minutes=i), 70.0, i) for i in range(4)])
    env.wait_for(lambda: env.scalar("select count(*) from rule_state where pending_since is not null") == 1,
                 what="a pending condition")  # fmt: skip

    bridge.signal(signal.SIGKILL)
    env.start_bridge(URBANPULSE_RULES_TICK_S="1").wait_subscribed()

    env.wait_for(lambda: len(alerts(env)) == 1, what="the alert fired by the timer")
    assert alerts(env)[0][2] == start + timedelta(minutes=10)


def test_two_bridges_sharing_a_subscription_raise_one_alert_per_device(env: ServiceEnv) -> None:
    add_rule(env)
    group = f"g{env.prefix[5:-1]}"
    for i in range(2):
        env.start_bridge(
            URBANPULSE_MQTT_SHARED_GROUP=group,
            URBANPULSE_MQTT_CLIENT_ID=f"{env.settings.mqtt_client_id}-{i}",
            URBANPULSE_BATCH_MAX_MESSAGES="3",
        ).wait_subscribed()
    t0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
    items = [
        uplink(device(n), t0 + timedelta(minutes=i), 65.0 + i, i)
        for i in range(30)
        for n in range(3, 8)
    ]

    publish(env, items)
    env.wait_for(
        lambda: env.scalar("select count(*) from uplinks") == len(items), what="all uplinks"
    )
    env.wait_for(lambda: len(alerts(env)) == 5, what="an alert per device")

    assert sorted(a[0] for a in alerts(env)) == [device(n).dev_eui for n in range(3, 8)]
    # a device's readings reach either bridge; a reading one bridge sees after another
    # bridge passed a later one does not move the state back, so the alert fires at the
    # first reading above the threshold that the engine saw in time order
    assert all(t0 <= a[2] <= t0 + timedelta(minutes=5) for a in alerts(env))


def test_a_rule_on_the_hourly_mean_fires_when_the_mean_crosses_not_a_single_reading(
    env: ServiceEnv,
) -> None:
    add_rule(env, window="hourly_mean", threshold=60.0, clear_threshold=55.0)
    env.start_bridge(URBANPULSE_BATCH_MAX_MESSAGES="1").wait_subscribed()
    dev = device(9)
    t0 = datetime(2026, 11, 1, 12, tzinfo=UTC)

    publish(
        env,
        [
            uplink(dev, t0 + timedelta(minutes=10 * i), v, i)
            for i, v in enumerate([50.0, 75.0, 70.0])
        ],
    )
    env.wait_for(lambda: env.scalar("select count(*) from uplinks") == 3, what="3 uplinks")
    env.wait_for(lambda: len(alerts(env)) == 1, what="the hourly-mean alert")

    # the alert carries the hourly mean at the second reading (62.5), not the reading (75)
    assert alerts(env)[0][2] == t0 + timedelta(minutes=10)
    assert env.scalar("select value from alerts") == pytest.approx(62.5)
