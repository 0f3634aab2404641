"""The pure step between MQTT and the database: model resolution, decoding, readings."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from ingest.pipeline import KnownDevice, Message, ModelResolver, flatten_numbers, process
from simulators.simulate import messages

START = datetime(2026, 11, 1, tzinfo=UTC)


def one_uplink(model: str, tags: dict[str, str] | None = None, profile: str = "x") -> Message:
    topic, payload = next(messages(1, 1, 3, START, "json", "", [model]))
    doc = orjson.loads(payload)
    doc["deviceInfo"]["tags"] = tags if tags is not None else {}
    doc["deviceInfo"]["deviceProfileName"] = profile
    return Message(topic, orjson.dumps(doc))


def dev_eui_of(message: Message) -> str:
    return str(orjson.loads(message.payload)["deviceInfo"]["devEui"])


def test_the_registry_model_wins_over_the_tag_and_the_profile() -> None:
    message = one_uplink("milesight-ws558", tags={"model": "decentlab-dl-pm"}, profile="P")
    resolver = ModelResolver(
        {dev_eui_of(message): KnownDevice("milesight-ws558")}, {"P": "decentlab-dl-mbx"}
    )

    row = process([message], resolver).batch.uplinks[0]

    assert row[5] == "milesight-ws558"
    assert row[17] == "ok"


def test_the_tag_comes_before_the_profile_mapping_which_is_the_last_resort() -> None:
    tagged = one_uplink("milesight-ws558", tags={"model": "milesight-ws558"}, profile="P")
    profiled = one_uplink("milesight-ws558", profile="P")
    resolver = ModelResolver({}, {"P": "milesight-ws558"})

    rows = process([tagged, profiled], resolver).batch.uplinks

    assert [r[5] for r in rows] == ["milesight-ws558", "milesight-ws558"]


def test_an_unknown_model_keeps_the_raw_uplink_flagged_and_chirpstack_object_numbers() -> None:
    message = one_uplink("milesight-ws558")
    doc = orjson.loads(message.payload)
    doc["object"] = {"temperature": 21.5, "nested": {"level": 3.0}, "label": "x", "flag": True}
    batch = process([Message(message.topic, orjson.dumps(doc))], ModelResolver({}, {})).batch

    assert batch.uplinks[0][17:] == ("no_decoder", "no model known")
    assert {(r[2], r[4]) for r in batch.readings} == {
        ("object.temperature", 21.5),
        ("object.nested_level", 3.0),
    }


def test_a_bin_height_in_the_registry_gives_a_fill_level() -> None:
    message = one_uplink("milesight-em310-udl")
    resolver = ModelResolver(
        {dev_eui_of(message): KnownDevice("milesight-em310-udl", {"bin_height_mm": 1200.0})}, {}
    )

    readings = {r[2]: r[4] for r in process([message], resolver).batch.readings}

    assert 0.0 <= readings["filling_level"] <= 100.0
    assert readings["filling_level"] == max(
        0.0, min(100.0, (1200.0 - readings["distance"]) / 1200.0 * 100.0)
    )


def test_a_malformed_message_is_rejected_without_stopping_the_others() -> None:
    good = one_uplink("milesight-ws558", tags={"model": "milesight-ws558"})

    batch = process([Message(good.topic, b"{oops"), good], ModelResolver({}, {})).batch

    assert len(batch.rejected) == 1
    assert "invalid JSON" in batch.rejected[0][3]
    assert len(batch.uplinks) == 1


def test_flatten_numbers_joins_keys_like_chirpstack() -> None:
    assert flatten_numbers({"a": {"b": 1, "c": {"d": 2.5}}, "e": None, "f": float("nan")}) == [
        ("a_b", 1.0),
        ("a_c_d", 2.5),
    ]
