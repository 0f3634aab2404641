"""The vectorized rule engine: a batch of readings against the rule table, with numpy
passes and no Python loop per reading. Readings are grouped into streams (one key and
device); a pair whose stream never meets its condition while idle is settled from the
stream's extremes, and only the other pairs' events go through the state machine.

Semantics, shared with rules/reference.py (per pair, readings in time order, ties in
input order; "above" shown, "below" mirrors it with the comparisons reversed):

- A NaN value (or a rate that cannot be computed: first reading, equal times) is ignored:
  it neither meets nor breaks a condition. Rate = |Δvalue| / Δt per hour between
  consecutive non-NaN readings of the pair (one device, quantity and channel).
- A reading meets the condition when value > threshold (equal does not fire) and clears
  an active alert when value <= clear_threshold; values between keep the alert as it is.
- A run is a sequence of consecutive readings meeting the condition while not active; it
  starts pending at its first reading's time. A value holds until the next reading, so the
  run fires at F = max(start + for_s, time of its count-th reading), provided it reaches
  `count` readings and F <= the time of the reading that ends it (if any). F may lie
  between two readings: the same time `timers.due` gives when no reading comes, so a
  restarted bridge, a late timer or no timer at all give the same alerts.
- A fire and a clear may come from one reading (a held run broken by a clearing value).

The state machine works on runs rather than readings: per reading only the comparisons
and the run bounds; fire times, the active flag and the clears are then computed once
per run (a run fires at most once, and between two runs only the first clearing reading
matters). Tested values are signed (sign * value), so every rule tests "above".
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from rules.state import State, Transitions, block, by_time
from rules.table import RATE, Batch, BoolArray, FloatArray, IntArray, RuleTable

CHUNK = 1 << 17  # events per chunk: bounds the state machine's working memory


class _Parts(NamedTuple):
    """Transitions of one chunk before ordering: seq orders them by pair, then event."""

    pair: IntArray
    fired: BoolArray
    time_s: FloatArray
    value: FloatArray
    seq: IntArray


_EMPTY: IntArray = np.empty(0, np.int64)
_NONE = _Parts(*(np.empty(0, dtype) for dtype in (np.int64, bool, float, float, np.int64)))
_PairGrid = npt.NDArray[np.int32]


class _Streams(NamedTuple):
    """Readings sorted by (key, device, time), ties in input order, and their streams: the
    runs of one key and device, which every pair of that key and device sees whole."""

    reading: IntArray  # batch index of each sorted reading
    first: IntArray  # per stream, its first and last position in `reading`
    last: IntArray


def _streams(table: RuleTable, batch: Batch) -> _Streams:
    """Sorted by stream code (key, device) with the position in time order packed into
    the low bits of one int64: a plain sort, faster than stable argsorts (times are
    sorted first only when the batch is not already in time order)."""
    ok = (batch.device >= 0) & (batch.key >= 0) & ~np.isnan(batch.value)
    idx = np.arange(ok.size) if ok.all() else np.flatnonzero(ok)
    t = batch.time_s[idx]
    if np.any(t[1:] < t[:-1]):
        idx = idx[np.argsort(t, kind="stable")]
    code = batch.key[idx] * len(table.dev_euis)
    code += batch.device[idx]
    bits = max(idx.size - 1, 1).bit_length()
    if (int(code.max(initial=0)) + 1) << bits < 1 << 63:
        code <<= bits
        code |= np.arange(idx.size)
        code.sort()
        idx = idx[code & ((1 << bits) - 1)]
        code >>= bits
    else:
        order = np.argsort(code, kind="stable")
        idx, code = idx[order], code[order]
    new = np.ones(idx.size, bool)
    new[1:] = code[1:] != code[:-1]
    first = np.flatnonzero(new)
    return _Streams(idx, first, np.append(first[1:], idx.size)[: first.size] - 1)


def _grids(
    table: RuleTable, batch: Batch, streams: _Streams
) -> Iterator[tuple[IntArray, int, _PairGrid]]:
    """Per key: its rules, its first stream, and the rules × streams grid of pair indices
    (-1 where a rule does not watch the stream's device)."""
    head = streams.reading[streams.first]
    dev, key = batch.device[head], batch.key[head]
    bounds = np.searchsorted(key, np.arange(len(table.keys) + 1)).tolist()
    for k, rules in table.rules_by_key:
        a, b = bounds[k], bounds[k + 1]
        if a < b:
            yield rules, a, np.take(table.pair_of[rules], dev[a:b], axis=1)


def _cells(grid: _PairGrid) -> tuple[IntArray, IntArray, IntArray]:
    """(pair, flat index, row) of the grid's cells that hold a pair."""
    flat = grid.ravel()
    cell = np.flatnonzero(flat >= 0)
    return flat[cell].astype(np.int64), cell, cell // grid.shape[1]


def _expand(first: IntArray, count: IntArray) -> IntArray:
    """first[i], first[i] + 1, ..., first[i] + count[i] - 1 for every i, concatenated."""
    out = np.repeat(first - np.cumsum(count) + count, count)
    out += np.arange(out.size)
    return out


def match(table: RuleTable, batch: Batch) -> tuple[IntArray, IntArray]:
    """(reading index, pair) of every reading each pair must see: events of one pair are
    contiguous and in time order (ties in input order). NaN readings are dropped."""
    streams = _streams(table, batch)
    cols: list[tuple[IntArray, IntArray]] = [(_EMPTY, _EMPTY)]
    for _, a, grid in _grids(table, batch, streams):
        pair, cell, row = _cells(grid)
        cols.append((pair, cell - row * grid.shape[1] + a))
    pair, stream = (np.concatenate(c) for c in zip(*cols, strict=True))
    first, count = streams.first[stream], (streams.last - streams.first + 1)[stream]
    return streams.reading[_expand(first, count)], np.repeat(pair, count)


class _Tested(NamedTuple):
    """Per sorted reading: time, value, and rate from the stream's previous reading (NaN
    at a stream's first reading and where it cannot be computed)."""

    time_s: FloatArray
    value: FloatArray
    rate: FloatArray


def _rate(dt: FloatArray, dv: FloatArray) -> FloatArray:
    """|Δvalue| per hour, NaN unless dt > 0 (`dv` is overwritten)."""
    out = np.full(dt.shape, np.nan)
    np.abs(dv, out=dv)
    dv *= 3600.0
    np.divide(dv, dt, out, where=dt > 0)
    return out


def _tested(batch: Batch, streams: _Streams) -> _Tested:
    t, x = batch.time_s[streams.reading], batch.value[streams.reading]
    dt, dv = np.empty_like(t), np.empty_like(x)
    np.subtract(t[1:], t[:-1], out=dt[1:])
    np.subtract(x[1:], x[:-1], out=dv[1:])
    dt[streams.first] = 0.0
    return _Tested(t, x, _rate(dt, dv))


def _code(table: RuleTable) -> IntArray:
    """Per rule, which signed series it tests: 0 value, 1 -value, 2 rate, 3 -rate."""
    code: IntArray = 2 * (table.kind == RATE).astype(np.int64) + (table.sign < 0)
    return code


def _tops(table: RuleTable, tested: _Tested, first: IntArray) -> FloatArray:
    """Per signed series (`_code`) and stream, the largest value (-inf if none): what
    `_select` screens on. NaN rates become -inf (+inf for a minimum) first: np.fmax.reduceat
    is several times slower, as every stream starts with a NaN rate."""
    out = np.full((4, first.size), -np.inf)
    rules = np.concatenate([_EMPTY, *(r for _, r in table.rules_by_key)])
    for c in np.unique(_code(table)[rules]).tolist() if first.size else []:
        base = tested.value
        if c >= 2:
            base = np.where(np.isnan(tested.rate), np.inf if c % 2 else -np.inf, tested.rate)
        if c % 2:
            out[c] = -np.minimum.reduceat(base, first)
        else:
            out[c] = np.maximum.reduceat(base, first)
    return out


class _Busy(NamedTuple):
    """The (pair, stream)s the state machine must run on, in pair order; `head` is a rate
    rule's signed rate from the pair's last reading to the stream's first (else NaN)."""

    pair: IntArray
    rule: IntArray
    stream: IntArray
    head: FloatArray

    def rows(self, rows: slice) -> _Busy:
        return _Busy(self.pair[rows], self.rule[rows], self.stream[rows], self.head[rows])


def _select(
    table: RuleTable,
    old: State,
    last: tuple[FloatArray, FloatArray],
    batch: Batch,
    streams: _Streams,
    tested: _Tested,
) -> _Busy:
    """Every watched pair's last reading goes into `last` (time and value columns with a
    spare slot for the grid cells without a pair); a pair is busy unless it is idle
    (neither active nor pending) and no event of its stream meets its condition. A few
    passes per key over its whole rules × streams grid (reads of the cells without a pair
    see the last pair: they are masked out)."""
    code, sthr = _code(table), table.sign * table.threshold
    tops = _tops(table, tested, streams.first)
    awake = old.active | ~np.isnan(old.pending_since) | ~np.isnan(old.pending_value)
    awake |= old.streak != 0
    t0, x0 = tested.time_s[streams.first], tested.value[streams.first]
    t1, x1 = tested.time_s[streams.last], tested.value[streams.last]
    cols: list[tuple[IntArray, IntArray, IntArray]] = [(_EMPTY, _EMPTY, _EMPTY)]
    for rules, a, grid in _grids(table, batch, streams):
        width = grid.shape[1]
        b = a + width
        last[0][grid], last[1][grid] = t1[a:b], x1[a:b]
        high = tops[code[rules], a:b] > sthr[rules, None]
        rated = np.flatnonzero(table.kind[rules] == RATE)
        if rated.size:
            g, r = grid[rated], rules[rated, None]
            head = table.sign[r] * _rate(t0[a:b] - old.last_time[g], x0[a:b] - old.last_value[g])
            high[rated] |= head > sthr[r]
        high |= awake[grid]
        cell = np.flatnonzero(high & (grid >= 0))
        row = cell // width
        cols.append((grid.ravel()[cell].astype(np.int64), rules[row], cell - row * width + a))
    pair, rule, stream = (np.concatenate(c) for c in zip(*cols, strict=True))
    order = np.argsort(rule.astype(np.min_scalar_type(len(table.rules))), kind="stable")
    pair, rule, stream = pair[order], rule[order], stream[order]
    head = np.full(pair.size, np.nan)
    r = np.flatnonzero(table.kind[rule] == RATE)
    p, s = pair[r], stream[r]
    head[r] = table.sign[rule[r]] * _rate(t0[s] - old.last_time[p], x0[s] - old.last_value[p])
    return _Busy(pair, rule, stream, head)


class _Events(NamedTuple):
    """The busy pairs' events, each pair's contiguous and in time order: the signed tested
    value, whether it meets the condition (`high`) and whether it clears (`low`); per pair
    its first and last event."""

    time_s: FloatArray
    tested: FloatArray
    high: BoolArray
    low: BoolArray
    first: IntArray
    last: IntArray
    pair: IntArray
    rule: IntArray


def _groups(rule: IntArray, count: IntArray) -> list[tuple[int, int, int]]:
    """(rule, first event, end) of each group of consecutive rows of one rule."""
    if not rule.size:
        return []
    head = np.flatnonzero(np.concatenate([[True], rule[1:] != rule[:-1]]))
    ends = np.cumsum(count)[np.append(head[1:], rule.size) - 1]
    return list(
        zip(
            rule[head].tolist(),
            (ends - np.add.reduceat(count, head)).tolist(),
            ends.tolist(),
            strict=True,
        )
    )


def _events(table: RuleTable, busy: _Busy, streams: _Streams, tested: _Tested) -> _Events:
    """A rate rule's first event is `head` (dropped when NaN); the other NaN rates (equal
    times) are dropped too, and with them pairs left without events. Rows come grouped by
    rule: one gather and one comparison per group."""
    rated = table.kind[busy.rule] == RATE
    skip = (rated & np.isnan(busy.head)).astype(np.int64)
    first = streams.first[busy.stream] + skip
    count = (streams.last - streams.first + 1)[busy.stream] - skip
    at = _expand(first, count)
    t, sx = tested.time_s[at], np.empty(at.size)
    kind, sign = table.kind.tolist(), table.sign.tolist()
    for r, a, b in _groups(busy.rule, count):
        np.take(tested.rate if kind[r] == RATE else tested.value, at[a:b], out=sx[a:b], mode="clip")
        if sign[r] < 0:
            np.negative(sx[a:b], out=sx[a:b])
    starts = np.cumsum(count) - count
    h = np.flatnonzero(rated & (skip == 0) & (count > 0))
    sx[starts[h]] = busy.head[h]
    gone = np.isnan(sx)
    if gone.any():
        dropped = np.zeros(sx.size + 1, np.int64)
        np.cumsum(gone.view(np.int8), dtype=np.int64, out=dropped[1:])
        count = count - (dropped[starts + count] - dropped[starts])
        kept = np.flatnonzero(~gone)
        t, sx = t[kept], sx[kept]
    rows = np.flatnonzero(count > 0)
    pair, rule, count = busy.pair[rows], busy.rule[rows], count[rows]
    high, low = np.empty(sx.size, bool), np.empty(sx.size, bool)
    threshold, clear = (table.sign * table.threshold).tolist(), (table.sign * table.clear).tolist()
    for r, a, b in _groups(rule, count):
        np.greater(sx[a:b], threshold[r], out=high[a:b])
        np.less_equal(sx[a:b], clear[r], out=low[a:b])
    last = np.cumsum(count) - 1
    return _Events(t, sx, high, low, last - count + 1, last, pair, rule)


def evaluate(
    table: RuleTable, state: State, batch: Batch, chunk: int = CHUNK
) -> tuple[State, Transitions]:
    """The new state (the input is not changed) and the transitions of one batch: the
    state machine runs only on the pairs that `_select` cannot settle, in chunks of whole
    pairs of about `chunk` events (fewer, smaller temporaries: fresh memory costs page
    faults)."""
    streams = _streams(table, batch)
    tested = _tested(batch, streams)
    # one more slot per column, where the -1 cells of the pair grids write
    columns = block([getattr(state, f) for f in state.__slots__], spare=1)
    new = State(*(c[:-1] for c in columns))
    last = columns[5], columns[4]  # last_time, last_value
    busy = _select(table, state, last, batch, streams, tested)
    parts, base = [_NONE], 0
    for rows in _chunks((streams.last - streams.first + 1)[busy.stream], chunk):
        events = _events(table, busy.rows(rows), streams, tested)
        parts.append(_hysteresis(table, state, new, events, base))
        base += events.time_s.size
    pair, fired, time_s, value, seq = (np.concatenate(c) for c in zip(*parts, strict=True))
    return new, by_time(pair, fired, time_s, value, seq)


def _chunks(size: IntArray, chunk: int) -> Iterator[slice]:
    """Consecutive groups of rows of about `chunk` events (more for a single big row)."""
    ends = np.cumsum(size)
    total = int(ends[-1]) if ends.size else 0
    cuts = np.searchsorted(ends, np.arange(chunk, total, max(chunk, 1)), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [size.size]])).tolist()
    for a, b in itertools.pairwise(bounds):
        yield slice(a, b)


