"""The rules benchmark runs end to end and reports one flat dict (no timing asserted)."""

from __future__ import annotations

import json

from rules import benchmark


def test_benchmark_reports_both_engines_in_one_json_line() -> None:
    result = benchmark.run(readings=2_000, rules=14, reference_readings=200)
    line = json.dumps(result)
    assert "\n" not in line
    assert result["readings"] == 2_000
    assert result["rules"] == 14
    assert result["matched_events"] > 0
    assert result["vectorized_evaluations_per_s"] > 0
    assert result["reference_evaluations_per_s"] > 0
    assert result["speedup"] > 0
