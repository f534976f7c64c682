"""Roles of promotable clone instances: which assigned instances become Promoted.

Promotion score per instance = the node's promotion attribute (`master-<rsc>`, set by the agent via
crm_master / crm_attribute --promotion) + role-specific location constraints. The best
`promoted-max` instances with a non-negative score are promoted; ties go to the instance already
promoted, then to node order.
"""

from __future__ import annotations

from ..model.config import Clone
from ..model.enums import Role
from ..model.rules import RuleContext, evaluate_rule
from ..model.scores import INFINITY, add_scores, parse_score
from .meta import meta_score
from .unpack import Working
from .working import Inst

__all__ = ["assign_roles"]


def assign_roles(w: Working) -> None:
    for rsc in w.config.resources:
        if not isinstance(rsc, Clone) or not rsc.promotable:
            continue
        members = w.clone_children.get(rsc.id, [])
        meta = dict(rsc.meta)
        promoted_max = meta_score(meta, "promoted-max", meta_score(meta, "master-max", 1))
        for m in members:
            m.next_role = Role.UNPROMOTED if m.assigned else Role.STOPPED
            if m.assigned:
                m.promotion_score = _promotion_score(w, m)
        ranked = sorted(
            (m for m in members if m.assigned and m.promotion_score >= 0 and m.managed),
            key=lambda m: (-m.promotion_score, 0 if m.current.get(m.assigned or "") is Role.PROMOTED else 1,
                           w.nodes[m.assigned or ""].index),
        )
        for m in ranked[:promoted_max]:
            if m.target_role in (Role.STARTED, Role.PROMOTED):
                m.next_role = Role.PROMOTED


def _promotion_score(w: Working, inst: Inst) -> int:
    node = w.nodes[inst.assigned or ""]
    base = inst.prim.id
    raw = node.attributes.get(f"master-{inst.id}") or node.attributes.get(f"master-{base}")
    score = 0
    if raw is not None:
        try:
            score = parse_score(raw)
        except ValueError:
            score = 0
    elif inst.current.get(node.name) is Role.PROMOTED:
        score = 0
    else:
        score = -1 if not any(True for _ in ()) else 0
    for target, loc in w.promotion_locations:
        if target is not inst:
            continue
        if loc.node is not None and loc.node == node.name:
            score = add_scores(score, loc.score)
        for rule in loc.rules:
            if evaluate_rule(rule, RuleContext(node.attributes, w.now)):
                score = add_scores(score, rule.score if rule.score is not None else 0)
    return max(-INFINITY, score)
