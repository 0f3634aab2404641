"""Bounds-checked reading of payload bytes: a short frame is a DecodeError naming the byte."""

from __future__ import annotations

import struct

from decoders.codec import DecodeError

_FORMATS = {
    "u8": "B",
    "s8": "b",
    "u16le": "<H",
    "s16le": "<h",
    "u16be": ">H",
    "s16be": ">h",
    "u24le": None,
    "u24be": None,
    "u32le": "<I",
    "s32le": "<i",
    "u32be": ">I",
    "s32be": ">i",
    "f32le": "<f",
    "f32be": ">f",
}


class Reader:
    """A cursor over a payload. Every read names what it reads, for the error message."""

    __slots__ = ("payload", "pos")

    def __init__(self, payload: bytes, pos: int = 0) -> None:
        self.payload = payload
        self.pos = pos

    @property
    def remaining(self) -> int:
        return len(self.payload) - self.pos

    def at_end(self) -> bool:
        return self.pos >= len(self.payload)

    def take(self, size: int, what: str) -> bytes:
        """The next `size` bytes; DecodeError if the frame ends before."""
        if size < 0 or self.pos + size > len(self.payload):
            raise DecodeError(
                f"truncated frame: {what} needs {size} byte(s) at byte {self.pos}, "
                f"frame has {len(self.payload)}"
            )
        chunk = self.payload[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def number(self, fmt: str, what: str) -> int | float:
        """Read one value in a named format: u8, s16le, u32be, f32be, u24le…"""
        if fmt in ("u24le", "u24be"):
            raw = self.take(3, what)
            return int.from_bytes(raw, "little" if fmt == "u24le" else "big")
        code = _FORMATS.get(fmt)
        if code is None:
            raise ValueError(f"unknown number format {fmt!r}")
        size = struct.calcsize(code)
        value: int | float = struct.unpack(code, self.take(size, what))[0]
        return value

    def int(self, fmt: str, what: str) -> int:
        value = self.number(fmt, what)
        assert isinstance(value, int)
        return value
