"""A simulated city as a YAML file: zones with coordinates, gateways, fleets of real device
models with counts and reporting intervals, city events and faults on demand.

`load_scenario` refuses a file with an error, naming the file and the line; the format is
described in docs/simulator.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from decoders import DEVICE_CLASSES
from simulators.faults import Faults, read_faults
from simulators.nodes import Node, ScenarioError, load_nodes
from simulators.vendors import SIMULATED_MODELS

ZONE_KINDS = ("centre", "commercial", "residential", "park", "traffic", "industrial")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class City:
    name: str
    latitude: float
    longitude: float
    timezone: str
    inhabitants: int


@dataclass(frozen=True, slots=True)
class Zone:
    """A rectangle of the city (south, west, north, east in degrees) and what it is."""

    name: str
    kind: str
    south: float
    west: float
    north: float
    east: float
    collection_days: tuple[int, ...] = ()
    collection_hour: float = 6.0

    def overlaps(self, other: Zone) -> bool:
        return (
            self.south < other.north
            and other.south < self.north
            and self.west < other.east
            and other.west < self.east
        )


@dataclass(frozen=True, slots=True)
class GatewaySpec:
    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Fleet:
    """`skip_fcnt_check`: ChirpStack's "disable frame-counter validation" for the fleet's
    devices (it then publishes a retransmission or a restarted counter as an `up`)."""

    device_class: str
    model: str
    count: int
    interval_s: float
    zones: tuple[str, ...]
    skip_fcnt_check: bool = False


@dataclass(frozen=True, slots=True)
class CityEvent:
    """More pedestrians in a zone: on given weekdays, or on one date, between two hours."""

    name: str
    zone: str
    start_hour: float
    end_hour: float
    factor: float
    weekdays: tuple[int, ...] = ()
    on_date: date | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    city: City
    zones: tuple[Zone, ...]
    gateways: tuple[GatewaySpec, ...]
    fleets: tuple[Fleet, ...]
    events: tuple[CityEvent, ...] = ()
    faults: Faults = field(default_factory=Faults)
    status_interval_s: float = 86400.0
    start: datetime | None = None

    @property
    def device_count(self) -> int:
        return sum(f.count for f in self.fleets)


def _weekdays(node: Node) -> tuple[int, ...]:
    return tuple(WEEKDAYS.index(day.choice(WEEKDAYS, "weekday")) for day in node.items())


def _city(node: Node) -> City:
    f = node.fields(("name", "latitude", "longitude", "timezone", "inhabitants"))
    tz = f.get("timezone")
    timezone = tz.text() if tz else "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise (tz or node).error(f"unknown time zone {timezone!r}") from None
    lat = node.require(f, "latitude")
    latitude = lat.number()
    if not -90 <= latitude <= 90:
        raise lat.error(f"latitude must be within -90..90, got {latitude:g}")
    return City(
        node.require(f, "name").text(),
        latitude,
        node.require(f, "longitude").number(),
        timezone,
        f["inhabitants"].integer(minimum=0) if "inhabitants" in f else 0,
    )


def _zone(node: Node) -> Zone:
    f = node.fields(("name", "kind", "box", "collection"))
    box_node = node.require(f, "box")
    box = [b.number() for b in box_node.items()]
    if len(box) != 4 or box[0] >= box[2] or box[1] >= box[3]:
        raise box_node.error(
            "box must be [south, west, north, east] with south < north, west < east"
        )
    days: tuple[int, ...] = ()
    hour = 6.0
    if "collection" in f:
        c = f["collection"].fields(("days", "hour"))
        days = _weekdays(f["collection"].require(c, "days"))
        hour = c["hour"].number(minimum=0) if "hour" in c else hour
    kind = node.require(f, "kind").choice(ZONE_KINDS, "zone kind")
    south, west, north, east = box
    return Zone(node.require(f, "name").text(), kind, south, west, north, east, days, hour)


def _fleet(node: Node, zones: dict[str, Zone]) -> Fleet:
    f = node.fields(("class", "model", "count", "interval_s", "zones", "skip_fcnt_check"))
    device_class = node.require(f, "class").choice(DEVICE_CLASSES, "device class")
    model_node = node.require(f, "model")
    model = model_node.text()
    known = sorted(m for m, c in SIMULATED_MODELS.items() if c == device_class)
    if model not in known:
        raise model_node.error(
            f"unknown model {model!r} for {device_class} (known: {', '.join(known)})"
        )
    names = tuple(z.text() for z in f["zones"].items()) if "zones" in f else tuple(zones)
    for z in f["zones"].items() if "zones" in f else ():
        if z.text() not in zones:
            raise z.error(f"unknown zone {z.text()!r} (known: {', '.join(zones)})")
    return Fleet(
        device_class,
        model,
        node.require(f, "count").integer(minimum=1),
        node.require(f, "interval_s").number(above=0),
        names,
        f["skip_fcnt_check"].boolean() if "skip_fcnt_check" in f else False,
    )


def _event(node: Node, zones: dict[str, Zone]) -> CityEvent:
    f = node.fields(("name", "zone", "days", "date", "start_hour", "end_hour", "factor"))
    zone = node.require(f, "zone")
    if zone.text() not in zones:
        raise zone.error(f"unknown zone {zone.text()!r} (known: {', '.join(zones)})")
    if ("days" in f) == ("date" in f):
        raise node.error("an event needs either days or a date")
    start = node.require(f, "start_hour").number(minimum=0)
    end_node = node.require(f, "end_hour")
    end = end_node.number(minimum=0)
    if not start < end <= 24:
        raise end_node.error("end_hour must be after start_hour and at most 24")
    return CityEvent(
        node.require(f, "name").text(),
        zone.text(),
        start,
        end,
        node.require(f, "factor").number(above=0),
        _weekdays(f["days"]) if "days" in f else (),
        f["date"].day() if "date" in f else None,
    )


def _gateways(node: Node) -> tuple[GatewaySpec, ...]:
    found = []
    for g in node.items():
        f = g.fields(("name", "latitude", "longitude"))
        found.append(
            GatewaySpec(
                g.require(f, "name").text(),
                g.require(f, "latitude").number(),
                g.require(f, "longitude").number(),
            )
        )
    if not found:
        raise node.error("a city needs at least one gateway")
    return tuple(found)


def parse_scenario(text: str, source: str) -> Scenario:
    root = load_nodes(text, source)
    keys = ("name", "city", "start", "zones", "gateways", "fleets", "events", "faults",
            "status_interval_s")  # fmt: skip
    f = root.fields(keys)
    zones: dict[str, Zone] = {}
    for node in root.require(f, "zones").items():
        zone = _zone(node)
        if zone.name in zones:
            raise node.error(f"zone {zone.name!r} is defined twice")
        for other in zones.values():
            if zone.overlaps(other):
                raise node.error(f"zone {zone.name!r} overlaps zone {other.name!r}")
        zones[zone.name] = zone
    fleets = tuple(_fleet(n, zones) for n in root.require(f, "fleets").items())
    gateways = _gateways(root.require(f, "gateways"))
    return Scenario(
        name=root.require(f, "name").text(),
        city=_city(root.require(f, "city")),
        zones=tuple(zones.values()),
        gateways=gateways,
        fleets=fleets,
        events=tuple(_event(n, zones) for n in f["events"].items()) if "events" in f else (),
        faults=read_faults(f["faults"], {g.name for g in gateways}) if "faults" in f else Faults(),
        status_interval_s=f["status_interval_s"].number(above=0)
        if "status_interval_s" in f
        else 86400.0,
        start=f["start"].moment() if "start" in f else None,
    )


def load_scenario(path: str | Path) -> Scenario:
    """The scenario of a YAML file; ScenarioError names the file and the line at fault."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: {exc.strerror}") from None
    return parse_scenario(text, str(path))
