"""Pacemaker's score arithmetic.

Invariants: scores are clamped to [-INFINITY, +INFINITY]; -INFINITY absorbs everything
(+INFINITY + -INFINITY = -INFINITY); +INFINITY absorbs every finite score.
"""

from __future__ import annotations

INFINITY = 1_000_000

__all__ = ["INFINITY", "add_scores", "format_score", "parse_score"]


def add_scores(a: int, b: int) -> int:
    """Add two scores with Pacemaker's saturation rules (pcmk__add_scores)."""
    if a <= -INFINITY or b <= -INFINITY:
        return -INFINITY
    if a >= INFINITY or b >= INFINITY:
        return INFINITY
    return max(-INFINITY, min(INFINITY, a + b))


def parse_score(text: str | int | None, default: int = 0) -> int:
    """Parse a score string ("INFINITY", "+INFINITY", "-inf", "100"); raise ValueError when not a score."""
    if text is None:
        return default
    if isinstance(text, int):
        return max(-INFINITY, min(INFINITY, text))
    s = text.strip()
    low = s.lower()
    if low in ("infinity", "+infinity", "inf", "+inf"):
        return INFINITY
    if low in ("-infinity", "-inf"):
        return -INFINITY
    if low == "":
        return default
    try:
        value = int(s)
    except ValueError:
        try:
            value = int(float(s))
        except ValueError:
            raise ValueError(f"not a score: {text!r}") from None
    return max(-INFINITY, min(INFINITY, value))


def format_score(score: int) -> str:
    """Render a score as Pacemaker prints it."""
    if score >= INFINITY:
        return "INFINITY"
    if score <= -INFINITY:
        return "-INFINITY"
    return str(score)
