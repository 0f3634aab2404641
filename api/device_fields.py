"""What a registry write sets on a device, and the checks across fields: a model the
decoders know and a class that agrees with it, a position given whole, and the parameters
other parts read (`bin_height_mm` for a bin's fill level, `report_interval_s` for silence)
as positive numbers. A change is a JSON merge patch (RFC 7396) of these fields."""

from __future__ import annotations

import math
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import decoders
from api.devices import DeviceClass
from decoders.derive import BIN_HEIGHT

# At most a month between reports: longer would make a device silent only after 3 months.
REPORT_INTERVAL_MAX_S = 31 * 24 * 3600
BIN_HEIGHT_MAX_MM = 10_000

TagKey = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^=;]+$")]
TagValue = Annotated[str, Field(max_length=500, pattern=r"^[^;]*$")]
ParamName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
ParamValue = bool | int | float | str
TenantId = Annotated[str, Field(min_length=1, max_length=64)]
Name = Annotated[str, Field(max_length=200)]
Zone = Annotated[str, Field(min_length=1, max_length=100)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, examples=[45.764])]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, examples=[4.8357])]


class Problem(NamedTuple):
    parameter: str
    message: str


class DeviceFields(BaseModel):
    """A device as the registry keeps it; what ChirpStack reports (last seen, application)
    is not written here."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: TenantId | None = None
    model: str | None = Field(default=None, description="a decoder model, or null")
    device_class: DeviceClass | None = Field(default=None, description="defaults to the model's")
    name: Name = ""
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    zone: Zone | None = None
    tags: dict[TagKey, TagValue] = Field(default_factory=dict)
    params: dict[ParamName, ParamValue] = Field(
        default_factory=dict,
        description=f"e.g. `{BIN_HEIGHT}` (a bin's height, mm), `report_interval_s`",
        examples=[{BIN_HEIGHT: 1200, "report_interval_s": 1800}],
    )

    @field_validator("model")
    @classmethod
    def known_model(cls, model: str | None) -> str | None:
        if model is not None and model not in decoders.MODELS:
            raise ValueError(
                f"unknown model {model!r}; known: {', '.join(sorted(decoders.MODELS))}"
            )
        return model


class DevicePatch(BaseModel):
    """Fields to change; null resets a field, and a key of tags or params set to null is
    removed (JSON merge patch)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: TenantId | None = None
    model: str | None = None
    device_class: DeviceClass | None = None
    name: Name | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    zone: Zone | None = None
    tags: dict[TagKey, TagValue | None] | None = None
    params: dict[ParamName, ParamValue | None] | None = None


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def positive_number(value: ParamValue, high: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 < value <= high
    )


def checked(fields: DeviceFields) -> tuple[DeviceFields, list[Problem]]:
    """The fields with the class of their model filled in, and what is wrong across them."""
    problems = []
    model_class = decoders.device_class(fields.model) if fields.model else None
    if fields.device_class is None and model_class is not None:
        fields = fields.model_copy(update={"device_class": model_class})
    elif model_class is not None and fields.device_class != model_class:
        problems.append(Problem("device_class", f"a {fields.model} is a {model_class}"))
    if (fields.latitude is None) != (fields.longitude is None):
        missing = "longitude" if fields.longitude is None else "latitude"
        problems.append(Problem(missing, "a position needs both latitude and longitude"))
    height = fields.params.get(BIN_HEIGHT)
    if height is not None and not positive_number(height, BIN_HEIGHT_MAX_MM):
        problems.append(
            Problem(f"params.{BIN_HEIGHT}", f"millimetres, a number in 0..{BIN_HEIGHT_MAX_MM}")
        )
    interval = fields.params.get("report_interval_s")
    if interval is not None and not positive_number(interval, REPORT_INTERVAL_MAX_S):
        problems.append(
            Problem("params.report_interval_s", f"seconds, a number in 0..{REPORT_INTERVAL_MAX_S}")
        )
    return fields, problems


def merged(stored: dict[str, Any], patch: dict[str, Any]) -> tuple[DeviceFields, list[Problem]]:
    """The stored fields changed by a merge patch, then checked."""
    try:
        fields = DeviceFields.model_validate(merge_patch(stored, patch))
    except ValidationError as exc:
        empty = DeviceFields()
        return empty, [
            Problem(".".join(str(p) for p in e["loc"]) or "body", e["msg"]) for e in exc.errors()
        ]
    return checked(fields)
