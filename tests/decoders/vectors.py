"""The vendor-published example vectors of every device, read from tests/decoders/vectors."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).parent / "vectors"


@dataclass(frozen=True)
class Vector:
    model: str
    description: str
    f_port: int
    payload: bytes
    expected: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.model}:{self.description.split(']')[0].lstrip('[')}"


def load_vectors() -> list[Vector]:
    vectors = []
    for path in sorted(VECTOR_DIR.glob("*.json")):
        doc = json.loads(path.read_text())
        for v in doc["vectors"]:
            vectors.append(
                Vector(
                    path.stem, v["description"], v["fPort"], bytes.fromhex(v["hex"]), v["expected"]
                )
            )
    return vectors


def model_classes() -> dict[str, str]:
    return {p.stem: json.loads(p.read_text())["class"] for p in sorted(VECTOR_DIR.glob("*.json"))}


def same(actual: Any, expected: Any, path: str = "data") -> list[str]:
    """Differences between two vendor outputs; floats within a relative 1e-9 (or 1e-6 abs)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        diffs = [f"{path}.{k}: missing" for k in expected if k not in actual]
        diffs += [f"{path}.{k}: unexpected {actual[k]!r}" for k in actual if k not in expected]
        for k in expected:
            if k in actual:
                diffs += same(actual[k], expected[k], f"{path}.{k}")
        return diffs
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        return [
            d
            for i, (a, e) in enumerate(zip(actual, expected, strict=True))
            for d in same(a, e, f"{path}[{i}]")
        ]
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return (
            []
            if actual == expected and type(actual) is type(expected)
            else [f"{path}: expected {expected!r}, got {actual!r}"]
        )
    if isinstance(expected, (int, float)):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        ok = math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-6)
        return [] if ok else [f"{path}: expected {expected!r}, got {actual!r}"]
    return [f"{path}: unsupported expected value {expected!r}"]
