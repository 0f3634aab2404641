"""The city in motion: a schedule of device wake-ups (periodic reports, streetlight
switching, bursts) turned into the ChirpStack events the city's network server publishes,
with the device-side faults (corrupt payloads, fCnt resets, silent devices, gateway outages).

Pure: the same scenario, seed and start give the same events, byte for byte."""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from simulators import air, bins, chirpstack, pedestrians, streetlights
from simulators.city import SENSITIVITY_DBM, Device, build_devices, make_stations, snr_db
from simulators.faults import SimEvent
from simulators.payloads import encode
from simulators.scenario import Scenario
from simulators.vendors import ADAPTERS, MAINS_POWERED

NS = 1_000_000_000
REPORT, SWITCH, BURST = 0, 1, 2
DEDUPLICATION_DELAY_NS = 200_000_000  # ChirpStack's default deduplication_delay


class Engine:
    def __init__(self, scenario: Scenario, seed: int, start: datetime, fmt: str = "json",
                 topic_prefix: str = "") -> None:  # fmt: skip
        self.scenario, self.seed, self.fmt = scenario, seed, fmt
        self.start_ns = int(start.timestamp()) * NS + start.microsecond * 1000
        self.tz = ZoneInfo(scenario.city.timezone)
        self._offsets: dict[int, float] = {}
        self.stations = make_stations(scenario, random.Random(seed ^ 0x6A7E))
        self.devices = build_devices(scenario, seed, self.start_ns, self.stations, topic_prefix,
                                     self.utc_offset_s(self.start_ns / NS))  # fmt: skip
        self.rng = random.Random(seed ^ 0xE7E7)
        names = [g.name for g in scenario.gateways]
        f = scenario.faults
        self.outages = [[(self.start_ns + int(o.at_s * NS), self.start_ns + int((o.at_s + o.for_s) * NS))
                         for o in f.gateway_outages if o.gateway == name] for name in names]  # fmt: skip
        pick = random.Random(seed ^ 0x5113)
        self.silent: dict[int, tuple[int, float]] = {
            d.index: (self.start_ns + int(f.silent_after_s * NS),
                      math.inf if f.silent_for_s is None else self.start_ns + (f.silent_after_s + f.silent_for_s) * NS)
            for d in self.devices if f.silent_fraction and pick.random() < f.silent_fraction
        }  # fmt: skip
        self._later: list[tuple[int, int, SimEvent]] = []
        self._seq = 0

    def utc_offset_s(self, unix_s: float) -> float:
        hour = int(unix_s // 3600)
        if hour not in self._offsets:
            moment = datetime.fromtimestamp(hour * 3600, UTC).astimezone(self.tz)
            offset = moment.utcoffset()
            self._offsets[hour] = offset.total_seconds() if offset else 0.0
        return self._offsets[hour]

    def _next_switch_ns(self, device: Device, after_ns: int) -> int:
        assert device.cabinet is not None
        city, t_s = self.scenario.city, after_ns / NS + 0.001  # float seconds: step past `after`
        _, _, following = streetlights.night_state(
            device.cabinet, t_s, city.latitude, city.longitude, self.utc_offset_s(t_s)
        )
        return max(int(following * NS), after_ns + 1_000_000)  # fmt: skip

    def schedule(self, duration_s: float) -> Iterator[tuple[int, int, int]]:
        """Wake-ups (time ns, device index, REPORT | SWITCH | BURST) in time order."""
        end_ns = self.start_ns + int(duration_s * NS)
        rng = random.Random(self.seed ^ 0x5C4E)
        heap = [(self.start_ns + d.phase_ns, d.index, REPORT) for d in self.devices]
        heap += [(self._next_switch_ns(d, self.start_ns), d.index, SWITCH) for d in self.devices
                 if d.cabinet is not None]  # fmt: skip
        for burst in self.scenario.faults.bursts:
            at = self.start_ns + int(burst.at_s * NS)
            heap += [(at + int(rng.uniform(0, burst.within_s) * NS), d.index, BURST)
                     for d in self.devices if d.fleet.device_class == burst.device_class]  # fmt: skip
        heapq.heapify(heap)
        rounds = [0] * len(self.devices)
        while heap and heap[0][0] < end_ns:
            t, index, kind = heapq.heappop(heap)
            yield t, index, kind
            device = self.devices[index]
            if kind == REPORT:
                rounds[index] += 1
                nominal = (
                    self.start_ns
                    + device.phase_ns
                    + int(rounds[index] * device.fleet.interval_s * NS)
                )
                heapq.heappush(heap, (nominal + int(rng.uniform(0, 1.5) * NS), index, REPORT))
            elif kind == SWITCH:
                heapq.heappush(heap, (self._next_switch_ns(device, t), index, SWITCH))

    def events(self, duration_s: float) -> Iterator[SimEvent]:
        """The events of the first `duration_s` simulated seconds, in generation order."""
        for t, index, kind in self.schedule(duration_s):
            while self._later and self._later[0][0] <= t:
                yield heapq.heappop(self._later)[2]
            window = self.silent.get(index)
            if window is None or not window[0] <= t < window[1]:
                yield from self._uplink(self.devices[index], t, kind)
        while self._later:
            yield heapq.heappop(self._later)[2]

    def _defer(self, event: SimEvent) -> None:
        heapq.heappush(self._later, (event.at_ns, self._seq, event))
        self._seq += 1

    def _dedup_id(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def _receptions(self, device: Device, t: int, channel: int) -> tuple[chirpstack.Rx, ...]:
        heard = []
        rng = self.rng
        for station_index, base_rssi in device.links:
            outages = self.outages[station_index]
            if outages and any(a <= t < b for a, b in outages):
                continue
            rssi = base_rssi + (rng.random() + rng.random() + rng.random() - 1.5) * 6.0  # σ 3 dB
            if rssi < SENSITIVITY_DBM or (rssi < -125 and rng.random() < 0.3):
                continue
            counter = rng.getrandbits(32)  # the concentrator's µs counter: the gateway's context
            heard.append(chirpstack.Rx(
                self.stations[station_index], counter ^ 0x5A5A5A5A, t + (20 + (counter & 63)) * 1_000_000,
                int(rssi), round(snr_db(rssi) * 10) or 1, channel, counter.to_bytes(4, "big")))  # fmt: skip
        heard.sort(key=lambda r: r.ns_time_ns)  # the last one closes the deduplication
        return tuple(heard)

    def _measure(self, device: Device, t: int, kind: int) -> dict[str, float]:
        city, rng, t_s = self.scenario.city, self.rng, t / NS
        local_s = t_s + self.utc_offset_s(t_s)
        local_hour, weekday = local_s % 86400 / 3600, (int(local_s // 86400) + 3) % 7
        battery = max(1.0, device.battery_pct - (t - self.start_ns) / NS / (365 * 86400) * 10.0)
        if device.cabinet is not None:
            lit, dimmed, _ = streetlights.night_state(
                device.cabinet, t_s, city.latitude, city.longitude, local_s - t_s
            )
            mask_before = device.cabinet.circuit_mask
            state = streetlights.meter(device.cabinet, lit, dimmed, t_s, rng)
            # switching on or off is reported as the switch item alone, a dimming step in full
            switched = kind == SWITCH and device.cabinet.circuit_mask != mask_before
            state["switch_only"] = 1.0 if switched else 0.0
            return state  # fmt: skip
        if device.bin is not None:
            state = bins.advance(device.bin, local_s, rng)
            state["temperature_c"] = air.temperature_c(t_s, local_hour, city.latitude) + rng.gauss(
                0, 0.5
            )
            return state
        if device.fleet.device_class == "air_quality":
            state = air.sample(t_s, local_hour, weekday, device.zone.kind, city.latitude,
                               city.longitude, self.seed, rng)  # fmt: skip
        else:
            people_in, people_out = pedestrians.count(
                rng, device.zone.kind, device.zone.name, self.scenario.events, local_s,
                device.fleet.interval_s, 1.0)  # fmt: skip
            device.totals[0] += people_in
            device.totals[1] += people_out
            state = {"period_in": people_in, "period_out": people_out, "total_in": device.totals[0],
                     "total_out": device.totals[1], "uplinks": device.uplinks}  # fmt: skip
        return {**state, "battery_pct": battery, "battery_v": 2.4 + 1.2 * battery / 100}

    def _uplink(self, device: Device, t: int, kind: int) -> Iterator[SimEvent]:
        rng, faults, fleet = self.rng, self.scenario.faults, device.fleet
        channel = rng.randrange(8)
        rx = self._receptions(device, t, channel)
        if not rx:  # nobody heard it: the frame counter moves on all the same
            device.f_cnt += 1
            return
        reset_p = faults.fcnt_reset_per_day * fleet.interval_s / 86400
        if not device.joined or (reset_p and rng.random() < reset_p):
            device.joined, device.f_cnt = True, 0
            device.dev_addr = f"{rng.getrandbits(25):08x}"
            join_ns = t - rng.randrange(3, 9) * NS
            dedup = self._dedup_id()
            payload = (chirpstack.join_protobuf if self.fmt == "protobuf" else chirpstack.join_json)(
                dedup, join_ns, device.identity, device.dev_addr)  # fmt: skip
            yield SimEvent(
                join_ns, device.topic_join, payload, "join", fleet.device_class, fleet.model, dedup
            )
        state = self._measure(device, t, kind)
        vendor = ADAPTERS[fleet.model](state, device.identity.dev_eui)
        f_port, payload = encode(fleet.model, vendor)
        intended: dict[str, Any] | None = vendor
        fault = ""
        if faults.corrupt and rng.random() < faults.corrupt:
            payload, intended, fault = self._corrupt(payload), None, "corrupt"
        dedup = self._dedup_id()
        up = chirpstack.Up(dedup, rx[-1].ns_time_ns + DEDUPLICATION_DELAY_NS, device.identity,
                           device.dev_addr, device.dr, device.f_cnt, f_port, payload, rx, channel)  # fmt: skip
        write = chirpstack.up_protobuf if self.fmt == "protobuf" else chirpstack.up_json
        yield SimEvent(
            up.time_ns,
            device.topic_up,
            write(up),
            "up",
            fleet.device_class,
            fleet.model,
            dedup,
            intended,
            fault,
        )
        if faults.retransmission and rng.random() < faults.retransmission:
            again_ns = up.time_ns + rng.randrange(2, 10) * NS
            copy = chirpstack.Up(self._dedup_id(), again_ns, up.device, up.dev_addr, up.dr, up.f_cnt,
                                 f_port, payload, rx, channel)  # fmt: skip
            self._defer(SimEvent(again_ns, device.topic_up, write(copy), "up", fleet.device_class,
                                 fleet.model, copy.dedup_id, intended, "retransmission"))  # fmt: skip
        if t - device.last_status_ns >= self.scenario.status_interval_s * NS:
            device.last_status_ns = t
            battery = None if fleet.model in MAINS_POWERED else state["battery_pct"]
            margin = device.margin_db + round(
                max(r.snr_tenths for r in rx) / 10 - snr_db(device.links[0][1])
            )
            status = (chirpstack.status_protobuf if self.fmt == "protobuf" else chirpstack.status_json)(
                dedup, up.time_ns + 1_000_000, device.identity, margin, battery)  # fmt: skip
            self._defer(SimEvent(up.time_ns + 1_000_000, device.topic_status, status, "status",
                                 fleet.device_class, fleet.model, dedup))  # fmt: skip
        device.f_cnt += 1
        device.uplinks += 1

    def _corrupt(self, payload: bytes) -> bytes:
        """A truncated frame, or one with a byte flipped (a buggy firmware, a bad radio)."""
        if len(payload) > 2 and self.rng.random() < 0.5:
            return payload[: self.rng.randrange(1, len(payload))]
        i = self.rng.randrange(len(payload))
        return payload[:i] + bytes([payload[i] ^ 0xFF]) + payload[i + 1 :]
