"""Devices as CSV, the format of `POST /devices/import` and `GET /exports/devices.csv`: one
device a row; columns dev_eui, tenant_id, model, device_class, name, latitude, longitude,
zone, tags (`key=value;key=value`) and `param.<name>` per parameter; comma- or (as French
spreadsheets write it) semicolon-separated. Rows are numbered as a spreadsheet shows
them: the header is row 1."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api.device_fields import ParamValue, Problem

COLUMNS = ("dev_eui", "tenant_id", "model", "device_class", "name", "latitude", "longitude", "zone", "tags")  # fmt: skip
PARAM = "param."
DEV_EUI = re.compile(r"^[0-9a-fA-F]{16}$")
INTEGER = re.compile(r"^-?[0-9]+$")


class CsvError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.parameter}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class CsvRow:
    number: int
    dev_eui: str
    cells: dict[str, str]  # every column of the file but dev_eui

    def at(self, column: str) -> str:
        return f"row {self.number}, column {column}"


def read_rows(text: str) -> list[CsvRow]:
    """The rows of a file, each with a valid and unique dev_eui; CsvError names every
    row and column at fault."""
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in header_line and "," not in header_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip() for h in next(reader, [])]
        check_header(header)
        rows: list[CsvRow] = []
        problems: list[Problem] = []
        first_row_of: dict[str, int] = {}
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                message = f"{len(cells)} cells for {len(header)} columns"
                problems.append(Problem(f"row {number}", message))
                continue
            values = {h: c.strip() for h, c in zip(header, cells, strict=True)}
            dev_eui = values.pop("dev_eui").lower()
            row = CsvRow(number, dev_eui, values)
            if not DEV_EUI.match(dev_eui):
                problems.append(Problem(row.at("dev_eui"), "16 hex digits"))
            elif dev_eui in first_row_of:
                message = f"{dev_eui} is also on row {first_row_of[dev_eui]}"
                problems.append(Problem(row.at("dev_eui"), message))
            else:
                first_row_of[dev_eui] = number
                rows.append(row)
    except csv.Error as exc:
        raise CsvError([Problem(f"line {reader.line_num}", f"not CSV: {exc}")]) from None
    if problems:
        raise CsvError(problems)
    if not rows:
        raise CsvError([Problem("body", "no device in the file")])
    return rows


def check_header(header: list[str]) -> None:
    problems = [
        Problem(f"row 1, column {h or '(empty)'}", "unknown column")
        for h in header
        if h not in COLUMNS and not (h.startswith(PARAM) and len(h) > len(PARAM))
    ]
    problems += [
        Problem(f"row 1, column {h}", "given twice")
        for h in sorted({h for h in header if header.count(h) > 1})
    ]
    if "dev_eui" not in header:
        problems.append(Problem("row 1, column dev_eui", "the dev_eui column is needed"))
    if problems:
        raise CsvError(problems)


def parse_tags(cell: str) -> dict[str, str]:
    tags = {}
    for pair in filter(None, (p.strip() for p in cell.split(";"))):
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"{pair!r} is not key=value")
        tags[key.strip()] = value.strip()
    return tags


def parse_param(cell: str) -> ParamValue:
    if INTEGER.match(cell):
        return int(cell)
    if cell in ("true", "false"):
        return cell == "true"
    try:
        number = float(cell)
    except ValueError:
        return cell
    return number if math.isfinite(number) else cell


def patch_of(row: CsvRow, stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """A row as a merge patch of the stored fields: every column of the file is set, an
    empty cell resets it; the tags cell is the device's whole set of tags; a `param.`
    column sets one parameter and leaves the others."""
    patch: dict[str, Any] = {}
    for column, cell in row.cells.items():
        if column.startswith(PARAM):
            patch.setdefault("params", {})[column[len(PARAM) :]] = (
                parse_param(cell) if cell else None
            )
        elif column == "tags":
            removed = dict.fromkeys((stored or {}).get("tags", {}))
            patch["tags"] = {**removed, **parse_tags(cell)}
        else:
            patch[column] = cell or None
    return patch


def column_of(parameter: str) -> str:
    """The CSV column of a field named by a validation problem."""
    if parameter.startswith("params."):
        return PARAM + parameter[len("params.") :]
    return parameter.split(".", 1)[0]


def header(param_names: Iterable[str]) -> list[str]:
    return [*COLUMNS, *(PARAM + name for name in param_names)]


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(device: Mapping[str, Any], param_names: Iterable[str]) -> list[str]:
    tags = ";".join(f"{k}={v}" for k, v in sorted(device["tags"].items()))
    fixed = [tags if c == "tags" else cell(device[c]) for c in COLUMNS]
    return [*fixed, *(cell(device["params"].get(name)) for name in param_names)]
