"""The snapshot cache without a server: a clock moved by hand and builds that finish when
the test lets them, so that freshness, single flight, failures and bounds are exact."""

from __future__ import annotations

import asyncio
import logging

import pytest

from api.snapshots import Limits, Snapshot, SnapshotCache, etag_of, matches

LIMITS = Limits(max_age_s=5.0, stale_s=25.0, max_entries=8, max_bytes=1000)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Builder:
    """Counts its builds; each gives the next body, or raises the next error, once let go."""

    def __init__(self, *outcomes: bytes | Exception, gated: bool = False) -> None:
        self.outcomes = list(outcomes)
        self.builds = 0
        self.gate = asyncio.Event()
        if not gated:
            self.gate.set()

    async def __call__(self) -> bytes:
        self.builds += 1
        outcome = self.outcomes.pop(0)
        await self.gate.wait()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def cache_of(clock: Clock, limits: Limits = LIMITS) -> SnapshotCache[str]:
    return SnapshotCache(limits, clock)


async def settle() -> None:
    """Let started builds run to their end (the hash runs in a thread)."""
    for _ in range(50):
        await asyncio.sleep(0.01)


async def test_concurrent_requests_for_an_absent_key_share_one_build() -> None:
    cache, build = cache_of(Clock()), Builder(b"map", gated=True)

    waiting = [asyncio.create_task(cache.get("streetlight", build)) for _ in range(20)]
    await asyncio.sleep(0.01)
    assert not any(t.done() for t in waiting)
    build.gate.set()
    served = await asyncio.gather(*waiting)

    assert build.builds == 1
    assert {s.body for s in served} == {b"map"}
    assert len({id(s) for s in served}) == 1


async def test_a_fresh_snapshot_is_served_without_building() -> None:
    clock = Clock()
    cache, build = cache_of(clock), Builder(b"first", b"second")
    first = await cache.get("k", build)

    clock.now += 4.9
    again = await cache.get("k", build)
    await settle()

    assert again is first
    assert again.age_s(clock()) == pytest.approx(4.9)
    assert build.builds == 1


async def test_a_stale_snapshot_is_served_while_one_rebuild_runs() -> None:
    clock = Clock()
    cache, build = cache_of(clock), Builder(b"first", b"second", gated=True)
    build.gate.set()
    await cache.get("k", build)
    build.gate.clear()

    clock.now += 5.0
    during = await asyncio.gather(*(cache.get("k", build) for _ in range(10)))
    await asyncio.sleep(0.01)
    assert build.builds == 2  # one rebuild, however many asked
    assert {s.body for s in during} == {b"first"}
    build.gate.set()
    await settle()
    after = await cache.get("k", build)

    assert after.body == b"second"
    assert after.taken_at == clock.now  # its data was read when the rebuild began
    assert build.builds == 2


async def test_a_snapshot_past_its_stale_time_is_not_served() -> None:
    clock = Clock()
    cache, build = cache_of(clock), Builder(b"first", b"second")
    await cache.get("k", build)

    clock.now += 5.0 + 25.0
    served = await cache.get("k", build)

    assert served.body == b"second"
    assert build.builds == 2


async def test_a_request_for_a_key_past_its_stale_time_joins_the_rebuild_under_way() -> None:
    clock = Clock()
    cache, build = cache_of(clock), Builder(b"first", b"second", gated=True)
    build.gate.set()
    await cache.get("k", build)
    build.gate.clear()
    clock.now += 6.0
    await cache.get("k", build)  # starts the rebuild, which hangs

    clock.now += 30.0
    waiting = asyncio.create_task(cache.get("k", build))
    await asyncio.sleep(0.01)
    build.gate.set()

    assert (await waiting).body == b"second"
    assert build.builds == 2


async def test_a_failed_build_reaches_every_waiter_and_is_not_kept() -> None:
    cache, build = cache_of(Clock()), Builder(RuntimeError("database away"), b"map", gated=True)

    waiting = [asyncio.create_task(cache.get("k", build)) for _ in range(3)]
    await asyncio.sleep(0.01)
    build.gate.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    served = await cache.get("k", build)

    assert [str(o) for o in outcomes] == ["database away"] * 3
    assert served.body == b"map"
    assert build.builds == 2


