"""Decentlab DL-MBX ultrasonic distance / level sensor, used on waste bins: distance only
(the fill level is derived from the bin height elsewhere), over the Decentlab protocol v2
framing (decoders/decentlab.py).

| bit | words | field                   | value from block words x0, x1 |
|-----|-------|-------------------------|-------------------------------|
| 0   | 2     | distance                | x0 mm                         |
|     |       | number_of_valid_samples | x1 (no unit)                  |
| 1   | 1     | battery_voltage         | x0 / 1000 V                   |

Periodic frame: flags 0x0003 (11 bytes).
Downlink: the Decentlab generic command frame on fPort 1 (see decoders/decentlab.py).

Source: chirpstack/chirpstack-device-profiles vendors/decentlab/codecs/dl-mbx.js and
test_decode_dl-mbx.json (by Decentlab); TheThingsNetwork/lorawan-devices
vendor/decentlab/dl-mbx-codec.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoders import decentlab
from decoders.codec import Reading
from decoders.decentlab import Canonical, Value, block, raw
from decoders.decentlab import command as command
from decoders.decentlab import reset as reset
from decoders.decentlab import set_adr as set_adr
from decoders.decentlab import set_period as set_period

MODEL = "decentlab-dl-mbx"
DEVICE_CLASS = "waste_bin"

SENSORS = (
    block(
        2,
        Value("distance", "Distance", "mm", raw),
        Value("number_of_valid_samples", "Number of valid samples", None, raw, (1,)),
    ),
    block(1, Value("battery_voltage", "Battery voltage", "V", lambda w: w / 1000)),
)
DEVICE = decentlab.Device(SENSORS)

NORMALIZATION: dict[str, Canonical] = {
    "distance": Canonical("distance"),
    "number_of_valid_samples": Canonical("valid_samples"),
    "battery_voltage": Canonical("battery_voltage"),
}

FIXED_FRAMES = (DEVICE.fixed_frame(0x0003, NORMALIZATION),)


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    """The vendor's output; any fPort, as the vendor decoder."""
    return DEVICE.decode(payload)


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    return decentlab.normalize(data, NORMALIZATION)


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    """fPort 1 and the frame that decodes to exactly `data` (values, not raw words)."""
    return 1, DEVICE.encode(data)


# The vendor's examples: distance and battery, battery only.
SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = tuple(
    DEVICE.decode(bytes.fromhex(frame)) for frame in ("02012f000304d200010bb1", "02012f00020bb1")
)
