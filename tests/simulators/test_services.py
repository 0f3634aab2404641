"""The simulator against the real Mosquitto and TimescaleDB: the CI fixture, replay, demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.pytest_plugin import CityRunner, wait_settled
from simulators.recording import read_recording, replay
from simulators.run import record_scenario
from tests.services import ServiceEnv
from urbanpulse import demo

SMALL_TOWN = str(Path(__file__).resolve().parents[2] / "scenarios" / "small-town.yaml")


@pytest.mark.services
def test_the_ci_fixture_runs_a_scenario_and_waits_until_the_backend_has_settled(
    env: ServiceEnv,
) -> None:
    env.start_bridge().wait_subscribed()

    run = CityRunner(env.settings, env.prefix).run(SMALL_TOWN, seed=3, hours=1.0)

    assert run.uplinks > 300
    assert set(run.by_class) == {"streetlight", "waste_bin", "air_quality", "people_counter"}
    assert run.stats["uplinks"] >= run.uplinks
    assert run.stats["decode_errors"] >= 0
    assert run.stats["readings"] > run.uplinks


@pytest.mark.services
def test_a_recorded_run_replays_into_the_backend(env: ServiceEnv, tmp_path: Path) -> None:
    out = tmp_path / "town.jsonl.gz"
    recorded = record_scenario(SMALL_TOWN, 4, None, 1800.0, "json", str(out))
    header, messages = read_recording(out)
    ups = {p for _, t, p in messages if t.endswith("/up")}
    env.start_bridge().wait_subscribed()

    result = replay(env.settings.mqtt_host, env.settings.mqtt_port, str(out), 0, env.prefix)

    assert result["replayed"] == recorded["recorded"]
    assert header["source"].startswith("scenario")
    counts = wait_settled(env.settings.database_url, len(ups) // 2, timeout_s=30)
    assert counts["uplinks"] >= len(ups) * 0.9


@pytest.mark.services
def test_the_demo_runs_the_whole_system_and_stops_after_its_duration(
    env: ServiceEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.run(env.settings, speed=1440, duration_s=6, scenario_path=SMALL_TOWN) == 0

    out = capsys.readouterr().out
    assert "/docs" in out
    assert "published" in out
    assert env.scalar("select count(*) from uplinks") > 0
