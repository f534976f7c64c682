"""The syntax of scalar values in a configuration file, as checks that explain what is wrong.

A `Validator` returns an error message for a bad value and None for a good one (booleans, integers,
counts, scores, durations, roles, enumerations); `format_duration` is the writer's inverse of
`paceline.model.durations.parse_duration_ms`. Also here: the "did you mean" suggestion appended to
messages about unknown names, and the `${env:NAME}` spelling of an environment parameter.

The `_`-prefixed helpers are shared by the other `yaml_*` modules of this package.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable

from .durations import parse_duration_ms
from .enums import Role

__all__ = ["Validator", "format_duration"]


_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_SCORE_RE = re.compile(r"^([-+]?[0-9]+|[-+]?(infinity|inf))$", re.IGNORECASE)
_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_TRUE = {"true", "yes", "on", "1", "y"}
_FALSE = {"false", "no", "off", "0", "n"}


def format_duration(ms: int) -> str:
    """The shortest exact spelling of a duration that `parse_duration_ms` reads back."""
    if ms and ms % 3_600_000 == 0:
        return f"{ms // 3_600_000}h"
    if ms and ms % 60_000 == 0:
        return f"{ms // 60_000}min"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


Validator = Callable[[str], str | None]
"""Returns an error message for a bad value, None for a good one."""


def _v_any(_text: str) -> str | None:
    return None


def _v_bool(text: str) -> str | None:
    if text.lower() in _TRUE | _FALSE:
        return None
    return f"expected true or false, got {text!r}"


def _v_int(text: str) -> str | None:
    return None if _INT_RE.match(text) else f"expected an integer, got {text!r}"


def _v_count(text: str) -> str | None:
    if _INT_RE.match(text) and int(text) >= 0:
        return None
    return f"expected a non-negative integer, got {text!r}"


def _v_score(text: str) -> str | None:
    return (
        None
        if _SCORE_RE.match(text)
        else f"expected a score (an integer, INFINITY or -INFINITY), got {text!r}"
    )


def _v_int_or_inf(text: str) -> str | None:
    if _INT_RE.match(text) or text.strip().lstrip("+").lower() in ("infinity", "inf"):
        return None
    return f"expected an integer or INFINITY, got {text!r}"


def _v_duration(text: str) -> str | None:
    try:
        parse_duration_ms(text)
    except ValueError as exc:
        return str(exc)
    return None


def _v_enum(*values: str) -> Validator:
    def check(text: str) -> str | None:
        if text.lower() in {v.lower() for v in values}:
            return None
        return f"expected one of {', '.join(values)}, got {text!r}" + _suggest(text, values)

    return check


def _v_role(text: str) -> str | None:
    try:
        Role.parse(text)
    except ValueError as exc:
        return str(exc)
    return None


def _as_bool(text: str) -> bool:
    return text.lower() in _TRUE


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _env_ref(name: str) -> str:
    return "${env:" + name + "}"


_ENV_RE = re.compile(r"^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$")
