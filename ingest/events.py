"""ChirpStack v4 integration events, from MQTT topic and payload to one `Event`.

JSON of every v4 minor (unknown fields ignored, nested zero values absent, `rxInfo.time`
before 4.6, `regionConfigId` after 4.11) and binary protobuf (`[integration.mqtt]
json=false`), told apart by the first byte. A malformed event raises EventError saying
what is wrong and where; the bridge stores it raw with that reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

KINDS = ("up", "status", "join", "ack", "txack", "log", "location", "integration")
_DEV_EUI = re.compile(r"^[0-9a-fA-F]{16}$")


class EventError(ValueError):
    """An MQTT message that is not a valid ChirpStack v4 event."""


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    dev_eui: str
    time: datetime
    deduplication_id: str | None
    event_key: str
    tenant_id: str
    tenant_name: str
    application_id: str
    application_name: str
    device_profile_id: str
    device_profile_name: str
    device_name: str
    tags: dict[str, str]
    f_cnt: int | None = None
    f_port: int | None = None
    payload: bytes | None = None
    object: dict[str, Any] | None = None
    rssi: int | None = None
    snr: float | None = None
    gateway_count: int = 0
    dr: int | None = None
    adr: bool | None = None
    confirmed: bool | None = None
    dev_addr: str | None = None
    region_config_id: str | None = None
    radio: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)


def event_kind(topic: str) -> str:
    """The event type is the last topic segment; the topic depth is configurable upstream."""
    kind = topic.rsplit("/", 1)[-1]
    if kind not in KINDS:
        known = ", ".join(KINDS)
        raise EventError(f"unknown event kind {kind!r} in topic {topic!r} (known: {known})")
    return kind


def parse_event(topic: str, payload: bytes) -> Event:
    """Parse one ChirpStack v4 event published on `topic`."""
    kind = event_kind(topic)
    first = payload[:1]
    if first.isspace():  # rare: look past leading whitespace (copies the payload)
        first = payload.lstrip()[:1]
    if not first:
        raise EventError(f"empty payload for {kind} event on {topic!r}")
    if first in (b"{", b"["):  # a protobuf event never starts so
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise EventError(f"invalid JSON in {kind} event: {exc}") from None
    else:
        doc = protobuf_to_dict(kind, payload)
    if not isinstance(doc, dict):
        raise EventError(f"{kind} event must be a JSON object, got {type(doc).__name__}")
    return event_from_dict(kind, doc, payload)


def protobuf_messages() -> dict[str, type[Message]]:
    from chirpstack_api import integration

    return {
        "up": integration.UplinkEvent,
        "status": integration.StatusEvent,
        "join": integration.JoinEvent,
        "ack": integration.AckEvent,
        "txack": integration.TxAckEvent,
        "log": integration.LogEvent,
        "location": integration.LocationEvent,
    }


_MESSAGES: dict[str, type[Message]] = {}


def protobuf_to_dict(kind: str, payload: bytes) -> dict[str, Any]:
    if not _MESSAGES:
        _MESSAGES.update(protobuf_messages())
    if kind not in _MESSAGES:
        raise EventError(f"{kind} events exist only as JSON (ChirpStack removed them in 4.15)")
    try:
        message = _MESSAGES[kind].FromString(payload)
    except ProtobufDecodeError as exc:
        raise EventError(
            f"invalid protobuf for {kind} event ({len(payload)} bytes): {exc}"
        ) from None
    result: dict[str, Any] = json_format.MessageToDict(message)
    return result


DEVICE_TEXT = (
    "tenantId", "tenantName", "applicationId", "applicationName", "deviceProfileId",
    "deviceProfileName", "deviceName",
)  # fmt: skip


def event_from_dict(kind: str, doc: dict[str, Any], raw: bytes) -> Event:
    # Every message passes here: checks are inlined, each failure names its field.
    info = obj(doc, "deviceInfo")
    dev_eui = text(info, "devEui", "deviceInfo.devEui")
    if not _DEV_EUI.match(dev_eui):
        raise EventError(f"deviceInfo.devEui: expected 16 hex digits, got {dev_eui!r}")
    dedup = doc.get("deduplicationId")
    if dedup is not None:
        dedup = uuid_text(dedup, "deduplicationId")
    tenant_id, tenant_name, application_id, application_name, profile_id, profile_name, name = (
        device_text(info)
    )
    common: dict[str, Any] = {
        "kind": kind,
        "dev_eui": dev_eui.lower(),
        "time": event_time(kind, doc),
        "deduplication_id": dedup,
        "event_key": idempotency_key(kind, doc, dedup, raw),
        "tenant_id": tenant_id,
        "tenant_name": tenant_name,
        "application_id": application_id,
        "application_name": application_name,
        "device_profile_id": profile_id,
        "device_profile_name": profile_name,
        "device_name": name,
        "tags": string_map(info.get("tags"), "deviceInfo.tags"),
    }
    if kind == "up":
        return Event(**common, **uplink_fields(doc))
    return Event(**common, body=other_fields(kind, doc))


def device_text(info: dict[str, Any]) -> list[str]:
    """deviceInfo's text fields (DEVICE_TEXT), "" when absent."""
    values = []
    for key in DEVICE_TEXT:
        value = info.get(key, "")
        if value.__class__ is not str:
            value = text(info, key, f"deviceInfo.{key}", "")
        values.append(value)
    return values


