"""ChirpStack v4 `up`, `status` and `join` events, written as ChirpStack writes them.

JSON as pbjson emits it: proto field order; every field of the integration messages, even
at its default; nested gw/common zero values left out (`channel` 0, `rfChain` 0,
`altitude` 0); `+00:00` times with 0, 3, 6 or 9 fractional digits; floats the shortest way
that round-trips in their width (`snr` is a float32: `9.7`, `13.0`). Or binary protobuf.
Per-device and per-gateway JSON fragments are built once; an event only fills in numbers."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import orjson

NS = 1_000_000_000
EU868_CHANNELS_HZ = (868100000, 868300000, 868500000, 867100000, 867300000, 867500000,
                     867700000, 867900000)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Identity:
    """What ChirpStack knows of a device: `deviceInfo`, ready as JSON."""

    dev_eui: str
    info: dict[str, Any]
    info_json: bytes


def identity(info: dict[str, Any]) -> Identity:
    return Identity(info["devEui"], info, orjson.dumps(info))


@dataclass(frozen=True, slots=True)
class Station:
    """A gateway as it appears in `rxInfo`: its id and its `location` fragment."""

    gateway_id: str
    latitude: float
    longitude: float
    altitude_m: float
    head: str
    location: str


def station(gateway_id: str, latitude: float, longitude: float, altitude_m: float) -> Station:
    location: dict[str, float] = {"latitude": latitude, "longitude": longitude}
    if altitude_m:
        location["altitude"] = altitude_m
    head = f'{{"gatewayId":"{gateway_id}","uplinkId":'
    fragment = f',"location":{orjson.dumps(location).decode()},"context":"'
    return Station(gateway_id, latitude, longitude, altitude_m, head, fragment)


@dataclass(slots=True)
class Rx:
    station: Station
    uplink_id: int
    ns_time_ns: int
    rssi: int
    snr_tenths: int
    channel: int
    context: bytes


@dataclass(slots=True)
class Up:
    dedup_id: str
    time_ns: int
    device: Identity
    dev_addr: str
    dr: int
    f_cnt: int
    f_port: int
    payload: bytes
    rx: tuple[Rx, ...]
    channel: int


@lru_cache(maxsize=512)
def _second(unix_s: int) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def rfc3339_ns(t_ns: int) -> str:
    """chrono's to_rfc3339 of a time in Unix nanoseconds."""
    seconds, nanos = divmod(t_ns, NS)
    if nanos == 0:
        return f"{_second(seconds)}+00:00"
    if nanos % 1_000_000 == 0:
        return f"{_second(seconds)}.{nanos // 1_000_000:03d}+00:00"
    if nanos % 1000 == 0:
        return f"{_second(seconds)}.{nanos // 1000:06d}+00:00"
    return f"{_second(seconds)}.{nanos:09d}+00:00"


@lru_cache(maxsize=1024)
def float32_text(value: float) -> str:
    """serde's float32: the shortest text that reads back as the same float32, `.0` kept."""
    text = str(np.float32(value))
    return text if any(c in text for c in ".en") else f"{text}.0"


def spreading_factor(dr: int) -> int:
    return 12 - dr


@lru_cache(maxsize=64)
def _radio(channel: int) -> str:
    """`channel` and `rfChain`, each left out at 0 (channels 0-2 are on the second radio)."""
    return (f',"channel":{channel}' if channel else "") + (',"rfChain":1' if channel < 3 else "")


def _rx_json(rx: Rx) -> str:
    snr = f',"snr":{float32_text(rx.snr_tenths / 10)}' if rx.snr_tenths else ""
    return (
        f'{rx.station.head}{rx.uplink_id},"nsTime":"{rfc3339_ns(rx.ns_time_ns)}",'
        f'"rssi":{rx.rssi}{snr}{_radio(rx.channel)}{rx.station.location}'
        f'{base64.b64encode(rx.context).decode()}","crcStatus":"CRC_OK"}}'
    )


def up_json(up: Up) -> bytes:
    head = f'{{"deduplicationId":"{up.dedup_id}","time":"{rfc3339_ns(up.time_ns)}","deviceInfo":'
    body = (
        f',"devAddr":"{up.dev_addr}","adr":true,"dr":{up.dr},"fCnt":{up.f_cnt},'
        f'"fPort":{up.f_port},"confirmed":false,"data":"{base64.b64encode(up.payload).decode()}",'
        f'"rxInfo":[{",".join(map(_rx_json, up.rx))}],"txInfo":{{"frequency":'
        f'{EU868_CHANNELS_HZ[up.channel]},"modulation":{{"lora":{{"bandwidth":125000,'
        f'"spreadingFactor":{spreading_factor(up.dr)},"codeRate":"CR_4_5"}}}}}},'
        f'"regionConfigId":"eu868"}}'
    )
    return b"".join((head.encode(), up.device.info_json, body.encode()))


