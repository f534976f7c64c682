"""Reading (and writing) a cluster configuration in YAML, reporting every problem at once.

The YAML is composed into nodes (which keep their line numbers) and walked by hand, so that each
problem names its file, line and key path, e.g.
`cluster.yaml:14: resources[1].resources[0].meta.migration-threshold: expected an integer or
INFINITY, got 'three'`. Nothing stops at the first problem: `load_config*` collect them all and
raise one `ConfigError`.

Policy on unknown names (invariants of what this module accepts):
- unknown structural keys, cluster option names, operation names and agent classes are errors
  (with a "did you mean" suggestion): a mistyped `stonith-enable` must not be silently ignored;
- unknown meta attribute names are warnings, because agents and tools may define their own;
- a constraint or fencing device naming an unknown resource or node is an error (node names are
  only checked when the file lists nodes);
- ids (resources, constraints, fencing devices) are unique across the whole file.

YAML anchors, aliases and merge keys work; top-level keys starting with `x-` are ignored, so that
shared fragments can live there (`x-dummy: &dummy {...}` then `{<<: *dummy, id: a}`).

A parameter given as `{env: NAME}` is kept as the string `${env:NAME}`, resolved by the agent
runner at execution time (never at load time, so that secrets stay out of the model), and written
back as `{env: NAME}` by `dump_config`.

`dump_config` writes a configuration this loader reads back equal (`load(dump(c)) == c`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TypeAlias

import yaml

from .config import (
    AgentRef,
    Clone,
    ClusterOptions,
    Colocation,
    Configuration,
    Group,
    Location,
    Node,
    Op,
    Order,
    Primitive,
    Resource,
)
from .durations import parse_duration_ms
from .enums import BoolOp, ExprOp, HealthStrategy, NoQuorumPolicy, OnFail, OrderKind, Role, ValueType
from .rules import AttrExpr, DateExpr, DateSpec, Rule
from .scores import INFINITY, format_score

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "RuleSyntaxError",
    "Severity",
    "YamlReader",
    "check_config_text",
    "config_from_node",
    "dump_config",
    "format_duration",
    "format_rule",
    "load_config",
    "load_config_text",
    "parse_duration_ms",
    "parse_rule",
    "read_text",
]


# --------------------------------------------------------------------------- problems


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


# --------------------------------------------------------------------------- scalar syntax

_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_SCORE_RE = re.compile(r"^([-+]?[0-9]+|[-+]?(infinity|inf))$", re.IGNORECASE)
_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_TRUE = {"true", "yes", "on", "1", "y"}
_FALSE = {"false", "no", "off", "0", "n"}


def format_duration(ms: int) -> str:
    """The shortest exact spelling of a duration that `parse_duration_ms` reads back."""
    if ms and ms % 3_600_000 == 0:
        return f"{ms // 3_600_000}h"
    if ms and ms % 60_000 == 0:
        return f"{ms // 60_000}min"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


Validator = Callable[[str], str | None]
"""Returns an error message for a bad value, None for a good one."""


def _v_any(_text: str) -> str | None:
    return None


def _v_bool(text: str) -> str | None:
    if text.lower() in _TRUE | _FALSE:
        return None
    return f"expected true or false, got {text!r}"


def _v_int(text: str) -> str | None:
    return None if _INT_RE.match(text) else f"expected an integer, got {text!r}"


def _v_count(text: str) -> str | None:
    if _INT_RE.match(text) and int(text) >= 0:
        return None
    return f"expected a non-negative integer, got {text!r}"


def _v_score(text: str) -> str | None:
    return (
        None
        if _SCORE_RE.match(text)
        else f"expected a score (an integer, INFINITY or -INFINITY), got {text!r}"
    )


def _v_int_or_inf(text: str) -> str | None:
    if _INT_RE.match(text) or text.strip().lstrip("+").lower() in ("infinity", "inf"):
        return None
    return f"expected an integer or INFINITY, got {text!r}"


def _v_duration(text: str) -> str | None:
    try:
        parse_duration_ms(text)
    except ValueError as exc:
        return str(exc)
    return None


def _v_enum(*values: str) -> Validator:
    def check(text: str) -> str | None:
        if text.lower() in {v.lower() for v in values}:
            return None
        return f"expected one of {', '.join(values)}, got {text!r}" + _suggest(text, values)

    return check


def _v_role(text: str) -> str | None:
    try:
        Role.parse(text)
    except ValueError as exc:
        return str(exc)
    return None


def _as_bool(text: str) -> bool:
    return text.lower() in _TRUE


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


CLUSTER_OPTIONS: Mapping[str, Validator] = {
    "stonith-enabled": _v_bool,
    "symmetric-cluster": _v_bool,
    "no-quorum-policy": _v_enum(*(p.value for p in NoQuorumPolicy)),
    "start-failure-is-fatal": _v_bool,
    "maintenance-mode": _v_bool,
    "stop-all-resources": _v_bool,
    "stop-orphan-resources": _v_bool,
    "stop-orphan-actions": _v_bool,
    "node-health-strategy": _v_enum(*(h.value for h in HealthStrategy)),
    "node-health-red": _v_score,
    "node-health-yellow": _v_score,
    "node-health-green": _v_score,
    "node-health-base": _v_score,
    "placement-strategy": _v_enum("default", "utilization", "minimal", "balanced"),
    "concurrent-fencing": _v_bool,
    "stonith-action": _v_enum("reboot", "off", "poweroff"),
    "stonith-timeout": _v_duration,
    "stonith-max-attempts": _v_count,
    "stonith-watchdog-timeout": _v_any,
    "have-watchdog": _v_bool,
    "startup-fencing": _v_bool,
    "fence-reaction": _v_enum("stop", "panic"),
    "priority-fencing-delay": _v_duration,
    "shutdown-lock": _v_bool,
    "shutdown-lock-limit": _v_duration,
    "cluster-recheck-interval": _v_duration,
    "cluster-delay": _v_duration,
    "dc-deadtime": _v_duration,
    "election-timeout": _v_duration,
    "shutdown-escalation": _v_duration,
    "transition-delay": _v_duration,
    "batch-limit": _v_count,
    "migration-limit": _v_int,
    "load-threshold": _v_any,
    "node-action-limit": _v_count,
    "enable-startup-probes": _v_bool,
    "enable-acl": _v_bool,
    "cluster-name": _v_any,
    "cluster-infrastructure": _v_any,
    "dc-version": _v_any,
    "pe-error-series-max": _v_int,
    "pe-warn-series-max": _v_int,
    "pe-input-series-max": _v_int,
    "node-pending-timeout": _v_duration,
    "default-resource-stickiness": _v_score,
    "is-managed-default": _v_bool,
}
"""Known cluster options and their value syntax (an unknown option name is an error)."""

META_ATTRIBUTES: Mapping[str, Validator] = {
    "target-role": _v_role,
    "is-managed": _v_bool,
    "maintenance": _v_bool,
    "resource-stickiness": _v_score,
    "migration-threshold": _v_int_or_inf,
    "failure-timeout": _v_duration,
    "priority": _v_int,
    "multiple-active": _v_enum("block", "stop_only", "stop_start", "stop_unexpected"),
    "requires": _v_enum("nothing", "quorum", "fencing", "unfencing"),
    "allow-migrate": _v_bool,
    "allow-unhealthy-nodes": _v_bool,
    "critical": _v_bool,
    "restart-type": _v_enum("ignore", "restart"),
    "container-attribute-target": _v_any,
    "remote-node": _v_any,
    "remote-port": _v_int,
    "remote-addr": _v_any,
    "remote-connect-timeout": _v_duration,
    "description": _v_any,
    "clone-max": _v_count,
    "clone-node-max": _v_count,
    "clone-min": _v_count,
    "promoted-max": _v_count,
    "promoted-node-max": _v_count,
    "master-max": _v_count,
    "master-node-max": _v_count,
    "notify": _v_bool,
    "globally-unique": _v_bool,
    "ordered": _v_bool,
    "interleave": _v_bool,
    "promotable": _v_bool,
    "timeout": _v_duration,
    "interval": _v_duration,
    "record-pending": _v_bool,
    "start-delay": _v_duration,
    "on-fail": _v_any,
}
"""Known meta attributes and their value syntax (an unknown name is a warning)."""

OP_NAMES = (
    "start",
    "stop",
    "monitor",
    "promote",
    "demote",
    "migrate_to",
    "migrate_from",
    "reload",
    "reload-agent",
    "notify",
    "validate-all",
    "meta-data",
    "status",
)
ORDER_ACTIONS = ("start", "stop", "promote", "demote")
AGENT_CLASSES = ("ocf", "lsb", "systemd", "service", "stonith", "fence")


# --------------------------------------------------------------------------- the node reader


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


# --------------------------------------------------------------------------- rules in text form


class RuleSyntaxError(ValueError):
    """A rule expression that does not parse; the message says where."""


_TOKEN_RE = re.compile(r"""\s*(?:((?:param|meta)\([^()\s]+\))|(\()|(\))|"([^"]*)"|'([^']*)'|([^\s()]+))""")
_TYPES = {t.value: t for t in ValueType}
_CMP_OPS = {
    "lt": ExprOp.LT,
    "gt": ExprOp.GT,
    "lte": ExprOp.LTE,
    "gte": ExprOp.GTE,
    "eq": ExprOp.EQ,
    "ne": ExprOp.NE,
}
_DURATION_KEYS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
_DATE_SPEC_KEYS = (
    "years",
    "months",
    "monthdays",
    "hours",
    "minutes",
    "seconds",
    "yeardays",
    "weekdays",
    "weekyears",
    "weeks",
)
_KEYWORDS = {"and", "or", "defined", "not_defined", "date", "date-spec", "(", ")"}


