"""The API as a real server: `urbanpulse api` in a subprocess on a free port."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from tests.services import ServiceEnv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def api_server(env: ServiceEnv) -> Iterator[str]:
    """Serve the API of `env`'s database; yields its base URL once /health answers."""
    port = free_port()
    log = (env.log_dir / f"api-{port}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "urbanpulse.cli", "api"],
        env=env.environ(URBANPULSE_API_PORT=str(port)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the API did not start; see {log.name}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
