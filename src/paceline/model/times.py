"""Times as Pacemaker and operators write them (ISO 8601, ordinal dates, epoch seconds)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["parse_iso_datetime", "parse_time"]


def parse_iso_datetime(text: str) -> datetime:
    """Pacemaker's ISO 8601 dates: "2005-001", "2009-05-26 18:00:00Z", "2013-03-11T14:00:00+01:00"."""
    t = text.strip().replace(" ", "T", 1)
    ordinal = re.fullmatch(r"(\d{4})-(\d{3})", t)
    if ordinal:
        return datetime.strptime(t, "%Y-%j").replace(tzinfo=UTC)
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(t)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def parse_time(text: str) -> float:
    """Epoch seconds for epoch seconds as text, or for an ISO 8601 time (UTC when no zone)."""
    t = text.strip()
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", t):
        return float(t)
    try:
        return parse_iso_datetime(t).timestamp()
    except ValueError:
        raise ValueError(f"expected epoch seconds or an ISO 8601 time, got {text!r}") from None
