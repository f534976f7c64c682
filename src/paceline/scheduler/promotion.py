"""Roles of promotable clone instances: which assigned instances become Promoted.

Follows Pacemaker's procedure. Each assigned instance starts from its promotion score (the node
attribute `master-<rsc>` that agents set through crm_master / crm_attribute --promotion; -1 when
absent, so that nothing is promoted without a score or a constraint), plus role-Promoted location
constraints and colocations that ask for the Promoted role. Non-negative priorities are then added
to the clone's own node scores (its location preferences), the preferences of resources that want
to run with the Promoted instance are folded in, and the best `promoted-max` instances with a
non-negative result are promoted, at most `promoted-node-max` per node. Ties go to the instance
that is Promoted now, then to the higher promotion score of its own, then to the lower-numbered
instance (Pacemaker keeps its instance order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..model.config import Clone
from ..model.enums import Role
from ..model.rules import RuleContext, evaluate_rule
from ..model.scores import INFINITY, add_scores, parse_score
from .meta import is_true, meta_score
from .unpack import Working
from .working import Inst

__all__ = ["set_instance_roles"]

Merge = Callable[[Inst, dict[str, int], str, float], dict[str, int] | None]


def set_instance_roles(
    w: Working,
    clone_id: str,
    dependents: list[tuple[Inst, int, str]],
    primaries: list[tuple[list[Inst], int, Role | None, Role | None, str]],
    merge: Merge,
) -> None:
    """Decide next roles for the instances of promotable clone `clone_id`.

    `dependents`: (resource, score, node attribute) for colocations "resource with this clone's
    Promoted role"; `primaries`: (primary instances, score, dependent role, primary role, attribute)
    for colocations of this clone with other resources.
    """
    clone = next((r for r in w.config.resources if r.id == clone_id and isinstance(r, Clone)), None)
    if clone is None or not clone.promotable:
        return
    members = w.clone_children.get(clone_id, [])
    meta = dict(clone.meta)
    promoted_max = meta_score(meta, "promoted-max", meta_score(meta, "master-max", 1))
    node_max = meta_score(meta, "promoted-node-max", meta_score(meta, "master-node-max", 1))
    sort_index: dict[str, int] = {}
    for m in members:
        if m.assigned is None:
            m.next_role = Role.STOPPED
            sort_index[m.id] = -INFINITY
            continue
        m.next_role = Role.UNPROMOTED
        if (
            m.target_role is Role.UNPROMOTED
            or m.no_promote
            or ((not m.managed or m.blocked) and m.role is not Role.PROMOTED)
        ):
            sort_index[m.id] = -INFINITY
            continue
        if (not m.managed or m.blocked) and m.role is Role.PROMOTED:
            # Left alone while Promoted: it stays so, and takes a Promoted place.
            sort_index[m.id] = INFINITY
            continue
        sort_index[m.id] = _priority(w, m, primaries)
    # A cloned group is promoted copy by copy: a copy's score is the sum of its members' and every
    # member takes the copy's role. `copies` maps each copy's first member to all its members.
    copies: dict[str, list[Inst]] = {}
    for m in members:
        copies.setdefault(m.group or m.id, []).append(m)
    leaders = [ms[0] for ms in copies.values()]
    for ms in copies.values():
        if len(ms) > 1:
            total = 0
            for m in ms:
                total = add_scores(total, sort_index[m.id])
            sort_index[ms[0].id] = total
    members = leaders
    clone_scores = _clone_node_scores(w, members)
    for m in members:
        if m.assigned is not None and sort_index[m.id] >= 0:
            clone_scores[m.assigned] = add_scores(sort_index[m.id], clone_scores.get(m.assigned, 0))
    for dep, score, attr in dependents:
        if not is_true(dep.meta.get("critical"), True):
            continue
        merged = merge(dep, dict(clone_scores), attr, score / INFINITY)
        if merged is not None:
            for n, s in merged.items():
                old = clone_scores.get(n, 0)
                clone_scores[n] = s if (s >= 0 or old <= 0 or s <= -INFINITY) else old
    for m in members:
        if m.assigned is not None and 0 <= sort_index[m.id] < INFINITY:
            sort_index[m.id] = clone_scores.get(m.assigned, 0)
    # Ties: the instance Promoted now; then the higher promotion score of its own (which Pacemaker
    # has added to the instance's placement score); then the lower-numbered instance.
    position = {m.id: i for i, m in enumerate(members)}

    def own_score(m: Inst) -> int:
        value = _promotion_attribute(m, w.nodes[m.assigned or ""].attributes)
        return value if value is not None and value > 0 else 0

    ranked = sorted(
        (m for m in members if m.assigned is not None),
        key=lambda m: (-sort_index[m.id], 0 if m.role is Role.PROMOTED else 1, -own_score(m), position[m.id]),
    )
    promoted = 0
    per_node: dict[str, int] = {}
    for m in ranked:
        node = m.assigned or ""
        if sort_index[m.id] < 0 or promoted >= promoted_max or per_node.get(node, 0) >= node_max:
            continue
        if m.target_role not in (Role.STARTED, Role.PROMOTED):
            continue
        for member in copies[m.group or m.id]:
            if member.assigned is not None:
                member.next_role = Role.PROMOTED
        promoted += 1
        per_node[node] = per_node.get(node, 0) + 1


def _clone_node_scores(w: Working, members: list[Inst]) -> dict[str, int]:
    """The clone's own location preferences per node (without per-instance stickiness)."""
    out: dict[str, int] = {n: 0 for n in w.nodes}
    if not members:
        return out
    first = members[0]
    for term in first.terms:
        if term.source.startswith("location") or term.source in ("node-health",):
            out[term.node] = add_scores(out.get(term.node, 0), term.score)
    return out