@dataclass(frozen=True)
class _Tok:
    text: str
    quoted: bool


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise RuleSyntaxError(f"cannot read the rule from {text[pos:]!r}")
        pos = m.end()
        if m.group(1):
            tokens.append(_Tok(m.group(1), False))
        elif m.group(2) or m.group(3):
            tokens.append(_Tok(m.group(2) or m.group(3), False))
        elif m.group(4) is not None or m.group(5) is not None:
            tokens.append(_Tok(m.group(4) if m.group(4) is not None else m.group(5), True))
        else:
            tokens.append(_Tok(m.group(6), False))
    return tokens


_Expr: TypeAlias = AttrExpr | DateExpr | tuple[BoolOp, list["_Expr"]]


class _RuleParser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self, what: str) -> _Tok:
        tok = self.peek()
        if tok is None:
            prev = f" after {self.tokens[self.pos - 1].text!r}" if self.pos and " after " not in what else ""
            raise RuleSyntaxError(f"expected {what}{prev}, got the end of the rule")
        self.pos += 1
        return tok

    def keyword(self, tok: _Tok | None, word: str) -> bool:
        return tok is not None and not tok.quoted and tok.text == word

    def parse(self) -> _Expr:
        if not self.tokens:
            raise RuleSyntaxError("the rule is empty")
        expr = self.parse_bool(BoolOp.OR)
        tok = self.peek()
        if tok is not None:
            raise RuleSyntaxError(f"expected 'and', 'or' or the end of the rule, got {tok.text!r}")
        return expr

    def parse_bool(self, op: BoolOp) -> _Expr:
        items = [self.parse_operand(op)]
        while self.keyword(self.peek(), op.value):
            self.pos += 1
            items.append(self.parse_operand(op))
        if len(items) == 1:
            return items[0]
        flat: list[_Expr] = []
        for item in items:
            if isinstance(item, tuple) and item[0] is op:
                flat.extend(item[1])
            else:
                flat.append(item)
        return (op, flat)

    def parse_operand(self, op: BoolOp) -> _Expr:
        return self.parse_bool(BoolOp.AND) if op is BoolOp.OR else self.parse_unary()

    def parse_unary(self) -> _Expr:
        tok = self.next("an expression")
        if self.keyword(tok, "("):
            expr = self.parse_bool(BoolOp.OR)
            close = self.next("')'")
            if not self.keyword(close, ")"):
                raise RuleSyntaxError(f"expected ')', got {close.text!r}")
            return expr
        if self.keyword(tok, "defined") or self.keyword(tok, "not_defined"):
            attr = self.word("an attribute name")
            return AttrExpr(attr, ExprOp.DEFINED if tok.text == "defined" else ExprOp.NOT_DEFINED)
        if self.keyword(tok, "date"):
            return self.parse_date()
        if self.keyword(tok, "date-spec"):
            return DateExpr("date_spec", spec=DateSpec(self.key_values(_DATE_SPEC_KEYS, ranges=True)))
        if not tok.quoted and tok.text in _KEYWORDS:
            raise RuleSyntaxError(f"expected an expression, got {tok.text!r}")
        attr = tok.text
        op_tok = self.next(f"an operator (lt, gt, lte, gte, eq, ne) after {attr!r}")
        if op_tok.quoted or op_tok.text not in _CMP_OPS:
            raise RuleSyntaxError(
                f"expected an operator (lt, gt, lte, gte, eq, ne) after {attr!r}, got {op_tok.text!r}"
                + _suggest(op_tok.text, _CMP_OPS)
            )
        vtype: ValueType | None = None
        nxt = self.peek()
        if nxt is not None and not nxt.quoted and nxt.text in _TYPES and self.pos + 1 < len(self.tokens):
            after = self.tokens[self.pos + 1]
            if after.quoted or after.text not in ("and", "or", ")"):
                vtype = _TYPES[nxt.text]
                self.pos += 1
        value_tok = self.next(f"a value after {attr} {op_tok.text}")
        if not value_tok.quoted and value_tok.text in _KEYWORDS:
            raise RuleSyntaxError(f"expected a value after {attr} {op_tok.text}, got {value_tok.text!r}")
        source = "literal"
        value = value_tok.text
        m = re.fullmatch(r"(param|meta)\((.+)\)", value) if not value_tok.quoted else None
        if m:
            source, value = m.group(1), m.group(2)
        return AttrExpr(attr, _CMP_OPS[op_tok.text], value, vtype, source)

    def word(self, what: str) -> str:
        tok = self.next(what)
        if not tok.quoted and tok.text in _KEYWORDS:
            raise RuleSyntaxError(f"expected {what}, got {tok.text!r}")
        return tok.text

    def when(self, what: str) -> datetime:
        text = self.word(what)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise RuleSyntaxError(
                f"expected {what} (ISO 8601, e.g. 2026-01-31T08:00), got {text!r}"
            ) from None
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def key_values(self, keys: Sequence[str], ranges: bool) -> dict[str, str]:
        out: dict[str, str] = {}
        while (tok := self.peek()) is not None and not tok.quoted and "=" in tok.text:
            self.pos += 1
            key, _, value = tok.text.partition("=")
            if key not in keys:
                raise RuleSyntaxError(
                    f"unknown field {key!r} (expected {', '.join(keys)})" + _suggest(key, keys)
                )
            pattern = r"[0-9]+(-[0-9]+)?" if ranges else r"[0-9]+"
            if not re.fullmatch(pattern, value):
                raise RuleSyntaxError(
                    f"{key}: expected {'N or N-M' if ranges else 'a number'}, got {value!r}"
                )
            out[key] = value
        if not out:
            raise RuleSyntaxError(f"expected one or more KEY=VALUE ({', '.join(keys)})")
        return out

    def parse_date(self) -> DateExpr:
        op = self.next("gt, lt or in_range after 'date'")
        if op.text == "gt":
            return DateExpr("gt", start=self.when("a date"))
        if op.text == "lt":
            return DateExpr("lt", end=self.when("a date"))
        if op.text != "in_range":
            raise RuleSyntaxError(f"expected gt, lt or in_range after 'date', got {op.text!r}")
        start = self.when("a start date")
        to = self.next("'to'")
        if to.text != "to":
            raise RuleSyntaxError(f"expected 'to' after the start date, got {to.text!r}")
        if self.keyword(self.peek(), "duration"):
            self.pos += 1
            dur = {k: int(v) for k, v in self.key_values(_DURATION_KEYS, ranges=False).items()}
            return DateExpr("in_range", start=start, duration=dur)
        return DateExpr("in_range", start=start, end=self.when("an end date"))


