"""The text form of rule expressions: `parse_rule` reads it, `format_rule` writes it back.

Examples: `#health-disk eq red`, `pingd lt 1 or not_defined pingd`, `date gt 2026-01-01`,
`date-spec weekdays=1-5 hours=9-17`. `and` binds tighter than `or`; parentheses group. A bad
expression raises `RuleSyntaxError`, whose message says where.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias

from .enums import BoolOp, ExprOp, Role, ValueType
from .rules import AttrExpr, DateExpr, DateSpec, Rule
from .yaml_scalars import _suggest

__all__ = ["RuleSyntaxError", "format_rule", "parse_rule"]


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
