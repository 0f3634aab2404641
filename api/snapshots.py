"""Whole response bodies kept by one process and served while young (stale-while-revalidate).

A snapshot is the body built for a key and the moment its data was read. Younger than
`max_age_s`, it is served as is; older, it is still served for `stale_s` more while one
rebuild runs in the background; older still, or absent, the request waits for a build.
A key has at most one build running, whoever waits for it. A failed build keeps nothing:
its error goes to whoever waits, and a snapshot whose rebuild failed is dropped so that
the next request meets the error too. Snapshots are dropped least recently used first
beyond `max_entries` or `max_bytes`. The build and the clock are given, never found.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
Build = Callable[[], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class Limits:
    max_age_s: float
    stale_s: float
    max_entries: int
    max_bytes: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    body: bytes
    taken_at: float  # the cache's clock when its build began: its data is no older
    etag: str

    def age_s(self, now: float) -> float:
        return max(0.0, now - self.taken_at)


def etag_of(body: bytes) -> str:
    """A strong entity tag of the body: equal bodies, built by any process, share it."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks)."""
    if if_none_match is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


class SnapshotCache(Generic[K]):
    """Snapshots by key, least recently used first."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.entries: OrderedDict[K, Snapshot] = OrderedDict()
        self.building: dict[K, asyncio.Task[Snapshot]] = {}
        self.size_bytes = 0

    async def get(self, key: K, build: Build) -> Snapshot:
        """The snapshot of `key`, built by `build` when there is none young enough."""
        now = self.clock()
        self.drop_expired(now)
        snapshot = self.entries.get(key)
        if snapshot is None:
            # shielded: a requester that goes away does not cancel the others' build
            return await asyncio.shield(self.start(key, build, background=False))
        self.entries.move_to_end(key)
        if snapshot.age_s(now) >= self.limits.max_age_s:
            self.start(key, build, background=True)
        return snapshot

    def start(self, key: K, build: Build, background: bool) -> asyncio.Task[Snapshot]:
        """The build of `key` under way, started if there is none."""
        task = self.building.get(key)
        if task is None:
            task = asyncio.create_task(self.run(key, build))
            task.add_done_callback(lambda done: self.finished(done, background))
            self.building[key] = task
        return task

    async def run(self, key: K, build: Build) -> Snapshot:
        taken_at = self.clock()
        try:
            body = await build()
            # 8 ms for 10 MB: hashed off the event loop, which serves the other requests
            etag = await asyncio.to_thread(etag_of, body)
        except Exception:
            self.discard(key)
            raise
        finally:
            del self.building[key]
        snapshot = Snapshot(body, taken_at, etag)
        self.put(key, snapshot)
        return snapshot

    def finished(self, task: asyncio.Task[Snapshot], background: bool) -> None:
        # Reading the exception marks it retrieved; a requester, if any, has received it.
        if task.cancelled() or task.exception() is None or not background:
            return
        log.warning(
            "a snapshot rebuild failed; the next request builds again",
            exc_info=task.exception(),
        )

    def put(self, key: K, snapshot: Snapshot) -> None:
        self.discard(key)
        if len(snapshot.body) > self.limits.max_bytes:
            return  # served to those who waited for it, too big to keep
        self.entries[key] = snapshot
        self.size_bytes += len(snapshot.body)
        while (
            len(self.entries) > self.limits.max_entries or self.size_bytes > self.limits.max_bytes
        ):
            _, dropped = self.entries.popitem(last=False)
            self.size_bytes -= len(dropped.body)

    def discard(self, key: K) -> None:
        dropped = self.entries.pop(key, None)
        if dropped is not None:
            self.size_bytes -= len(dropped.body)

    def drop_expired(self, now: float) -> None:
        """Drop what is too old to be served: the snapshots nobody asked for lately."""
        oldest_s = self.limits.max_age_s + self.limits.stale_s
        for key in [k for k, s in self.entries.items() if s.age_s(now) >= oldest_s]:
            self.discard(key)

    async def close(self) -> None:
        """Cancel the builds under way: for the app's shutdown."""
        tasks = list(self.building.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.building.clear()
