"""From what a simulated device measures to the vendor output of its real model: each
adapter quantizes like the device does (its resolution and ranges), so that the decoder
gives back exactly the dict the adapter returns. The bytes come from the model's encoder.

`state` holds the behaviour's values (units in the keys); `dev_eui` gives per-device ids."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import decoders
from decoders import (
    decentlab,
    decentlab_dl_iam,
    decentlab_dl_lp8p,
    decentlab_dl_mbx,
    decentlab_dl_pm,
)
from decoders.pepperl_fuchs_wilsen_sonic_level import encode_records

State = Mapping[str, float]
Adapter = Callable[[State, str], dict[str, Any]]


def _tenths(x: float) -> float:
    return round(x * 10) / 10


def _milli(x: float) -> float:
    return round(x * 1000) / 1000


def _clamp(x: float, low: int, high: int) -> int:
    rounded = round(x)
    return low if rounded < low else high if rounded > high else rounded


# the eight circuits' states by mask (bit c - 1 for circuit c); a float mask finds its int
_SWITCH_STATES: dict[float, dict[str, str]] = {
    mask: {f"switch_{c}": "on" if mask >> (c - 1) & 1 else "off" for c in range(1, 9)}
    for mask in range(256)
}


def _switches(state: State) -> dict[str, str]:
    return dict(_SWITCH_STATES[state["circuit_mask"]])


def ws558(state: State, dev_eui: str) -> dict[str, Any]:
    if state.get("switch_only"):
        return _switches(state)
    # _clamp written out: most reports of a city are these
    pf, ma = round(state["power_factor"] * 100), round(state["current_a"] * 1000)
    wh, w = round(state["energy_wh"]), round(state["power_w"])
    return {
        **_SWITCH_STATES[state["circuit_mask"]],
        "power_factor": 0 if pf < 0 else 100 if pf > 100 else pf,
        "total_current": 0 if ma < 0 else 0xFFFF if ma > 0xFFFF else ma,
        "voltage": round(state["voltage_v"] * 10) / 10,
        "power_consumption": 0 if wh < 0 else 0xFFFFFFFF if wh > 0xFFFFFFFF else wh,
        "active_power": 0 if w < 0 else 0xFFFFFFFF if w > 0xFFFFFFFF else w,
    }


def lt22222(state: State, dev_eui: str) -> dict[str, Any]:
    """Relay RO1 drives the contactor, AVI1 reads the 1-10 V dimming command, ACI1 a 4-20 mA
    current transducer (0-20 A), DI1 the contactor's feedback."""
    lit = int(state["circuit_mask"]) != 0
    return {
        "Hardware_mode": "LT22222", "Work_mode": "2ACI+2AVI",
        "AVI1_V": _milli(1.0 + 9.0 * state["dim_pct"] / 100 if lit else 0.0),
        "AVI2_V": 0.0,
        "ACI1_mA": _milli(4.0 + 16.0 * min(state["current_a"], 20.0) / 20.0),
        "ACI2_mA": 0.0,
        "DI1_status": "H" if lit else "L", "DI2_status": "L",
        "DO1_status": "L", "DO2_status": "L",
        "RO1_status": "ON" if lit else "OFF", "RO2_status": "OFF",
    }  # fmt: skip


def em310(state: State, dev_eui: str) -> dict[str, Any]:
    return {
        "battery": _clamp(state["battery_pct"], 0, 100),
        "distance": _clamp(state["distance_mm"], 0, 0xFFFF),
        "position": "tilt" if state["tilted"] else "normal",
    }


def em400(state: State, dev_eui: str) -> dict[str, Any]:
    return {**em310(state, dev_eui), "temperature": _tenths(state["temperature_c"])}


def _decentlab(
    device: decentlab.Device, values: Mapping[str, float], dev_eui: str
) -> dict[str, Any]:
    """The vendor output for the words the device's ADC gives for `values` (each word the
    smallest whose conversion reaches the value, as the vendor's own encoder inverts)."""
    out: dict[str, Any] = {"protocol_version": 2, "device_id": int(dev_eui[-4:], 16)}
    for sensor in device.sensors:
        if sensor.values[0].name not in values:
            continue
        words = []
        for i in range(sensor.length):
            source = sensor.source(i)
            low, high, target = 0, 0xFFFF, values[source.name]
            while low < high:
                mid = (low + high) // 2
                low, high = (mid + 1, high) if source.convert(mid) < target else (low, mid)
            words.append(low)
        for value in sensor.values:
            number = value.apply(words)
            entry: dict[str, Any] = {"displayName": value.display_name,
                                     "value": number if isinstance(number, int) else float(number)}  # fmt: skip
            if value.unit is not None:
                entry["unit"] = value.unit
            out[value.name] = entry
    return out


