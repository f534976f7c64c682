"""The pure scheduler: (configuration, observed state, now) -> Transition.

`schedule` has no clock, I/O, randomness or environment: `now` (epoch seconds) is an argument and
every tie is broken by a stable rule, so the same inputs always give the same Transition.
"""

from __future__ import annotations

from ..model.config import Configuration
from ..model.enums import Role
from ..model.state import ClusterState
from .actions import build_graph
from .emit import emit_actions
from .placement import assign_all
from .scoring import build_colocations, initial_scores
from .summary import summarize
from .transition import Action, ActionKind, ScoreTerm, Transition
from .unpack import unpack
from .working import NodeInfo

__all__ = ["Action", "ActionKind", "ScoreTerm", "Transition", "schedule"]


def _why_unusable(n: NodeInfo) -> str:
    """Why a node can run nothing now (its scores stand, but it is not a candidate)."""
    if n.unclean:
        return f"node {n.name} is unclean and must be fenced; it runs nothing"
    if not n.online:
        return f"node {n.name} is offline; it runs nothing"
    if n.maintenance:
        return f"node {n.name} is in maintenance; nothing is started or stopped there"
    if n.shutdown:
        return f"node {n.name} is shutting down; it runs nothing"
    if n.pending:
        return f"node {n.name} is joining; it runs nothing yet"
    return f"node {n.name} is in standby; it runs nothing"


def schedule(config: Configuration, state: ClusterState, now: float) -> Transition:
    """Decide what to do. Pure: same inputs, same Transition."""
    w = unpack(config, state, now)
    initial_scores(w)
    colocs = build_colocations(w)
    assign_all(w, colocs)
    graph = build_graph(w)
    summary = summarize(w, graph)
    actions = emit_actions(w, graph)
    placement: dict[str, dict[str, Role]] = {}
    for inst in w.insts.values():
        if inst.assigned is None:
            continue
        start = graph.actions.get((inst.id, "start", inst.assigned))
        if start is not None and not start.runnable:
            continue
        placement[inst.id] = {
            inst.assigned: inst.next_role if inst.next_role is not Role.UNKNOWN else Role.STARTED
        }
    scores: list[ScoreTerm] = []
    final: dict[str, dict[str, int]] = {}
    unusable = {n.name: _why_unusable(n) for n in w.node_list() if not n.available}
    for inst in w.insts.values():
        scores.extend(inst.terms)
        for node, why in unusable.items():
            if node in inst.allowed:
                scores.append(ScoreTerm(inst.id, node, 0, "node availability", why))
        final[inst.id] = dict(inst.allowed)
    return Transition(
        actions=tuple(actions),
        placement=placement,
        summary=tuple(summary),
        scores=tuple(scores),
        final_scores=final,
        warnings=tuple(w.warnings),
    )
