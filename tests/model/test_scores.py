"""Pacemaker score arithmetic: saturation at +/-INFINITY, -INFINITY wins, parsing and printing."""

from __future__ import annotations

import pytest

from paceline.model.scores import INFINITY, add_scores, format_score, parse_score


@pytest.mark.parametrize(
    ("a", "b", "total"),
    [
        (1, 2, 3),
        (-5, 3, -2),
        (INFINITY, 100, INFINITY),
        (INFINITY, -100, INFINITY),
        (-INFINITY, 100, -INFINITY),
        (INFINITY, -INFINITY, -INFINITY),
        (-INFINITY, INFINITY, -INFINITY),
        (999_999, 5, INFINITY),
        (-999_999, -5, -INFINITY),
    ],
)
def test_add_scores_saturates_and_minus_infinity_wins(a: int, b: int, total: int) -> None:
    assert add_scores(a, b) == total
    assert add_scores(b, a) == total


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("INFINITY", INFINITY),
        ("+INFINITY", INFINITY),
        ("-infinity", -INFINITY),
        ("-inf", -INFINITY),
        ("100", 100),
        ("-7", -7),
        ("5000000", INFINITY),
        (42, 42),
    ],
)
def test_parse_score(text: str | int, value: int) -> None:
    assert parse_score(text) == value


def test_parse_score_rejects_words() -> None:
    with pytest.raises(ValueError, match="not a score"):
        parse_score("lots")


def test_format_score_round_trips() -> None:
    for value in (-INFINITY, -3, 0, 17, INFINITY):
        assert parse_score(format_score(value)) == value
    assert format_score(INFINITY) == "INFINITY"
    assert format_score(-INFINITY) == "-INFINITY"
