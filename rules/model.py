"""Rules as data: one validated, frozen `Rule` per alert definition, loaded from and dumped
to plain dicts (a jsonb column, the API). Anything invalid is refused with one `RuleError`
whose message names the field and says why."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, ValidationError, model_validator

from decoders.quantities import QUANTITIES
from decoders.registry import DEVICE_CLASSES

# Quantities the engine derives itself (rules/forecast, airindex, derived); they
# reach the kernels as readings like any other.
DERIVED: dict[str, str] = {
    "bin_hours_to_full": "h",
    "air_index": "1",
    "lamp_fault": "1",
    "people_ratio_last_week": "1",
}
BATTERY = ("battery_level", "battery_voltage")

Kind = Literal["threshold", "rate_of_change", "silence", "battery_low"]
Window = Literal["raw", "hourly_mean", "daily_max_hourly_mean", "mean_24h", "running_mean_8h"]
WINDOWS: tuple[str, ...] = get_args(Window)


class RuleError(ValueError):
    """A rule that cannot be used; the message names the field and why."""


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Webhook(_Data):
    type: Literal["webhook"]
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    secret: str = ""


class Mqtt(_Data):
    type: Literal["mqtt"]
    topic: Annotated[str, Field(pattern=r"^[^#+\s]+$")]


class Downlink(_Data):
    """A ChirpStack downlink: raw `payload_hex`, or a `command` the device module encodes."""

    type: Literal["downlink"]
    f_port: Annotated[int, Field(ge=1, le=223)]
    payload_hex: Annotated[str, Field(pattern=r"^([0-9a-fA-F]{2})+$")] | None = None
    command: str | None = None

    @model_validator(mode="after")
    def _one_payload(self) -> Downlink:
        if (self.payload_hex is None) == (self.command is None):
            raise ValueError("downlink: give exactly one of payload_hex or command")
        return self


Action = Annotated[Webhook | Mqtt | Downlink, Field(discriminator="type")]


class Selector(_Data):
    """Which devices of the rule's tenant it watches; every given criterion must hold."""

    device_class: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    zone: str | None = None
    dev_euis: tuple[Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")], ...] = ()


class Rule(_Data):
    """An alert definition. Threshold semantics (edges, NaN, durations) are in kernels.py."""

    id: Annotated[str, Field(min_length=1)]
    tenant_id: Annotated[str, Field(min_length=1)]
    name: str = ""
    kind: Kind
    quantity: str | None = None
    channel: str = ""
    window: Window = "raw"
    selector: Selector = Field(default_factory=Selector)
    direction: Literal["above", "below"] = "above"
    threshold: FiniteFloat | None = None
    clear_threshold: FiniteFloat | None = None
    for_s: Annotated[FiniteFloat, Field(ge=0)] = 0.0
    count: Annotated[int, Field(ge=1)] = 1
    severity: Literal["info", "warning", "major", "critical"] = "warning"
    renotify_s: Annotated[FiniteFloat, Field(gt=0)] | None = None
    actions: tuple[Action, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        problem = _problem(self)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def clear(self) -> float:
        """The clear threshold, the threshold itself when none is given (no hysteresis)."""
        assert self.threshold is not None
        return self.threshold if self.clear_threshold is None else self.clear_threshold

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _problem(rule: Rule) -> str:
    device_class = rule.selector.device_class
    if device_class is not None and device_class not in DEVICE_CLASSES:
        return f"selector.device_class: {device_class!r} is not one of {', '.join(DEVICE_CLASSES)}"
    if rule.kind == "silence":
        if rule.quantity is not None or rule.threshold is not None:
            return "quantity/threshold: a silence rule watches the device's last uplink and takes neither"
        return "" if rule.for_s > 0 else "for_s: a silence rule needs the silent time T > 0 s"
    if rule.quantity is None:
        return f"quantity: a {rule.kind} rule needs a quantity"
    if rule.quantity not in QUANTITIES and rule.quantity not in DERIVED:
        close = difflib.get_close_matches(rule.quantity, [*QUANTITIES, *DERIVED], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"quantity: {rule.quantity!r} is not in the vocabulary (decoders.QUANTITIES){hint}"
    if rule.threshold is None:
        return f"threshold: a {rule.kind} rule needs a threshold"
    if rule.kind == "battery_low" and (rule.quantity not in BATTERY or rule.direction != "below"):
        return f"quantity/direction: battery_low watches {' or '.join(BATTERY)} going below"
    if rule.kind == "rate_of_change" and (rule.direction != "above" or rule.window != "raw"):
        return (
            "direction/window: rate_of_change compares |Δvalue/Δt| per hour of raw readings, above"
        )
    above = rule.direction == "above"
    if rule.clear > rule.threshold if above else rule.clear < rule.threshold:
        need = "at or below" if above else "at or above"
        return (
            f"clear_threshold: {rule.clear:g} is on the wrong side of threshold "
            f"{rule.threshold:g}; for direction {rule.direction!r} it must be {need} the threshold"
        )
    return ""


def parse_rule(data: Mapping[str, Any]) -> Rule:
    """A Rule from a plain dict (jsonb, an API body); RuleError says what is wrong."""
    try:
        return Rule.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        rule_id = data.get("id", "?")
        raise RuleError(f"rule {rule_id}: {where + ': ' if where else ''}{message}") from None