class _Pairs(NamedTuple):
    """Per busy pair of a chunk: its events, its rule's parameters and its old state
    (`streak` 0 when not pending; `held`, the pending value, signed like the tested
    values)."""

    first: IntArray
    last: IntArray
    in_row: IntArray  # the rule's count: events in a row to fire
    for_s: FloatArray
    sign: FloatArray
    active: BoolArray
    since: FloatArray
    streak: IntArray
    held: FloatArray
    fired_at: FloatArray


def _pairs(table: RuleTable, old: State, events: _Events) -> _Pairs:
    p, r = events.pair, events.rule
    since = old.pending_since[p]
    sign = table.sign[r]
    return _Pairs(
        events.first, events.last, table.count[r], table.for_s[r], sign, old.active[p],
        since, old.streak[p] * ~np.isnan(since), sign * old.pending_value[p], old.fired_at[p],
    )  # fmt: skip


class _Runs(NamedTuple):
    """Maximal sequences of consecutive events meeting the condition, within one pair:
    bounds, pair (index in _Pairs), start time (`since` for a run carried over from the
    last batch), length with the carried streak, when it fires (`due`) and whether it
    can (enough events, and `due` reached by its last event or the one that breaks it)."""

    start: IntArray
    end: IntArray
    seg: IntArray
    since: FloatArray
    length: IntArray
    due: FloatArray
    can: BoolArray


