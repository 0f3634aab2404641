"""ChirpStack v4 `up`, `status`, `join` and `log` events, written as ChirpStack writes them.

JSON as pbjson emits it: proto field order; every field of the integration messages, even
at its default; nested gw/common zero values left out (`channel` 0, `rfChain` 0,
`altitude` 0); `+00:00` times with 0, 3, 6 or 9 fractional digits; floats the shortest way
that round-trips in their width (`snr` is a float32: `9.7`, `13.0`). Or binary protobuf.
Per-device and per-gateway JSON fragments are built once; an event only fills in numbers."""

from __future__ import annotations

from binascii import b2a_base64
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
    info_text: str


def identity(info: dict[str, Any]) -> Identity:
    info_json = orjson.dumps(info)
    return Identity(info["devEui"], info, info_json, info_json.decode())


@dataclass(frozen=True, slots=True)
class Station:
    """A gateway as it appears in `rxInfo`: its id, and the fragments around the numbers
    of a reception (`tails` by channel: the radio, the `location`, up to the `context`)."""

    gateway_id: str
    latitude: float
    longitude: float
    altitude_m: float
    head: str
    tails: tuple[str, ...]


def station(gateway_id: str, latitude: float, longitude: float, altitude_m: float) -> Station:
    location: dict[str, float] = {"latitude": latitude, "longitude": longitude}
    if altitude_m:
        location["altitude"] = altitude_m
    head = f'{{"gatewayId":"{gateway_id}","uplinkId":'
    fragment = f',"location":{orjson.dumps(location).decode()},"context":"'
    tails = tuple(_radio(channel) + fragment for channel in range(len(EU868_CHANNELS_HZ)))
    return Station(gateway_id, latitude, longitude, altitude_m, head, tails)


# One gateway's reception: (station, uplink id, time received in Unix ns, RSSI, SNR in
# tenths of dB, the concentrator's µs counter, published as the 4-byte big-endian
# `context`). A plain tuple: there are two or three for every uplink.
Rx = tuple[Station, int, int, int, int, int]


# An uplink as ChirpStack publishes it: (deduplication id, time in Unix ns, device,
# DevAddr, data rate, fCnt, fPort, payload, receptions, channel). A plain tuple, as Rx.
Up = tuple[str, int, Identity, str, int, int, int, bytes, tuple[Rx, ...], int]


@lru_cache(maxsize=64)
def _day(unix_day: int) -> str:
    return datetime.fromtimestamp(unix_day * 86400, UTC).strftime("%Y-%m-%dT")


_SIXTY = tuple(f"{i:02d}" for i in range(60))


@lru_cache(maxsize=4096)
def _second(unix_s: int) -> str:
    """`%Y-%m-%dT%H:%M:%S`: the date from a per-day cache (a new second every few events)."""
    day, second = divmod(unix_s, 86400)
    minute = second // 60
    return f"{_day(day)}{_SIXTY[minute // 60]}:{_SIXTY[minute % 60]}:{_SIXTY[second % 60]}"


@lru_cache(maxsize=4096)
def _second_point(unix_s: int) -> str:
    return f"{_second(unix_s)}."


def rfc3339_ns(t_ns: int) -> str:
    """chrono's to_rfc3339 of a time in Unix nanoseconds."""
    seconds, nanos = divmod(t_ns, NS)
    if nanos % 1000:
        return f"{_second_point(seconds)}{str(NS + nanos)[1:]}+00:00"
    if nanos == 0:
        return f"{_second(seconds)}+00:00"
    if nanos % 1_000_000 == 0:
        return f"{_second(seconds)}.{nanos // 1_000_000:03d}+00:00"
    return f"{_second(seconds)}.{nanos // 1000:06d}+00:00"


@lru_cache(maxsize=1024)
def float32_text(value: float) -> str:
    """serde's float32: the shortest text that reads back as the same float32, `.0` kept."""
    text = str(np.float32(value))
    return text if any(c in text for c in ".en") else f"{text}.0"


def spreading_factor(dr: int) -> int:
    return 12 - dr


