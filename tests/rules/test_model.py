"""Rules as data: round trips through JSON, and refusals that say why."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rules.model import RuleError, parse_rule

BASE: dict[str, Any] = {
    "id": "r1",
    "tenant_id": "t1",
    "kind": "threshold",
    "quantity": "pm10",
    "threshold": 50,
}


def test_rule_round_trips_through_json() -> None:
    data = {
        **BASE,
        "clear_threshold": 40,
        "window": "mean_24h",
        "selector": {
            "device_class": "air_quality",
            "tags": {"site": "school"},
            "dev_euis": ["0004a30b001c0530"],
        },
        "for_s": 600,
        "count": 2,
        "renotify_s": 3600,
        "actions": [
            {"type": "webhook", "url": "https://ops.example/hook", "secret": "s"},
            {"type": "mqtt", "topic": "city/alerts"},
            {"type": "downlink", "f_port": 10, "payload_hex": "0a01"},
        ],
    }
    rule = parse_rule(data)
    assert parse_rule(json.loads(json.dumps(rule.to_dict()))) == rule
    assert rule.clear == 40
    assert parse_rule(BASE).clear == 50  # no clear threshold: no hysteresis


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"quantity": "pm25"},
            "quantity: 'pm25' is not in the vocabulary (decoders.QUANTITIES); did you mean 'pm2_5'?",
        ),
        (
            {"clear_threshold": 60},
            "clear_threshold: 60 is on the wrong side of threshold 50; for direction 'above' it must be at or below",
        ),
        (
            {"direction": "below", "clear_threshold": 40},
            "clear_threshold: 40 is on the wrong side of threshold 50; for direction 'below' it must be at or above",
        ),
        ({"threshold": None}, "threshold: a threshold rule needs a threshold"),
        ({"threshold": float("nan")}, "threshold: Input should be a finite number"),
        ({"count": 0}, "count: Input should be greater than or equal to 1"),
        ({"window": "mean_1y"}, "window: Input should be"),
        (
            {"kind": "battery_low"},
            "battery_low watches battery_level or battery_voltage going below",
        ),
        (
            {"kind": "rate_of_change", "direction": "below"},
            "rate_of_change compares |Δvalue/Δt| per hour",
        ),
        ({"kind": "silence", "for_s": 600}, "a silence rule watches the device's last uplink"),
        ({"selector": {"device_class": "bench"}}, "selector.device_class: 'bench' is not one of"),
        ({"selector": {"dev_euis": ["XYZ"]}}, "selector.dev_euis.0: String should match pattern"),
        (
            {"actions": [{"type": "downlink", "f_port": 10}]},
            "give exactly one of payload_hex or command",
        ),
        ({"actions": [{"type": "mqtt", "topic": "city/#"}]}, "actions.0.mqtt.topic"),
        ({"severity": "loud"}, "severity: Input should be"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_invalid_rules_are_refused_with_the_reason(change: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError) as refused:
        parse_rule({**BASE, **change})
    assert str(refused.value).startswith("rule r1: ")
    assert message in str(refused.value)


def test_silence_rule_needs_only_a_time() -> None:
    rule = parse_rule({"id": "s", "tenant_id": "t1", "kind": "silence", "for_s": 3600})
    assert rule.quantity is None
    with pytest.raises(RuleError, match="for_s: a silence rule needs the silent time"):
        parse_rule({"id": "s", "tenant_id": "t1", "kind": "silence"})
