"""The API as a real server: `urbanpulse api` in a subprocess on a free port."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from api.serve import api_process
from tests.services import ServiceEnv


@contextlib.contextmanager
def api_server(env: ServiceEnv) -> Iterator[str]:
    """Serve the API of `env`'s database; yields its base URL once /health answers."""
    with api_process(env.environ(), env.log_dir / "api.log") as base:
        yield base
