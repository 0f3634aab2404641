"""Decoding many payloads of one model at once, with numpy, where frames share a shape.

A device module declares its fixed-shape frames (`FIXED_FRAMES`): literal signature bytes
(channel/type pairs, a Decentlab flag word) and typed fields at fixed offsets. Payloads that
match a frame are decoded as one structured numpy array; the others take the per-payload
path. Both give the same readings, which the tests check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Convert = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True, slots=True)
class Column:
    """One reading per matching frame: `convert(field)` gives the value of `quantity`."""

    quantity: str
    field: str
    channel: str = ""
    convert: Convert | None = None


@dataclass(frozen=True, slots=True)
class FixedFrame:
    """A frame shape: its port, length, the bytes that identify it and its typed fields."""

    f_port: int | None
    dtype: np.dtype[np.void]
    signature_offsets: tuple[int, ...]
    signature: bytes
    columns: tuple[Column, ...]

    @property
    def length(self) -> int:
        return int(self.dtype.itemsize)


Part = bytes | tuple[str, str]


def fixed_frame(f_port: int | None, parts: Sequence[Part], columns: Sequence[Column]) -> FixedFrame:
    """Build a FixedFrame from its parts in byte order.

    A part is literal signature bytes (`b"\\x03\\x67"`) or a `(name, numpy dtype)` field
    (`("temperature", "<i2")`). Field names must be unique; columns refer to them.
    """
    names: list[str] = []
    formats: list[str] = []
    offsets: list[int] = []
    signature_offsets: list[int] = []
    signature = bytearray()
    pos = 0
    for n, part in enumerate(parts):
        if isinstance(part, bytes):
            signature_offsets.extend(range(pos, pos + len(part)))
            signature.extend(part)
            names.append(f"_sig{n}")
            formats.append(f"V{len(part)}")
            offsets.append(pos)
            pos += len(part)
        else:
            name, fmt = part
            names.append(name)
            formats.append(fmt)
            offsets.append(pos)
            pos += np.dtype(fmt).itemsize
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": pos})
    unknown = {c.field for c in columns} - set(names)
    if unknown:
        raise ValueError(f"columns refer to fields the frame lacks: {sorted(unknown)}")
    return FixedFrame(f_port, dtype, tuple(signature_offsets), bytes(signature), tuple(columns))


Key = tuple[str, str]  # (quantity, channel)


@dataclass(frozen=True, slots=True)
class BatchReadings:
    """Readings of a batch as columns; `row` is the payload's index in the input and `key`
    indexes `keys`, the (quantity, channel) pairs, so no string is made per reading."""

    row: npt.NDArray[np.int32]
    key: npt.NDArray[np.int16]
    value: FloatArray
    keys: tuple[Key, ...]

    def __len__(self) -> int:
        return int(self.row.size)

    @property
    def quantity(self) -> npt.NDArray[np.str_]:
        names = np.array([q for q, _ in self.keys] or [""])
        return names[self.key]

    @property
    def channel(self) -> npt.NDArray[np.str_]:
        names = np.array([c for _, c in self.keys] or [""])
        return names[self.key]

    @staticmethod
    def from_rows(
        rows: Sequence[int], keys: Sequence[Key], values: Sequence[float]
    ) -> BatchReadings:
        table: dict[Key, int] = {}
        codes = [table.setdefault(k, len(table)) for k in keys]
        return BatchReadings(
            np.asarray(rows, dtype=np.int32),
            np.asarray(codes, dtype=np.int16),
            np.asarray(values, dtype=np.float64),
            tuple(table),
        )

    @staticmethod
    def concat(parts: Sequence[BatchReadings]) -> BatchReadings:
        parts = [p for p in parts if len(p)]
        if not parts:
            return EMPTY
        if len(parts) == 1:
            return parts[0]
        table: dict[Key, int] = {}
        remapped = []
        for part in parts:
            lookup = np.array([table.setdefault(k, len(table)) for k in part.keys], dtype=np.int16)
            remapped.append(lookup[part.key])
        return BatchReadings(
            np.concatenate([p.row for p in parts]),
            np.concatenate(remapped),
            np.concatenate([p.value for p in parts]),
            tuple(table),
        )

    def sorted(self) -> BatchReadings:
        """Ordered by row, then quantity and channel: a canonical order to compare with."""
        rank = np.empty(len(self.keys), dtype=np.int64)
        rank[sorted(range(len(self.keys)), key=self.keys.__getitem__)] = np.arange(len(self.keys))
        order = np.lexsort((rank[self.key] if len(self.keys) else self.key, self.row))
        return BatchReadings(self.row[order], self.key[order], self.value[order], self.keys)


EMPTY = BatchReadings(np.empty(0, np.int32), np.empty(0, np.int16), np.empty(0, np.float64), ())


def match_rows(frame: FixedFrame, block: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Which rows of a (n, frame.length) byte block carry the frame's signature."""
    if not frame.signature:
        return np.ones(block.shape[0], dtype=bool)
    expected = np.frombuffer(frame.signature, dtype=np.uint8)
    hit: npt.NDArray[np.bool_] = np.all(block[:, list(frame.signature_offsets)] == expected, axis=1)
    return hit


@dataclass(frozen=True, slots=True)
class Block:
    """The readings of many frames of one shape, wide: `values[i, j]` is the reading of
    `keys[i]` in payload `rows[j]`, NaN where the frame has no value for it."""

    rows: npt.NDArray[np.int32]
    keys: tuple[Key, ...]
    values: FloatArray

    def flat(self) -> BatchReadings:
        """The same readings, one per row of a BatchReadings (the long format)."""
        k, n = self.values.shape
        flat = self.values.reshape(-1)
        readings = BatchReadings(
            np.tile(self.rows, k), np.repeat(np.arange(k, dtype=np.int16), n), flat, self.keys
        )
        missing = np.isnan(flat)
        if missing.any():
            keep = ~missing
            readings = BatchReadings(readings.row[keep], readings.key[keep], flat[keep], self.keys)
        return readings


def frame_block(
    frame: FixedFrame, rows: npt.NDArray[np.int64], block: npt.NDArray[np.uint8]
) -> Block:
    """The readings of frames that all match `frame`; block is their (n, length) bytes.
    A converter answers NaN for a vendor's "no value" sentinel: no reading there."""
    records = np.ascontiguousarray(block).view(frame.dtype).reshape(-1)
    values = np.empty((len(frame.columns), rows.size), dtype=np.float64)
    for i, column in enumerate(frame.columns):
        raw = records[column.field].astype(np.float64)
        values[i] = raw if column.convert is None else column.convert(raw)
    return Block(
        rows.astype(np.int32), tuple((c.quantity, c.channel) for c in frame.columns), values
    )
