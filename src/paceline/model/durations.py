"""Durations as operators and Pacemaker write them: `500ms`, `2s`, `5min`, `1h`, `1m` (minutes,
as in Pacemaker), a bare number of seconds, or ISO 8601 (`PT10S`). The one parser the project uses
(configuration, CIB, agents); results are never negative."""

from __future__ import annotations

import re

__all__ = ["DurationError", "parse_duration_ms"]


class DurationError(ValueError):
    """A duration that cannot be parsed."""


_UNITS_MS = {
    "": 1000.0,
    "s": 1000.0,
    "sec": 1000.0,
    "secs": 1000.0,
    "second": 1000.0,
    "seconds": 1000.0,
    "ms": 1.0,
    "msec": 1.0,
    "msecs": 1.0,
    "us": 0.001,
    "usec": 0.001,
    "m": 60_000.0,
    "min": 60_000.0,
    "mins": 60_000.0,
    "minute": 60_000.0,
    "minutes": 60_000.0,
    "h": 3_600_000.0,
    "hr": 3_600_000.0,
    "hour": 3_600_000.0,
    "hours": 3_600_000.0,
}
_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$")
_ISO = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def parse_duration_ms(text: str | float | int | None, default: int = 0, lenient: bool = False) -> int:
    """Whole milliseconds for a duration; `default` for None or blank text.

    Raises DurationError for anything else, unless `lenient`, which returns `default` instead
    (as Pacemaker does with values it cannot read).
    """
    if text is None:
        return default
    if isinstance(text, bool):
        return _bad(text, default, lenient)
    if isinstance(text, int | float):
        return round(text * 1000) if text >= 0 else _bad(text, default, lenient)
    t = text.strip()
    if not t:
        return default
    if t[0] in "Pp":
        iso = _ISO.fullmatch(t.upper())
        if iso is None or t.upper() == "P":
            return _bad(text, default, lenient)
        d, h, mi, s = (float(g) if g else 0.0 for g in iso.groups())
        return round(((d * 24 + h) * 60 + mi) * 60_000 + s * 1000)
    m = _RE.match(t)
    if m is None or m.group(2).lower() not in _UNITS_MS:
        return _bad(text, default, lenient)
    return round(float(m.group(1)) * _UNITS_MS[m.group(2).lower()])


def _bad(text: object, default: int, lenient: bool) -> int:
    if lenient:
        return default
    raise DurationError(f"bad duration {text!r}: expected a duration like 500ms, 2s, 5min or 1h")
