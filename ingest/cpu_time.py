"""CPU seconds spent so far by the programs a benchmark puts to work, read from /proc:
a process tree (the bridge and its workers), and every process of a named program
(PostgreSQL's backends and helpers, Mosquitto), the services' chroot included."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User and system time of one process, all its threads, 0 once it is gone."""
    with contextlib.suppress(OSError, ValueError):
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS_PER_S
    return 0.0


def tree_pids(pid: int) -> list[int]:
    pids = [pid]
    for parent in pids:  # grows while it is walked: children, then theirs
        with contextlib.suppress(OSError):
            for task in (PROC / str(parent) / "task").iterdir():
                pids += [int(p) for p in (task / "children").read_text().split()]
    return pids


def program_pids(name: str) -> list[int]:
    """Processes whose command name starts with `name` (PostgreSQL's are renamed
    `postgres: …` per role)."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().startswith(name):
                    found.append(int(entry.name))
    return found


def cpu_s(bridge_pid: int) -> dict[str, float]:
    return {
        "bridge": sum(map(process_cpu_s, tree_pids(bridge_pid))),
        "postgres": sum(map(process_cpu_s, program_pids("postgres"))),
        "mosquitto": sum(map(process_cpu_s, program_pids("mosquitto"))),
    }
