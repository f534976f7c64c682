"""Ordering edges the transition must respect, completed from the configuration.

The scheduler's `Action.after` is the primary source. This module adds (as a safety net, and for
scheduler versions that carried only a resource's own stop-before-start, promote-after-start and
fencing edges) the edges implied by order constraints and groups between the actions of one
transition, so the executor can run everything else in parallel:
- `order first -> then` (first-action/then-action, default start/start): then's action after
  first's; when symmetrical (the default), first's stop after then's stop (the reverse).
- a group: member i starts after member i-1 starts, and stops after member i+1 stops.
Invariant: only edges between actions present in the transition are added; the result is acyclic
when the constraints are (a cycle is reported by `ready` never releasing the actions involved).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from ..model.config import Configuration, Group
from ..scheduler.transition import Action
from .view import walk_primitives

__all__ = ["complete_edges"]

_REVERSE = {"start": "stop", "promote": "demote", "stop": "start", "demote": "promote"}


def _members(config: Configuration, rid: str) -> list[str]:
    """The primitive ids a constraint on `rid` applies to (a group's or clone's members)."""
    found = config.find(rid)
    if found is None:
        return [rid]
    return [p.id for p in found.primitives()]


def _pairs(config: Configuration) -> Iterable[tuple[str, str, str, str]]:
    """(first rsc, first action, then rsc, then action) over primitives."""
    for o in config.orders:
        for f in _members(config, o.first):
            for t in _members(config, o.then):
                yield f, o.first_action, t, o.then_action
                if o.symmetrical and o.first_action in _REVERSE and o.then_action in _REVERSE:
                    yield t, _REVERSE[o.then_action], f, _REVERSE[o.first_action]
    seen: set[str] = set()
    for _, group, _clone in walk_primitives(config):
        if group is None or group.id in seen:
            continue
        seen.add(group.id)
        yield from _group_pairs(group)


def _group_pairs(group: Group) -> Iterable[tuple[str, str, str, str]]:
    ids = [m.id for m in group.members]
    for a, b in itertools.pairwise(ids):
        yield a, "start", b, "start"
        yield b, "stop", a, "stop"


def _base(rid: str) -> str:
    head, _, tail = rid.rpartition(":")
    return head if head and tail.isdigit() else rid


def complete_edges(config: Configuration, actions: Iterable[Action]) -> dict[str, set[str]]:
    """Action id -> the ids of the actions (in this transition) that must complete before it."""
    acts = list(actions)
    by_rsc_task: dict[tuple[str, str], list[Action]] = {}
    for a in acts:
        by_rsc_task.setdefault((_base(a.resource), a.kind.value), []).append(a)
    ids = {a.id for a in acts}
    deps: dict[str, set[str]] = {a.id: {d for d in a.after if d in ids} for a in acts}
    for first, first_task, then, then_task in _pairs(config):
        for t in by_rsc_task.get((then, then_task), []):
            for f in by_rsc_task.get((first, first_task), []):
                if f.id != t.id:
                    deps[t.id].add(f.id)
    return deps