def uplink_fields(doc: dict[str, Any]) -> dict[str, Any]:
    if doc.get("deduplicationId") is None:
        raise EventError("up event without deduplicationId")
    rx_info = doc.get("rxInfo", [])
    if not isinstance(rx_info, list):
        raise EventError("rxInfo: expected a list of objects")
    best: dict[str, Any] | None = None  # the gateway that heard it best, the first of equals
    best_signal = (0.0, 0.0)
    for rx in rx_info:
        if not isinstance(rx, dict):
            raise EventError("rxInfo: expected a list of objects")
        signal = (
            number(rx, "rssi", "rxInfo[].rssi", -999),
            number(rx, "snr", "rxInfo[].snr", -99.0),
        )
        if best is None or signal > best_signal:
            best, best_signal = rx, signal
    obj_value = doc.get("object")
    if obj_value is not None and not isinstance(obj_value, dict):
        raise EventError(f"object: expected an object, got {type(obj_value).__name__}")
    region = doc.get("regionConfigId") or first_metadata(rx_info, "region_config_id")
    return {
        "f_cnt": integer(doc, "fCnt", "fCnt", 0),
        "f_port": integer(doc, "fPort", "fPort", 0),
        "payload": base64_bytes(doc.get("data", ""), "data"),
        "object": obj_value,
        "rssi": int(number(best, "rssi", "rxInfo[].rssi", 0)) if best else None,
        "snr": float(number(best, "snr", "rxInfo[].snr", 0.0)) if best else None,
        "gateway_count": len(rx_info),
        "dr": integer(doc, "dr", "dr", 0),
        "adr": boolean(doc, "adr"),
        "confirmed": boolean(doc, "confirmed"),
        "dev_addr": text(doc, "devAddr", "devAddr", ""),
        "region_config_id": region or None,
        "radio": {"rxInfo": rx_info, "txInfo": doc.get("txInfo", {})},
    }


