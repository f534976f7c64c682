"""Rule text: parsing (`#health-disk eq red`, `pingd lt 1 or not_defined pingd`), evaluation, printing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paceline.model.enums import BoolOp, ExprOp, ValueType
from paceline.model.rules import AttrExpr, DateExpr, Rule, RuleContext, evaluate_rule
from paceline.model.yaml_loader import RuleSyntaxError, format_rule, parse_rule

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC).timestamp()


def holds(text: str, now: float = NOW, **attrs: str) -> bool:
    return evaluate_rule(parse_rule(text, "r"), RuleContext(attributes=attrs, now=now))


def test_simple_comparison() -> None:
    rule = parse_rule("#health-disk eq red", "r1", score=-1)
    assert rule == Rule("r1", (AttrExpr("#health-disk", ExprOp.EQ, "red"),), BoolOp.AND, score=-1)
    assert holds("#health-disk eq red", **{"#health-disk": "red"})
    assert not holds("#health-disk eq red", **{"#health-disk": "green"})
    assert not holds("#health-disk eq red")


def test_or_with_not_defined() -> None:
    rule = parse_rule("pingd lt 1 or not_defined pingd", "r")
    assert rule.boolean_op is BoolOp.OR
    assert rule.expressions == (AttrExpr("pingd", ExprOp.LT, "1"), AttrExpr("pingd", ExprOp.NOT_DEFINED))
    assert holds("pingd lt 1 or not_defined pingd")
    assert holds("pingd lt 1 or not_defined pingd", pingd="0")
    assert not holds("pingd lt 1 or not_defined pingd", pingd="1")


def test_numbers_compare_as_numbers() -> None:
    assert holds("load gt 9", load="10")
    assert not holds("load gt string 9", load="10")  # as strings "10" < "9"
    assert holds("v gte version 1.10", v="1.9.1") is False
    assert holds("v gte version 1.10", v="1.10.0")


def test_and_binds_tighter_than_or_and_parentheses_group() -> None:
    rule = parse_rule("a eq 1 or b eq 2 and c eq 3", "r")
    assert rule.boolean_op is BoolOp.OR
    inner = rule.expressions[1]
    assert isinstance(inner, Rule) and inner.boolean_op is BoolOp.AND and inner.id == "r-2"
    assert holds("a eq 1 or b eq 2 and c eq 3", a="1")
    assert not holds("a eq 1 or b eq 2 and c eq 3", b="2")
    assert not holds("(a eq 1 or b eq 2) and c eq 3", a="1")
    assert holds("(a eq 1 or b eq 2) and c eq 3", b="2", c="3")


def test_dates() -> None:
    assert holds("date gt 2026-01-01")
    assert not holds("date lt 2026-01-01")
    assert holds("date in_range 2026-11-01 to 2026-12-01")
    assert not holds("date in_range 2026-11-01 to duration days=3")
    assert not holds("date-spec hours=9-17 weekdays=1-5")  # 2026-11-21 is a Saturday
    assert holds("date-spec hours=9-17 weekdays=6-7")
    assert not holds("date-spec hours=13-17")
    rule = parse_rule("date gt 2026-01-01T08:00", "r")
    expr = rule.expressions[0]
    assert isinstance(expr, DateExpr) and expr.start == datetime(2026, 1, 1, 8, tzinfo=UTC)


def test_quoted_values_and_types() -> None:
    rule = parse_rule('site eq "data centre 1" and n gt integer 3', "r")
    assert rule.expressions == (
        AttrExpr("site", ExprOp.EQ, "data centre 1"),
        AttrExpr("n", ExprOp.GT, "3", ValueType.INTEGER),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("pingd lt", "expected a value after pingd lt"),
        ("pingd less 1", "expected an operator"),
        ("a eq 1 and", "expected an expression"),
        ("(a eq 1", "expected ')'"),
        ("a eq 1 b eq 2", "expected 'and', 'or'"),
        ("date after 2026-01-01", "expected gt, lt or in_range"),
        ("date gt tomorrow", "ISO 8601"),
        ("date-spec hour=9", "unknown field 'hour'"),
        ("defined", "expected an attribute name"),
    ],
)
def test_syntax_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rule(text, "r")


@pytest.mark.parametrize(
    "text",
    [
        "#health-disk eq red",
        "pingd lt 1 or not_defined pingd",
        "(a eq 1 or b eq 2) and c ne x",
        'site eq "two words" and n gt integer 3',
        "date in_range 2026-01-01T00:00:00+00:00 to duration months=1 days=2",
        "date-spec hours=9-17 weekdays=1-5 or defined maintenance",
        "#uname eq param(node)",
    ],
)
def test_format_rule_round_trips(text: str) -> None:
    rule = parse_rule(text, "r")
    assert parse_rule(format_rule(rule), "r") == rule
