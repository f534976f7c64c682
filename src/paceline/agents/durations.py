"""Parsing of durations as operators write them: ``500ms``, ``2s``, ``5min``, ``1h``, ``1m``
(minutes, as in Pacemaker), or a bare number of seconds. Results are seconds as float, never
negative."""

from __future__ import annotations

from ..model.durations import DurationError, parse_duration_ms

__all__ = ["DurationError", "parse_duration", "parse_duration_ms"]


def parse_duration(value: str | float | int) -> float:
    """Seconds for ``value``; raises DurationError for anything else (blank or negative too)."""
    if isinstance(value, str) and not value.strip():
        raise DurationError(f"bad duration {value!r}: expected a duration like 500ms, 2s, 5min or 1h")
    return parse_duration_ms(value) / 1000.0