def _radio(channel: int) -> str:
    """`channel` and `rfChain`, each left out at 0 (channels 0-2 are on the second radio)."""
    return (f',"channel":{channel}' if channel else "") + (',"rfChain":1' if channel < 3 else "")


@lru_cache(maxsize=8192)
def _signal(rssi: int, snr_tenths: int) -> str:
    """`rssi` and `snr`, the snr left out at 0."""
    snr = f',"snr":{float32_text(snr_tenths / 10)}' if snr_tenths else ""
    return f'"rssi":{rssi}{snr}'


def _tx_info(channel: int, dr: int) -> str:
    return (
        f'"txInfo":{{"frequency":{EU868_CHANNELS_HZ[channel]},"modulation":{{"lora":{{'
        f'"bandwidth":125000,"spreadingFactor":{spreading_factor(dr)},"codeRate":"CR_4_5"}}}}}}'
    )


# Texts by table, for what every up has: base64 of a 4-byte context (its first 24 bits as
# two 12-bit halves, then the last byte with its padding), milliseconds, small numbers
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_12 = tuple(_B64[i >> 6] + _B64[i & 63] for i in range(4096))
_B64_LAST = tuple(f"{_B64[i >> 2]}{_B64[(i & 3) << 4]}==" for i in range(256))
_MS = tuple(f"{i:03d}" for i in range(1000))
_SMALL = tuple(str(i) for i in range(256))
_TX_INFO = tuple(tuple(_tx_info(channel, dr) for channel in range(len(EU868_CHANNELS_HZ)))
                 for dr in range(16))  # fmt: skip


def up_json(up: Up) -> bytes:
    """The `up` event; a reception's `nsTime` is written from the up's `time` when they
    differ by whole milliseconds (as they do: receptions and deduplication end are
    milliseconds apart), which spares most of the time formatting."""
    dedup_id, up_ns, device, dev_addr, dr, f_cnt, f_port, payload, receptions, channel = up
    seconds, nanos = divmod(up_ns, NS)
    sub_ms = nanos % 1_000_000
    if nanos % 1000:  # nine fractional digits: the second, the milliseconds, the rest
        second = _second_point(seconds)
        tail = f"{_MS[sub_ms // 1000]}{_MS[sub_ms % 1000]}+00:00"
        time = f"{second}{_MS[nanos // 1_000_000]}{tail}"
    else:
        second = tail = ""
        time = rfc3339_ns(up_ns)
    rx_json = []
    for station, uplink_id, rx_ns, rssi, snr_tenths, counter in receptions:
        rx_nanos = nanos - (up_ns - rx_ns)
        if not tail or rx_nanos % 1_000_000 != sub_ms:
            ns_time = rfc3339_ns(rx_ns)
        elif rx_nanos >= 0:
            ns_time = f"{second}{_MS[rx_nanos // 1_000_000]}{tail}"
        elif rx_nanos >= -NS:  # the second before
            ns_time = f"{_second_point(seconds - 1)}{_MS[(rx_nanos + NS) // 1_000_000]}{tail}"
        else:
            ns_time = rfc3339_ns(rx_ns)
        rx_json.append(
            f'{station.head}{uplink_id},"nsTime":"{ns_time}",'
            f"{_signal(rssi, snr_tenths)}{station.tails[channel]}"
            f"{_B64_12[counter >> 20]}{_B64_12[counter >> 8 & 4095]}{_B64_LAST[counter & 255]}"
            '","crcStatus":"CRC_OK"}'
        )
    return (
        f'{{"deduplicationId":"{dedup_id}","time":"{time}","deviceInfo":{device.info_text},'
        f'"devAddr":"{dev_addr}","adr":true,"dr":{_SMALL[dr]},"fCnt":{f_cnt},'
        f'"fPort":{_SMALL[f_port]},"confirmed":false,'
        f'"data":"{b2a_base64(payload, newline=False).decode()}",'
        f'"rxInfo":[{",".join(rx_json)}],{_TX_INFO[dr][channel]},"regionConfigId":"eu868"}}'
    ).encode()


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


