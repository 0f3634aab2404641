"""The city in motion: a schedule of device wake-ups (periodic reports, streetlight
switching, bursts) turned into the ChirpStack events the city's network server publishes,
with the device-side faults (corrupt payloads, retransmissions, fCnt resets, silent
devices, gateway outages) and the `log` events ChirpStack publishes for them.

Pure: the same scenario, seed and start give the same events, byte for byte."""

from __future__ import annotations

import heapq
import math
import random
from bisect import insort
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from simulators import air, bins, chirpstack, pedestrians, streetlights
from simulators.city import Device, build_devices, make_stations, snr_db
from simulators.faults import SimEvent
from simulators.payloads import encoder
from simulators.radio import Radio
from simulators.scenario import Scenario
from simulators.vendors import ADAPTERS, MAINS_POWERED

NS = 1_000_000_000
_T = TypeVar("_T")
REPORT, SWITCH, BURST = 0, 1, 2
BUCKET_BITS = 30  # wake-ups wait in buckets of 2^30 ns
DEDUPLICATION_DELAY_NS = 200_000_000  # ChirpStack's default deduplication_delay
UUID_CLEAR = ~(0xF << 76 | 0x4 << 60)  # the version nibble, the variant's second bit
UUID_SET = 0x4 << 76 | 0x8 << 60


