"""Local Mosquitto and TimescaleDB for development and CI: installed, started, stopped.

TimescaleDB comes from Debian 13's `postgresql-17-timescaledb`: installed with apt on a
Debian 13 host, or inside a Debian 13 root built with debootstrap in the cache folder on
other Debian hosts, and run there with chroot. Everything is idempotent.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from urbanpulse.settings import Settings

PG_BIN = "/usr/lib/postgresql/17/bin"
PG_DATA = "/var/lib/urbanpulse/pg"


class ServiceError(RuntimeError):
    """A prerequisite is missing or a service failed to start; the message says what to do."""


@dataclass(frozen=True)
class Layout:
    """Where the services live for one settings object."""

    cache: Path
    pg_host: str
    pg_port: int
    pg_database: str
    mqtt_port: int

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        url = urlsplit(settings.database_url)
        return cls(
            cache=settings.cache_dir,
            pg_host=url.hostname or "127.0.0.1",
            pg_port=url.port or 5432,
            pg_database=url.path.lstrip("/") or "urbanpulse",
            mqtt_port=settings.mqtt_port,
        )

    @property
    def root(self) -> Path | None:
        """The Debian 13 root that runs PostgreSQL, or None on a Debian 13 host."""
        return None if debian_major() >= 13 else self.cache / "trixie-root"

    @property
    def mosquitto_dir(self) -> Path:
        return self.cache / "mosquitto"


def debian_major() -> int:
    try:
        return int(Path("/etc/debian_version").read_text().split(".")[0])
    except (OSError, ValueError):
        return 0


def run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise ServiceError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def require_root_and_apt() -> None:
    if os.geteuid() != 0:
        raise ServiceError(
            "services up installs Debian packages and runs a chroot: run it as root, or start "
            "Mosquitto and TimescaleDB yourself and set URBANPULSE_DATABASE_URL / "
            "URBANPULSE_MQTT_HOST / URBANPULSE_MQTT_PORT"
        )
    if shutil.which("apt-get") is None:
        raise ServiceError(
            "no apt-get: services up needs a Debian host; elsewhere run Mosquitto and "
            "TimescaleDB (docker-compose.yml) and point the URBANPULSE_ settings at them"
        )


_apt_updated = False


def apt_install(*packages: str) -> None:
    global _apt_updated
    if not _apt_updated:
        run(["apt-get", "update", "-qq"])
        _apt_updated = True
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(
        ["apt-get", "install", "-y", "-qq", *packages], capture_output=True, text=True, env=env
    )
    if result.returncode != 0:
        raise ServiceError(f"apt-get install {' '.join(packages)} failed: {result.stderr.strip()}")


def in_root(layout: Layout, cmd: str) -> list[str]:
    """A shell command run as the postgres user, inside the Debian 13 root if there is one."""
    su = ["su", "postgres", "-s", "/bin/sh", "-c", cmd]
    return ["chroot", str(layout.root), *su] if layout.root else su


def pg_data(layout: Layout) -> Path:
    """The data directory as seen from the host."""
    return (layout.root / PG_DATA.lstrip("/")) if layout.root else Path(PG_DATA)


def install_timescaledb(layout: Layout) -> None:
    if layout.root is None:
        if not Path(PG_BIN, "postgres").exists():
            apt_install("postgresql-17-timescaledb")
        return
    if (layout.root / PG_BIN.lstrip("/") / "postgres").exists():
        return
    if shutil.which("debootstrap") is None:
        apt_install("debootstrap")
    partial = layout.root.with_name(layout.root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    print(f"building a Debian 13 root with TimescaleDB in {layout.root} (about a minute)")
    run(
        [
            "debootstrap",
            "--variant=minbase",
            "--include=postgresql-17-timescaledb",
            "trixie",
            str(partial),
        ]
    )
    partial.rename(layout.root)


def pg_running(layout: Layout) -> bool:
    return run(in_root(layout, f"{PG_BIN}/pg_ctl -D {PG_DATA} status"), check=False).returncode == 0


def start_postgres(layout: Layout) -> None:
    data = pg_data(layout)
    if not (data / "PG_VERSION").exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        prefix = ["chroot", str(layout.root)] if layout.root else []
        run([*prefix, "chown", "postgres:postgres", "/var/lib/urbanpulse"])
        run(
            in_root(
                layout,
                f"{PG_BIN}/initdb -D {PG_DATA} -U postgres --auth=trust -E UTF8 --locale=C.UTF-8",
            )
        )
    if pg_running(layout):
        return
    options = " ".join(
        f"-c {option}"
        for option in (
            f"port={layout.pg_port}",
            f"listen_addresses={layout.pg_host}",
            "shared_preload_libraries=timescaledb",
            "dynamic_shared_memory_type=mmap",
            "unix_socket_directories=/tmp",
            "timescaledb.telemetry_level=off",
            "max_connections=200",
            "shared_buffers=512MB",
            "synchronous_commit=on",
            # Ingest writes every row of a batch into several indexes: fewer checkpoints
            # mean fewer full-page images in the WAL, and those that remain are compressed.
            "wal_compression=lz4",
            "max_wal_size=4GB",
            "checkpoint_timeout=15min",
        )
    )
    run(
        in_root(
            layout, f"{PG_BIN}/pg_ctl -D {PG_DATA} -l {PG_DATA}.log -w -t 60 -o '{options}' start"
        )
    )


def ensure_database(layout: Layout) -> None:
    psql = f"{PG_BIN}/psql -h {layout.pg_host} -p {layout.pg_port} -U postgres -tAc"
    exists = run(
        in_root(
            layout, f"{psql} \"select 1 from pg_database where datname='{layout.pg_database}'\""
        )
    )
    if exists.stdout.strip() != "1":
        run(in_root(layout, f'{psql} "create database {layout.pg_database}"'))


def mosquitto_conf(layout: Layout) -> Path:
    """Persistence on and no queue limit, so a QoS 1 session survives a bridge restart whole."""
    directory = layout.mosquitto_dir
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "mosquitto.conf"
    conf.write_text(
        "\n".join(
            (
                f"listener {layout.mqtt_port} 127.0.0.1",
                "allow_anonymous true",
                "persistence true",
                f"persistence_location {directory}/",
                "autosave_interval 60",
                "max_queued_messages 0",
                "max_queued_bytes 0",
                "max_inflight_messages 0",
                "max_packet_size 1048576",
                # The cache folder sits in root's home, which the mosquitto user cannot reach.
                "user root",
                f"pid_file {directory}/mosquitto.pid",
                f"log_dest file {directory}/mosquitto.log",
                "",
            )
        )
    )
    return conf


def mosquitto_pid(layout: Layout) -> int | None:
    try:
        pid = int((layout.mosquitto_dir / "mosquitto.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start_mosquitto(layout: Layout) -> None:
    if shutil.which("mosquitto") is None:
        apt_install("mosquitto")
    if mosquitto_pid(layout):
        return
    run(["mosquitto", "-c", str(mosquitto_conf(layout)), "-d"])
    for _ in range(50):
        if mosquitto_pid(layout):
            return
        time.sleep(0.1)
    raise ServiceError(f"mosquitto did not start; see {layout.mosquitto_dir}/mosquitto.log")


def up(settings: Settings) -> None:
    layout = Layout.of(settings)
    require_root_and_apt()
    install_timescaledb(layout)
    start_postgres(layout)
    ensure_database(layout)
    start_mosquitto(layout)


def stop_postgres(layout: Layout) -> None:
    installed = layout.root is None or layout.root.exists()
    if installed and pg_running(layout):
        run(in_root(layout, f"{PG_BIN}/pg_ctl -D {PG_DATA} -m fast -w stop"))


def stop_mosquitto(layout: Layout) -> None:
    """SIGTERM: Mosquitto writes its persistent sessions and their queued messages to
    disk before it exits."""
    pid = mosquitto_pid(layout)
    if not pid:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(300):
        if not mosquitto_pid(layout):
            return
        time.sleep(0.1)
    raise ServiceError(f"mosquitto (pid {pid}) did not stop within 30 s")


def down(settings: Settings) -> None:
    layout = Layout.of(settings)
    stop_postgres(layout)
    stop_mosquitto(layout)


def status(settings: Settings) -> dict[str, object]:
    layout = Layout.of(settings)
    installed = layout.root is None or (layout.root / PG_BIN.lstrip("/") / "postgres").exists()
    return {
        "timescaledb": {
            "running": installed and pg_running(layout),
            "port": layout.pg_port,
            "root": str(layout.root) if layout.root else None,
        },
        "mosquitto": {"running": mosquitto_pid(layout) is not None, "port": layout.mqtt_port},
    }


def status_json(settings: Settings) -> str:
    return json.dumps(status(settings))
