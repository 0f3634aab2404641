"""ChirpStack v4 integration events exactly as ChirpStack writes them: pbjson JSON (field
order of the proto, `+00:00` RFC 3339 times, integral floats as `13.0`, enum names) or
binary protobuf, and the MQTT topic they are published on."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

TENANT_ID = "52f14cd4-c6f1-4fbd-8f87-4025e1d49242"
APPLICATION_ID = "17c82e96-be03-4f38-aef3-f83d48582d97"


@dataclass(frozen=True, slots=True)
class SimDevice:
    dev_eui: str
    model: str
    name: str
    dev_addr: str
    device_profile_id: str
    device_profile_name: str
    tenant_id: str = TENANT_ID
    tenant_name: str = "Ville simulée"
    application_id: str = APPLICATION_ID
    application_name: str = "urbanpulse"
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Gateway:
    gateway_id: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Reception:
    gateway: Gateway
    uplink_id: int
    rssi: int
    snr: float


@dataclass(frozen=True, slots=True)
class Uplink:
    device: SimDevice
    deduplication_id: str
    time: datetime
    f_cnt: int
    f_port: int
    payload: bytes
    receptions: tuple[Reception, ...]
    dr: int = 5
    frequency: int = 868100000
    spreading_factor: int = 7


def rfc3339(moment: datetime) -> str:
    """chrono's to_rfc3339: `+00:00`, and 0, 3, 6 or 9 fractional digits as needed."""
    moment = moment.astimezone(UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    micros = moment.microsecond
    if micros == 0:
        fraction = ""
    elif micros % 1000 == 0:
        fraction = f".{micros // 1000:03d}"
    else:
        fraction = f".{micros:06d}"
    return f"{base}{fraction}+00:00"


def device_info(device: SimDevice) -> dict[str, Any]:
    return {
        "tenantId": device.tenant_id,
        "tenantName": device.tenant_name,
        "applicationId": device.application_id,
        "applicationName": device.application_name,
        "deviceProfileId": device.device_profile_id,
        "deviceProfileName": device.device_profile_name,
        "deviceName": device.name,
        "devEui": device.dev_eui,
        "deviceClassEnabled": "CLASS_A",
        "tags": device.tags,
    }


def uplink_json(up: Uplink) -> bytes:
    doc = {
        "deduplicationId": up.deduplication_id,
        "time": rfc3339(up.time),
        "deviceInfo": device_info(up.device),
        "devAddr": up.device.dev_addr,
        "adr": True,
        "dr": up.dr,
        "fCnt": up.f_cnt,
        "fPort": up.f_port,
        "confirmed": False,
        "data": base64.b64encode(up.payload).decode(),
        "rxInfo": [
            {
                "gatewayId": r.gateway.gateway_id,
                "uplinkId": r.uplink_id,
                "nsTime": rfc3339(up.time),
                "rssi": r.rssi,
                "snr": float(r.snr),
                "channel": 0,
                "location": {"latitude": r.gateway.latitude, "longitude": r.gateway.longitude},
                "context": base64.b64encode(r.uplink_id.to_bytes(4, "big")).decode(),
                "crcStatus": "CRC_OK",
            }
            for r in up.receptions
        ],
        "txInfo": {
            "frequency": up.frequency,
            "modulation": {
                "lora": {
                    "bandwidth": 125000,
                    "spreadingFactor": up.spreading_factor,
                    "codeRate": "CR_4_5",
                }
            },
        },
        "regionConfigId": "eu868",
    }
    return orjson.dumps(doc)


def uplink_protobuf(up: Uplink) -> bytes:
    from chirpstack_api import gw, integration

    event = integration.UplinkEvent(
        deduplication_id=up.deduplication_id,
        dev_addr=up.device.dev_addr,
        adr=True,
        dr=up.dr,
        f_cnt=up.f_cnt,
        f_port=up.f_port,
        confirmed=False,
        data=up.payload,
        region_config_id="eu868",
    )
    event.time.FromDatetime(up.time)
    info = event.device_info
    device = up.device
    info.tenant_id, info.tenant_name = device.tenant_id, device.tenant_name
    info.application_id, info.application_name = device.application_id, device.application_name
    info.device_profile_id, info.device_profile_name = (
        device.device_profile_id,
        device.device_profile_name,
    )
    info.device_name, info.dev_eui = device.name, device.dev_eui
    info.tags.update(device.tags)
    for r in up.receptions:
        rx = event.rx_info.add(
            gateway_id=r.gateway.gateway_id,
            uplink_id=r.uplink_id,
            rssi=r.rssi,
            snr=r.snr,
            context=r.uplink_id.to_bytes(4, "big"),
            crc_status=gw.CRC_OK,
        )
        rx.ns_time.FromDatetime(up.time)
        rx.location.latitude, rx.location.longitude = r.gateway.latitude, r.gateway.longitude
    event.tx_info.frequency = up.frequency
    lora = event.tx_info.modulation.lora
    lora.bandwidth, lora.spreading_factor, lora.code_rate = 125000, up.spreading_factor, gw.CR_4_5
    return bytes(event.SerializeToString())


def event_topic(device: SimDevice, event: str, prefix: str = "") -> str:
    """ChirpStack's default event topic; operators often add a prefix to it."""
    return f"{prefix}application/{device.application_id}/device/{device.dev_eui}/event/{event}"