def parse_rule(
    text: str,
    rule_id: str,
    score: int | None = None,
    score_attribute: str | None = None,
    role: Role | None = None,
) -> Rule:
    """Parse `#health-disk eq red`, `pingd lt 1 or not_defined pingd`, `date gt 2026-01-01`, ...

    `and` binds tighter than `or`; parentheses group. Nested rules get ids `<rule_id>-<n>`.
    Raises RuleSyntaxError.
    """
    expr = _RuleParser(text).parse()
    if isinstance(expr, tuple):
        op, items = expr
        children = tuple(_to_rule_item(item, f"{rule_id}-{i + 1}") for i, item in enumerate(items))
    else:
        op, children = BoolOp.AND, (expr,)
    return Rule(rule_id, children, op, score, score_attribute, role)


def _to_rule_item(expr: _Expr, rule_id: str) -> AttrExpr | DateExpr | Rule:
    if isinstance(expr, tuple):
        op, items = expr
        return Rule(
            rule_id, tuple(_to_rule_item(item, f"{rule_id}-{i + 1}") for i, item in enumerate(items)), op
        )
    return expr


def _quote(value: str) -> str:
    if value == "" or value in _KEYWORDS or re.search(r"[\s()\"']", value) or value in _TYPES:
        return '"' + value + '"' if '"' not in value else "'" + value + "'"
    return value


def format_rule(rule: Rule) -> str:
    """The text form `parse_rule` reads back (the score, role and ids are not part of it)."""
    parts = []
    for expr in rule.expressions:
        if isinstance(expr, Rule):
            inner = format_rule(expr)
            parts.append(f"({inner})" if len(expr.expressions) > 1 else inner)
        elif isinstance(expr, DateExpr):
            parts.append(_format_date(expr))
        elif expr.op in (ExprOp.DEFINED, ExprOp.NOT_DEFINED):
            parts.append(f"{expr.op.value} {_quote(expr.attribute)}")
        else:
            value = expr.value or ""
            shown = f"{expr.value_source}({value})" if expr.value_source != "literal" else _quote(value)
            vtype = f" {expr.type.value}" if expr.type is not None else ""
            parts.append(f"{_quote(expr.attribute)} {expr.op.value}{vtype} {shown}")
    return f" {rule.boolean_op.value} ".join(parts)


def _format_date(expr: DateExpr) -> str:
    if expr.op == "gt" and expr.start is not None:
        return f"date gt {expr.start.isoformat()}"
    if expr.op == "lt" and expr.end is not None:
        return f"date lt {expr.end.isoformat()}"
    if expr.op == "date_spec" and expr.spec is not None:
        return "date-spec " + " ".join(f"{k}={v}" for k, v in expr.spec.fields.items())
    start = expr.start.isoformat() if expr.start is not None else "1970-01-01T00:00:00+00:00"
    if expr.end is not None:
        return f"date in_range {start} to {expr.end.isoformat()}"
    return f"date in_range {start} to duration " + " ".join(f"{k}={v}" for k, v in expr.duration.items())


# --------------------------------------------------------------------------- configuration reader

_TOP_KEYS = (
    "cluster",
    "nodes",
    "fencing",
    "resources",
    "constraints",
    "rsc_defaults",
    "op_defaults",
    "alerts",
)
"""`alerts:` is the daemon's (paceline.alerts reads and checks it); the model does not hold it."""
_PRIMITIVE_KEYS = ("id", "agent", "service", "params", "meta", "ops", "utilization")
_OP_KEYS = ("interval", "timeout", "on-fail", "role", "enabled", "id", "meta")
_LOCATION_KEYS = (
    "id",
    "resource",
    "resource-pattern",
    "node",
    "score",
    "score-attribute",
    "rule",
    "rules",
    "role",
    "resource-discovery",
)
_COLOCATION_KEYS = ("id", "resource", "with", "score", "role", "with-role", "node-attribute", "influence")
_ORDER_KEYS = ("id", "first", "first-action", "then", "then-action", "kind", "symmetrical", "require-all")


def _env_ref(name: str) -> str:
    return "${env:" + name + "}"


_ENV_RE = re.compile(r"^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$")


