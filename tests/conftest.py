"""Shared fixtures. Service tests use the real Mosquitto and TimescaleDB that
`urbanpulse services up` starts; each test gets its own database and topic prefix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import ServiceEnv, service_env


@pytest.fixture
def env() -> Iterator[ServiceEnv]:
    with service_env() as e:
        yield e
