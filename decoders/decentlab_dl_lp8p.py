"""Decentlab DL-LP8P: CO2 (Senseair LP8), temperature, humidity and barometric pressure,
over the Decentlab protocol v2 framing (decoders/decentlab.py).

| bit | words | field                  | value from block words x0 ... x7     |
|-----|-------|------------------------|--------------------------------------|
| 0   | 2     | air_temperature        | 175.72 * x0 / 65536 - 46.85 °C       |
|     |       | air_humidity           | 125 * x1 / 65536 - 6 %               |
| 1   | 2     | barometer_temperature  | (x0 - 5000) / 100 °C                 |
|     |       | barometric_pressure    | x1 * 2 Pa                            |
| 2   | 8     | co2_concentration      | x0 - 32768 ppm                       |
|     |       | co2_concentration_lpf  | x1 - 32768 ppm                       |
|     |       | co2_sensor_temperature | (x2 - 32768) / 100 °C                |
|     |       | capacitor_voltage_1    | x3 / 1000 V                          |
|     |       | capacitor_voltage_2    | x4 / 1000 V                          |
|     |       | co2_sensor_status      | x5 (no unit)                         |
|     |       | raw_ir_reading         | x6 (no unit)                         |
|     |       | raw_ir_reading_lpf     | x7 (no unit)                         |
| 3   | 1     | battery_voltage        | x0 / 1000 V                          |

Periodic frame: flags 0x000F (31 bytes).
Downlink: the Decentlab generic command frame on fPort 1 (see decoders/decentlab.py).

Source: chirpstack/chirpstack-device-profiles vendors/decentlab/codecs/dl-lp8p.js and
test_decode_dl-lp8p.json (by Decentlab); TheThingsNetwork/lorawan-devices
vendor/decentlab/dl-lp8p-codec.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoders import decentlab
from decoders.codec import Reading
from decoders.decentlab import Canonical, Value, block, pa_to_hpa, raw
from decoders.decentlab import command as command
from decoders.decentlab import reset as reset
from decoders.decentlab import set_adr as set_adr
from decoders.decentlab import set_period as set_period

MODEL = "decentlab-dl-lp8p"
DEVICE_CLASS = "air_quality"

SENSORS = (
    block(
        2,
        Value("air_temperature", "Air temperature", "°C", lambda w: 175.72 * w / 65536 - 46.85),
        Value("air_humidity", "Air humidity", "%", lambda w: 125 * w / 65536 - 6, (1,)),
    ),
    block(
        2,
        Value("barometer_temperature", "Barometer temperature", "°C", lambda w: (w - 5000) / 100),
        Value("barometric_pressure", "Barometric pressure", "Pa", lambda w: w * 2, (1,)),
    ),
    block(
        8,
        Value("co2_concentration", "CO2 concentration", "ppm", lambda w: w - 32768),
        Value("co2_concentration_lpf", "CO2 concentration LPF", "ppm", lambda w: w - 32768, (1,)),
        Value(
            "co2_sensor_temperature",
            "CO2 sensor temperature",
            "°C",
            lambda w: (w - 32768) / 100,
            (2,),
        ),
        Value("capacitor_voltage_1", "Capacitor voltage 1", "V", lambda w: w / 1000, (3,)),
        Value("capacitor_voltage_2", "Capacitor voltage 2", "V", lambda w: w / 1000, (4,)),
        Value("co2_sensor_status", "CO2 sensor status", None, raw, (5,)),
        Value("raw_ir_reading", "Raw IR reading", None, raw, (6,)),
        Value("raw_ir_reading_lpf", "Raw IR reading LPF", None, raw, (7,)),
    ),
    block(1, Value("battery_voltage", "Battery voltage", "V", lambda w: w / 1000)),
)
DEVICE = decentlab.Device(SENSORS)

# The LP8's capacitor voltages, status word and raw IR readings are diagnostics: no reading.
NORMALIZATION: dict[str, Canonical] = {
    "air_temperature": Canonical("temperature"),
    "air_humidity": Canonical("relative_humidity"),
    "barometer_temperature": Canonical("temperature", "barometer"),
    "barometric_pressure": Canonical("atmospheric_pressure", convert=pa_to_hpa),
    "co2_concentration": Canonical("co2"),
    "co2_concentration_lpf": Canonical("co2", "lpf"),
    "co2_sensor_temperature": Canonical("temperature", "co2_sensor"),
    "battery_voltage": Canonical("battery_voltage"),
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
        "020578000f67bd618d1cedbd1081d981f4895b0bd80bb50000959895390c25",
        "02057800080c25",
    )
)
