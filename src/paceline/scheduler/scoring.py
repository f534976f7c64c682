"""Node scores before assignment: every instance's allowed nodes and the score terms that
explain them (locations and rules, node health, stickiness, failure bans), and the colocations
between instances that assignment applies.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ..model.config import Colocation, Location
from ..model.enums import Role
from ..model.rules import RuleContext, evaluate_rule
from ..model.scores import INFINITY, parse_score
from .meta import is_true
from .unpack import Working, failcount
from .working import Inst

__all__ = ["Coloc", "build_colocations", "initial_scores"]


@dataclass
class Coloc:
    id: str
    dependent: Inst
    primary: list[Inst]
    primary_id: str
    score: int
    dependent_role: Role | None
    primary_role: Role | None
    node_attribute: str
    influence: bool


def initial_scores(w: Working) -> None:
    """Allowed nodes, locations, health, stickiness and failure bans for every instance."""
    sym = w.config.options.symmetric_cluster
    for inst in w.insts.values():
        if inst.orphan and inst.clone is None:
            continue
        for node in w.node_list():
            if sym:
                inst.add_score(node.name, 0, "")
    for loc in w.config.locations:
        _apply_location(w, loc)
    for inst in w.insts.values():
        if inst.orphan and inst.clone is None:
            continue
        if not is_true(inst.meta.get("allow-unhealthy-nodes")):
            for node in w.node_list():
                if node.health_score != 0 and node.name in inst.allowed:
                    inst.add_score(node.name, node.health_score, "node-health", f"health of {node.name}")
        _apply_stickiness(w, inst)
        _apply_fail_limits(w, inst)


def _location_targets(w: Working, loc: Location) -> list[tuple[Inst, bool]]:
    ids: list[str] = []
    if loc.resource_pattern is not None:
        # Pacemaker: a leading "!" inverts the pattern; a match may be anywhere in the id (regexec).
        text = loc.resource_pattern
        invert = text.startswith("!")
        try:
            pattern = re.compile(text[1:] if invert else text)
        except re.error:
            w.warnings.append(f"location {loc.id}: invalid rsc-pattern")
            return []
        top = [u.id for u in w.units]
        ids = [i for i in top if (pattern.search(i) is None) == invert]
    elif loc.resource is not None:
        ids = [loc.resource]
    out: list[tuple[Inst, bool]] = []
    for rid in ids:
        members = w.members_of(rid)
        if rid in w.group_members:
            out.extend((m, i == 0) for i, m in enumerate(members))
        else:
            out.extend((m, True) for m in members)
    return out


def _apply_location(w: Working, loc: Location) -> None:
    targets = _location_targets(w, loc)
    if not targets:
        return
    if loc.role is Role.PROMOTED or any(r.role is Role.PROMOTED for r in loc.rules):
        w.promotion_locations.extend((inst, loc) for inst, _first in targets)
        if loc.role is Role.PROMOTED:
            return
    for inst, real in targets:
        for node_name, score in _location_scores(w, loc, inst):
            inst.add_score(node_name, score if real else 0, f"location {loc.id}" if real else "")


def _location_scores(w: Working, loc: Location, inst: Inst) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    if loc.node is not None:
        if loc.node in w.nodes:
            out.append((loc.node, loc.score))
        return out
    for rule in loc.rules:
        if rule.role is Role.PROMOTED:
            continue
        for node in w.node_list():
            ctx = RuleContext(node.attributes, w.now, inst.prim.params, inst.meta)
            if not evaluate_rule(rule, ctx):
                continue
            if rule.score_attribute:
                raw = node.attributes.get(rule.score_attribute)
                if raw is None:
                    continue
                try:
                    score = parse_score(raw)
                except ValueError:
                    continue
            else:
                score = rule.score if rule.score is not None else 0
            out.append((node.name, score))
    return out


def _apply_stickiness(w: Working, inst: Inst) -> None:
    running = inst.running_on
    if not inst.managed or inst.stickiness == 0 or len(running) != 1:
        return
    node = running[0]
    if not w.config.options.symmetric_cluster and node not in inst.allowed:
        return
    inst.add_score(node, inst.stickiness, "stickiness", "resource-stickiness on the current node")


def _apply_fail_limits(w: Working, inst: Inst) -> None:
    threshold = inst.migration_threshold
    if threshold <= 0 or inst.failure_ignored:
        return
    for node in w.node_list():
        count = failcount(w, inst, node.name)
        if count <= 0 or count < threshold:
            continue
        targets = [inst]
        if inst.clone is not None and not is_true(inst.meta.get("globally-unique")):
            targets = w.clone_children.get(inst.clone, [inst])
        for t in targets:
            t.add_score(
                node.name,
                -INFINITY,
                "migration-threshold",
                f"{count} failure(s) on {node.name} reached migration-threshold {threshold}",
            )


# --- colocations --------------------------------------------------------------------------------


def build_colocations(w: Working) -> list[Coloc]:
    out: list[Coloc] = []
    for col in w.config.colocations:
        out.extend(_expand_coloc(w, col))
    for gid, members in w.group_members.items():
        if not is_true(_group_meta(w, gid, "colocated"), True):
            continue
        for prev, cur in itertools.pairwise(members):
            out.append(Coloc(f"group:{gid}", cur, [prev], prev.id, INFINITY, None, None, "#uname", True))
    return out


def _group_meta(w: Working, gid: str, name: str) -> str | None:
    for rsc in w.config.resources:
        if rsc.id == gid:
            return rsc.meta.get(name)
    return None


def _expand_coloc(w: Working, col: Colocation) -> list[Coloc]:
    if col.score == 0:
        return []
    deps = w.members_of(col.resource)
    prims = w.members_of(col.with_resource)
    if not deps or not prims:
        return []
    if col.resource in w.group_members and col.score < INFINITY:
        deps = deps[
            :1
        ]  # a preference is the group's, through its first member; a requirement binds every member
    if col.with_resource in w.group_members:
        prims = prims[:1]
    return [
        Coloc(
            col.id,
            d,
            prims,
            col.with_resource,
            col.score,
            col.resource_role,
            col.with_role,
            col.node_attribute,
            col.influence,
        )
        for d in deps
        if d not in prims
    ]