class Engine:
    def __init__(self, scenario: Scenario, seed: int, start: datetime, fmt: str = "json",
                 topic_prefix: str = "") -> None:  # fmt: skip
        self.scenario, self.seed, self.fmt = scenario, seed, fmt
        self.city, self.faults = scenario.city, scenario.faults
        self.start_ns = int(start.timestamp()) * NS + start.microsecond * 1000
        self.tz = ZoneInfo(scenario.city.timezone)
        self._offsets: dict[int, float] = {}
        self.stations = make_stations(scenario, random.Random(seed ^ 0x6A7E))
        self.devices = build_devices(scenario, seed, self.start_ns, self.stations, topic_prefix,
                                     self.utc_offset_s(self.start_ns / NS))  # fmt: skip
        self.rng = random.Random(seed ^ 0xE7E7)
        self._getrandbits = self.rng.getrandbits
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
        self._write_log = chirpstack.log_protobuf if protobuf else chirpstack.log_json
        self._index_bits = len(self.devices).bit_length()
        self._encoders = {fleet.model: encoder(fleet.model) for fleet in scenario.fleets}
        self._resets = f.fcnt_reset_per_day > 0
        self._status_interval_ns = scenario.status_interval_s * NS
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

        def woken(t: int, index: int, kind: int) -> tuple[int, int, int]:
            return t, index, kind

        wakeups = self._run(*self._first_wakeups(duration_s), woken)
        return cast(Iterator[tuple[int, int, int]], wakeups)  # and no events

    def events(self, duration_s: float) -> Iterator[SimEvent]:
        """The events of the first `duration_s` simulated seconds, in generation order."""
        return self._run(*self._first_wakeups(duration_s), self._wake)

    def _key(self, t: int, index: int, kind: int) -> int:
        """A wake-up as one int that sorts like the tuple (t, index, kind)."""
        return (t << self._index_bits | index) << 2 | kind

    def _first_wakeups(self, duration_s: float) -> tuple[dict[int, list[int]], random.Random, int]:
        """The schedule's first wake-ups, each device's first ones, as keys (`_key`) by
        bucket (`_run`); the draws for the next ones; the key where the schedule ends."""
        rng = random.Random(self.seed ^ 0x5C4E)
        key, devices = self._key, self.devices
        keys = [key(self.start_ns + d.phase_ns, d.index, REPORT) for d in devices]
        keys += [key(self._next_switch_ns(d, self.start_ns), d.index, SWITCH) for d in devices
                 if d.cabinet is not None]  # fmt: skip
        for burst in self.scenario.faults.bursts:
            at = self.start_ns + int(burst.at_s * NS)
            keys += [key(at + int(rng.uniform(0, burst.within_s) * NS), d.index, BURST)
                     for d in devices if d.fleet.device_class == burst.device_class]  # fmt: skip
        buckets: dict[int, list[int]] = {}
        shift = self._index_bits + 2 + BUCKET_BITS
        for k in keys:
            buckets.setdefault(k >> shift, []).append(k)
        return buckets, rng, key(self.start_ns + int(duration_s * NS), 0, 0)

    def _run(
        self, buckets: dict[int, list[int]], rng: random.Random, end_key: int,
        wake: Callable[[int, int, int], _T | None],
    ) -> Iterator[_T | SimEvent]:  # fmt: skip
        """What `wake` makes of each wake-up in time order, and the deferred events as
        their time comes (`wake` may defer some). A device's next report or switching is
        placed once `wake` is back (its uplink may move the streetlight's state).

        The wake-ups wait in buckets of 2^BUCKET_BITS ns (about a second), each sorted when
        its turn comes: one heap of the city's 60 000 keys spent its time in cache misses."""
        heappop, heappush, jitter = heapq.heappop, heapq.heappush, rng.random
        later, devices = self._later, self.devices
        bits, index_mask = self._index_bits, (1 << self._index_bits) - 1
        shift = bits + 2 + BUCKET_BITS
        ids = list(buckets)  # a heap of the buckets' ids
        heapq.heapify(ids)
        current: list[int] = []  # the bucket being drained, sorted, up to `position`
        position = size = current_id = 0
        first_report = [self.start_ns + d.phase_ns for d in devices]
        interval_s = [d.fleet.interval_s for d in devices]
        rounds = [0] * len(devices)
        while True:
            if position == size:
                if not ids:
                    break
                current_id = heappop(ids)
                current = buckets.pop(current_id)
                current.sort()
                position, size = 0, len(current)
            head = current[position]
            if head >= end_key:
                break
            position += 1
            t, index, kind = head >> bits + 2, head >> 2 & index_mask, head & 3
            while later and later[0][0] <= t:
                yield heappop(later)[2]
            woken = wake(t, index, kind)
            while later and later[0][0] <= t:  # a join, deferred by its uplink
                yield heappop(later)[2]
            if woken is not None:
                yield woken
            if kind == REPORT:
                done = rounds[index] = rounds[index] + 1
                nominal = first_report[index] + int(done * interval_s[index] * NS)
                at = nominal + int(1.5 * jitter() * NS)  # rng.uniform(0, 1.5): the same float
                key = (at << bits | index) << 2 | REPORT
            elif kind == SWITCH:
                key = (self._next_switch_ns(devices[index], t) << bits | index) << 2 | SWITCH
            else:
                continue
            bucket_id = key >> shift
            if bucket_id == current_id:
                insort(current, key, position)
                size += 1
            elif (bucket := buckets.get(bucket_id)) is not None:
                bucket.append(key)
            else:
                buckets[bucket_id] = [key]
                heappush(ids, bucket_id)
        while later:
            yield heappop(later)[2]

    def _defer(self, event: SimEvent) -> None:
        heapq.heappush(self._later, (event.at_ns, self._seq, event))
        self._seq += 1

    def _dedup_id(self) -> str:
        """A UUID v4 from 128 random bits: version nibble 4, variant bits 10."""
        b = (self._getrandbits(128) & UUID_CLEAR | UUID_SET).to_bytes(16, "big")
        return f"{b[:4].hex()}-{b[4:10].hex('-', 2)}-{b[10:].hex()}"

    def _measure(self, device: Device, t: int, kind: int) -> dict[str, float]:
        city, rng, t_s = self.city, self.rng, t / NS
        cabinet = device.cabinet
        if cabinet is not None:
            since, until, lit, dimmed = cabinet.held  # night_state's answer, most of the time
            if not since <= t_s < until:
                local_s = t_s + self.utc_offset_s(t_s)
                lit, dimmed, _ = streetlights.night_state(
                    cabinet, t_s, city.latitude, city.longitude, local_s - t_s
                )
            mask_before = cabinet.circuit_mask
            state = streetlights.meter(cabinet, lit, dimmed, t_s, rng)
            # switching on or off is reported as the switch item alone, a dimming step in full
            switched = kind == SWITCH and cabinet.circuit_mask != mask_before
            state["switch_only"] = 1.0 if switched else 0.0
            return state
        local_s = t_s + self.utc_offset_s(t_s)
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

    def _wake(self, t: int, index: int, kind: int) -> SimEvent | None:
        """The `up` of device `index` waking at `t`, unless it is silent or nobody hears it.
        Its join, when it (re)joins, its retransmission and its status are deferred to
        their time (the join's is before the up's: it comes first)."""
        silent = self.silent
        if silent and index in silent and silent[index][0] <= t < silent[index][1]:
            return None
        device = self.devices[index]
        rng, getrandbits, faults, fleet = self.rng, self._getrandbits, self.faults, device.fleet
        channel = getrandbits(4)  # rng.randrange(8), draw for draw (CPython's _randbelow)
        while channel > 7:
            channel = getrandbits(4)
        rx = self.radio.receptions(device.links, t)
        if not rx:  # nobody heard it: the frame counter moves on all the same
            self._unanswered(device)
            return None
        reset_p = faults.fcnt_reset_per_day * fleet.interval_s / 86400 if self._resets else 0.0
        if not device.joined:
            self._defer(self._join(device, t))
        elif reset_p and rng.random() < reset_p:
            self._reset(device, t)
        if device.expected_f_cnt is not None:
            message = chirpstack.f_cnt_check(device.f_cnt, device.expected_f_cnt)
            if message is not None:
                return self._dropped(device, rx, message)
            device.expected_f_cnt, device.unanswered = None, 0  # caught up: taken again
        state = self._measure(device, t, kind)
        vendor = ADAPTERS[fleet.model](state, device.identity.dev_eui)
        f_port, payload = self._encoders[fleet.model](vendor)
        intended: dict[str, Any] | None = vendor
        fault = ""
        if faults.corrupt and rng.random() < faults.corrupt:
            payload, intended, fault = self._corrupt(payload), None, "corrupt"
        b = (getrandbits(128) & UUID_CLEAR | UUID_SET).to_bytes(16, "big")  # _dedup_id()
        dedup = f"{b[:4].hex()}-{b[4:10].hex('-', 2)}-{b[10:].hex()}"
        time_ns = rx[-1][2] + DEDUPLICATION_DELAY_NS
        up = (dedup, time_ns, device.identity, device.dev_addr, device.dr, device.f_cnt, f_port,
              payload, rx, channel)  # fmt: skip
        event = SimEvent(time_ns, device.topic_up, self._write_up(up), "up", fleet.device_class,
                         fleet.model, dedup, intended, fault)  # fmt: skip
        if faults.retransmission and rng.random() < faults.retransmission:
            self._retransmit(device, up, intended)
        if t - device.last_status_ns >= self._status_interval_ns:
            device.last_status_ns = t
            self._report_status(device, up, state)
        device.f_cnt += 1
        device.uplinks += 1
        return event

    def _reset(self, device: Device, t: int) -> None:
        """A reboot that restarts the frame counter, in the session ChirpStack holds (it
        takes the counter as it comes when the device skips the check), or in a new one
        when the device rejoins as it boots."""
        if not self.faults.rejoin_after_uplinks:
            self._defer(self._join(device, t))
            return
        if device.expected_f_cnt is None and not device.fleet.skip_fcnt_check:
            device.expected_f_cnt, device.unanswered = device.f_cnt, 0
        device.f_cnt = 0

    def _unanswered(self, device: Device) -> None:
        """An uplink ChirpStack did not take: once enough went unanswered after a reset,
        the device rejoins at its next one."""
        device.f_cnt += 1
        if device.expected_f_cnt is not None:
            device.unanswered += 1
            if device.unanswered >= self.faults.rejoin_after_uplinks:
                device.joined = False

    def _dropped(self, device: Device, rx: tuple[chirpstack.Rx, ...],
                 message: chirpstack.LogMessage) -> SimEvent:  # fmt: skip
        """The `log` ChirpStack publishes for a frame its frame-counter check drops."""
        fleet, dedup = device.fleet, self._dedup_id()
        time_ns = rx[-1][2] + DEDUPLICATION_DELAY_NS
        payload = self._write_log(time_ns, device.identity, message, {"deduplication_id": dedup})
        device.uplinks += 1
        self._unanswered(device)
        return SimEvent(time_ns, device.topic_log, payload, "log", fleet.device_class,
                        fleet.model, dedup, None, "fcnt_reset")  # fmt: skip

    def _join(self, device: Device, t: int) -> SimEvent:
        rng, fleet = self.rng, device.fleet
        device.joined, device.f_cnt = True, 0
        device.expected_f_cnt, device.unanswered = None, 0
        device.dev_addr = f"{rng.getrandbits(25):08x}"
        join_ns = t - rng.randrange(3, 9) * NS
        dedup = self._dedup_id()
        payload = self._write_join(dedup, join_ns, device.identity, device.dev_addr)
        return SimEvent(join_ns, device.topic_join, payload, "join", fleet.device_class,
                        fleet.model, dedup)  # fmt: skip

    def _retransmit(
        self, device: Device, up: chirpstack.Up, intended: dict[str, Any] | None
    ) -> None:
        """The frame again, a few seconds later: an `up` of the same fCnt if the device
        skips the frame-counter check, else the `log` of the frame ChirpStack drops."""
        fleet = device.fleet
        again_ns = up[1] + self.rng.randrange(2, 10) * NS
        dedup = self._dedup_id()
        if fleet.skip_fcnt_check:
            payload = self._write_up((dedup, again_ns, *up[2:]))
            self._defer(SimEvent(again_ns, device.topic_up, payload, "up", fleet.device_class,
                                 fleet.model, dedup, intended, "retransmission"))  # fmt: skip
        else:
            payload = self._write_log(again_ns, device.identity, chirpstack.F_CNT_RETRANSMISSION,
                                      {"deduplication_id": dedup})  # fmt: skip
            self._defer(SimEvent(again_ns, device.topic_log, payload, "log", fleet.device_class,
                                 fleet.model, dedup, None, "retransmission"))  # fmt: skip

    def _report_status(self, device: Device, up: chirpstack.Up, state: dict[str, float]) -> None:
        fleet = device.fleet
        dedup, time_ns, receptions = up[0], up[1], up[8]
        battery = None if fleet.model in MAINS_POWERED else state["battery_pct"]
        margin = device.margin_db + round(
            max([snr_tenths for _, _, _, _, snr_tenths, _ in receptions]) / 10
            - snr_db(device.links[0][1])
        )
        status = self._write_status(dedup, time_ns + 1_000_000, device.identity, margin, battery)
        self._defer(SimEvent(time_ns + 1_000_000, device.topic_status, status, "status",
                             fleet.device_class, fleet.model, dedup))  # fmt: skip

    def _corrupt(self, payload: bytes) -> bytes:
        """A truncated frame, or one with a byte flipped (a buggy firmware, a bad radio)."""
        if len(payload) > 2 and self.rng.random() < 0.5:
            return payload[: self.rng.randrange(1, len(payload))]
        i = self.rng.randrange(len(payload))
        return payload[:i] + bytes([payload[i] ^ 0xFF]) + payload[i + 1 :]
