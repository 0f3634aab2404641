"""The one settings object: environment variables prefixed URBANPULSE_, defaults that
match what `urbanpulse services up` starts, so nothing needs configuring locally."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CACHE = Path.home() / ".cache" / "urbanpulse"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="URBANPULSE_", env_nested_delimiter="__")

    database_url: str = "postgresql://postgres@127.0.0.1:54330/urbanpulse"
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 18830
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_client_id: str = "urbanpulse-ingest"
    mqtt_event_topic: str = "application/+/device/+/event/+"
    mqtt_shared_group: str | None = Field(
        default=None, description="MQTT v5 shared subscription group, so bridges split the load"
    )
    mqtt_session_expiry_s: int = 7 * 24 * 3600
    # A backlog drains in batches of 2 000: fewer transactions and round trips than 1 000
    # (two workers 3 866-4 390 -> 4 812-5 005 uplinks/s, docs/benchmarks.md); a live
    # stream closes its batches on the wait long before.
    batch_max_messages: int = Field(default=2000, ge=1)
    batch_max_wait_ms: int = Field(default=50, ge=1)
    profile_models: dict[str, str] = Field(
        default_factory=dict,
        description="ChirpStack device-profile name -> decoder model, the last resort",
    )
    rules_tick_s: float = Field(
        default=15.0,
        gt=0,
        description="how often rule timers (for-D, silence) and re-notifications run",
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    latest_max_age_s: float = Field(
        default=5.0,
        gt=0,
        description="how long an API process serves its snapshot of a /latest answer before "
        "building it again",
    )
    latest_stale_s: float = Field(
        default=25.0,
        ge=0,
        description="how much longer than latest_max_age_s a /latest snapshot is still served "
        "while the next one is built; an older one is dropped, and the request waits",
    )
    latest_cache_max_entries: int = Field(
        default=64, ge=1, description="/latest snapshots an API process keeps at most"
    )
    latest_cache_max_bytes: int = Field(
        default=256 * 2**20,
        ge=0,
        description="the bytes of /latest snapshots an API process keeps at most; the least "
        "recently used go first",
    )
    cache_dir: Path = DEFAULT_CACHE
    timezone: str = Field(
        default="Europe/Paris",
        description="the city's calendar: the days of windowed rules and the air index, "
        "and of the daily rollups",
    )
    closed_after_s: int = Field(
        default=3600,
        ge=0,
        description="how long after a day of the city's clock, or a chunk, ends its data is "
        "taken as complete: it is then summed into the daily rollups, or clustered",
    )
    cluster_hours: str = Field(
        default="02-05",
        pattern=r"^([01][0-9]|2[0-4])-([01][0-9]|2[0-4])$",
        description="hours of the city's clock when closed chunks are clustered, from-to "
        "(00-24: at any hour); each CLUSTER keeps out the readers and writers of its chunk",
    )
