"""From a batch of MQTT messages to the rows of one transaction: parse, pick the model,
decode (batch path), normalize. Pure: the registry snapshot comes in as an argument."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import decoders
from ingest.events import Event, EventError, parse_event
from ingest.store import WriteBatch


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class KnownDevice:
    """What the registry says of a device: its model and parameters (e.g. bin height)."""

    model: str | None
    params: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelResolver:
    """A device's model comes from the registry, then the ChirpStack device tag `model`,
    then the configured device-profile-name mapping."""

    registry: Mapping[str, KnownDevice]
    profile_models: Mapping[str, str]

    def model_of(self, event: Event) -> str | None:
        known = self.registry.get(event.dev_eui)
        if known and known.model:
            return known.model
        tagged = event.tags.get("model")
        if tagged:
            return tagged
        return self.profile_models.get(event.device_profile_name)

    def params_of(self, dev_eui: str) -> Mapping[str, float]:
        known = self.registry.get(dev_eui)
        return known.params if known else {}


@dataclass
class Processed:
    batch: WriteBatch
    events: list[Event]


def message_key(message: Message) -> str:
    digest = hashlib.sha256(message.topic.encode() + b"\0" + message.payload)
    return digest.hexdigest()


def process(messages: Sequence[Message], resolver: ModelResolver) -> Processed:
    batch = WriteBatch()
    events: list[Event] = []
    for message in messages:
        try:
            events.append(parse_event(message.topic, message.payload))
        except EventError as exc:
            batch.rejected.append((message_key(message), message.topic, message.payload, str(exc)))
    uplinks = [e for e in events if e.kind == "up"]
    models = [resolver.model_of(e) for e in uplinks]
    outcomes = decode_uplinks(uplinks, models, resolver)
    for event, model, (status, error) in zip(uplinks, models, outcomes, strict=True):
        batch.uplinks.append(uplink_row(event, model, status, error))
    for reading in outcomes.readings:
        batch.readings.append(reading)
    for event in events:
        if event.kind != "up":
            batch.events.append(
                (
                    event.time,
                    event.kind,
                    event.event_key,
                    event.dev_eui,
                    event.tenant_id or None,
                    event.body,
                )
            )
            batch.readings.extend(status_readings(event))
    batch.devices.extend(device_rows(events, resolver))
    return Processed(batch, events)


class Outcomes(list[tuple[str, str | None]]):
    """Per uplink (decode_status, reason), plus the readings of the whole batch."""

    def __init__(self, size: int) -> None:
        super().__init__([("no_payload", None)] * size)
        self.readings: list[tuple[Any, str, str, str, float, str | None]] = []


def decode_uplinks(
    uplinks: Sequence[Event], models: Sequence[str | None], resolver: ModelResolver
) -> Outcomes:
    outcomes = Outcomes(len(uplinks))
    by_model: dict[str, list[int]] = defaultdict(list)
    for i, (event, model) in enumerate(zip(uplinks, models, strict=True)):
        if not event.payload:
            continue
        if model is None or model not in decoders.MODELS:
            outcomes[i] = (
                "no_decoder",
                f"no decoder for model {model!r}" if model else "no model known",
            )
            outcomes.readings.extend(object_readings(event))
            continue
        by_model[model].append(i)
    for model, rows in by_model.items():
        chosen = [uplinks[i] for i in rows]
        heights = np.array(
            [float(resolver.params_of(e.dev_eui).get("bin_height_mm", np.nan)) for e in chosen]
        )
        result = decoders.decode_batch(
            model, [e.f_port or 0 for e in chosen], [e.payload or b"" for e in chosen], heights
        )
        for j, i in enumerate(rows):
            error = result.errors.get(j)
            outcomes[i] = ("error", error) if error else ("ok", None)
        r = result.readings
        for row, key, value in zip(r.row.tolist(), r.key.tolist(), r.value.tolist(), strict=True):
            event = chosen[row]
            quantity, channel = r.keys[key]
            outcomes.readings.append(
                (event.time, event.dev_eui, quantity, channel, value, event.deduplication_id)
            )
    return outcomes


def object_readings(event: Event) -> list[tuple[Any, str, str, str, float, str | None]]:
    """ChirpStack's own codec output (`object`) for devices we have no decoder for:
    its numeric fields become generic readings named `object.<key_path>`."""
    if not event.object:
        return []
    return [
        (event.time, event.dev_eui, f"object.{path}", "", value, event.deduplication_id)
        for path, value in flatten_numbers(event.object)
    ]


def flatten_numbers(doc: Mapping[str, Any], prefix: str = "") -> list[tuple[str, float]]:
    found: list[tuple[str, float]] = []
    for key, value in doc.items():
        path = f"{prefix}_{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            found.extend(flatten_numbers(value, path))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            found.append((path, float(value)))
    return found


def status_readings(event: Event) -> list[tuple[Any, str, str, str, float, str | None]]:
    """DevStatusAns gives the battery and the link margin; channel tells them from the
    device's own battery reading."""
    if event.kind != "status":
        return []
    rows: list[tuple[Any, str, str, str, float, str | None]] = [
        (event.time, event.dev_eui, "link_margin", "network", float(event.body["margin"]), None)
    ]
    if not event.body["externalPowerSource"] and not event.body["batteryLevelUnavailable"]:
        rows.append(
            (
                event.time,
                event.dev_eui,
                "battery_level",
                "network",
                float(event.body["batteryLevel"]),
                None,
            )
        )
    return rows


def uplink_row(event: Event, model: str | None, status: str, error: str | None) -> tuple[Any, ...]:
    return (
        event.time, event.deduplication_id, event.dev_eui, event.tenant_id or None,
        event.application_id or None, model, event.f_cnt, event.f_port, event.dr, event.adr,
        event.confirmed, event.payload or b"", event.object, event.rssi, event.snr,
        event.gateway_count, event.radio, status, error,
    )  # fmt: skip


def device_rows(events: Sequence[Event], resolver: ModelResolver) -> list[tuple[Any, ...]]:
    rows = []
    for event in events:
        model = resolver.model_of(event) if event.kind == "up" else None
        rows.append(
            (
                event.dev_eui, event.tenant_id, event.tenant_name, event.device_name,
                event.application_id or None, event.device_profile_name or None, event.tags,
                model, decoders.device_class(model) if model else None,
                event.time, event.f_cnt,
            )
        )  # fmt: skip
    return rows
