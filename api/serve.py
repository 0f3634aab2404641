"""The API as a child process on a free port, for the query benchmark and for the tests
that need real servers (several workers, a real socket, a client that can be slow)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx2

API_COMMAND = ("-m", "urbanpulse.cli", "api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def answers(url: str) -> bool:
    """Whether the server at `url` answers; /health says 503 when a service is down, and
    the server is up all the same."""
    with contextlib.suppress(httpx2.HTTPError):
        return httpx2.get(url, timeout=1).status_code in (200, 503)
    return False


@contextlib.contextmanager
def api_process(
    environ: Mapping[str, str],
    log_path: Path,
    command: Sequence[str] = API_COMMAND,
    ready_within_s: float = 60,
) -> Iterator[str]:
    """Run `python <command>` with `environ` and URBANPULSE_API_HOST/PORT set to a free
    local port, its output in `log_path`; yield its base URL once /health answers, stop it
    on the way out."""
    port = free_port()
    env = {
        **os.environ,
        **environ,
        "URBANPULSE_API_HOST": "127.0.0.1",
        "URBANPULSE_API_PORT": str(port),
    }
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, *command], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + ready_within_s
            while not answers(f"{base}/health"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"the API did not start ({log_path}):\n{tail}")
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
