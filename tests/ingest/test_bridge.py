"""The bridge against the real Mosquitto and TimescaleDB: exactly once, whatever happens."""

from __future__ import annotations

import re
import signal
import time
from datetime import UTC, datetime

import pytest

from simulators.publish import Publisher, publish_all
from simulators.simulate import messages
from tests.services import ServiceEnv
from urbanpulse import services

pytestmark = pytest.mark.services

START = datetime(2026, 11, 1, tzinfo=UTC)
MODELS = [
    "milesight-ws558",
    "decentlab-dl-pm",
    "terabee-people-flow-counting-l-xl",
    "milesight-em400-mud",
]


def publish(
    env: ServiceEnv,
    count: int,
    seed: int = 1,
    devices: int = 40,
    fmt: str = "json",
    rate: float = 0.0,
) -> None:
    publisher = Publisher(env.settings.mqtt_host, env.settings.mqtt_port)
    try:
        publish_all(publisher, messages(devices, count, seed, START, fmt, env.prefix, MODELS), rate)
    finally:
        publisher.close()


def publish_raw(env: ServiceEnv, items: list[tuple[str, bytes]]) -> None:
    publisher = Publisher(env.settings.mqtt_host, env.settings.mqtt_port)
    try:
        publish_all(publisher, items)
    finally:
        publisher.close()


def uplinks(env: ServiceEnv) -> int:
    return int(env.scalar("select count(*) from uplinks"))


def assert_rollups_match_readings(env: ServiceEnv) -> None:
    mismatches = env.query(
        """
        with truth as (
            select dev_eui, quantity, channel, time_bucket('1 hour', time) as bucket,
                   count(*) as count, sum(value) as sum, min(value) as min, max(value) as max,
                   last(value, time) as last
            from readings group by 1, 2, 3, 4)
        select * from truth t full join rollups_hourly r using (dev_eui, quantity, channel, bucket)
        where r.count is distinct from t.count or abs(r.sum - t.sum) > 1e-6 * greatest(abs(t.sum), 1)
           or r.min is distinct from t.min or r.max is distinct from t.max or r.last is distinct from t.last
        limit 5"""
    )
    assert mismatches == []


def test_every_published_uplink_is_stored_exactly_once(env: ServiceEnv) -> None:
    env.start_bridge().wait_subscribed()

    publish(env, 2000)
    env.wait_for(lambda: uplinks(env) == 2000, what="2000 uplinks")

    assert env.scalar("select count(*) from uplinks where decode_status <> 'ok'") == 0
    assert env.scalar("select count(*) from devices") == 40
    assert env.scalar("select count(*) from readings") > 2000
    assert_rollups_match_readings(env)


def test_protobuf_events_are_stored_like_json(env: ServiceEnv) -> None:
    env.start_bridge().wait_subscribed()

    publish(env, 300, fmt="protobuf")
    env.wait_for(lambda: uplinks(env) == 300, what="300 protobuf uplinks")

    assert env.scalar("select count(distinct model) from uplinks") == len(MODELS)
    assert env.scalar("select min(gateway_count) from uplinks") >= 1


def test_publishing_the_same_messages_twice_changes_nothing(env: ServiceEnv) -> None:
    env.start_bridge().wait_subscribed()
    publish(env, 1000)
    env.wait_for(lambda: uplinks(env) == 1000, what="1000 uplinks")
    time.sleep(0.5)
    before = env.query("select count(*), sum(count), sum(sum) from rollups_hourly")
    readings = env.scalar("select count(*) from readings")

    publish(env, 1000)
    env.wait_for(lambda: env.scalar("select count(*) from uplinks") == 1000, what="still 1000")
    time.sleep(2)

    assert uplinks(env) == 1000
    assert env.scalar("select count(*) from readings") == readings
    assert env.query("select count(*), sum(count), sum(sum) from rollups_hourly") == before
    assert_rollups_match_readings(env)


def test_a_bridge_killed_mid_run_loses_and_duplicates_nothing(env: ServiceEnv) -> None:
    bridge = env.start_bridge()
    bridge.wait_subscribed()
    publisher = Publisher(env.settings.mqtt_host, env.settings.mqtt_port)
    stream = messages(40, 6000, 7, START, "json", env.prefix, MODELS)
    publish_all(publisher, (next(stream) for _ in range(2000)))
    env.wait_for(lambda: uplinks(env) > 0, what="the first commits")

    bridge.signal(signal.SIGKILL)
    publish_all(publisher, stream)  # 4000 more while no bridge runs: they wait in the session
    publisher.close()
    env.start_bridge().wait_subscribed()

    env.wait_for(lambda: uplinks(env) == 6000, what="6000 uplinks after the restart")
    duplicates = env.scalar(
        "select count(*) from (select 1 from readings group by dev_eui, quantity, channel, time having count(*) > 1) d"
    )
    assert duplicates == 0
    assert_rollups_match_readings(env)