def _run_bounds(high: BoolArray, first: IntArray, last: IntArray) -> tuple[IntArray, IntArray]:
    up, down = high.copy(), high.copy()
    np.greater(high[1:], high[:-1], out=up[1:])
    np.greater(high[:-1], high[1:], out=down[:-1])
    up[first], down[last] = high[first], high[last]
    return np.flatnonzero(up), np.flatnonzero(down)


def _runs(t: FloatArray, high: BoolArray, pairs: _Pairs) -> _Runs:
    start, end = _run_bounds(high, pairs.first, pairs.last)
    mark = np.zeros(t.size, np.int8)  # int8 and int32: a quarter of the memory traffic
    mark[pairs.first[1:]] = 1
    seg = np.cumsum(mark, dtype=np.int32)[start].astype(np.int64)
    since, length = t[start], end - start + 1
    count = pairs.in_row[seg]
    nth = start + count - 1  # the run's count-th event, before `start` if carried
    carried = np.flatnonzero((start == pairs.first[seg]) & ~np.isnan(pairs.since[seg]))
    cs = seg[carried]
    since[carried] = pairs.since[cs]
    length[carried] += pairs.streak[cs]
    nth[carried] -= pairs.streak[cs]
    t_nth = t[np.clip(nth, start, end)]
    t_nth[carried[nth[carried] < start[carried]]] = -np.inf
    due = np.maximum(since + pairs.for_s[seg], t_nth)
    t_end = t[end + (end < pairs.last[seg])]  # the breaking event, else the last one
    return _Runs(start, end, seg, since, length, due, (length >= count) & (due <= t_end))


