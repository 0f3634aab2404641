"""Scenario files: the shipped ones load; a file with an error is refused at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.nodes import ScenarioError
from simulators.scenario import load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

GOOD = """\
name: t
city: {name: T, latitude: 45.0, longitude: 4.0, timezone: Europe/Paris}
zones:
  - {name: a, kind: centre, box: [45.0, 4.0, 45.01, 4.01]}
  - {name: b, kind: park, box: [45.01, 4.0, 45.02, 4.01]}
gateways:
  - {name: g, latitude: 45.01, longitude: 4.005}
fleets:
  - class: waste_bin
    model: milesight-em310-udl
    count: 3
    interval_s: 600
"""


def test_the_shipped_scenarios_load() -> None:
    small = load_scenario(SCENARIOS / "small-town.yaml")
    city = load_scenario(SCENARIOS / "city-200k.yaml")

    assert 100 <= small.device_count <= 200
    assert 31_000 <= city.device_count <= 33_000
    streetlights = sum(f.count for f in city.fleets if f.device_class == "streetlight")
    assert streetlights / city.device_count > 0.9


def refused(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "scenarios/x.yaml")
    return str(caught.value)


def test_an_unknown_model_is_refused_at_its_line_with_the_known_ones() -> None:
    message = refused(GOOD.replace("milesight-em310-udl", "foo"))
    assert message.startswith("scenarios/x.yaml line 10: unknown model 'foo' for waste_bin")
    assert "milesight-em310-udl" in message


def test_a_negative_interval_is_refused_at_its_line() -> None:
    message = refused(GOOD.replace("interval_s: 600", "interval_s: -5"))
    assert message == "scenarios/x.yaml line 12: must be more than 0, got -5"


def test_overlapping_zones_are_refused_at_the_second_zone() -> None:
    message = refused(GOOD.replace("[45.01, 4.0, 45.02, 4.01]", "[45.005, 4.0, 45.02, 4.01]"))
    assert message == "scenarios/x.yaml line 5: zone 'b' overlaps zone 'a'"


def test_unknown_keys_zones_gateways_and_broken_yaml_point_at_their_line() -> None:
    assert "line 13: unknown key 'colour'" in refused(GOOD + "    colour: red\n")
    assert "line 2: unknown time zone 'Mars/Olympus'" in refused(
        GOOD.replace("Europe/Paris", "Mars/Olympus")
    )
    bad_zone = GOOD + "    zones: [nowhere]\n"
    assert "line 13: unknown zone 'nowhere'" in refused(bad_zone)
    bad_gateway = GOOD + "faults:\n  gateway_outage:\n    - {gateway: x, at_s: 1, for_s: 2}\n"
    assert "line 15: unknown gateway 'x'" in refused(bad_gateway)
    assert refused(GOOD + "\tbad: 1\n").startswith("scenarios/x.yaml line 13:")


def test_frame_counter_faults_and_checks_are_read() -> None:
    text = GOOD + "    skip_fcnt_check: true\nfaults:\n"
    scenario = parse_scenario(
        text + "  fcnt_reset: {per_device_per_day: 0.5, rejoin_after_uplinks: 0}\n", "x.yaml"
    )
    assert scenario.fleets[0].skip_fcnt_check
    assert (scenario.faults.fcnt_reset_per_day, scenario.faults.rejoin_after_uplinks) == (0.5, 0)
    default = parse_scenario(GOOD + "faults:\n  fcnt_reset: {per_device_per_day: 1}\n", "x.yaml")
    assert not default.fleets[0].skip_fcnt_check
    assert default.faults.rejoin_after_uplinks == 8
    message = refused(GOOD + "    skip_fcnt_check: sometimes\n")
    assert message == "scenarios/x.yaml line 13: expected true or false, got 'sometimes'"
    negative = refused(text + "  fcnt_reset: {per_device_per_day: 1, rejoin_after_uplinks: -1}\n")
    assert negative == "scenarios/x.yaml line 15: must be at least 0, got -1"
