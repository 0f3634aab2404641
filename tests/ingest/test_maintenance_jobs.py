"""The maintenance loop keeps its jobs running whatever one of them raises."""

from __future__ import annotations

import asyncio

import pytest

from ingest.maintenance import run_jobs


def test_a_failing_job_runs_again_and_the_others_go_on(caplog: pytest.LogCaptureFixture) -> None:
    runs = {"failing": 0, "other": 0}

    async def failing() -> None:
        runs["failing"] += 1
        if runs["failing"] == 1:
            raise ValueError("a bug in one job")

    async def other() -> None:
        runs["other"] += 1

    async def run() -> None:
        stopping = asyncio.Event()
        loop = asyncio.create_task(run_jobs([(0.01, failing), (0.01, other)], stopping))
        await asyncio.sleep(0.2)
        stopping.set()
        await loop

    asyncio.run(run())
    assert runs["failing"] >= 3
    assert runs["other"] >= 3
    assert "maintenance job failed" in caplog.text
    assert "a bug in one job" in caplog.text
