"""Pacemaker duration syntax (intervals, timeouts, failure-timeout)."""

from __future__ import annotations

import re

__all__ = ["parse_duration_ms"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$", re.IGNORECASE)


def parse_duration_ms(text: str | None, default: int = 0, lenient: bool = False) -> int:
    """Pacemaker interval/timeout syntax: "10", "10s", "500ms", "2min", "1h", ISO "PT10S".

    `lenient` returns `default` for text Pacemaker itself would not understand (as crm_simulate does).
    """
    if text is None or text.strip() == "":
        return default
    t = text.strip()
    if t.upper().startswith("P"):
        m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", t.upper())
        if not m:
            if lenient:
                return default
            raise ValueError(f"not a duration: {text!r}")
        d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        return int(((d * 24 + h) * 60 + mi) * 60_000 + s * 1000)
    m2 = _DURATION.match(t)
    if not m2:
        if lenient:
            return default
        raise ValueError(f"not a duration: {text!r}")
    value = float(m2.group(1))
    unit = (m2.group(2) or "s").lower()
    factor = {"ms": 1, "msec": 1, "us": 0.001, "usec": 0.001, "s": 1000, "sec": 1000,
              "m": 60_000, "min": 60_000, "h": 3_600_000, "hr": 3_600_000}[unit]
    return int(value * factor)