def other_fields(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    """The kind-specific fields, as ChirpStack names them, with defaults filled in."""
    if kind == "status":
        return {
            "margin": integer(doc, "margin", "margin", 0),
            "externalPowerSource": boolean(doc, "externalPowerSource"),
            "batteryLevelUnavailable": boolean(doc, "batteryLevelUnavailable"),
            "batteryLevel": float(number(doc, "batteryLevel", "batteryLevel", 0.0)),
        }
    if kind == "join":
        return {
            "devAddr": text(doc, "devAddr", "devAddr", ""),
            "regionConfigId": doc.get("regionConfigId", ""),
        }
    if kind == "ack":
        return {
            "queueItemId": text(doc, "queueItemId", "queueItemId", ""),
            "acknowledged": boolean(doc, "acknowledged"),
            "fCntDown": integer(doc, "fCntDown", "fCntDown", 0),
        }
    if kind == "txack":
        return {
            "downlinkId": integer(doc, "downlinkId", "downlinkId", 0),
            "queueItemId": text(doc, "queueItemId", "queueItemId", ""),
            "fCntDown": integer(doc, "fCntDown", "fCntDown", 0),
            "gatewayId": text(doc, "gatewayId", "gatewayId", ""),
            "txInfo": doc.get("txInfo", {}),
        }
    if kind == "log":
        return {
            "level": text(doc, "level", "level", "INFO"),
            "code": text(doc, "code", "code", "UNKNOWN"),
            "description": text(doc, "description", "description", ""),
            "context": string_map(doc.get("context"), "context"),
        }
    if kind == "integration":
        return {
            "integrationName": text(doc, "integrationName", "integrationName", ""),
            "eventType": text(doc, "eventType", "eventType", ""),
            "object": doc.get("object"),
        }
    location = obj(doc, "location") if "location" in doc else {}
    return {
        "latitude": float(number(location, "latitude", "location.latitude", 0.0)),
        "longitude": float(number(location, "longitude", "location.longitude", 0.0)),
        "altitude": float(number(location, "altitude", "location.altitude", 0.0)),
        "source": text(location, "source", "location.source", "UNKNOWN"),
        "accuracy": float(number(location, "accuracy", "location.accuracy", 0.0)),
    }


def idempotency_key(kind: str, doc: dict[str, Any], dedup: str | None, raw: bytes) -> str:
    """What makes a redelivered event the same row: ChirpStack reuses one deduplicationId
    for the up, status, join and ack of one uplink, so the kind is part of the key."""
    if kind == "txack":
        return f"{doc.get('queueItemId', '')}:{doc.get('downlinkId', '')}"
    if dedup is not None and kind != "log":
        return dedup
    return hashlib.sha256(raw).hexdigest()[:32]


def event_time(kind: str, doc: dict[str, Any]) -> datetime:
    value = doc.get("time")
    where = "time"
    if value is None and kind == "up":
        for rx in doc.get("rxInfo") or []:
            if isinstance(rx, dict):
                value = rx.get("nsTime") or rx.get("gwTime") or rx.get("time")
                where = "rxInfo[].time"
                if value:
                    break
    if value is None:
        raise EventError(f"{kind} event without time")
    return timestamp(value, where)


def timestamp(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise EventError(f"{where}: expected an RFC 3339 string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(f"{where}: not an RFC 3339 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        raise EventError(f"{where}: timestamp without offset: {value!r}")
    return moment


def obj(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        got = "nothing" if value is None else repr(value)[:40]
        raise EventError(f"{key}: expected an object, got {got}")
    return value


def text(doc: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = doc.get(key, default)
    if not isinstance(value, str):
        got = "nothing" if value is None else repr(value)[:40]
        raise EventError(f"{where}: expected a string, got {got}")
    return value


def integer(doc: dict[str, Any], key: str, where: str, default: int) -> int:
    value = doc.get(key, default)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)  # proto3 JSON allows integers as strings
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError(f"{where}: expected an integer, got {value!r}"[:120])
    return int(value)


def number(doc: dict[str, Any], key: str, where: str, default: float) -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EventError(f"{where}: expected a number, got {value!r}"[:120])
    return float(value)


def boolean(doc: dict[str, Any], key: str) -> bool:
    value = doc.get(key, False)
    if not isinstance(value, bool):
        raise EventError(f"{key}: expected true or false, got {value!r}"[:120])
    return value


def string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise EventError(f"{where}: expected an object of strings, got {value!r}"[:120])
    return value


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def uuid_text(value: Any, where: str) -> str:
    if value.__class__ is str and _CANONICAL_UUID.fullmatch(value):
        return str(value)  # already as uuid.UUID would write it
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise EventError(f"{where}: expected a UUID, got {value!r}"[:120]) from None


def base64_bytes(value: Any, where: str) -> bytes:
    """Standard or URL-safe alphabet, padded or not, as pbjson accepts."""
    if not isinstance(value, str):
        raise EventError(f"{where}: expected a base64 string, got {value!r}"[:120])
    cleaned = value
    if "-" in value or "_" in value:
        cleaned = value.replace("-", "+").replace("_", "/")
    if len(cleaned) % 4:
        cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise EventError(f"{where}: invalid base64 {value[:40]!r}") from None


def first_metadata(rx_info: list[dict[str, Any]], key: str) -> str | None:
    for rx in rx_info:
        metadata = rx.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get(key), str):
            return str(metadata[key])
    return None
