"""Decentlab DL-PM particulate matter sensor (Sensirion SPS30) with temperature, humidity
and barometric pressure, over the Decentlab protocol v2 framing (decoders/decentlab.py).

| bit | words | field                      | value from block words x0 ... x9      |
|-----|-------|----------------------------|---------------------------------------|
| 0   | 1     | battery_voltage            | x0 / 1000 V                           |
| 1   | 10    | pm1_0_mass_concentration   | x0 / 10 µg⋅m⁻³                        |
|     |       | pm2_5_mass_concentration   | x1 / 10 µg⋅m⁻³                        |
|     |       | pm4_mass_concentration     | x2 / 10 µg⋅m⁻³                        |
|     |       | pm10_mass_concentration    | x3 / 10 µg⋅m⁻³                        |
|     |       | typical_particle_size      | x4 nm                                 |
|     |       | pm0_5_number_concentration | x5 / 10 1⋅cm⁻³                        |
|     |       | pm1_0_number_concentration | x6 / 10 1⋅cm⁻³                        |
|     |       | pm2_5_number_concentration | x7 / 10 1⋅cm⁻³                        |
|     |       | pm4_number_concentration   | x8 / 10 1⋅cm⁻³                        |
|     |       | pm10_number_concentration  | x9 / 10 1⋅cm⁻³                        |
| 2   | 2     | air_temperature            | 175.72 * x0 / 65536 - 46.85 °C        |
|     |       | air_humidity               | 125 * x1 / 65536 - 6 %                |
| 3   | 1     | barometric_pressure        | x0 * 2 Pa                             |

Periodic frame: flags 0x000F (33 bytes).
Downlink: the Decentlab generic command frame on fPort 1 (see decoders/decentlab.py).

Source: chirpstack/chirpstack-device-profiles vendors/decentlab/codecs/dl-pm.js and
test_decode_dl-pm.json (by Decentlab; units on the number concentrations, which the older
TheThingsNetwork/lorawan-devices vendor/decentlab/dl-pm.js lacks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoders import decentlab
from decoders.codec import Reading
from decoders.decentlab import Canonical, Num, Value, block, pa_to_hpa, raw
from decoders.decentlab import command as command
from decoders.decentlab import reset as reset
from decoders.decentlab import set_adr as set_adr
from decoders.decentlab import set_period as set_period

MODEL = "decentlab-dl-pm"
DEVICE_CLASS = "air_quality"

MASS = "µg⋅m⁻³"
NUMBER = "1⋅cm⁻³"


def _tenths(word: Num) -> Num:
    return word / 10


SENSORS = (
    block(1, Value("battery_voltage", "Battery voltage", "V", lambda w: w / 1000)),
    block(
        10,
        Value("pm1_0_mass_concentration", "PM1.0 mass concentration", MASS, _tenths),
        Value("pm2_5_mass_concentration", "PM2.5 mass concentration", MASS, _tenths, (1,)),
        Value("pm4_mass_concentration", "PM4 mass concentration", MASS, _tenths, (2,)),
        Value("pm10_mass_concentration", "PM10 mass concentration", MASS, _tenths, (3,)),
        Value("typical_particle_size", "Typical particle size", "nm", raw, (4,)),
        Value("pm0_5_number_concentration", "PM0.5 number concentration", NUMBER, _tenths, (5,)),
        Value("pm1_0_number_concentration", "PM1.0 number concentration", NUMBER, _tenths, (6,)),
        Value("pm2_5_number_concentration", "PM2.5 number concentration", NUMBER, _tenths, (7,)),
        Value("pm4_number_concentration", "PM4 number concentration", NUMBER, _tenths, (8,)),
        Value("pm10_number_concentration", "PM10 number concentration", NUMBER, _tenths, (9,)),
    ),
    block(
        2,
        Value("air_temperature", "Air temperature", "°C", lambda w: 175.72 * w / 65536 - 46.85),
        Value("air_humidity", "Air humidity", "%", lambda w: 125 * w / 65536 - 6, (1,)),
    ),
    block(1, Value("barometric_pressure", "Barometric pressure", "Pa", lambda w: w * 2)),
)
DEVICE = decentlab.Device(SENSORS)

NORMALIZATION: dict[str, Canonical] = {
    "battery_voltage": Canonical("battery_voltage"),
    "pm1_0_mass_concentration": Canonical("pm1"),
    "pm2_5_mass_concentration": Canonical("pm2_5"),
    "pm4_mass_concentration": Canonical("pm4"),
    "pm10_mass_concentration": Canonical("pm10"),
    "typical_particle_size": Canonical("particle_size"),
    "pm0_5_number_concentration": Canonical("pm0_5_count"),
    "pm1_0_number_concentration": Canonical("pm1_count"),
    "pm2_5_number_concentration": Canonical("pm2_5_count"),
    "pm4_number_concentration": Canonical("pm4_count"),
    "pm10_number_concentration": Canonical("pm10_count"),
    "air_temperature": Canonical("temperature"),
    "air_humidity": Canonical("relative_humidity"),
    "barometric_pressure": Canonical("atmospheric_pressure", convert=pa_to_hpa),
}

FIXED_FRAMES = (DEVICE.fixed_frame(0x000F, NORMALIZATION),)


def decode(f_port: int, payload: bytes) -> dict[str, Any]:
    """The vendor's output; any fPort, as the vendor decoder."""
    return DEVICE.decode(payload)


def normalize(data: Mapping[str, Any]) -> list[Reading]:
    return decentlab.normalize(data, NORMALIZATION)


def encode_uplink(data: Mapping[str, Any]) -> tuple[int, bytes]:
    """fPort 1 and the frame that decodes to exactly `data` (values, not raw words)."""
    return 1, DEVICE.encode(data)


# The vendor's examples: all sensors, battery only.
SAMPLE_UPLINKS: tuple[dict[str, Any], ...] = tuple(
    DEVICE.decode(bytes.fromhex(frame))
    for frame in (
        "021b50000f0c25002500270027002701f50107012c012d012d012d67bd618dbd10",
        "021b5000010c25",
    )
)
