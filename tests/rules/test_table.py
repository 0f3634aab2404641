"""Compiling rules against the registry, encoding batches, and saving state as rows."""

from __future__ import annotations

import numpy as np

from rules import kernels
from rules.model import parse_rule
from rules.state import from_rows, new_state, to_rows
from rules.table import Device, compile_table, encode
from tests.rules.strategies import DEVICES, same_state


def _rule(rule_id: str, **extra: object) -> object:
    return parse_rule(
        {
            "id": rule_id,
            "tenant_id": "t1",
            "kind": "threshold",
            "quantity": "pm10",
            "threshold": 50,
            **extra,
        }
    )


def test_selectors_pick_devices_of_the_tenant() -> None:
    other = Device("00000000000000c1", "t2", "air_quality", "north")
    rules = [
        _rule("all"),
        _rule("class", selector={"device_class": "waste_bin"}),
        _rule("zone", selector={"zone": "north"}),
        _rule("tag", selector={"tags": {"site": "school"}}),
        _rule("list", selector={"dev_euis": ["00000000000000a2", "00000000000000ff"]}),
    ]
    table = compile_table(rules, [*DEVICES, other])  # type: ignore[arg-type]
    watched = {
        r.id: [table.dev_euis[d] for d in table.pair_device[table.pair_rule == i]]
        for i, r in enumerate(table.rules)
    }
    assert watched == {
        "all": ["00000000000000a1", "00000000000000a2", "00000000000000b1"],
        "class": ["00000000000000b1"],
        "zone": ["00000000000000a1", "00000000000000b1"],
        "tag": ["00000000000000a1"],
        "list": ["00000000000000a2"],
    }
    assert (table.pair_of[table.pair_rule, table.pair_device] == np.arange(table.pairs)).all()


def test_encode_marks_what_no_rule_reads() -> None:
    table = compile_table([_rule("a"), _rule("b", channel="x", window="hourly_mean")], DEVICES)  # type: ignore[list-item]
    batch = encode(
        table, [0, 1, 2, 3], ["00000000000000a1", "ffffffffffffffff", "00000000000000a2", "00000000000000a1"],
        ["pm10", "pm10", "co2", "pm10"], ["", "", "", "x"], [1, 2, 3, 4],
    )  # fmt: skip
    assert batch.device.tolist() == [0, -1, 1, 0]
    assert batch.key.tolist() == [0, 0, -1, -1]  # channel x is read only as an hourly mean
    hourly = encode(table, [0], ["00000000000000a1"], ["pm10"], ["x"], [1], window="hourly_mean")
    assert hourly.key.tolist() == [1]


def test_state_rows_round_trip_and_survive_a_changed_table() -> None:
    table = compile_table([_rule("a", for_s=600), _rule("b")], DEVICES)  # type: ignore[list-item]
    batch = encode(
        table,
        [0, 10, 20],
        ["00000000000000a1"] * 2 + ["00000000000000a2"],
        ["pm10"] * 3,
        [""] * 3,
        [60, 61, 70],
    )
    state, _ = kernels.evaluate(table, new_state(table.pairs), batch)
    rows = to_rows(table, state)
    assert ("a", "00000000000000a1", False, 0.0, 61.0, 2, 61.0, 10.0, None) in rows
    assert ("b", "00000000000000a2", True, None, None, 0, 70.0, 20.0, 20.0) in rows
    assert same_state(from_rows(table, rows), state)
    # rule "a" deleted, a device added: the other pairs keep their state
    changed = compile_table([_rule("b")], [*DEVICES, Device("00000000000000a9", "t1")])  # type: ignore[list-item]
    loaded = from_rows(changed, rows)
    assert loaded.active.tolist() == [True, True, False, False]
