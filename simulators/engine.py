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
from simulators.city import Device, build_devices, make_stations, snr_db
from simulators.faults import SimEvent
from simulators.payloads import encode
from simulators.radio import Radio
from simulators.scenario import Scenario
from simulators.vendors import ADAPTERS, MAINS_POWERED

NS = 1_000_000_000
REPORT, SWITCH, BURST = 0, 1, 2
DEDUPLICATION_DELAY_NS = 200_000_000  # ChirpStack's default deduplication_delay
UUID_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


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
        self.radio = Radio(self.stations, self.outages, self.rng)
        protobuf = fmt == "protobuf"
        self._write_up = chirpstack.up_protobuf if protobuf else chirpstack.up_json
        self._write_status = chirpstack.status_protobuf if protobuf else chirpstack.status_json
        self._write_join = chirpstack.join_protobuf if protobuf else chirpstack.join_json
        self._index_bits = len(self.devices).bit_length()
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
        bits, index_mask = self._index_bits + 2, (1 << self._index_bits) - 1
        for key in self._wakeups(duration_s):
            yield key >> bits, key >> 2 & index_mask, key & 3

    def _key(self, t: int, index: int, kind: int) -> int:
        """A wake-up as one int that sorts like the tuple (t, index, kind)."""
        return (t << self._index_bits | index) << 2 | kind

    def _wakeups(self, duration_s: float) -> Iterator[int]:
        """The schedule's wake-ups as keys (`_key`), in time order: each device's first
        ones are placed at once, each next one once the previous has been handled."""
        rng = random.Random(self.seed ^ 0x5C4E)
        key, devices = self._key, self.devices
        heap = [key(self.start_ns + d.phase_ns, d.index, REPORT) for d in devices]
        heap += [key(self._next_switch_ns(d, self.start_ns), d.index, SWITCH) for d in devices
                 if d.cabinet is not None]  # fmt: skip
        for burst in self.scenario.faults.bursts:
            at = self.start_ns + int(burst.at_s * NS)
            heap += [key(at + int(rng.uniform(0, burst.within_s) * NS), d.index, BURST)
                     for d in devices if d.fleet.device_class == burst.device_class]  # fmt: skip
        heapq.heapify(heap)
        return self._drain(heap, rng, key(self.start_ns + int(duration_s * NS), 0, 0))

    def _drain(self, heap: list[int], rng: random.Random, end_key: int) -> Iterator[int]:
        """The heap's keys below `end_key` in order, a device's next report or switching
        pushed once the consumer is back (its uplink may move the streetlight's state)."""
        heappop, heapreplace, jitter = heapq.heappop, heapq.heapreplace, rng.random
        devices, bits, index_mask = self.devices, self._index_bits, (1 << self._index_bits) - 1
        first_report = [self.start_ns + d.phase_ns for d in devices]
        interval_s = [d.fleet.interval_s for d in devices]
        rounds = [0] * len(devices)
        while heap and heap[0] < end_key:
            head = heap[0]
            yield head
            kind = head & 3
            if kind == REPORT:
                index = head >> 2 & index_mask
                done = rounds[index] = rounds[index] + 1
                nominal = first_report[index] + int(done * interval_s[index] * NS)
                at = nominal + int(1.5 * jitter() * NS)  # rng.uniform(0, 1.5): the same float
                heapreplace(heap, (at << bits | index) << 2 | REPORT)
            elif kind == SWITCH:
                index = head >> 2 & index_mask
                at = self._next_switch_ns(devices[index], head >> bits + 2)
                heapreplace(heap, (at << bits | index) << 2 | SWITCH)
            else:
                heappop(heap)

    def events(self, duration_s: float) -> Iterator[SimEvent]:
        """The events of the first `duration_s` simulated seconds, in generation order."""
        return self._events(self._wakeups(duration_s))

    def _events(self, wakeups: Iterator[int]) -> Iterator[SimEvent]:
        later, silent, devices, uplink = self._later, self.silent, self.devices, self._uplink
        bits, index_mask = self._index_bits + 2, (1 << self._index_bits) - 1
        for key in wakeups:
            t, index = key >> bits, key >> 2 & index_mask
            while later and later[0][0] <= t:
                yield heapq.heappop(later)[2]
            window = silent.get(index) if silent else None
            if window is None or not window[0] <= t < window[1]:
                yield from uplink(devices[index], t, key & 3)
        while later:
            yield heapq.heappop(later)[2]

    def _defer(self, event: SimEvent) -> None:
        heapq.heappush(self._later, (event.at_ns, self._seq, event))
        self._seq += 1

    def _dedup_id(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{UUID_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"

    def _measure(self, device: Device, t: int, kind: int) -> dict[str, float]:
        city, rng, t_s = self.scenario.city, self.rng, t / NS
        local_s = t_s + self.utc_offset_s(t_s)
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
        local_hour, weekday = local_s % 86400 / 3600, (int(local_s // 86400) + 3) % 7
        if device.bin is not None:
            state = bins.advance(device.bin, local_s, rng)
            state["temperature_c"] = air.temperature_c(t_s, local_hour, city.latitude) + rng.gauss(
                0, 0.5
            )
            return state
        battery = max(1.0, device.battery_pct - (t - self.start_ns) / NS / (365 * 86400) * 10.0)
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

    def _uplink(self, device: Device, t: int, kind: int) -> tuple[SimEvent, ...]:
        """The events of one uplink: its join first when it (re)joins, then the `up`; its
        retransmission and the device's status are deferred to their time."""
        rng, faults, fleet = self.rng, self.scenario.faults, device.fleet
        channel = rng.randrange(8)
        rx = self.radio.receptions(device.links, t, channel)
        if not rx:  # nobody heard it: the frame counter moves on all the same
            device.f_cnt += 1
            return ()
        join: tuple[SimEvent, ...] = ()
        reset_p = faults.fcnt_reset_per_day * fleet.interval_s / 86400
        if not device.joined or (reset_p and rng.random() < reset_p):
            join = (self._join(device, t),)
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
        event = SimEvent(up.time_ns, device.topic_up, self._write_up(up), "up", fleet.device_class,
                         fleet.model, dedup, intended, fault)  # fmt: skip
        if faults.retransmission and rng.random() < faults.retransmission:
            self._retransmit(device, up, intended)
        if t - device.last_status_ns >= self.scenario.status_interval_s * NS:
            device.last_status_ns = t
            self._report_status(device, up, state)
        device.f_cnt += 1
        device.uplinks += 1
        return (*join, event)

    def _join(self, device: Device, t: int) -> SimEvent:
        rng, fleet = self.rng, device.fleet
        device.joined, device.f_cnt = True, 0
        device.dev_addr = f"{rng.getrandbits(25):08x}"
        join_ns = t - rng.randrange(3, 9) * NS
        dedup = self._dedup_id()
        payload = self._write_join(dedup, join_ns, device.identity, device.dev_addr)
        return SimEvent(join_ns, device.topic_join, payload, "join", fleet.device_class,
                        fleet.model, dedup)  # fmt: skip

    def _retransmit(
        self, device: Device, up: chirpstack.Up, intended: dict[str, Any] | None
    ) -> None:
        fleet = device.fleet
        again_ns = up.time_ns + self.rng.randrange(2, 10) * NS
        copy = chirpstack.Up(self._dedup_id(), again_ns, up.device, up.dev_addr, up.dr, up.f_cnt,
                             up.f_port, up.payload, up.rx, up.channel)  # fmt: skip
        self._defer(SimEvent(again_ns, device.topic_up, self._write_up(copy), "up",
                             fleet.device_class, fleet.model, copy.dedup_id, intended,
                             "retransmission"))  # fmt: skip

    def _report_status(self, device: Device, up: chirpstack.Up, state: dict[str, float]) -> None:
        fleet = device.fleet
        battery = None if fleet.model in MAINS_POWERED else state["battery_pct"]
        margin = device.margin_db + round(
            max(r.snr_tenths for r in up.rx) / 10 - snr_db(device.links[0][1])
        )
        status = self._write_status(up.dedup_id, up.time_ns + 1_000_000, device.identity, margin,
                                    battery)  # fmt: skip
        self._defer(SimEvent(up.time_ns + 1_000_000, device.topic_status, status, "status",
                             fleet.device_class, fleet.model, up.dedup_id))  # fmt: skip

    def _corrupt(self, payload: bytes) -> bytes:
        """A truncated frame, or one with a byte flipped (a buggy firmware, a bad radio)."""
        if len(payload) > 2 and self.rng.random() < 0.5:
            return payload[: self.rng.randrange(1, len(payload))]
        i = self.rng.randrange(len(payload))
        return payload[:i] + bytes([payload[i] ^ 0xFF]) + payload[i + 1 :]
