"""CPU time per program from /proc, as the ingest benchmark reads it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from ingest import cpu_time


def test_a_process_cpu_time_grows_while_it_works() -> None:
    before = cpu_time.process_cpu_s(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass

    assert cpu_time.process_cpu_s(os.getpid()) - before >= 0.2


def test_a_gone_process_counts_nothing() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()

    assert cpu_time.process_cpu_s(child.pid) == 0.0


def test_a_tree_holds_children_and_grandchildren_and_a_program_its_processes() -> None:
    script = "import subprocess, sys; subprocess.run(['sleep', '5'])"
    child = subprocess.Popen([sys.executable, "-c", script])
    sleepers: set[int] = set()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            tree = cpu_time.tree_pids(os.getpid())
            sleepers = set(cpu_time.program_pids("sleep")) & set(tree)
            if sleepers:
                break
            time.sleep(0.05)

        assert child.pid in tree
        assert len(sleepers) == 1
        assert set(cpu_time.cpu_s(os.getpid())) == {"bridge", "postgres", "mosquitto"}
    finally:
        for pid in sleepers:
            os.kill(pid, signal.SIGKILL)
        child.kill()
        child.wait()
