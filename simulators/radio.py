"""Which gateways hear an uplink, and how: fading around each link's mean RSSI, the
sensitivity edge, gateway outages, and what each gateway reports (its concentrator
counter, reception time, RSSI and SNR).

Every draw comes from the random.Random it is given, in a fixed order."""

from __future__ import annotations

import random
from math import trunc
from operator import itemgetter

from simulators.chirpstack import Rx, Station
from simulators.city import SENSITIVITY_DBM

Outages = list[tuple[int, int]]
_RECEIVED_AT = itemgetter(2)


class Radio:
    """The city's gateways (`stations`) and their outage windows, in Unix ns."""

    def __init__(self, stations: list[Station], outages: list[Outages], rng: random.Random):
        self.stations, self.outages = stations, outages
        self._random, self._getrandbits = rng.random, rng.getrandbits
        self._any_outage = any(outages)

    def _down(self, station_index: int, t: int) -> bool:
        return any(a <= t < b for a, b in self.outages[station_index])

    def receptions(self, links: list[tuple[int, float]], t: int) -> tuple[Rx, ...]:
        """The receptions of an uplink sent at `t` over `links` (station index, mean RSSI),
        in the order they reach the network server: the last one closes the deduplication."""
        random, getrandbits, stations = self._random, self._getrandbits, self.stations
        any_outage, sensitivity_dbm = self._any_outage, SENSITIVITY_DBM
        heard = []
        for station_index, base_rssi in links:
            if any_outage and self._down(station_index, t):
                continue
            rssi = base_rssi + (random() + random() + random() - 1.5) * 6.0  # σ 3 dB
            if rssi < sensitivity_dbm or (rssi < -125 and random() < 0.3):
                continue
            counter = getrandbits(32)  # the concentrator's µs counter: the gateway's context
            snr = rssi + 116.0  # city.snr_db(rssi), inline: this runs for every reception
            snr = 12.0 if not snr < 12.0 else snr if snr > -20.0 else -20.0
            heard.append((stations[station_index], counter ^ 0x5A5A5A5A,
                          t + (20 + (counter & 63)) * 1_000_000, trunc(rssi), round(snr * 10) or 1,
                          counter))  # fmt: skip
        if len(heard) > 1:
            heard.sort(key=_RECEIVED_AT)
        return tuple(heard)
