"""From ChirpStack's MQTT events to committed rows: parsing, the bridge, the writer."""

from ingest.events import KINDS, Event, EventError, parse_event

__all__ = ["KINDS", "Event", "EventError", "parse_event"]