async def test_a_failed_rebuild_drops_the_stale_snapshot_so_the_next_request_meets_the_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    cache = cache_of(clock)
    build = Builder(b"first", RuntimeError("database away"), RuntimeError("still away"))
    await cache.get("k", build)
    clock.now += 6.0

    with caplog.at_level(logging.WARNING, logger="api.snapshots"):
        stale = await cache.get("k", build)
        await settle()
    with pytest.raises(RuntimeError, match="still away"):
        await cache.get("k", build)

    assert stale.body == b"first"
    assert "rebuild failed" in caplog.text
    assert "database away" in caplog.text
    assert build.builds == 3


async def test_a_requester_that_goes_away_does_not_cancel_the_build_of_the_others() -> None:
    cache, build = cache_of(Clock()), Builder(b"map", gated=True)
    leaving = asyncio.create_task(cache.get("k", build))
    staying = asyncio.create_task(cache.get("k", build))
    await asyncio.sleep(0.01)

    leaving.cancel()
    build.gate.set()

    assert (await staying).body == b"map"
    assert leaving.cancelled()
    assert build.builds == 1


async def test_the_least_recently_used_snapshot_goes_beyond_the_entry_limit() -> None:
    limits = Limits(max_age_s=5.0, stale_s=25.0, max_entries=2, max_bytes=1000)
    cache = cache_of(Clock(), limits)
    for key in ("a", "b"):
        await cache.get(key, Builder(key.encode()))
    await cache.get("a", Builder())  # a is used again: b is now the least recent

    await cache.get("c", Builder(b"c"))

    assert list(cache.entries) == ["a", "c"]


async def test_snapshots_go_least_recently_used_first_beyond_the_byte_limit() -> None:
    limits = Limits(max_age_s=5.0, stale_s=25.0, max_entries=8, max_bytes=1000)
    cache = cache_of(Clock(), limits)
    for key in ("a", "b", "c"):
        await cache.get(key, Builder(bytes(400)))

    assert list(cache.entries) == ["b", "c"]
    assert cache.size_bytes == 800


async def test_a_body_larger_than_the_byte_limit_is_served_but_not_kept() -> None:
    cache = cache_of(Clock())
    await cache.get("small", Builder(bytes(10)))

    served = await cache.get("huge", Builder(bytes(1001)))

    assert len(served.body) == 1001
    assert list(cache.entries) == ["small"]
    assert cache.size_bytes == 10


async def test_snapshots_nobody_asks_for_are_dropped_once_too_old_to_serve() -> None:
    clock = Clock()
    cache = cache_of(clock)
    await cache.get("quiet", Builder(bytes(100)))
    clock.now += 20.0
    await cache.get("busy", Builder(bytes(100)))

    clock.now += 10.0
    await cache.get("busy", Builder(bytes(100)))

    assert list(cache.entries) == ["busy"]
    assert cache.size_bytes == 100


async def test_closing_cancels_the_builds_under_way() -> None:
    cache, build = cache_of(Clock()), Builder(b"never", gated=True)
    waiting = asyncio.create_task(cache.get("k", build))
    await asyncio.sleep(0.01)

    await cache.close()

    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert cache.building == {}
    assert cache.entries == {}


def test_equal_bodies_have_one_etag_and_different_bodies_another() -> None:
    assert etag_of(b'{"a":1}') == etag_of(b'{"a":1}')
    assert etag_of(b'{"a":1}') != etag_of(b'{"a":2}')
    assert etag_of(b"")[0] == etag_of(b"")[-1] == '"'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ('"x","abc" ', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),
        ("", False),
    ],
)
def test_if_none_match_names_the_etag(header: str | None, expected: bool) -> None:
    assert matches(header, '"abc"') is expected


def test_the_age_of_a_snapshot_is_never_negative() -> None:
    snapshot = Snapshot(b"", taken_at=10.0, etag='"x"')

    assert snapshot.age_s(9.0) == 0.0
    assert snapshot.age_s(12.5) == 2.5