def test_sigterm_flushes_and_exits_cleanly(env: ServiceEnv) -> None:
    bridge = env.start_bridge(URBANPULSE_BATCH_MAX_WAIT_MS="2000")
    bridge.wait_subscribed()
    publish(env, 500)

    assert bridge.signal(signal.SIGTERM) == 0
    env.start_bridge().wait_subscribed()
    env.wait_for(lambda: uplinks(env) == 500, what="500 uplinks")


def test_database_down_for_20_s_loses_nothing(env: ServiceEnv) -> None:
    layout = services.Layout.of(env.settings)
    env.start_bridge().wait_subscribed()
    publisher = Publisher(env.settings.mqtt_host, env.settings.mqtt_port)
    stream = messages(40, 3000, 11, START, "json", env.prefix, MODELS)
    publish_all(publisher, (next(stream) for _ in range(1000)))
    env.wait_for(lambda: uplinks(env) > 0, what="the first commits")

    services.stop_postgres(layout)
    try:
        publish_all(publisher, stream, rate_per_s=200)  # 2000 messages over 10 s, database down
        time.sleep(10)
    finally:
        services.start_postgres(layout)
    publisher.close()

    env.wait_for(
        lambda: uplinks(env) == 3000, timeout_s=90, what="3000 uplinks once the database is back"
    )
    assert env.bridges[0].running()
    assert_rollups_match_readings(env)


def test_broker_restart_loses_nothing(env: ServiceEnv) -> None:
    layout = services.Layout.of(env.settings)
    bridge = env.start_bridge()
    bridge.wait_subscribed()
    stream = messages(40, 2000, 13, START, "json", env.prefix, MODELS)
    publish_raw(env, [next(stream) for _ in range(1000)])
    env.wait_for(lambda: uplinks(env) > 0, what="the first commits")

    # Batches that commit while the broker is down are not acknowledged; the broker sends
    # them again after the restart, and storing them again changes nothing.
    services.stop_mosquitto(layout)
    try:
        time.sleep(5)
    finally:
        services.start_mosquitto(layout)
    bridge.wait_subscribed(count=2, timeout_s=60)
    publish_raw(env, list(stream))

    env.wait_for(lambda: uplinks(env) == 2000, what="2000 uplinks after the broker's restart")
    assert bridge.running()
    assert "MQTT disconnected" in bridge.tail()
    duplicates = env.scalar(
        "select count(*) from (select 1 from readings group by dev_eui, quantity, channel, time having count(*) > 1) d"
    )
    assert duplicates == 0
    assert_rollups_match_readings(env)


def test_malformed_input_is_rejected_with_its_reason_and_the_rest_is_stored(
    env: ServiceEnv,
) -> None:
    env.start_bridge().wait_subscribed()
    good = list(messages(5, 10, 3, START, "json", env.prefix, MODELS))
    topic = good[0][0]
    bad = [
        (topic, b"{not json"),
        (topic, b'{"deduplicationId": 5}'),
        (topic, re.sub(rb'"fPort":\d+', b'"fPort":"eighty"', good[1][1])),
        (topic, good[2][1].replace(b'"data":"', b'"data":"!!', 1)),
        (topic, bytes.fromhex("0a2466")),
        (topic.replace("/event/up", "/event/teleport"), good[3][1]),
        (topic, b""),
    ]
    publish_raw(env, good[:5] + bad + good[5:])

    env.wait_for(
        lambda: env.scalar("select count(*) from rejected") == len(bad),
        what="the rejected messages",
    )
    env.wait_for(lambda: uplinks(env) == 10, what="the good uplinks")
    reasons = [r["reason"] for r in env.query("select reason from rejected order by id")]
    assert any("invalid JSON" in r for r in reasons)
    assert any("deviceInfo" in r for r in reasons)
    assert any("fPort" in r for r in reasons)
    assert any("base64" in r for r in reasons)
    assert any("protobuf" in r for r in reasons)
    assert any("unknown event kind 'teleport'" in r for r in reasons)
    assert any("empty payload" in r for r in reasons)
    assert env.bridges[0].running()


def test_two_bridges_on_one_shared_subscription_store_each_uplink_once(env: ServiceEnv) -> None:
    group = f"g{env.prefix[5:-1]}"
    for i in range(2):
        env.start_bridge(
            URBANPULSE_MQTT_SHARED_GROUP=group,
            URBANPULSE_MQTT_CLIENT_ID=f"{env.settings.mqtt_client_id}-{i}",
        ).wait_subscribed()

    publish(env, 3000, devices=20)
    env.wait_for(lambda: uplinks(env) == 3000, what="3000 uplinks from two bridges")

    assert_rollups_match_readings(env)
    for bridge in env.bridges:
        assert bridge.signal(signal.SIGTERM) == 0
    handled = [
        int(re.findall(r"stopped: (\d+) messages", b.log_path.read_text())[-1]) for b in env.bridges
    ]
    assert sum(handled) == 3000
    assert min(handled) > 0, "the broker split the stream between both bridges"
