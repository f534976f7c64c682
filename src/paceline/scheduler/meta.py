"""Effective meta attributes of a primitive: own > parent group > clone > rsc_defaults."""

from __future__ import annotations

from collections.abc import Mapping

from ..model.config import Clone, Configuration, Group, Primitive, Resource
from ..model.durations import parse_duration_ms
from ..model.scores import parse_score

__all__ = ["duration_seconds", "effective_meta", "is_true", "meta_score"]


def effective_meta(
    config: Configuration, prim: Primitive, group: Group | None, clone: Clone | None
) -> dict[str, str]:
    out: dict[str, str] = dict(config.rsc_defaults)
    parents: list[Resource] = [p for p in (clone, group) if p is not None]
    for parent in parents:
        out.update(parent.meta)
    out.update(prim.meta)
    return out


def is_true(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("true", "yes", "y", "on", "1")


def meta_score(meta: Mapping[str, str], name: str, default: int) -> int:
    try:
        return parse_score(meta.get(name), default)
    except ValueError:
        return default


def duration_seconds(text: str | None) -> float:
    """Meta durations ("60s", "5min", "120"); invalid or missing means 0."""
    if not text:
        return 0.0
    return parse_duration_ms(text, 0, lenient=True) / 1000.0