def _promotion_attribute(inst: Inst, attributes: Mapping[str, str]) -> int | None:
    """The promotion score the agent left on a node for this instance (None: none or unreadable)."""
    base = inst.id.split(":", 1)[0]
    raw = attributes.get(f"master-{base}")
    if raw is None:
        raw = attributes.get(f"master-{inst.id}")
    if raw is None and inst.clone:
        raw = attributes.get(f"master-{inst.prim.id}")
    if raw is None:
        # Anonymous instances are numbered per run; any instance's score on this node is this node's.
        raw = next((v for k, v in sorted(attributes.items()) if k.startswith(f"master-{base}:")), None)
    if raw is None:
        return None
    try:
        return parse_score(raw)
    except ValueError:
        return None


def _priority(
    w: Working, inst: Inst, primaries: list[tuple[list[Inst], int, Role | None, Role | None, str]]
) -> int:
    node = w.nodes[inst.assigned or ""]
    own = _promotion_attribute(inst, node.attributes)
    score = -1 if own is None else own
    for target, loc in w.promotion_locations:
        if target is not inst:
            continue
        if loc.role is Role.PROMOTED and loc.node is not None and loc.node == node.name:
            score = add_scores(score, loc.score)
        for rule in loc.rules:
            if loc.role is not Role.PROMOTED and rule.role is not Role.PROMOTED:
                continue  # a rule for placement, not for the Promoted role
            if evaluate_rule(rule, RuleContext(node.attributes, w.now, inst.prim.params, inst.meta)):
                value = rule.score if rule.score is not None else 0
                if rule.score_attribute:
                    try:
                        value = parse_score(node.attributes.get(rule.score_attribute, "0"))
                    except ValueError:
                        value = 0
                score = add_scores(score, value)
    for prims, cscore, dep_role, prim_role, attr in primaries:
        if dep_role not in (Role.PROMOTED, Role.UNPROMOTED):
            continue
        nodes = [
            p.assigned
            for p in prims
            if p.assigned is not None
            and (
                prim_role is None
                or p.next_role is prim_role
                or (
                    prim_role is Role.STARTED  # (a primitive's role is not decided yet: UNKNOWN)
                    and p.next_role in (Role.UNKNOWN, Role.STARTED, Role.UNPROMOTED, Role.PROMOTED)
                )
            )
        ]
        values = {w.nodes[n].attributes.get(attr, "") for n in nodes}
        if node.attributes.get(attr, "") not in values:
            if cscore >= INFINITY and dep_role is Role.PROMOTED:
                score = -INFINITY
            continue
        factor = -1 if dep_role is Role.UNPROMOTED else 1
        score = add_scores(score, factor * cscore)
    return score