def _bisect(t: FloatArray, lo: IntArray, hi: IntArray, at: FloatArray) -> IntArray:
    """Per query, the first index in [lo, hi] with t >= at, given t sorted there and
    t[hi] >= at: a vectorized binary search, one pass per halving."""
    lo, hi = lo.copy(), hi.copy()
    open_ = np.flatnonzero(t[lo] < at)
    lo[open_] += 1
    while open_.size:
        mid = (lo[open_] + hi[open_]) // 2
        right = t[mid] >= at[open_]
        hi[open_[right]] = mid[right]
        lo[open_[~right]] = mid[~right] + 1
        open_ = open_[lo[open_] < hi[open_]]
    return lo


def _fire_points(
    t: FloatArray, sx: FloatArray, runs: _Runs, pairs: _Pairs, which: IntArray
) -> tuple[IntArray, FloatArray]:
    """For the runs `which` (that fire): the event they fire at (the first from the
    count-th on with t >= due, else the breaking one) and the value fired with (that
    event's when it is at `due`, else the held one: the previous event's, or the pending
    value of a run carried over when it fires at its first event)."""
    start, end, due, seg = runs.start[which], runs.end[which], runs.due[which], runs.seg[which]
    at = end + 1
    inside = np.flatnonzero(due <= t[end])
    nth = end + pairs.in_row[seg] - runs.length[which]
    at[inside] = _bisect(t, np.maximum(start, nth)[inside], end[inside], due[inside])
    value = sx[np.maximum(at - 1, 0)]
    carried = np.flatnonzero(at == start)
    value[carried] = pairs.held[seg[carried]]
    exact = inside[t[at[inside]] == due[inside]]
    value[exact] = sx[at[exact]]
    return at, value


