"""The one vocabulary of normalized quantities, with units and FIWARE Smart Data Models names.

A reading's `quantity` is always a key of QUANTITIES. Where a Smart Data Models attribute
exists (dataModel.Environment, WasteManagement, Streetlighting, Transportation, Device) it
is named in `sdm`; `sdm_scale` converts our value to that attribute's unit (fillingLevel and
relativeHumidity are fractions 0–1 there, percent here, because that is what operators read).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Quantity:
    unit: str
    description: str
    sdm: str = ""
    sdm_scale: float = 1.0


QUANTITIES: dict[str, Quantity] = {
    # waste bins
    "filling_level": Quantity("%", "bin fill level", "fillingLevel", 0.01),
    "distance": Quantity("mm", "sensor to surface distance"),
    "tilt": Quantity("1", "device tilted (1) or upright (0)"),
    "echo_amplitude": Quantity("1", "ultrasonic echo amplitude"),
    "valid_samples": Quantity("1", "valid measurement samples in the reading"),
    # climate
    "temperature": Quantity("°C", "air or device temperature", "temperature"),
    "relative_humidity": Quantity("%", "relative humidity", "relativeHumidity", 0.01),
    "atmospheric_pressure": Quantity("hPa", "atmospheric pressure", "atmosphericPressure"),
    "illuminance": Quantity("lx", "illuminance", "illuminance"),
    "light_level": Quantity("1", "light level on the device's own scale"),
    # air quality
    "co2": Quantity("ppm", "carbon dioxide", "co2"),
    "pm1": Quantity("µg/m³", "PM1 mass concentration", "pm1"),
    "pm2_5": Quantity("µg/m³", "PM2.5 mass concentration", "pm25"),
    "pm4": Quantity("µg/m³", "PM4 mass concentration"),
    "pm10": Quantity("µg/m³", "PM10 mass concentration", "pm10"),
    "pm0_5_count": Quantity("1/cm³", "PM0.5 number concentration"),
    "pm1_count": Quantity("1/cm³", "PM1 number concentration"),
    "pm2_5_count": Quantity("1/cm³", "PM2.5 number concentration"),
    "pm4_count": Quantity("1/cm³", "PM4 number concentration"),
    "pm10_count": Quantity("1/cm³", "PM10 number concentration"),
    "particle_size": Quantity("nm", "typical particle size"),
    "no2": Quantity("µg/m³", "nitrogen dioxide", "no2"),
    "o3": Quantity("µg/m³", "ozone", "o3"),
    "so2": Quantity("µg/m³", "sulphur dioxide", "so2"),
    "tvoc": Quantity("µg/m³", "total volatile organic compounds", "volatileOrganicCompoundsTotal"),
    "tvoc_ppb": Quantity("ppb", "total volatile organic compounds, as a volume ratio"),
    "tvoc_index": Quantity("1", "TVOC indoor air quality level"),
    "hcho": Quantity("mg/m³", "formaldehyde"),
    "motion_count": Quantity("1", "PIR activations in the period"),
    "motion": Quantity("1", "PIR triggered (1) or idle (0)"),
    # people counting
    "people_in": Quantity("1", "people counted inwards in the period", "peopleCountTowards"),
    "people_out": Quantity("1", "people counted outwards in the period", "peopleCountAway"),
    "people_in_total": Quantity("1", "cumulative inward count since the last reset"),
    "people_out_total": Quantity("1", "cumulative outward count since the last reset"),
    "occupancy": Quantity("1", "people present now", "occupancy"),
    "occupancy_max": Quantity("1", "most people present in the period"),
    "region_occupied": Quantity("1", "region occupied (1) or free (0)"),
    "dwell_time_avg": Quantity("s", "mean dwell time"),
    "dwell_time_max": Quantity("s", "longest dwell time"),
    # electrical and lighting
    "voltage": Quantity("V", "line voltage", "voltage"),
    "current": Quantity("A", "current", "current"),
    "active_power": Quantity("W", "active power", "powerConsumption"),
    "energy": Quantity("Wh", "energy counter", "lifetimePowerConsumption"),
    "power_factor": Quantity("1", "power factor", "powerFactor"),
    "circuit_state": Quantity("1", "lighting circuit on (1) or off (0)", "powerState"),
    "relay_state": Quantity("1", "relay closed (1) or open (0)"),
    "digital_input": Quantity("1", "digital input high (1) or low (0)"),
    "digital_output": Quantity("1", "digital output high (1) or low (0)"),
    "analog_voltage": Quantity("V", "analog input voltage"),
    "analog_current": Quantity("mA", "analog input current"),
    "pulse_count": Quantity("1", "pulse counter"),
    # device health
    "battery_level": Quantity("%", "battery charge", "batteryLevel", 0.01),
    "battery_voltage": Quantity("V", "battery voltage"),
    "link_margin": Quantity("dB", "link margin from DevStatusAns"),
}


def unit_of(quantity: str) -> str:
    """The unit of a vocabulary quantity; KeyError names a quantity not in the vocabulary."""
    return QUANTITIES[quantity].unit
