"""What every device module produces: vendor fields, normalized readings, errors as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class DecodeError(Exception):
    """A payload its model's layout cannot explain; the message says what and where.

    `partial` holds what was decoded before the problem (Milesight decoders, for one, keep
    the items before an unknown channel); it is reported but yields no readings.
    """

    def __init__(self, message: str, partial: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.partial = partial or {}


@dataclass(frozen=True, slots=True)
class Reading:
    """One normalized measurement: a quantity of the vocabulary, on an optional channel.

    `channel` tells apart several values of one quantity in one frame: circuit "3" of a
    lighting controller, counting line "2" of a people counter. It is "" otherwise.
    """

    quantity: str
    value: float
    channel: str = ""


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """The outcome of decoding one payload, in the TTS/TS013 shape plus readings."""

    model: str
    data: dict[str, Any]
    readings: list[Reading] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class Downlink:
    """A frame to send to a device: ChirpStack `command/down` carries it as `fPort`/`data`."""

    f_port: int
    payload: bytes
    confirmed: bool = False
