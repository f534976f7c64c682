"""Parsing of durations as operators write them: ``500ms``, ``2s``, ``5min``, ``1h``, ``1m``
(minutes, as in Pacemaker), or a bare number of seconds. Results are seconds as float, never
negative."""

from __future__ import annotations

import re

__all__ = ["DurationError", "parse_duration", "parse_duration_ms"]


class DurationError(ValueError):
    """A duration that cannot be parsed."""


_UNITS = {
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "ms": 0.001,
    "msec": 0.001,
    "msecs": 0.001,
    "us": 1e-6,
    "usec": 1e-6,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$")


def parse_duration(value: str | float | int) -> float:
    """Seconds for ``value``; raises DurationError for anything else (negative numbers too)."""
    if isinstance(value, bool):
        raise DurationError(f"bad duration {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise DurationError(f"negative duration {value!r}")
        return float(value)
    m = _RE.match(value)
    if not m or m.group(2).lower() not in _UNITS:
        raise DurationError(f"bad duration {value!r}: use e.g. 500ms, 2s, 5min or a number of seconds")
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def parse_duration_ms(value: str | float | int) -> int:
    """Whole milliseconds for ``value`` (rounded)."""
    return round(parse_duration(value) * 1000)
