"""The scheduler's output: actions with ordering edges, final placement, summary and score terms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..model.enums import Role

__all__ = ["Action", "ActionKind", "ScoreTerm", "Transition"]

from enum import Enum


class ActionKind(Enum):
    START = "start"
    STOP = "stop"
    PROMOTE = "promote"
    DEMOTE = "demote"
    MONITOR = "monitor"
    MIGRATE_TO = "migrate_to"
    MIGRATE_FROM = "migrate_from"
    FENCE = "fence"
    RELOAD = "reload"
    NOTIFY = "notify"


@dataclass(frozen=True)
class Action:
    """One thing to do on one node. `after` lists ids of actions that must complete first."""

    id: str
    kind: ActionKind
    resource: str
    node: str
    interval_ms: int = 0
    after: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class ScoreTerm:
    """One contribution to a resource's score on a node, and where it came from."""

    resource: str
    node: str
    score: int
    source: str
    detail: str = ""


@dataclass(frozen=True)
class Transition:
    actions: tuple[Action, ...] = ()
    placement: Mapping[str, Mapping[str, Role]] = field(default_factory=dict)
    summary: tuple[str, ...] = ()
    scores: tuple[ScoreTerm, ...] = ()
    final_scores: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Nothing to do except recurring monitors."""
        return all(a.kind is ActionKind.MONITOR for a in self.actions)