class _Gaps(NamedTuple):
    """Between runs only the first clearing event matters. Per run: the first clearing
    event after it, and whether it comes before the next run (or the pair's end); per pair
    the same for its lead, the events before its first run."""

    after: IntArray
    cleared: BoolArray
    lead: IntArray
    lead_cleared: BoolArray


class _Index(NamedTuple):
    """The pairs that have runs, and their first and last run."""

    pair: IntArray
    first: IntArray
    last: IntArray


def _index(runs: _Runs, pairs: int) -> _Index:
    n_runs = np.bincount(runs.seg, minlength=pairs)
    has = np.flatnonzero(n_runs)
    last = np.cumsum(n_runs)[has] - 1
    return _Index(has, last - n_runs[has] + 1, last)


def _gaps(low: BoolArray, runs: _Runs, pairs: _Pairs, index: _Index) -> _Gaps:
    n = low.size
    lows = np.append(np.flatnonzero(low), n)
    before = np.zeros(n + 1, np.int32)  # clearing events before each position
    np.cumsum(low.view(np.int8), dtype=np.int32, out=before[1:])
    gap_end = np.empty(runs.start.size, np.int64)
    gap_end[:-1] = runs.start[1:]
    gap_end[index.last] = pairs.last[index.pair] + 1
    after = lows[before[runs.end + 1]]
    lead_end = pairs.last + 1
    lead_end[index.pair] = runs.start[index.first]
    lead = lows[before[pairs.first]]
    return _Gaps(after, after < gap_end, lead, lead < lead_end)


