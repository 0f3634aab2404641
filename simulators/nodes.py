"""YAML read as nodes that keep their line, so that every error in a scenario file says
where it is: "scenarios/x.yaml line 12: unknown model 'foo' (known: ...)"."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

import yaml


class ScenarioError(ValueError):
    """A scenario file that cannot be used, with the file and line of the culprit."""


@dataclass(frozen=True, slots=True)
class Node:
    """One YAML node of a file; accessors check its type and raise ScenarioError."""

    node: yaml.Node
    source: str

    def error(self, message: str) -> ScenarioError:
        return ScenarioError(f"{self.source} line {self.node.start_mark.line + 1}: {message}")

    @property
    def is_null(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag.endswith(":null")

    def _scalar(self, what: str) -> str:
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.error(f"expected {what}")
        return str(self.node.value)

    def text(self) -> str:
        return self._scalar("a text")

    def number(self, minimum: float | None = None, above: float | None = None) -> float:
        raw = self._scalar("a number")
        try:
            value = float(raw)
        except ValueError:
            raise self.error(f"expected a number, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise self.error(f"must be at least {minimum:g}, got {raw}")
        if above is not None and value <= above:
            raise self.error(f"must be more than {above:g}, got {raw}")
        return value

    def boolean(self) -> bool:
        raw = self._scalar("true or false")
        if raw.lower() not in ("true", "false"):
            raise self.error(f"expected true or false, got {raw!r}")
        return raw.lower() == "true"

    def integer(self, minimum: int | None = None) -> int:
        raw = self._scalar("an integer")
        try:
            value = int(raw)
        except ValueError:
            raise self.error(f"expected an integer, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise self.error(f"must be at least {minimum}, got {raw}")
        return value

    def moment(self) -> datetime:
        raw = self._scalar("an RFC 3339 time")
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise self.error(f"expected an RFC 3339 time, got {raw!r}") from None
        if value.tzinfo is None:
            raise self.error(f"a time needs its UTC offset, got {raw!r}")
        return value

    def day(self) -> date:
        raw = self._scalar("a date")
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise self.error(f"expected a date (YYYY-MM-DD), got {raw!r}") from None

    def choice(self, options: tuple[str, ...], what: str) -> str:
        value = self.text()
        if value not in options:
            raise self.error(f"unknown {what} {value!r} (known: {', '.join(options)})")
        return value

    def items(self) -> Iterator[Node]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error("expected a list")
        for child in self.node.value:
            yield Node(child, self.source)

    def fields(self, allowed: tuple[str, ...]) -> dict[str, Node]:
        """The mapping's values by key; an unknown key is an error at its line."""
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error("expected a mapping (key: value)")
        found: dict[str, Node] = {}
        for key, value in self.node.value:
            name = str(key.value)
            if name not in allowed:
                raise Node(key, self.source).error(
                    f"unknown key {name!r} (known: {', '.join(allowed)})"
                )
            found[name] = Node(value, self.source)
        return found

    def require(self, fields: dict[str, Node], key: str) -> Node:
        if key not in fields:
            raise self.error(f"missing key {key!r}")
        return fields[key]


def load_nodes(text: str, source: str) -> Node:
    """The root node of a YAML document; a syntax error points at its line too."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ScenarioError(f"{source} line {line}: {exc.problem}") from None
    if root is None:
        raise ScenarioError(f"{source} line 1: the file is empty")
    return Node(root, source)