def dl_mbx(state: State, dev_eui: str) -> dict[str, Any]:
    values = {"distance": state["distance_mm"], "number_of_valid_samples": 1.0,
              "battery_voltage": state["battery_v"]}  # fmt: skip
    return _decentlab(decentlab_dl_mbx.DEVICE, values, dev_eui)


def dl_pm(state: State, dev_eui: str) -> dict[str, Any]:
    pm = {
        "pm1_0_mass_concentration": state["pm1_ugm3"], "pm2_5_mass_concentration": state["pm2_5_ugm3"],
        "pm4_mass_concentration": state["pm4_ugm3"], "pm10_mass_concentration": state["pm10_ugm3"],
        "typical_particle_size": 500.0, "pm0_5_number_concentration": state["pm2_5_ugm3"] * 6.5,
        "pm1_0_number_concentration": state["pm2_5_ugm3"] * 7.4,
        "pm2_5_number_concentration": state["pm2_5_ugm3"] * 7.5,
        "pm4_number_concentration": state["pm2_5_ugm3"] * 7.5,
        "pm10_number_concentration": state["pm2_5_ugm3"] * 7.5,
        "air_temperature": state["temperature_c"], "air_humidity": state["humidity_pct"],
        "barometric_pressure": state["pressure_hpa"] * 100, "battery_voltage": state["battery_v"],
    }  # fmt: skip
    return _decentlab(decentlab_dl_pm.DEVICE, pm, dev_eui)


def dl_lp8p(state: State, dev_eui: str) -> dict[str, Any]:
    """The LP8 CO2 module reports its filtered value, its own temperature and the state of
    its capacitors next to the concentration; the status word is 0 when all is well."""
    co2 = state["co2_ppm"]
    values = {
        "air_temperature": state["temperature_c"], "air_humidity": state["humidity_pct"],
        "barometer_temperature": state["temperature_c"] + 0.3,
        "barometric_pressure": state["pressure_hpa"] * 100,
        "co2_concentration": co2, "co2_concentration_lpf": co2 * 0.98 + 8.0,
        "co2_sensor_temperature": state["temperature_c"] + 0.4,
        "capacitor_voltage_1": 3.03, "capacitor_voltage_2": 3.0, "co2_sensor_status": 0.0,
        "raw_ir_reading": 30000.0 - co2 * 10, "raw_ir_reading_lpf": 30000.0 - co2 * 10,
        "battery_voltage": state["battery_v"],
    }  # fmt: skip
    return _decentlab(decentlab_dl_lp8p.DEVICE, values, dev_eui)


def dl_iam(state: State, dev_eui: str) -> dict[str, Any]:
    """Indoor air: the light channels give the illuminance (no infrared here: lux = w0 ×
    1.5504), the PIR counts activity while the room is lit, TVOC in ppb (≈ µg/m³ / 2)."""
    lux = 400.0 * state["light_level"]
    values = {
        "battery_voltage": state["battery_v"],
        "air_temperature": state["temperature_c"], "air_humidity": state["humidity_pct"],
        "barometric_pressure": state["pressure_hpa"] * 100,
        "ambient_light_visible_infrared": round(lux / 1.5504), "ambient_light_infrared": 0.0,
        "co2_concentration": state["co2_ppm"], "co2_sensor_status": 0.0,
        "raw_ir_reading": 30000.0 - state["co2_ppm"] * 10,
        "activity_counter": 3.0 * state["light_level"], "total_voc": state["tvoc_ugm3"] / 2,
    }  # fmt: skip
    return _decentlab(decentlab_dl_iam.DEVICE, values, dev_eui)