def _held_fire(t: FloatArray, high: BoolArray, pairs: _Pairs) -> BoolArray:
    """Per pair: a run carried over from the last batch fires when its first event
    breaks it (its first event does not meet the condition)."""
    return (
        (pairs.streak >= pairs.in_row) & ~high[pairs.first] & ~pairs.active
        & (t[pairs.first] >= pairs.since + pairs.for_s)
    )  # fmt: skip


def _active(runs: _Runs, gaps: _Gaps, index: _Index, init: BoolArray) -> BoolArray:
    """Whether the pair is active when each run starts: set by the previous run (or the
    initial state) and reset by a clearing event in the gap before it, as the later of the
    last set and the last reset in run order (positions 3k, 3k + 1, 3k + 2 of run k)."""
    nr = runs.start.size
    set_, reset, first = np.empty(nr, bool), np.empty(nr, bool), np.zeros(nr, bool)
    set_[1:], reset[1:] = runs.can[:-1], gaps.cleared[:-1]
    set_[index.first] = init[index.pair]
    reset[index.first] = gaps.lead_cleared[index.pair]
    first[index.first] = True
    k3 = 3 * np.arange(nr)
    set_at = (k3 + 2) * set_ - 1
    reset_at = np.maximum((k3 + 3) * reset - 1, (k3 + 1) * first - 1)
    return np.asarray(np.maximum.accumulate(set_at) > np.maximum.accumulate(reset_at))


class _Outcome(NamedTuple):
    """Per run: whether it fires, and whether the pair is active when it ends; per pair:
    whether a run carried over fires at its first event (`held`), and whether the pair is
    active before its first run (`init`, before any clearing event)."""

    fired: BoolArray
    on: BoolArray
    held: BoolArray
    init: BoolArray


