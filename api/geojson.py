"""Devices as GeoJSON (RFC 7946): a Point at [longitude, latitude] in WGS 84, the device's
other fields as properties; a device without a position has a null geometry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MEDIA_TYPE = "application/geo+json"
POSITION = ("latitude", "longitude")


def feature(device: Mapping[str, Any]) -> dict[str, Any]:
    latitude, longitude = device.get("latitude"), device.get("longitude")
    geometry = (
        None
        if latitude is None or longitude is None
        else {"type": "Point", "coordinates": [longitude, latitude]}
    )
    properties = {k: v for k, v in device.items() if k not in POSITION}
    return {
        "type": "Feature",
        "id": device["dev_eui"],
        "geometry": geometry,
        "properties": properties,
    }


def collection(devices: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [feature(d) for d in devices]}


def wanted(format_: str | None, accept: str | None) -> bool:
    """GeoJSON when asked by `format=geojson`, or by the Accept header when no format is given."""
    if format_ is not None:
        return format_ == "geojson"
    return MEDIA_TYPE in (accept or "")


POINT = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"const": "Point"},
        "coordinates": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 2,
            "maxItems": 2,
            "description": "[longitude, latitude]",
        },
    },
}
FEATURE_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "id", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "id": {"type": "string"},
                    "geometry": {"anyOf": [POINT, {"type": "null"}]},
                    "properties": {"type": "object", "description": "the device's fields"},
                },
            },
        },
    },
}
OPENAPI_CONTENT: dict[str, Any] = {MEDIA_TYPE: {"schema": FEATURE_COLLECTION}}
