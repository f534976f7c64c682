"""Rules on node attributes and dates, as in Pacemaker's <rule> elements.

A rule is a pure predicate over (node attributes, now); evaluation lives here so that both the
scheduler and tools can use it, and it takes `now` explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .enums import BoolOp, ExprOp, Role, ValueType

__all__ = ["AttrExpr", "DateExpr", "DateSpec", "Rule", "RuleContext", "evaluate_rule"]


@dataclass(frozen=True)
class AttrExpr:
    """Compare a node attribute with a value (`#health-disk eq red`)."""

    attribute: str
    op: ExprOp
    value: str | None = None
    type: ValueType | None = None
    value_source: str = "literal"  # literal | param | meta


@dataclass(frozen=True)
class DateSpec:
    """Ranges per calendar field, each "N" or "N-M" (Pacemaker's date_spec)."""

    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DateExpr:
    """`in_range` (start/end/duration), `gt`, `lt` or `date_spec`."""

    op: str
    start: datetime | None = None
    end: datetime | None = None
    duration: Mapping[str, int] = field(default_factory=dict)
    spec: DateSpec | None = None


@dataclass(frozen=True)
class Rule:
    """A boolean combination of expressions; `score` or `score_attribute` apply when it holds."""

    id: str
    expressions: tuple[AttrExpr | DateExpr | Rule, ...]
    boolean_op: BoolOp = BoolOp.AND
    score: int | None = None
    score_attribute: str | None = None
    role: Role | None = None


@dataclass(frozen=True)
class RuleContext:
    """What a rule may look at: a node's attributes and the time."""

    attributes: Mapping[str, str]
    now: float
    params: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, str] = field(default_factory=dict)


def evaluate_rule(rule: Rule, ctx: RuleContext) -> bool:
    """True when the rule holds in this context. An empty rule holds (Pacemaker: and of nothing)."""
    results = (_evaluate(expr, ctx) for expr in rule.expressions)
    if rule.boolean_op is BoolOp.OR:
        return any(results) if rule.expressions else True
    return all(results)


def _evaluate(expr: AttrExpr | DateExpr | Rule, ctx: RuleContext) -> bool:
    if isinstance(expr, Rule):
        return evaluate_rule(expr, ctx)
    if isinstance(expr, DateExpr):
        return _evaluate_date(expr, datetime.fromtimestamp(ctx.now, UTC))
    return _evaluate_attr(expr, ctx)


def _evaluate_attr(expr: AttrExpr, ctx: RuleContext) -> bool:
    actual = ctx.attributes.get(expr.attribute)
    if expr.op is ExprOp.DEFINED:
        return actual is not None
    if expr.op is ExprOp.NOT_DEFINED:
        return actual is None
    expected = expr.value
    if expr.value_source == "param" and expected is not None:
        expected = ctx.params.get(expected)
    elif expr.value_source == "meta" and expected is not None:
        expected = ctx.meta.get(expected)
    if actual is None or expected is None:
        return expr.op is ExprOp.NE and not (actual is None and expected is None)
    cmp = _compare(actual, expected, expr.type)
    return {
        ExprOp.LT: cmp < 0,
        ExprOp.GT: cmp > 0,
        ExprOp.LTE: cmp <= 0,
        ExprOp.GTE: cmp >= 0,
        ExprOp.EQ: cmp == 0,
        ExprOp.NE: cmp != 0,
    }[expr.op]


def _compare(a: str, b: str, vtype: ValueType | None) -> int:
    if vtype is None:
        # Pacemaker guesses: numbers compare as numbers when both look like numbers.
        vtype = ValueType.NUMBER if _is_number(a) and _is_number(b) else ValueType.STRING
    try:
        if vtype is ValueType.INTEGER:
            x: float | tuple[int, ...] | str = int(float(a))
            y: float | tuple[int, ...] | str = int(float(b))
        elif vtype is ValueType.NUMBER:
            x, y = float(a), float(b)
        elif vtype is ValueType.VERSION:
            x, y = _version(a), _version(b)
        else:
            x, y = a, b
    except ValueError:
        x, y = a, b
    if isinstance(x, str) or isinstance(y, str):
        x, y = str(x).lower(), str(y).lower()
        return (x > y) - (x < y)
    return (x > y) - (x < y)  # type: ignore[operator]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _version(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


_DURATION_UNITS = {
    "years": 365 * 86400,
    "months": 30 * 86400,
    "weeks": 7 * 86400,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
}


def _add_duration(start: datetime, duration: Mapping[str, int]) -> datetime:
    years = duration.get("years", 0)
    months = duration.get("months", 0)
    total_months = start.month - 1 + months + 12 * years
    year = start.year + total_months // 12
    month = total_months % 12 + 1
    day = min(start.day, 28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)
    shifted = start.replace(year=year, month=month, day=day)
    rest = sum(v * _DURATION_UNITS[k] for k, v in duration.items() if k not in ("years", "months"))
    return shifted + timedelta(seconds=rest)


def _evaluate_date(expr: DateExpr, now: datetime) -> bool:
    if expr.op == "gt":
        return expr.start is not None and now > expr.start
    if expr.op == "lt":
        return expr.end is not None and now < expr.end
    if expr.op == "date_spec":
        return expr.spec is not None and _date_spec_matches(expr.spec, now)
    end = expr.end
    if end is None and expr.start is not None and expr.duration:
        end = _add_duration(expr.start, expr.duration)
    if expr.start is not None and now < expr.start:
        return False
    return not (end is not None and now > end)


def _date_spec_matches(spec: DateSpec, now: datetime) -> bool:
    iso = now.isocalendar()
    values = {
        "years": now.year,
        "months": now.month,
        "monthdays": now.day,
        "hours": now.hour,
        "minutes": now.minute,
        "seconds": now.second,
        "yeardays": now.timetuple().tm_yday,
        "weekdays": iso[2],
        "weekyears": iso[0],
        "weeks": iso[1],
    }
    for name, text in spec.fields.items():
        if name not in values:
            continue
        lo_text, _, hi_text = text.partition("-")
        lo = int(lo_text)
        hi = int(hi_text) if hi_text else lo
        if not lo <= values[name] <= hi:
            return False
    return True