def vs133(state: State, dev_eui: str) -> dict[str, Any]:
    """One counting line: cumulative totals and the counts of the report period."""
    return {
        "line_1_total_in": int(state["total_in"]) % 2**32, "line_1_total_out": int(state["total_out"]) % 2**32,
        "line_1_period_in": _clamp(state["period_in"], 0, 0xFFFF),
        "line_1_period_out": _clamp(state["period_out"], 0, 0xFFFF),
    }  # fmt: skip


def vs121(state: State, dev_eui: str) -> dict[str, Any]:
    """An occupancy camera over two regions: people present now (about a quarter of the
    period's passers-by stay in view), the period's most, and the line counts."""
    present = _clamp(state["period_in"] / 4, 0, 255)
    return {
        "people_count_all": present, "region_count": 2,
        "region_1": 1 if present else 0, "region_2": 1 if present > 4 else 0,
        "people_in": _clamp(state["period_in"], 0, 0x7FFF), "people_out": _clamp(state["period_out"], 0, 0x7FFF),
        "people_count_max": _clamp(present * 1.5 + 1, 0, 255),
    }  # fmt: skip


def am319(state: State, dev_eui: str) -> dict[str, Any]:
    return {
        "battery": _clamp(state["battery_pct"], 0, 100),
        "temperature": _tenths(state["temperature_c"]),
        "humidity": _clamp(state["humidity_pct"] * 2, 0, 255) / 2,
        "pir": "idle", "light_level": _clamp(state["light_level"], 0, 5),
        "co2": _clamp(state["co2_ppm"], 0, 0xFFFF), "tvoc": _clamp(state["tvoc_ugm3"], 0, 0xFFFF),
        "pressure": _tenths(state["pressure_hpa"]),
        "hcho": _clamp(state["tvoc_ugm3"] / 20, 0, 0xFFFF) / 100,
        "pm2_5": _clamp(state["pm2_5_ugm3"], 0, 0xFFFF), "pm10": _clamp(state["pm10_ugm3"], 0, 0xFFFF),
        "buzzer_status": "off",
    }  # fmt: skip


def wilsen(state: State, dev_eui: str) -> dict[str, Any]:
    fields = {
        "proxx_mm": _clamp(state["distance_mm"], 0, 0xFFFF),
        "fillinglvl": _clamp(state["fill_pct"], 0, 100),
        "temp": _tenths(state["temperature_c"]),
        "battery_vol": _clamp(state["battery_v"] * 10, 0, 255) / 10,
    }
    return {"payload": encode_records(fields).hex().upper(), **fields}


def terabee(state: State, dev_eui: str) -> dict[str, Any]:
    return {"count_in": int(state["total_in"]) % 2**32, "count_out": int(state["total_out"]) % 2**32,
            "flags": {}}  # fmt: skip


def imbuildings(state: State, dev_eui: str) -> dict[str, Any]:
    return {
        "device_type_identifier": 2, "device_type": "People Counter", "device_type_variant": 6,
        "device_id": dev_eui, "device_status": 0,
        "battery_voltage": _clamp(state["battery_v"] * 100, 0, 0xFFFF) / 100,
        "counter_a": _clamp(state["period_in"], 0, 0xFFFF), "counter_b": _clamp(state["period_out"], 0, 0xFFFF),
        "sensor_status": 0, "total_counter_a": int(state["total_in"]) % 2**16,
        "total_counter_b": int(state["total_out"]) % 2**16, "payload_counter": int(state["uplinks"]) % 256,
    }  # fmt: skip


ADAPTERS: dict[str, Adapter] = {
    "milesight-ws558": ws558,
    "dragino-lt-22222-l": lt22222,
    "milesight-em310-udl": em310,
    "milesight-em400-mud": em400,
    "decentlab-dl-mbx": dl_mbx,
    "pepperl-fuchs-wilsen-sonic-level": wilsen,
    "decentlab-dl-pm": dl_pm,
    "decentlab-dl-lp8p": dl_lp8p,
    "decentlab-dl-iam": dl_iam,
    "milesight-vs133": vs133,
    "milesight-vs121": vs121,
    "milesight-am319": am319,
    "terabee-people-flow-counting-l-xl": terabee,
    "imbuildings-people-counter": imbuildings,
}
SIMULATED_MODELS: dict[str, str] = {model: decoders.device_class(model) or "" for model in ADAPTERS}
MAINS_POWERED = frozenset(m for m, c in SIMULATED_MODELS.items() if c == "streetlight")