def _hysteresis(table: RuleTable, old: State, new: State, events: _Events, base: int) -> _Parts:
    """The state machine on one chunk; writes the chunk's pairs' state into `new`."""
    pairs = _pairs(table, old, events)
    runs = _runs(events.time_s, events.high, pairs)
    index = _index(runs, pairs.first.size)
    gaps = _gaps(events.low, runs, pairs, index)
    held = _held_fire(events.time_s, events.high, pairs)
    init = pairs.active | held
    active = _active(runs, gaps, index, init)
    outcome = _Outcome(runs.can & ~active, active | runs.can, held, init)
    _final(new, events, pairs, runs, gaps, index, outcome)
    return _transitions(events, pairs, runs, gaps, outcome, base)


def _transitions(
    events: _Events, pairs: _Pairs, runs: _Runs, gaps: _Gaps, outcome: _Outcome, base: int
) -> _Parts:
    """Fires of runs and of runs carried over, then clears: a gap's first clearing event
    while active. seq: 2 * (base + event) (+ 1 for a clear), so a fire and a clear at one
    event keep that order."""
    t, sx = events.time_s, events.tested
    fire = np.flatnonzero(outcome.fired)
    fire_at, fire_value = _fire_points(t, sx, runs, pairs, fire)
    held = np.flatnonzero(outcome.held)
    clear_run = np.flatnonzero(outcome.on & gaps.cleared)
    clear_lead = np.flatnonzero(outcome.init & gaps.lead_cleared)
    clears = np.concatenate([gaps.after[clear_run], gaps.lead[clear_lead]])
    seg = np.concatenate([runs.seg[fire], held, runs.seg[clear_run], clear_lead])
    fires = fire.size + held.size
    return _Parts(
        events.pair[seg],
        np.arange(seg.size) < fires,
        np.concatenate([runs.due[fire], pairs.since[held] + pairs.for_s[held], t[clears]]),
        np.concatenate([fire_value, pairs.held[held], sx[clears]]) * pairs.sign[seg],
        2 * (base + np.concatenate([fire_at, pairs.first[held], clears]))
        + (np.arange(seg.size) >= fires),
    )


def _final(
    new: State,
    events: _Events,
    pairs: _Pairs,
    runs: _Runs,
    gaps: _Gaps,
    index: _Index,
    outcome: _Outcome,
) -> None:
    """The state after each pair's last event, written into `new`: pending when its last
    run reaches its last event without firing or being active; `fired_at` from its last
    fire (else as it was) while active."""
    last, on = index.last, outcome.on
    ends_high = runs.end[last] == pairs.last[index.pair]
    active = outcome.init & ~gaps.lead_cleared
    active[index.pair] = on[last] & (ends_high | ~gaps.cleared[last])
    pending = np.flatnonzero(ends_high & ~on[last])
    lp, pp = last[pending], index.pair[pending]
    since, value = np.full(pairs.first.size, np.nan), np.full(pairs.first.size, np.nan)
    streak = np.zeros(pairs.first.size, np.int64)
    since[pp], streak[pp] = runs.since[lp], runs.length[lp]
    value[pp] = events.tested[pairs.last[pp]] * pairs.sign[pp]
    fired_at = np.where(outcome.held, pairs.since + pairs.for_s, pairs.fired_at)
    last_fire = np.maximum.accumulate((np.arange(runs.start.size) + 1) * outcome.fired - 1)[last]
    refired = np.flatnonzero(last_fire >= index.first)
    fired_at[index.pair[refired]] = runs.due[last_fire[refired]]
    pair = events.pair
    new.active[pair] = active
    new.pending_since[pair] = since
    new.pending_value[pair] = value
    new.streak[pair] = streak
    new.fired_at[pair] = np.where(active, fired_at, np.nan)
