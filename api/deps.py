"""What route handlers receive: the pool and the settings of the running app."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from urbanpulse.settings import Settings


def pool(request: Request) -> asyncpg.Pool:
    result: asyncpg.Pool = request.app.state.pool
    return result


def settings(request: Request) -> Settings:
    result: Settings = request.app.state.settings
    return result


Pool = Annotated[asyncpg.Pool, Depends(pool)]
AppSettings = Annotated[Settings, Depends(settings)]