class _ConfigReader(YamlReader):
    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self.id_lines: dict[str, yaml.Node] = {}
        self.constraint_refs: list[tuple[yaml.Node, str, str, str]] = []  # node, path, kind, name

    def claim_id(self, ident: str, node: yaml.Node, path: str) -> None:
        if ident in self.id_lines:
            first = self.id_lines[ident].start_mark.line + 1
            self.error(node, path, f"duplicate id {ident!r} (first used on line {first})")
        else:
            self.id_lines[ident] = node

    def read(self, root: yaml.Node) -> Configuration | None:
        top = self.mapping(root, "", _TOP_KEYS, null_ok=False, extensions=True)
        if top is None:
            return None
        name, store, options = "cluster", None, ClusterOptions()
        if "cluster" in top:
            name, store, options = self.read_cluster(top["cluster"])
        nodes = self.read_nodes(top["nodes"]) if "nodes" in top else ()
        devices = self.read_fencing(top["fencing"]) if "fencing" in top else ()
        resources = self.read_resources(top["resources"]) if "resources" in top else ()
        rsc_defaults = self.read_meta(top["rsc_defaults"], "rsc_defaults") if "rsc_defaults" in top else {}
        op_defaults = self.read_meta(top["op_defaults"], "op_defaults") if "op_defaults" in top else {}
        locations: list[Location] = []
        colocations: list[Colocation] = []
        orders: list[Order] = []
        if "constraints" in top:
            self.read_constraints(top["constraints"], locations, colocations, orders)
        config = Configuration(
            name=name,
            options=options,
            nodes=nodes,
            resources=(*devices, *resources),
            locations=tuple(locations),
            colocations=tuple(colocations),
            orders=tuple(orders),
            rsc_defaults=rsc_defaults,
            op_defaults=op_defaults,
            store=store,
        )
        self.check_references(config)
        return config

    # -- cluster
    def read_cluster(self, node: yaml.Node) -> tuple[str, str | None, ClusterOptions]:
        fields = self.mapping(node, "cluster", ("name", "store", "options")) or {}
        name = self.text(fields["name"], "cluster.name") if "name" in fields else None
        store = self.text(fields["store"], "cluster.store") if "store" in fields else None
        raw: dict[str, str] = {}
        if "options" in fields:
            opts = self.mapping(fields["options"], "cluster.options") or {}
            for key, value in opts.items():
                path = _join("cluster.options", key)
                check = CLUSTER_OPTIONS.get(key)
                if check is None:
                    self.error(value, path, "unknown cluster option" + _suggest(key, CLUSTER_OPTIONS))
                    continue
                text = self.checked(value, path, check)
                if text is not None:
                    raw[key] = text
        return name or "cluster", store, cluster_options(raw)

    # -- nodes
    def read_nodes(self, node: yaml.Node) -> tuple[Node, ...]:
        out: list[Node] = []
        seen: dict[str, yaml.Node] = {}
        for i, item in enumerate(self.sequence(node, "nodes") or []):
            path = f"nodes[{i}]"
            if isinstance(item, yaml.ScalarNode) and not _is_null(item):
                fields: dict[str, yaml.Node] = {"name": item}
            else:
                keys = ("name", "id", "address", "attributes", "utilization", "score")
                got = self.mapping(item, path, keys, required=("name",), null_ok=False)
                if got is None:
                    continue
                fields = got
            name = self.text(fields["name"], _join(path, "name")) if "name" in fields else None
            if name is None:
                continue
            if name in seen:
                first = seen[name].start_mark.line + 1
                self.error(
                    fields["name"], _join(path, "name"), f"duplicate node {name!r} (first on line {first})"
                )
                continue
            seen[name] = fields["name"]
            out.append(
                Node(
                    name=name,
                    id=(self.text(fields["id"], _join(path, "id")) or "") if "id" in fields else "",
                    address=self.text(fields["address"], _join(path, "address"))
                    if "address" in fields
                    else None,
                    attributes=(
                        self.string_map(fields["attributes"], _join(path, "attributes"))
                        if "attributes" in fields
                        else {}
                    ),
                    utilization=(
                        self.int_map(fields["utilization"], _join(path, "utilization"))
                        if "utilization" in fields
                        else {}
                    ),
                    score=(self.score(fields["score"], _join(path, "score")) or 0)
                    if "score" in fields
                    else 0,
                )
            )
        return tuple(out)

    # -- fencing
    def read_fencing(self, node: yaml.Node) -> tuple[Primitive, ...]:
        fields = self.mapping(node, "fencing", ("devices",)) or {}
        out: list[Primitive] = []
        if "devices" not in fields:
            return ()
        for i, item in enumerate(self.sequence(fields["devices"], "fencing.devices") or []):
            path = f"fencing.devices[{i}]"
            dev = self.mapping(
                item, path, ("id", "agent", "params", "hosts", "meta", "ops"), ("id", "agent"), null_ok=False
            )
            if dev is None or "id" not in dev or "agent" not in dev:
                continue
            ident = self.ident(dev["id"], _join(path, "id"))
            agent_text = self.text(dev["agent"], _join(path, "agent"), "a fence agent name")
            if ident is None or agent_text is None:
                continue
            self.claim_id(ident, dev["id"], _join(path, "id"))
            agent_type = agent_text.split(":", 1)[1] if agent_text.startswith("stonith:") else agent_text
            params = self.read_params(dev["params"], _join(path, "params")) if "params" in dev else {}
            if "hosts" in dev:
                hosts: list[str] = []
                for j, host in enumerate(self.sequence(dev["hosts"], _join(path, "hosts")) or []):
                    hpath = f"{_join(path, 'hosts')}[{j}]"
                    name = self.text(host, hpath, "a node name")
                    if name is not None:
                        hosts.append(name)
                        self.constraint_refs.append((host, hpath, "node", name))
                if "pcmk_host_list" in params:
                    self.error(
                        dev["hosts"], _join(path, "hosts"), "give either hosts or params.pcmk_host_list"
                    )
                else:
                    params["pcmk_host_list"] = " ".join(hosts)
            out.append(
                Primitive(
                    id=ident,
                    agent=AgentRef("stonith", agent_type),
                    params=params,
                    meta=self.read_meta(dev["meta"], _join(path, "meta")) if "meta" in dev else {},
                    ops=self.read_ops(dev["ops"], _join(path, "ops"), ident) if "ops" in dev else (),
                )
            )
        return tuple(out)

    def read_params(self, node: yaml.Node, path: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in (self.mapping(node, path) or {}).items():
            vpath = _join(path, key)
            if isinstance(value, yaml.MappingNode):
                ref = self.mapping(value, vpath, ("env",), ("env",))
                if ref and "env" in ref:
                    name = self.text(ref["env"], _join(vpath, "env"), "an environment variable name")
                    if name is not None:
                        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                            out[key] = _env_ref(name)
                        else:
                            self.error(ref["env"], _join(vpath, "env"), f"{name!r} is not a variable name")
                continue
            text = self.text(value, vpath)
            if text is not None:
                out[key] = text
        return out

    def read_meta(self, node: yaml.Node, path: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in (self.mapping(node, path) or {}).items():
            vpath = _join(path, key)
            check = META_ATTRIBUTES.get(key)
            if check is None:
                self.warn(
                    value, vpath, "unknown meta attribute (kept as given)" + _suggest(key, META_ATTRIBUTES)
                )
                check = _v_any
            text = self.checked(value, vpath, check)
            if text is not None:
                out[key] = text
        return out

    # -- resources
    def read_resources(self, node: yaml.Node) -> tuple[Resource, ...]:
        out: list[Resource] = []
        for i, item in enumerate(self.sequence(node, "resources") or []):
            rsc = self.read_resource(item, f"resources[{i}]", nested=False)
            if rsc is not None:
                out.append(rsc)
        return tuple(out)

    def resource_kind(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            keys = {str(k.value) for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
            for kind in ("group", "clone", "promotable"):
                if kind in keys:
                    return kind
        return "primitive"

    def read_resource(self, node: yaml.Node, path: str, nested: bool) -> Resource | None:
        kind = self.resource_kind(node)
        if kind == "group":
            return self.read_group(node, path)
        if kind in ("clone", "promotable"):
            if nested:
                self.error(node, path, f"a {kind} cannot be nested inside another resource")
                return None
            return self.read_clone(node, path, kind)
        return self.read_primitive(node, path)

    def read_primitive(self, node: yaml.Node, path: str) -> Primitive | None:
        fields = self.mapping(node, path, _PRIMITIVE_KEYS, ("id",), null_ok=False)
        if fields is None or "id" not in fields:
            return None
        ident = self.ident(fields["id"], _join(path, "id"))
        if ident is not None:
            self.claim_id(ident, fields["id"], _join(path, "id"))
        agent: AgentRef | None = None
        service: dict[str, object] | None = None
        if "agent" in fields and "service" in fields:
            self.error(fields["service"], _join(path, "service"), "give either agent or service, not both")
        elif "agent" in fields:
            agent = self.read_agent(fields["agent"], _join(path, "agent"))
        elif "service" in fields:
            service = self.read_service(fields["service"], _join(path, "service"))
            agent = AgentRef("service", "service") if service is not None else None
            if "params" in fields:
                self.error(
                    fields["params"], _join(path, "params"), "a service takes no params (use service:)"
                )
        else:
            self.error(node, path, "missing required key 'agent' (or 'service')")
        params = self.read_params(fields["params"], _join(path, "params")) if "params" in fields else {}
        meta = self.read_meta(fields["meta"], _join(path, "meta")) if "meta" in fields else {}
        ops = self.read_ops(fields["ops"], _join(path, "ops"), ident or "") if "ops" in fields else ()
        util = (
            self.int_map(fields["utilization"], _join(path, "utilization")) if "utilization" in fields else {}
        )
        if ident is None or agent is None:
            return None
        return Primitive(ident, agent, params, meta, ops, util, service)

    def read_agent(self, node: yaml.Node, path: str) -> AgentRef | None:
        text = self.text(node, path, "an agent (CLASS:PROVIDER:TYPE or CLASS:TYPE)")
        if text is None:
            return None
        try:
            agent = AgentRef.parse(text)
        except ValueError as exc:
            self.error(node, path, str(exc))
            return None
        if agent.standard not in AGENT_CLASSES:
            self.error(
                node,
                path,
                f"unknown agent class {agent.standard!r}" + _suggest(agent.standard, AGENT_CLASSES),
            )
            return None
        if agent.standard == "ocf" and agent.provider is None:
            self.error(node, path, f"an ocf agent needs a provider: ocf:PROVIDER:{agent.type}")
            return None
        if agent.standard == "fence":
            agent = AgentRef("stonith", agent.type)
        return agent

    def read_service(self, node: yaml.Node, path: str) -> dict[str, object] | None:
        fields = self.mapping(node, path, None, ("command",), null_ok=False)
        if fields is None or "command" not in fields:
            return None
        command = fields["command"]
        if isinstance(command, yaml.SequenceNode):
            if not command.value:
                self.error(command, _join(path, "command"), "the command is empty")
            for j, part in enumerate(command.value):
                self.text(part, f"{_join(path, 'command')}[{j}]")
        else:
            self.text(command, _join(path, "command"), "a command (a list or a string)")
        value = self.plain(node)
        return value if isinstance(value, dict) else None

    def read_ops(self, node: yaml.Node, path: str, rsc_id: str) -> tuple[Op, ...]:
        out: list[Op] = []
        seen: dict[tuple[str, int], yaml.Node] = {}
        for name, value in (self.mapping(node, path) or {}).items():
            opath = _join(path, name)
            if name not in OP_NAMES:
                self.error(value, opath, "unknown operation" + _suggest(name, OP_NAMES))
                continue
            items = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for j, item in enumerate(items):
                ipath = f"{opath}[{j}]" if isinstance(value, yaml.SequenceNode) else opath
                op = self.read_op(item, ipath, name)
                if op is None:
                    continue
                key = (name, op.interval_ms)
                if key in seen:
                    self.error(
                        item, ipath, f"a second {name} with interval {format_duration(op.interval_ms)}"
                    )
                    continue
                seen[key] = item
                out.append(op)
        return tuple(out)

    def read_op(self, node: yaml.Node, path: str, name: str) -> Op | None:
        fields = self.mapping(node, path, _OP_KEYS)
        if fields is None:
            return None
        interval = (
            self.duration_ms(fields["interval"], _join(path, "interval")) if "interval" in fields else 0
        )
        if name == "monitor" and "interval" not in fields:
            self.error(node, path, "a monitor needs an interval")
        timeout = self.duration_ms(fields["timeout"], _join(path, "timeout")) if "timeout" in fields else None
        on_fail: OnFail | None = None
        if "on-fail" in fields:
            text = self.text(fields["on-fail"], _join(path, "on-fail"))
            if text is not None:
                try:
                    on_fail = OnFail.parse(text)
                except ValueError:
                    choices = [o.value for o in OnFail]
                    self.error(
                        fields["on-fail"],
                        _join(path, "on-fail"),
                        f"expected one of {', '.join(choices)}, got {text!r}" + _suggest(text, choices),
                    )
        role = self.role(fields["role"], _join(path, "role")) if "role" in fields else None
        enabled = self.boolean(fields["enabled"], _join(path, "enabled")) if "enabled" in fields else True
        op_id = (self.ident(fields["id"], _join(path, "id")) or "") if "id" in fields else ""
        if op_id:
            self.claim_id(op_id, fields["id"], _join(path, "id"))
        meta = self.read_meta(fields["meta"], _join(path, "meta")) if "meta" in fields else {}
        return Op(name, interval or 0, timeout, role, on_fail, enabled is not False, op_id, meta)

    def read_group(self, node: yaml.Node, path: str) -> Group | None:
        fields = self.mapping(
            node, path, ("group", "resources", "meta"), ("group", "resources"), null_ok=False
        )
        if fields is None or "group" not in fields:
            return None
        ident = self.ident(fields["group"], _join(path, "group"))
        if ident is not None:
            self.claim_id(ident, fields["group"], _join(path, "group"))
        members: list[Primitive] = []
        if "resources" in fields:
            items = self.sequence(fields["resources"], _join(path, "resources")) or []
            if not items and isinstance(fields["resources"], yaml.SequenceNode):
                self.error(
                    fields["resources"], _join(path, "resources"), "a group needs at least one resource"
                )
            for j, item in enumerate(items):
                mpath = f"{_join(path, 'resources')}[{j}]"
                kind = self.resource_kind(item)
                if kind != "primitive":
                    self.error(item, mpath, f"a group holds only primitives, not a {kind}")
                    continue
                member = self.read_primitive(item, mpath)
                if member is not None:
                    members.append(member)
        meta = self.read_meta(fields["meta"], _join(path, "meta")) if "meta" in fields else {}
        if ident is None or not members:
            return None
        return Group(ident, tuple(members), meta)

    def read_clone(self, node: yaml.Node, path: str, kind: str) -> Clone | None:
        fields = self.mapping(
            node, path, (kind, "resource", "max", "meta"), (kind, "resource"), null_ok=False
        )
        if fields is None or kind not in fields:
            return None
        ident = self.ident(fields[kind], _join(path, kind))
        if ident is not None:
            self.claim_id(ident, fields[kind], _join(path, kind))
        child: Primitive | Group | None = None
        if "resource" in fields:
            inner = self.read_resource(fields["resource"], _join(path, "resource"), nested=True)
            if isinstance(inner, Primitive | Group):
                child = inner
        meta = self.read_meta(fields["meta"], _join(path, "meta")) if "meta" in fields else {}
        if "max" in fields:
            count = self.checked(fields["max"], _join(path, "max"), _v_count, "a count")
            if "clone-max" in meta:
                self.error(fields["max"], _join(path, "max"), "give either max or meta.clone-max")
            elif count is not None:
                meta["clone-max"] = count
        if ident is None or child is None:
            return None
        return Clone(ident, child, meta, promotable=kind == "promotable")

    # -- constraints
    def read_constraints(
        self,
        node: yaml.Node,
        locations: list[Location],
        colocations: list[Colocation],
        orders: list[Order],
    ) -> None:
        pending: list[tuple[Location | Colocation | Order, str]] = []  # constraint, default id
        for i, item in enumerate(self.sequence(node, "constraints") or []):
            path = f"constraints[{i}]"
            wrapper = self.mapping(item, path, ("location", "colocation", "order"), null_ok=False)
            if wrapper is None:
                continue
            if len(wrapper) != 1:
                self.error(item, path, "expected exactly one of location, colocation or order")
                continue
            kind, body = next(iter(wrapper.items()))
            cpath = _join(path, kind)
            result: tuple[Location | Colocation | Order, str] | None
            if kind == "location":
                result = self.read_location(body, cpath)
            elif kind == "colocation":
                result = self.read_colocation(body, cpath)
            else:
                result = self.read_order(body, cpath)
            if result is not None:
                pending.append(result)
        taken = set(self.id_lines)
        for constraint, default in pending:
            ident = constraint.id
            if not ident:
                ident, n = default, 1
                while ident in taken:
                    n += 1
                    ident = f"{default}-{n}"
            constraint = _with_id(constraint, ident)
            taken.add(ident)
            if isinstance(constraint, Location):
                locations.append(constraint)
            elif isinstance(constraint, Colocation):
                colocations.append(constraint)
            else:
                orders.append(constraint)

    def ref(self, fields: Mapping[str, yaml.Node], key: str, path: str, kind: str) -> str | None:
        if key not in fields:
            return None
        name = self.text(
            fields[key], _join(path, key), "a resource id" if kind == "resource" else "a node name"
        )
        if name is not None:
            self.constraint_refs.append((fields[key], _join(path, key), kind, name))
        return name

    def explicit_id(self, fields: Mapping[str, yaml.Node], path: str) -> str:
        if "id" not in fields:
            return ""
        ident = self.ident(fields["id"], _join(path, "id"))
        if ident is not None:
            self.claim_id(ident, fields["id"], _join(path, "id"))
        return ident or ""

    def read_location(self, node: yaml.Node, path: str) -> tuple[Location, str] | None:
        fields = self.mapping(node, path, _LOCATION_KEYS, null_ok=False)
        if fields is None:
            return None
        ident = self.explicit_id(fields, path)
        if ("resource" in fields) == ("resource-pattern" in fields):
            self.error(node, path, "give exactly one of resource or resource-pattern")
        rsc = self.ref(fields, "resource", path, "resource")
        pattern = (
            self.text(fields["resource-pattern"], _join(path, "resource-pattern"))
            if ("resource-pattern" in fields)
            else None
        )
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                self.error(fields["resource-pattern"], _join(path, "resource-pattern"), f"bad pattern: {exc}")
        forms = [k for k in ("node", "rule", "rules") if k in fields]
        if len(forms) != 1:
            self.error(node, path, "give exactly one of node, rule or rules")
            return None
        role = self.role(fields["role"], _join(path, "role")) if "role" in fields else None
        discovery = "always"
        if "resource-discovery" in fields:
            discovery = (
                self.checked(
                    fields["resource-discovery"],
                    _join(path, "resource-discovery"),
                    _v_enum("always", "never", "exclusive"),
                )
                or "always"
            )
        base = rsc or re.sub(r"[^A-Za-z0-9_.\-]", "_", pattern or "pattern")
        if forms[0] == "node":
            target = self.ref(fields, "node", path, "node")
            if "score-attribute" in fields:
                self.error(
                    fields["score-attribute"],
                    _join(path, "score-attribute"),
                    "only a rule takes score-attribute",
                )
            if "score" not in fields:
                self.error(node, path, "missing required key 'score'")
                return None
            score = self.score(fields["score"], _join(path, "score"))
            if target is None or score is None:
                return None
            loc = Location(ident, rsc, target, score, (), role, pattern, discovery)
            return loc, f"loc-{base}-{target}"
        rules: list[Rule] = []
        if forms[0] == "rule":
            rule = self.read_rule_body(fields, path, "", role_key=False)
            if rule is not None:
                rules.append(rule)
        else:
            for j, item in enumerate(self.sequence(fields["rules"], _join(path, "rules")) or []):
                rpath = f"{_join(path, 'rules')}[{j}]"
                body = self.mapping(
                    item, rpath, ("id", "rule", "score", "score-attribute", "role"), ("rule",)
                )
                if body is None or "rule" not in body:
                    continue
                rule = self.read_rule_body(body, rpath, f"#{j + 1}", role_key=True)
                if rule is not None:
                    rules.append(rule)
        if not rules:
            return None
        loc = Location(ident, rsc, None, 0, tuple(rules), role, pattern, discovery)
        return loc, f"loc-{base}"

    def read_rule_body(
        self, fields: Mapping[str, yaml.Node], path: str, rule_id: str, role_key: bool
    ) -> Rule | None:
        """A rule with its score; ids are completed by `_with_id` once the location's id is known."""
        has_score, has_attr = "score" in fields, "score-attribute" in fields
        if has_score == has_attr:
            self.error(fields["rule"], path, "give exactly one of score or score-attribute for a rule")
            return None
        score = self.score(fields["score"], _join(path, "score")) if has_score else None
        attr = self.text(fields["score-attribute"], _join(path, "score-attribute")) if has_attr else None
        role = self.role(fields["role"], _join(path, "role")) if role_key and "role" in fields else None
        explicit = self.ident(fields["id"], _join(path, "id")) if role_key and "id" in fields else None
        if explicit:
            self.claim_id(explicit, fields["id"], _join(path, "id"))
        text = self.text(fields["rule"], _join(path, "rule"), "a rule expression")
        if text is None or (has_score and score is None) or (has_attr and attr is None):
            return None
        try:
            return parse_rule(text, explicit or rule_id, score, attr, role)
        except RuleSyntaxError as exc:
            self.error(fields["rule"], _join(path, "rule"), str(exc))
            return None

    def read_colocation(self, node: yaml.Node, path: str) -> tuple[Colocation, str] | None:
        fields = self.mapping(node, path, _COLOCATION_KEYS, ("resource", "with"), null_ok=False)
        if fields is None:
            return None
        ident = self.explicit_id(fields, path)
        rsc = self.ref(fields, "resource", path, "resource")
        with_rsc = self.ref(fields, "with", path, "resource")
        score = self.score(fields["score"], _join(path, "score")) if "score" in fields else INFINITY
        role = self.role(fields["role"], _join(path, "role")) if "role" in fields else None
        with_role = (
            self.role(fields["with-role"], _join(path, "with-role")) if "with-role" in fields else None
        )
        attr = (
            self.text(fields["node-attribute"], _join(path, "node-attribute"))
            if "node-attribute" in fields
            else None
        )
        influence = (
            self.boolean(fields["influence"], _join(path, "influence")) if "influence" in fields else True
        )
        if rsc is not None and rsc == with_rsc:
            self.error(fields["with"], _join(path, "with"), "a resource cannot be colocated with itself")
            return None
        if rsc is None or with_rsc is None or score is None:
            return None
        col = Colocation(
            ident, rsc, with_rsc, score, role, with_role, attr or "#uname", influence is not False
        )
        return col, f"col-{rsc}-{with_rsc}"

    def read_order(self, node: yaml.Node, path: str) -> tuple[Order, str] | None:
        fields = self.mapping(node, path, _ORDER_KEYS, ("first", "then"), null_ok=False)
        if fields is None:
            return None
        ident = self.explicit_id(fields, path)
        first = self.ref(fields, "first", path, "resource")
        then = self.ref(fields, "then", path, "resource")
        actions = _v_enum(*ORDER_ACTIONS)
        first_action = (
            self.checked(fields["first-action"], _join(path, "first-action"), actions)
            if ("first-action" in fields)
            else "start"
        )
        then_action = (
            self.checked(fields["then-action"], _join(path, "then-action"), actions)
            if ("then-action" in fields)
            else "start"
        )
        kind = OrderKind.MANDATORY
        if "kind" in fields:
            text = self.checked(fields["kind"], _join(path, "kind"), _v_enum(*(k.value for k in OrderKind)))
            kind = OrderKind.parse(text) if text is not None else kind
        symmetrical = kind is not OrderKind.SERIALIZE
        if "symmetrical" in fields:
            symmetrical = self.boolean(fields["symmetrical"], _join(path, "symmetrical")) is not False
        require_all = True
        if "require-all" in fields:
            require_all = self.boolean(fields["require-all"], _join(path, "require-all")) is not False
        if first is not None and first == then:
            self.error(fields["then"], _join(path, "then"), "a resource cannot be ordered after itself")
            return None
        if first is None or then is None or first_action is None or then_action is None:
            return None
        order = Order(
            ident, first, then, first_action.lower(), then_action.lower(), kind, symmetrical, require_all
        )
        return order, f"order-{first}-{then}"

    # -- cross references
    def check_references(self, config: Configuration) -> None:
        resource_ids: set[str] = set()
        for rsc in config.resources:
            resource_ids.add(rsc.id)
            if isinstance(rsc, Clone):
                resource_ids.add(rsc.child.id)
            for prim in rsc.primitives():
                resource_ids.add(prim.id)
        node_names = {n.name for n in config.nodes}
        for node, path, kind, name in self.constraint_refs:
            if kind == "resource" and name not in resource_ids:
                self.error(node, path, f"unknown resource {name!r}" + _suggest(name, resource_ids))
            elif kind == "node" and node_names and name not in node_names:
                self.error(node, path, f"unknown node {name!r}" + _suggest(name, node_names))


def _with_id(constraint: Location | Colocation | Order, ident: str) -> Location | Colocation | Order:
    if isinstance(constraint, Location):
        rules = tuple(
            _rename_rule(r, f"{ident}-rule" if r.id == "" else f"{ident}-rule-{r.id[1:]}")
            if r.id == "" or r.id.startswith("#")
            else r
            for r in constraint.rules
        )
        return replace(constraint, id=ident, rules=rules)
    return replace(constraint, id=ident)


def _rename_rule(rule: Rule, ident: str) -> Rule:
    children = tuple(
        _rename_rule(e, f"{ident}-{i + 1}") if isinstance(e, Rule) else e
        for i, e in enumerate(rule.expressions)
    )
    return replace(rule, id=ident, expressions=children)


def cluster_options(raw: Mapping[str, str]) -> ClusterOptions:
    """Typed cluster options from validated raw strings (Pacemaker's defaults for the rest)."""

    def flag(name: str, default: bool) -> bool:
        return _as_bool(raw[name]) if name in raw else default

    def score(name: str, default: int) -> int:
        if name not in raw:
            return default
        low = raw[name].lower().lstrip("+")
        if low in ("infinity", "inf"):
            return INFINITY
        if low in ("-infinity", "-inf"):
            return -INFINITY
        return int(raw[name])

    defaults = ClusterOptions()
    return ClusterOptions(
        stonith_enabled=flag("stonith-enabled", defaults.stonith_enabled),
        symmetric_cluster=flag("symmetric-cluster", defaults.symmetric_cluster),
        no_quorum_policy=NoQuorumPolicy(raw["no-quorum-policy"].lower())
        if "no-quorum-policy" in raw
        else defaults.no_quorum_policy,
        start_failure_is_fatal=flag("start-failure-is-fatal", defaults.start_failure_is_fatal),
        maintenance_mode=flag("maintenance-mode", defaults.maintenance_mode),
        stop_all_resources=flag("stop-all-resources", defaults.stop_all_resources),
        stop_orphan_resources=flag("stop-orphan-resources", defaults.stop_orphan_resources),
        node_health_strategy=HealthStrategy(raw["node-health-strategy"].lower())
        if "node-health-strategy" in raw
        else defaults.node_health_strategy,
        node_health_red=score("node-health-red", defaults.node_health_red),
        node_health_yellow=score("node-health-yellow", defaults.node_health_yellow),
        node_health_green=score("node-health-green", defaults.node_health_green),
        node_health_base=score("node-health-base", defaults.node_health_base),
        placement_strategy=raw.get("placement-strategy", defaults.placement_strategy).lower(),
        concurrent_fencing=flag("concurrent-fencing", defaults.concurrent_fencing),
        stonith_action=raw.get("stonith-action", defaults.stonith_action).lower(),
        shutdown_lock=flag("shutdown-lock", defaults.shutdown_lock),
        raw=dict(raw),
    )


# --------------------------------------------------------------------------- entry points


def check_config_text(
    text: str, filename: str = "<config>"
) -> tuple[Configuration | None, list[ConfigProblem]]:
    """The configuration (None when there are errors) and every problem, warnings included."""
    reader = _ConfigReader(filename)
    root = reader.compose(text)
    config = reader.read(root) if root is not None else None
    problems = reader.sorted_problems()
    if any(p.severity is Severity.ERROR for p in problems):
        return None, problems
    return config, problems


def config_from_node(node: yaml.Node, filename: str) -> Configuration:
    """The configuration in an already composed YAML node (e.g. inside a scenario file).

    Lines are the file's; key paths are relative to `node`. Raises ConfigError.
    """
    reader = _ConfigReader(filename)
    config = reader.read(node)
    errors = [p for p in reader.sorted_problems() if p.severity is Severity.ERROR]
    if errors or config is None:
        raise ConfigError(errors or [ConfigProblem(filename, None, "", "no configuration")])
    return config


def load_config_text(text: str, filename: str = "<config>") -> Configuration:
    """Parse a configuration; raise ConfigError with every error (warnings are dropped)."""
    config, problems = check_config_text(text, filename)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors or config is None:
        raise ConfigError(errors or [ConfigProblem(filename, None, "", "no configuration")])
    return config


def read_text(path: str | Path) -> str:
    """A file's text, or ConfigError naming the file when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(str(path), None, "", f"cannot read: {exc.strerror or exc}")]
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"not UTF-8 text: {exc.reason}")]) from None


def load_config(path: str | Path) -> Configuration:
    """Load a configuration file; raise ConfigError with every error, each with file and line."""
    return load_config_text(read_text(path), str(path))


# --------------------------------------------------------------------------- writer


def _score_out(score: int) -> int | str:
    return format_score(score) if abs(score) >= INFINITY else score


def _params_out(params: Mapping[str, str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in params.items():
        m = _ENV_RE.match(value)
        out[key] = {"env": m.group(1)} if m else value
    return out


def _ops_out(ops: Sequence[Op]) -> dict[str, object]:
    by_name: dict[str, list[dict[str, object]]] = {}
    for op in ops:
        item: dict[str, object] = {}
        if op.interval_ms or op.name == "monitor":
            item["interval"] = format_duration(op.interval_ms)
        if op.timeout_ms is not None:
            item["timeout"] = format_duration(op.timeout_ms)
        if op.on_fail is not None:
            item["on-fail"] = op.on_fail.value
        if op.role is not None:
            item["role"] = op.role.value
        if not op.enabled:
            item["enabled"] = False
        if op.id:
            item["id"] = op.id
        if op.meta:
            item["meta"] = dict(op.meta)
        by_name.setdefault(op.name, []).append(item)
    return {name: items[0] if len(items) == 1 else items for name, items in by_name.items()}


def _primitive_out(prim: Primitive) -> dict[str, object]:
    out: dict[str, object] = {"id": prim.id}
    if prim.service is not None:
        out["service"] = dict(prim.service)
    else:
        out["agent"] = str(prim.agent)
    if prim.params:
        out["params"] = _params_out(prim.params)
    if prim.meta:
        out["meta"] = dict(prim.meta)
    if prim.ops:
        out["ops"] = _ops_out(prim.ops)
    if prim.utilization:
        out["utilization"] = dict(prim.utilization)
    return out


def _resource_out(rsc: Resource) -> dict[str, object]:
    if isinstance(rsc, Primitive):
        return _primitive_out(rsc)
    if isinstance(rsc, Group):
        out: dict[str, object] = {"group": rsc.id, "resources": [_primitive_out(m) for m in rsc.members]}
        if rsc.meta:
            out["meta"] = dict(rsc.meta)
        return out
    out = {"promotable" if rsc.promotable else "clone": rsc.id, "resource": _resource_out(rsc.child)}
    if rsc.meta:
        out["meta"] = dict(rsc.meta)
    return out


def _rule_out(rule: Rule) -> dict[str, object]:
    out: dict[str, object] = {"id": rule.id, "rule": format_rule(rule)}
    if rule.score_attribute is not None:
        out["score-attribute"] = rule.score_attribute
    else:
        out["score"] = _score_out(rule.score if rule.score is not None else 0)
    if rule.role is not None:
        out["role"] = rule.role.value
    return out


def _location_out(loc: Location) -> dict[str, object]:
    out: dict[str, object] = {"id": loc.id}
    if loc.resource is not None:
        out["resource"] = loc.resource
    if loc.resource_pattern is not None:
        out["resource-pattern"] = loc.resource_pattern
    if loc.rules:
        out["rules"] = [_rule_out(r) for r in loc.rules]
    else:
        out["node"] = loc.node
        out["score"] = _score_out(loc.score)
    if loc.role is not None:
        out["role"] = loc.role.value
    if loc.resource_discovery != "always":
        out["resource-discovery"] = loc.resource_discovery
    return out


def _colocation_out(col: Colocation) -> dict[str, object]:
    out: dict[str, object] = {"id": col.id, "resource": col.resource, "with": col.with_resource}
    out["score"] = _score_out(col.score)
    if col.resource_role is not None:
        out["role"] = col.resource_role.value
    if col.with_role is not None:
        out["with-role"] = col.with_role.value
    if col.node_attribute != "#uname":
        out["node-attribute"] = col.node_attribute
    if not col.influence:
        out["influence"] = False
    return out


def _order_out(order: Order) -> dict[str, object]:
    return {
        "id": order.id,
        "first": order.first,
        "first-action": order.first_action,
        "then": order.then,
        "then-action": order.then_action,
        "kind": order.kind.value,
        "symmetrical": order.symmetrical,
        **({} if order.require_all else {"require-all": False}),
    }


def dump_config(config: Configuration) -> str:
    """YAML for `config` that `load_config_text` reads back equal.

    Top-level stonith primitives carrying `pcmk_host_list` are written as fencing devices.
    """
    doc: dict[str, object] = {}
    cluster: dict[str, object] = {"name": config.name}
    if config.store is not None:
        cluster["store"] = config.store
    if config.options.raw:
        cluster["options"] = dict(config.options.raw)
    doc["cluster"] = cluster
    if config.nodes:
        nodes: list[dict[str, object]] = []
        for node in config.nodes:
            item: dict[str, object] = {"name": node.name}
            if node.id:
                item["id"] = node.id
            if node.address is not None:
                item["address"] = node.address
            if node.attributes:
                item["attributes"] = dict(node.attributes)
            if node.utilization:
                item["utilization"] = dict(node.utilization)
            if node.score:
                item["score"] = _score_out(node.score)
            nodes.append(item)
        doc["nodes"] = nodes
    devices: list[dict[str, object]] = []
    resources: list[dict[str, object]] = []
    leading = True
    for rsc in config.resources:
        is_device = (
            isinstance(rsc, Primitive) and rsc.agent.standard == "stonith" and rsc.agent.provider is None
        )
        if leading and is_device and isinstance(rsc, Primitive):
            dev: dict[str, object] = {"id": rsc.id, "agent": rsc.agent.type}
            params = dict(rsc.params)
            hosts = params.pop("pcmk_host_list", None)
            if params:
                dev["params"] = _params_out(params)
            if hosts is not None:
                dev["hosts"] = hosts.split()
            if rsc.meta:
                dev["meta"] = dict(rsc.meta)
            if rsc.ops:
                dev["ops"] = _ops_out(rsc.ops)
            if hosts is not None and (not hosts.split() or " ".join(hosts.split()) != hosts):
                dev.pop("hosts")
                dev["params"] = {**dev.get("params", {}), "pcmk_host_list": hosts}  # type: ignore[dict-item]
            devices.append(dev)
            continue
        leading = False
        resources.append(_resource_out(rsc))
    if devices:
        doc["fencing"] = {"devices": devices}
    if resources:
        doc["resources"] = resources
    constraints: list[dict[str, object]] = [{"location": _location_out(loc)} for loc in config.locations]
    constraints += [{"colocation": _colocation_out(col)} for col in config.colocations]
    constraints += [{"order": _order_out(order)} for order in config.orders]
    if constraints:
        doc["constraints"] = constraints
    if config.rsc_defaults:
        doc["rsc_defaults"] = dict(config.rsc_defaults)
    if config.op_defaults:
        doc["op_defaults"] = dict(config.op_defaults)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
