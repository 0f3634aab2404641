"""The devices and gateways of a scenario, placed in their zones: identities as ChirpStack
knows them, radio links to the gateways that hear them, and their behaviour's state.

Deterministic for a seed: every draw comes from one random.Random, in a fixed order."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field

from simulators import bins, streetlights
from simulators.chirpstack import Identity, Station, identity, station
from simulators.scenario import Fleet, Scenario, Zone

NS = 1_000_000_000
EUI_PREFIX = {"milesight": "24e124", "decentlab": "70b3d57ba0", "dragino": "a84041",
              "pepperl": "0004250b", "terabee": "70b3d52c", "imbuildings": "0004a30b"}  # fmt: skip
REQUIRED_SNR_DB = {7: -7.5, 8: -10.0, 9: -12.5, 10: -15.0, 11: -17.5, 12: -20.0}
TX_POWER_DBM = 14.0
SENSITIVITY_DBM = -135.0
INDOOR_LOSS_DB = {"waste_bin": 12.0, "streetlight": 0.0, "air_quality": 0.0, "people_counter": 4.0}


@dataclass(slots=True)
class Device:
    """A simulated device: who it is, how it is heard, and its changing state."""

    index: int
    fleet: Fleet
    zone: Zone
    identity: Identity
    topic_up: str
    topic_status: str
    topic_join: str
    topic_log: str
    dev_addr: str
    f_cnt: int
    links: list[tuple[int, float]]
    dr: int
    margin_db: int
    phase_ns: int
    battery_pct: float
    cabinet: streetlights.Cabinet | None = None
    bin: bins.Bin | None = None
    totals: list[int] = field(default_factory=lambda: [0, 0])
    uplinks: int = 0
    joined: bool = True
    last_status_ns: int = 0
    # after a reset of the device's frame counter: the one ChirpStack expects next, and the
    # device's uplinks since then (None, 0 while they agree)
    expected_f_cnt: int | None = None
    unanswered: int = 0


def path_loss_db(distance_km: float) -> float:
    """3GPP TR 36.942 urban macro model at 868 MHz (128.1 + 37.6 log10 d)."""
    return 128.1 + 37.6 * math.log10(max(distance_km, 0.05))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return 6371.0 * math.hypot(x, math.radians(lat2 - lat1))


def snr_db(rssi_dbm: float) -> float:
    """The SNR a gateway reports at this RSSI (-116 dBm noise floor), within -20..12 dB."""
    snr = rssi_dbm + 116.0
    return 12.0 if not snr < 12.0 else snr if snr > -20.0 else -20.0


def _links(
    lat: float, lon: float, loss_db: float, stations: list[Station]
) -> list[tuple[int, float]]:
    heard = sorted(
        ((TX_POWER_DBM - path_loss_db(distance_km(lat, lon, s.latitude, s.longitude)) - loss_db, i)
         for i, s in enumerate(stations)),
        reverse=True,
    )  # fmt: skip
    kept = [(i, rssi) for rssi, i in heard if rssi >= SENSITIVITY_DBM][:4]
    return kept or [(heard[0][1], heard[0][0])]


def adr(best_rssi: float) -> tuple[int, int]:
    """(data rate, link margin in dB) as ChirpStack's ADR leaves them: the fastest data rate
    keeping a 10 dB installation margin."""
    snr = snr_db(best_rssi)
    for sf in range(7, 13):
        if snr - REQUIRED_SNR_DB[sf] >= 10.0 or sf == 12:
            return 12 - sf, int(snr - REQUIRED_SNR_DB[sf])
    raise AssertionError("unreachable")


def make_stations(scenario: Scenario, rng: random.Random) -> list[Station]:
    return [
        station(f"0016c001ff{rng.getrandbits(24):06x}", g.latitude, g.longitude,
                float(rng.randint(0, 60)))
        for g in scenario.gateways
    ]  # fmt: skip


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_devices(
    scenario: Scenario, seed: int, start_ns: int, stations: list[Station], topic_prefix: str,
    utc_offset_s: float,
) -> list[Device]:  # fmt: skip
    rng = random.Random(seed)
    tenant, application = _uuid(rng), _uuid(rng)
    profiles = {f.model: _uuid(rng) for f in scenario.fleets}
    zones = {z.name: z for z in scenario.zones}
    devices: list[Device] = []
    for fleet in scenario.fleets:
        fleet_zones = [zones[name] for name in fleet.zones]
        for n in range(fleet.count):
            zone = fleet_zones[n % len(fleet_zones)]
            lat = rng.uniform(zone.south, zone.north)
            lon = rng.uniform(zone.west, zone.east)
            prefix = EUI_PREFIX[fleet.model.split("-")[0]]
            dev_eui = prefix + f"{rng.getrandbits(64):016x}"[len(prefix) :]
            info = {
                "tenantId": tenant, "tenantName": scenario.city.name,
                "applicationId": application, "applicationName": f"{fleet.device_class}s",
                "deviceProfileId": profiles[fleet.model], "deviceProfileName": fleet.model,
                "deviceName": f"{fleet.device_class}-{zone.name}-{len(devices):05d}",
                "devEui": dev_eui, "deviceClassEnabled": "CLASS_A",
                "tags": {"model": fleet.model, "zone": zone.name, "class": fleet.device_class},
            }  # fmt: skip
            base = f"{topic_prefix}application/{application}/device/{dev_eui}/event/"
            links = _links(lat, lon, INDOOR_LOSS_DB[fleet.device_class], stations)
            dr, margin = adr(links[0][1])
            aligned = fleet.device_class == "air_quality"  # air sensors report on round minutes
            phase_s = rng.uniform(0, 5) if aligned else rng.uniform(0, fleet.interval_s)
            device = Device(
                index=len(devices), fleet=fleet, zone=zone, identity=identity(info),
                topic_up=base + "up", topic_status=base + "status", topic_join=base + "join",
                topic_log=base + "log",
                dev_addr=f"{rng.getrandbits(25):08x}", f_cnt=rng.randint(0, 60000), links=links,
                dr=dr, margin_db=margin, phase_ns=int(phase_s * NS),
                battery_pct=rng.uniform(40.0, 100.0),
            )  # fmt: skip
            if fleet.device_class == "streetlight":
                device.cabinet = streetlights.make_cabinet(rng, start_ns / NS)
            elif fleet.device_class == "waste_bin":
                device.bin = bins.make_bin(rng, zone, start_ns / NS + utc_offset_s)
            if rng.random() < 0.02:  # installed today: joins before its first uplink
                device.joined, device.f_cnt = False, 0
            devices.append(device)
    return devices