def status_json(dedup_id: str, time_ns: int, device: Identity, margin_db: int,
                battery_pct: float | None) -> bytes:  # fmt: skip
    """`battery_pct` None: mains powered (DevStatusAns battery 0)."""
    external = battery_pct is None
    level = 0.0 if battery_pct is None else battery_level(battery_pct)
    head = f'{{"deduplicationId":"{dedup_id}","time":"{rfc3339_ns(time_ns)}","deviceInfo":'
    tail = (
        f',"margin":{margin_db},"externalPowerSource":{"true" if external else "false"},'
        f'"batteryLevelUnavailable":false,"batteryLevel":{float32_text(level)}}}'
    )
    return b"".join((head.encode(), device.info_json, tail.encode()))


def battery_level(battery_pct: float) -> float:
    """ChirpStack's batteryLevel: the DevStatusAns byte (1..254) over 254, in percent."""
    raw = max(1, min(254, round(battery_pct * 254 / 100)))
    return float(np.float32(raw / 254 * 100))


def join_json(dedup_id: str, time_ns: int, device: Identity, dev_addr: str) -> bytes:
    head = f'{{"deduplicationId":"{dedup_id}","time":"{rfc3339_ns(time_ns)}","deviceInfo":'
    tail = f',"devAddr":"{dev_addr}","regionConfigId":"eu868"}}'
    return b"".join((head.encode(), device.info_json, tail.encode()))


def _fill_info(message: Any, device: Identity) -> None:
    info, d = message.device_info, device.info
    info.tenant_id, info.tenant_name = d["tenantId"], d["tenantName"]
    info.application_id, info.application_name = d["applicationId"], d["applicationName"]
    info.device_profile_id, info.device_profile_name = d["deviceProfileId"], d["deviceProfileName"]
    info.device_name, info.dev_eui = d["deviceName"], d["devEui"]
    info.tags.update(d["tags"])


def _timestamp(field: Any, t_ns: int) -> None:
    field.seconds, field.nanos = divmod(t_ns, NS)


def up_protobuf(up: Up) -> bytes:
    from chirpstack_api import gw, integration

    event = integration.UplinkEvent(
        deduplication_id=up.dedup_id, dev_addr=up.dev_addr, adr=True, dr=up.dr, f_cnt=up.f_cnt,
        f_port=up.f_port, confirmed=False, data=up.payload, region_config_id="eu868",
    )  # fmt: skip
    _timestamp(event.time, up.time_ns)
    _fill_info(event, up.device)
    for r in up.rx:
        rx = event.rx_info.add(
            gateway_id=r.station.gateway_id, uplink_id=r.uplink_id, rssi=r.rssi,
            snr=r.snr_tenths / 10, channel=r.channel, rf_chain=1 if r.channel < 3 else 0,
            context=r.context, crc_status=gw.CRC_OK,
        )  # fmt: skip
        _timestamp(rx.ns_time, r.ns_time_ns)
        rx.location.latitude, rx.location.longitude = r.station.latitude, r.station.longitude
        rx.location.altitude = r.station.altitude_m
    event.tx_info.frequency = EU868_CHANNELS_HZ[up.channel]
    lora = event.tx_info.modulation.lora
    lora.bandwidth, lora.spreading_factor, lora.code_rate = (
        125000,
        spreading_factor(up.dr),
        gw.CR_4_5,
    )
    return bytes(event.SerializeToString())


def status_protobuf(dedup_id: str, time_ns: int, device: Identity, margin_db: int,
                    battery_pct: float | None) -> bytes:  # fmt: skip
    from chirpstack_api import integration

    event = integration.StatusEvent(
        deduplication_id=dedup_id, margin=margin_db, external_power_source=battery_pct is None,
        battery_level=0.0 if battery_pct is None else battery_level(battery_pct),
    )  # fmt: skip
    _timestamp(event.time, time_ns)
    _fill_info(event, device)
    return bytes(event.SerializeToString())


def join_protobuf(dedup_id: str, time_ns: int, device: Identity, dev_addr: str) -> bytes:
    from chirpstack_api import integration

    event = integration.JoinEvent(
        deduplication_id=dedup_id, dev_addr=dev_addr, region_config_id="eu868"
    )
    _timestamp(event.time, time_ns)
    _fill_info(event, device)
    return bytes(event.SerializeToString())