# The log events of a frame ChirpStack's frame-counter validation drops (chirpstack
# src/uplink/data.rs, handle_retransmission_reset): level, code, description. The event's
# time is the uplink's, its context the frame's deduplication id.
F_CNT_RETRANSMISSION = (
    "WARNING",
    "UPLINK_F_CNT_RETRANSMISSION",
    "Uplink was flagged as re-transmission / frame-counter did not increment",
)
F_CNT_RESET = ("WARNING", "UPLINK_F_CNT_RESET", "Frame-counter reset or rollover detected")
LogMessage = tuple[str, str, str]


def f_cnt_check(f_cnt: int, expected: int) -> LogMessage | None:
    """ChirpStack's frame-counter validation of a frame with `f_cnt` when it expects
    `expected` (not skipped): None if it takes the frame, else the log it publishes
    instead of an `up` (the frame is dropped)."""
    if f_cnt >= expected:
        return None
    return F_CNT_RETRANSMISSION if f_cnt == expected - 1 else F_CNT_RESET


def log_json(time_ns: int, device: Identity, message: LogMessage, context: dict[str, str]) -> bytes:
    level, code, description = message
    head = f'{{"time":"{rfc3339_ns(time_ns)}","deviceInfo":'
    tail = (
        f',"level":"{level}","code":"{code}","description":{orjson.dumps(description).decode()},'
        f'"context":{orjson.dumps(context).decode()}}}'
    )
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

    dedup_id, time_ns, device, dev_addr, dr, f_cnt, f_port, payload, receptions, channel = up
    event = integration.UplinkEvent(
        deduplication_id=dedup_id, dev_addr=dev_addr, adr=True, dr=dr, f_cnt=f_cnt,
        f_port=f_port, confirmed=False, data=payload, region_config_id="eu868",
    )  # fmt: skip
    _timestamp(event.time, time_ns)
    _fill_info(event, device)
    for station, uplink_id, rx_ns, rssi, snr_tenths, counter in receptions:
        rx = event.rx_info.add(
            gateway_id=station.gateway_id, uplink_id=uplink_id, rssi=rssi,
            snr=snr_tenths / 10, channel=channel, rf_chain=1 if channel < 3 else 0,
            context=counter.to_bytes(4, "big"), crc_status=gw.CRC_OK,
        )  # fmt: skip
        _timestamp(rx.ns_time, rx_ns)
        rx.location.latitude, rx.location.longitude = station.latitude, station.longitude
        rx.location.altitude = station.altitude_m
    event.tx_info.frequency = EU868_CHANNELS_HZ[channel]
    lora = event.tx_info.modulation.lora
    lora.bandwidth, lora.spreading_factor, lora.code_rate = 125000, spreading_factor(dr), gw.CR_4_5
    return bytes(event.SerializeToString(deterministic=True))


def status_protobuf(dedup_id: str, time_ns: int, device: Identity, margin_db: int,
                    battery_pct: float | None) -> bytes:  # fmt: skip
    from chirpstack_api import integration

    event = integration.StatusEvent(
        deduplication_id=dedup_id, margin=margin_db, external_power_source=battery_pct is None,
        battery_level=0.0 if battery_pct is None else battery_level(battery_pct),
    )  # fmt: skip
    _timestamp(event.time, time_ns)
    _fill_info(event, device)
    return bytes(event.SerializeToString(deterministic=True))


def join_protobuf(dedup_id: str, time_ns: int, device: Identity, dev_addr: str) -> bytes:
    from chirpstack_api import integration

    event = integration.JoinEvent(
        deduplication_id=dedup_id, dev_addr=dev_addr, region_config_id="eu868"
    )
    _timestamp(event.time, time_ns)
    _fill_info(event, device)
    return bytes(event.SerializeToString(deterministic=True))


def log_protobuf(
    time_ns: int, device: Identity, message: LogMessage, context: dict[str, str]
) -> bytes:
    from chirpstack_api import integration

    level, code, description = message
    event = integration.LogEvent(
        level=integration.LogLevel.Value(level), code=integration.LogCode.Value(code),
        description=description,
    )  # fmt: skip
    _timestamp(event.time, time_ns)
    _fill_info(event, device)
    event.context.update(context)
    return bytes(event.SerializeToString(deterministic=True))
