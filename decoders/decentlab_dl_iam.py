"""Decentlab DL-IAM indoor ambiance monitor: temperature, humidity, pressure, light, CO2,
PIR activity and TVOC, over the Decentlab protocol v2 framing (decoders/decentlab.py).

| bit | words | field                          | value from block words x0, x1, x2       |
|-----|-------|--------------------------------|-----------------------------------------|
| 0   | 1     | battery_voltage                | x0 / 1000 V                             |
| 1   | 2     | air_temperature                | 175 * x0 / 65535 - 45 °C                |
|     |       | air_humidity                   | 100 * x1 / 65535 %                      |
| 2   | 1     | barometric_pressure            | x0 * 2 Pa                               |
| 3   | 2     | ambient_light_visible_infrared | x0 (no unit)                            |
|     |       | ambient_light_infrared         | x1 (no unit)                            |
|     |       | illuminance                    | max(x0 - 1.64 x1, 0.59 x0 - 0.86 x1, 0) |
|     |       |                                | * 1.5504 lx                             |
| 4   | 3     | co2_concentration              | x0 - 32768 ppm                          |
|     |       | co2_sensor_status              | x1 (no unit)                            |
|     |       | raw_ir_reading                 | x2 (no unit)                            |
| 5   | 1     | activity_counter               | x0, PIR activations (no unit)           |
| 6   | 1     | total_voc                      | x0 ppb                                  |

Periodic frames: flags 0x007F (with CO2 sensor, 27 bytes), 0x006F (without, 21 bytes).
Downlink: the Decentlab generic command frame on fPort 1 (see decoders/decentlab.py).

Source: chirpstack/chirpstack-device-profiles vendors/decentlab/codecs/dl-iam.js and
test_decode_dl-iam.json (by Decentlab); TheThingsNetwork/lorawan-devices
vendor/decentlab/dl-iam-codec.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from decoders import decentlab
from decoders.codec import Reading
from decoders.decentlab import Canonical, Num, Value, block, pa_to_hpa, raw
from decoders.decentlab import command as command
from decoders.decentlab import reset as reset
from decoders.decentlab import set_adr as set_adr
from decoders.decentlab import set_period as set_period

MODEL = "decentlab-dl-iam"
DEVICE_CLASS = "air_quality"


def _illuminance(visible_infrared: Num, infrared: Num) -> Num:
    visible = np.maximum(
        1.0 * visible_infrared - 1.64 * infrared, 0.59 * visible_infrared - 0.86 * infrared
    )
    lux: Num = np.maximum(visible, 0) * 1.5504
    return lux


SENSORS = (
    block(1, Value("battery_voltage", "Battery voltage", "V", lambda w: w / 1000)),
    block(
        2,
        Value("air_temperature", "Air temperature", "°C", lambda w: 175 * w / 65535 - 45),
        Value("air_humidity", "Air humidity", "%", lambda w: 100 * w / 65535, (1,)),
    ),
    block(1, Value("barometric_pressure", "Barometric pressure", "Pa", lambda w: w * 2)),
    block(
        2,
        Value("ambient_light_visible_infrared", "Ambient light (visible + infrared)", None, raw),
        Value("ambient_light_infrared", "Ambient light (infrared)", None, raw, (1,)),
        Value("illuminance", "Illuminance", "lx", _illuminance, (0, 1)),
    ),
    block(
        3,
        Value("co2_concentration", "CO2 concentration", "ppm", lambda w: w - 32768),
        Value("co2_sensor_status", "CO2 sensor status", None, raw, (1,)),
        Value("raw_ir_reading", "Raw IR reading", None, raw, (2,)),
    ),
    block(1, Value("activity_counter", "Activity counter", None, raw)),
    block(1, Value("total_voc", "Total VOC", "ppb", raw)),
)
DEVICE = decentlab.Device(SENSORS)

# The raw light channels and the CO2 sensor's status and IR reading are the inputs of the
# calibrated illuminance and CO2 values: no reading of their own.
NORMALIZATION: dict[str, Canonical] = {
    "battery_voltage": Canonical("battery_voltage"),
    "air_temperature": Canonical("temperature"),
    "air_humidity": Canonical("relative_humidity"),
    "barometric_pressure": Canonical("atmospheric_pressure", convert=pa_to_hpa),
    "illuminance": Canonical("illuminance"),
    "co2_concentration": Canonical("co2"),
    "activity_counter": Canonical("motion_count"),
    "total_voc": Canonical("tvoc_ppb"),
}

FIXED_FRAMES = (
    DEVICE.fixed_frame(0x007F, NORMALIZATION),
    DEVICE.fixed_frame(0x006F, NORMALIZATION),
)


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    """The vendor's output; any fPort, as the vendor decoder."""
    return DEVICE.decode(payload)


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    return decentlab.normalize(data, NORMALIZATION)


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    """fPort 1 and the frame that decodes to exactly `data` (values, not raw words)."""
    return 1, DEVICE.encode(data)


# The vendor's examples: all sensors, without CO2, battery only.
SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = tuple(
    DEVICE.decode(bytes.fromhex(frame))
    for frame in (
        "020bbd007f0b926a515d48bc4e0262006981c7000093d4000b0111",
        "020bbd006f0b926a515d48bc4e02620069000b0111",
        "020bbd00010b92",
    )
)
