"""Composing YAML into line-keeping nodes and walking them by hand, collecting problems.

`YamlReader` converts composed nodes (mappings with merge keys, lists and scalars read from the
source text) into Python values and records a `ConfigProblem` (file, line, key path, message) for
each bad one instead of raising; callers raise one `ConfigError` holding every error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import yaml

from .durations import parse_duration_ms
from .enums import Role
from .scores import INFINITY
from .yaml_scalars import (
    _ID_RE,
    Validator,
    _as_bool,
    _suggest,
    _v_bool,
    _v_duration,
    _v_int,
    _v_role,
    _v_score,
)

__all__ = ["ConfigError", "ConfigProblem", "Severity", "YamlReader"]


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a file: where (file, 1-based line or None, key path) and what."""

    file: str
    line: int | None
    path: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        tag = "warning: " if self.severity is Severity.WARNING else ""
        if self.path:
            return f"{where}: {self.path}: {tag}{self.message}"
        return f"{where}: {tag}{self.message}"


class ConfigError(Exception):
    """Every error found in a file (never empty). `errors` are in file order."""

    def __init__(self, errors: list[ConfigProblem]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == "tag:yaml.org,2002:null":
        return "nothing"
    return repr(node.value)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


class YamlReader:
    """Walks composed YAML nodes, converting values and collecting problems (never raising)."""

    def __init__(self, filename: str) -> None:
        self.file = filename
        self.problems: list[ConfigProblem] = []

    # -- reporting
    def error(self, node: yaml.Node | None, path: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(ConfigProblem(self.file, line, path, message))

    def warn(self, node: yaml.Node | None, path: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(ConfigProblem(self.file, line, path, message, Severity.WARNING))

    @property
    def errors(self) -> list[ConfigProblem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    def sorted_problems(self) -> list[ConfigProblem]:
        return sorted(self.problems, key=lambda p: p.line if p.line is not None else 0)

    # -- documents
    def compose(self, text: str) -> yaml.Node | None:
        """The document's root node, or None (with a problem) for bad or empty YAML."""
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            what = exc.problem or exc.context or "malformed YAML"
            ctx = exc.context_mark
            if exc.context and ctx is not None and mark is not None and ctx.line != mark.line:
                what += f" ({exc.context} on line {ctx.line + 1})"
            self.problems.append(ConfigProblem(self.file, line, "", f"YAML syntax error: {what}"))
            return None
        except yaml.YAMLError as exc:
            self.problems.append(ConfigProblem(self.file, None, "", f"YAML error: {exc}"))
            return None
        if root is None:
            self.problems.append(ConfigProblem(self.file, 1, "", "the file is empty"))
        return root

    # -- structure
    def mapping(
        self,
        node: yaml.Node,
        path: str,
        allowed: Iterable[str] | None = None,
        required: Iterable[str] = (),
        null_ok: bool = True,
        extensions: bool = False,
    ) -> dict[str, yaml.Node] | None:
        """Key -> value node. Reports duplicate keys, unknown keys (if `allowed`) and missing ones.

        YAML merge keys (`<<: *anchor`) are honoured; with `extensions`, keys starting with `x-`
        are skipped (a place for anchors, as in docker-compose files).
        """
        if null_ok and _is_null(node):
            values: dict[str, yaml.Node] = {}
        elif not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"expected a mapping, got {_kind(node)}")
            return None
        else:
            values = {}
            allowed_list = list(allowed) if allowed is not None else None
            explicit, merged = self.split_merge_keys(node, path)
            for key_node, value_node in [*explicit, *merged]:
                if (key_node, value_node) in merged and str(key_node.value) in values:
                    continue  # an explicit key (or an earlier merged one) wins over a merged one
                if not isinstance(key_node, yaml.ScalarNode) or _is_null(key_node):
                    self.error(key_node, path, f"expected a key, got {_kind(key_node)}")
                    continue
                key = str(key_node.value)
                if key in values:
                    self.error(key_node, _join(path, key), "duplicate key")
                    continue
                if extensions and key.startswith("x-"):
                    continue
                if allowed_list is not None and key not in allowed_list:
                    self.error(key_node, _join(path, key), "unknown key" + _suggest(key, allowed_list))
                    continue
                values[key] = value_node
        for key in required:
            if key not in values:
                self.error(node, path, f"missing required key {key!r}")
        return values

    def split_merge_keys(
        self, node: yaml.MappingNode, path: str
    ) -> tuple[list[tuple[yaml.Node, yaml.Node]], list[tuple[yaml.Node, yaml.Node]]]:
        """The mapping's own pairs, and the pairs merged in by YAML merge keys (`<<: *defaults`)."""
        explicit: list[tuple[yaml.Node, yaml.Node]] = []
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != "tag:yaml.org,2002:merge":
                explicit.append((key_node, value_node))
                continue
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    own, inherited = self.split_merge_keys(source, path)
                    merged.extend([*own, *inherited])
                else:
                    self.error(source, _join(path, "<<"), f"expected a mapping to merge, got {_kind(source)}")
        return explicit, merged

    def sequence(self, node: yaml.Node, path: str) -> list[yaml.Node] | None:
        if _is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, path, f"expected a list, got {_kind(node)}")
            return None
        return list(node.value)

    # -- scalars (all read from the source text, so `1.10` stays `1.10` and `no` stays `no`)
    def text(self, node: yaml.Node, path: str, what: str = "a string") -> str | None:
        if not isinstance(node, yaml.ScalarNode) or _is_null(node):
            self.error(node, path, f"expected {what}, got {_kind(node)}")
            return None
        return str(node.value)

    def checked(self, node: yaml.Node, path: str, check: Validator, what: str = "a value") -> str | None:
        text = self.text(node, path, what)
        if text is None:
            return None
        message = check(text)
        if message is not None:
            self.error(node, path, message)
            return None
        return text

    def ident(self, node: yaml.Node, path: str) -> str | None:
        text = self.text(node, path, "an id")
        if text is not None and not _ID_RE.match(text):
            self.error(
                node, path, f"{text!r} is not a valid id (a letter or _ first, then letters, digits, _ . -)"
            )
            return None
        return text

    def integer(self, node: yaml.Node, path: str) -> int | None:
        text = self.checked(node, path, _v_int, "an integer")
        return int(text) if text is not None else None

    def boolean(self, node: yaml.Node, path: str) -> bool | None:
        text = self.checked(node, path, _v_bool, "true or false")
        return _as_bool(text) if text is not None else None

    def score(self, node: yaml.Node, path: str) -> int | None:
        text = self.checked(node, path, _v_score, "a score")
        if text is None:
            return None
        low = text.lower().lstrip("+")
        if low in ("infinity", "inf"):
            return INFINITY
        if low in ("-infinity", "-inf"):
            return -INFINITY
        return max(-INFINITY, min(INFINITY, int(text)))

    def duration_ms(self, node: yaml.Node, path: str) -> int | None:
        text = self.checked(node, path, _v_duration, "a duration")
        return parse_duration_ms(text) if text is not None else None

    def role(self, node: yaml.Node, path: str) -> Role | None:
        text = self.checked(node, path, _v_role, "a role")
        return Role.parse(text) if text is not None else None

    def string_map(self, node: yaml.Node, path: str) -> dict[str, str]:
        fields = self.mapping(node, path)
        out: dict[str, str] = {}
        for key, value in (fields or {}).items():
            text = self.text(value, _join(path, key))
            if text is not None:
                out[key] = text
        return out

    def int_map(self, node: yaml.Node, path: str) -> dict[str, int]:
        fields = self.mapping(node, path)
        out: dict[str, int] = {}
        for key, value in (fields or {}).items():
            number = self.integer(value, _join(path, key))
            if number is not None:
                out[key] = number
        return out

    def plain(self, node: yaml.Node) -> object:
        """The node as plain Python data (for free-form sections such as a service definition)."""
        data: object = yaml.safe_load(yaml.serialize(node))
        return data
