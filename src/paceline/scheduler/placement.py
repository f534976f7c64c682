"""Placement: node scores for every instance, then assignment in Pacemaker's order.

Score sources (each recorded as a ScoreTerm): location constraints and rules, node health,
resource-stickiness on the current node, failure bans (migration-threshold, hard errors),
colocations (mandatory ones ban, advisory ones add; dependents' preferences merge into primaries).
Ties break as Pacemaker's do: higher score, then fewer resources already assigned to the node, then
the node the resource runs on now, then node name.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ..model.config import Colocation, Location
from ..model.enums import Role
from ..model.rules import RuleContext, evaluate_rule
from ..model.scores import INFINITY, add_scores, parse_score
from .meta import is_true, meta_score
from .promotion import set_instance_roles
from .transition import ScoreTerm
from .unpack import Working, failcount
from .working import Inst, Unit

__all__ = ["Coloc", "assign_all", "build_colocations", "initial_scores"]


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
        try:
            pattern = re.compile(loc.resource_pattern)
        except re.error:
            w.warnings.append(f"location {loc.id}: invalid rsc-pattern")
            return []
        top = [u.id for u in w.units]
        ids = [i for i in top if pattern.fullmatch(i) or pattern.match(i)]
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
    if threshold <= 0:
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


# --- assignment ---------------------------------------------------------------------------------


class _Assigner:
    def __init__(self, w: Working, colocs: list[Coloc], balance: bool = True) -> None:
        self.w = w
        self.balance = balance
        self.clones_done: set[str] = set()
        self.this_with: dict[str, list[Coloc]] = {}
        self.with_this: dict[str, list[Coloc]] = {}
        for c in colocs:
            self.this_with.setdefault(c.dependent.id, []).append(c)
            for p in c.primary:
                self.with_this.setdefault(p.id, []).append(c)

    # Pacemaker's node comparator.
    def _sort_key(self, inst: Inst, node: str, scores: dict[str, int]) -> tuple[int, int, int, int, str]:
        info = self.w.nodes[node]
        score = scores[node] if info.available else -INFINITY
        active = 0 if inst.current_node == node else 1
        if self.w.config.options.placement_strategy == "minimal":
            return (-score, 0, 0, 0, info.name)
        return (-score, self._capacity_key(node), info.num_assigned if self.balance else 0, active, info.name)

    def assign(self, inst: Inst) -> str | None:
        if inst.group is not None and not inst.allocating:
            group_members = self.w.group_members[inst.group]
            if group_members and group_members[0] is not inst and group_members[0].provisional:
                self.assign_group(inst.group)
        if inst.clone is not None and inst.provisional and inst.clone not in self.clones_done:
            self.assign_clone(inst.clone)
        if not inst.provisional:
            return inst.assigned
        if inst.allocating:
            return None
        inst.allocating = True
        this_with = self.this_with.get(inst.id, [])
        with_this = self.with_this.get(inst.id, [])
        mandatory = [c for c in this_with if abs(c.score) >= INFINITY]
        optional = [c for c in this_with if abs(c.score) < INFINITY]
        for c in mandatory:
            self._apply_this_with(inst, c)
        for c in with_this:
            if abs(c.score) >= INFINITY:
                self._add_dependent_scores(inst, c)
        for c in optional:
            self._apply_this_with(inst, c)
        for c in with_this:
            if abs(c.score) < INFINITY:
                self._add_dependent_scores(inst, c)
        if inst.target_role is Role.STOPPED or inst.orphan:
            for n in list(inst.allowed):
                inst.add_score(n, -INFINITY, "target-role", "target-role is Stopped")
        if not inst.managed or inst.blocked:
            self._set(inst, inst.current_node if inst.running_on else None)
        elif self.w.config.options.stop_all_resources:
            self._set(inst, None)
        else:
            self._set(inst, self._best_node(inst))
        inst.allocating = False
        return inst.assigned

    def _set(self, inst: Inst, node: str | None) -> None:
        inst.provisional = False
        inst.assigned = node
        if node is not None:
            self.w.nodes[node].num_assigned += 1

    def _free(self, node: str) -> dict[str, int]:
        info = self.w.nodes[node]
        free = dict(info.utilization)
        for other in self.w.insts.values():
            if other.assigned == node and not other.provisional:
                for k, v in other.prim.utilization.items():
                    if k in free:
                        free[k] -= v
        return free

    def _needs(self, inst: Inst) -> dict[str, int]:
        members = [inst]
        if inst.group is not None and self.w.group_members[inst.group][0] is inst:
            members = [m for m in self.w.group_members[inst.group] if m.provisional]
        need: dict[str, int] = {}
        for m in members:
            for k, v in m.prim.utilization.items():
                need[k] = need.get(k, 0) + v
        return need

    def _ban_insufficient_capacity(self, inst: Inst) -> None:
        if self.w.config.options.placement_strategy == "default":
            return
        need = self._needs(inst)
        if not need:
            return
        for n in list(inst.allowed):
            free = self._free(n)
            if any(k in free and free[k] < v for k, v in need.items()):
                inst.add_score(n, -INFINITY, "utilization", f"{n} lacks capacity for {inst.id}")

    def _capacity_key(self, node: str) -> int:
        if self.w.config.options.placement_strategy != "balanced":
            return 0
        return -sum(self._free(node).values())

    def _best_node(self, inst: Inst) -> str | None:
        self._ban_insufficient_capacity(inst)
        if not inst.allowed:
            return None
        nodes = sorted(inst.allowed, key=lambda n: self._sort_key(inst, n, inst.allowed))
        best = nodes[0]
        info = self.w.nodes[best]
        if not info.available or inst.allowed[best] < 0:
            return None
        chosen = best
        running = inst.current_node
        if inst.allowed[best] > 0 and running is not None and running in inst.allowed:
            r_info = self.w.nodes[running]
            if r_info.available and inst.allowed[running] == inst.allowed[best]:
                chosen = running
        return chosen

    def _apply_this_with(self, inst: Inst, c: Coloc) -> None:
        archive = dict(inst.allowed) if (c.score < 0 and c.score > -INFINITY) else None
        for p in c.primary:
            if p.provisional:
                self.assign(p)
        if any(p.provisional for p in c.primary):
            return  # an assignment loop: the primary is not placed yet, so this has no effect
        self._apply_coloc_to_scores(inst, c)
        if archive is not None and not self._any_available(inst.allowed):
            inst.allowed = archive

    def _primary_values(self, c: Coloc) -> set[str] | None:
        nodes = [p.assigned for p in c.primary if p.assigned is not None]
        if c.primary_role is Role.PROMOTED:
            nodes = [p.assigned for p in c.primary if p.assigned is not None and p.next_role is Role.PROMOTED]
        elif c.primary_role is Role.UNPROMOTED:
            nodes = [
                p.assigned for p in c.primary if p.assigned is not None and p.next_role is Role.UNPROMOTED
            ]
        if not nodes:
            return None
        return {self.w.nodes[n].attributes.get(c.node_attribute, "") for n in nodes}

    def _apply_coloc_to_scores(self, inst: Inst, c: Coloc) -> None:
        if c.dependent_role in (Role.PROMOTED, Role.UNPROMOTED) and inst.clone is not None:
            return  # a role colocation of a promotable instance decides its role, not its node
        values = self._primary_values(c)
        if values is None and c.score < 0:
            return
        work = dict(inst.allowed)
        detail = f"colocation {c.id} with {c.primary_id}"
        changes: list[tuple[str, int]] = []
        for n in work:
            attr = self.w.nodes[n].attributes.get(c.node_attribute, "")
            if values is None:
                changes.append((n, -c.score))
            elif attr in values:
                if c.score < INFINITY:
                    changes.append((n, c.score))
            elif c.score >= INFINITY:
                changes.append((n, -INFINITY))
        for n, s in changes:
            work[n] = add_scores(work[n], s)
        if abs(c.score) >= INFINITY or self._any_available(work):
            for n, s in changes:
                inst.add_score(n, s, f"colocation {c.id}", detail)

    def _any_available(self, scores: dict[str, int]) -> bool:
        return any(self.w.nodes[n].available and s >= 0 for n, s in scores.items())

    def _add_dependent_scores(self, inst: Inst, c: Coloc) -> None:
        if not c.influence or c.dependent_role is Role.PROMOTED:
            return
        if c.dependent.clone is not None and c.dependent is not self.w.clone_children[c.dependent.clone][0]:
            return  # a dependent clone's preferences count once, through its first instance
        factor = c.score / INFINITY
        merged = self._merge(
            c.dependent, dict(inst.allowed), c.node_attribute, factor, set(), inst.clone is not None
        )
        if merged is None:
            return
        for n, s in merged.items():
            old = inst.allowed.get(n, 0)
            if s != old:
                inst.allowed[n] = s
                inst.terms.append(
                    ScoreTerm(
                        inst.id,
                        n,
                        s - old if abs(s) < INFINITY else s,
                        f"colocation {c.id}",
                        f"preferences of {c.dependent.id}",
                    )
                )

    def _merge(
        self,
        rsc: Inst,
        nodes: dict[str, int],
        attr: str,
        factor: float,
        seen: set[str],
        only_positive: bool,
        this_with: bool = False,
        depth: int = 0,
    ) -> dict[str, int] | None:
        """Pacemaker's add_colocated_node_scores: fold `rsc`'s best matching scores (times
        `factor`) into `nodes`, then recurse along its colocations; None means "roll back"."""
        key = rsc.clone or rsc.id  # a clone's instances share preferences: merge the clone once
        if key in seen:
            return nodes
        seen = seen | {key}
        work = dict(nodes)
        for n in work:
            value = self.w.nodes[n].attributes.get(attr, "")
            score = -INFINITY
            for m, s in rsc.allowed.items():
                info = self.w.nodes[m]
                if info.available and info.attributes.get(attr, "") == value and s > score:
                    score = s
            if factor < 0 and score < 0:
                continue
            wf = factor * score
            weight = int(wf - 0.5) if wf < 0 else int(wf + 0.5)
            if abs(score) >= INFINITY:
                weight = score if factor > 0 else -score  # infinity attenuated is still infinity
            # Pacemaker keeps a tiny attenuated score from vanishing by rounding it to +/-1. We do
            # so for a direct colocation only: through a chain (factor of factors) the rounding
            # lets a resource's own new placement feed back and move things again next time.
            if weight == 0 and score != 0 and depth == 0:
                weight = 1 if factor > 0 else -1
            new = add_scores(weight, work[n])
            if only_positive and new < 0 and work[n] >= 0:
                continue
            work[n] = new
        if not self._any_available(work):
            return None
        return self._recurse(rsc, work, factor, seen, only_positive, this_with, depth)

    def _recurse(
        self,
        rsc: Inst,
        work: dict[str, int],
        factor: float,
        seen: set[str],
        only_positive: bool,
        this_with: bool,
        depth: int = 0,
    ) -> dict[str, int]:
        colocs = self.this_with.get(rsc.id, []) if this_with else self.with_this.get(rsc.id, [])
        done: set[str] = set()
        for c in colocs:
            if not this_with and not c.influence:
                continue
            other = c.primary[0] if this_with else c.dependent
            other_key = other.clone or other.id
            if other_key in done or other_key in seen:
                continue
            done.add(other_key)
            sub = self._merge(
                other,
                work,
                c.node_attribute,
                factor * c.score / INFINITY,
                seen,
                only_positive,
                this_with,
                depth + 1,
            )
            if sub is not None:
                work = sub
        return work

    def sort_scores(self, rsc: Inst) -> dict[str, int]:
        """Scores used to order allocation: own scores plus what "this with" primaries prefer."""
        work = dict(rsc.allowed)
        if not self._any_available(work):
            return work
        return self._recurse(rsc, work, 1.0, {rsc.id}, False, True)

    def assign_group(self, gid: str) -> None:
        for m in self.w.group_members[gid]:
            m_prev = m.allocating
            if m.provisional and not m_prev:
                self.assign(m)

    def assign_clone(self, cid: str) -> None:
        """Place a clone's copies. For a cloned group, each copy's first member is placed as the
        copy; the other members follow it through the group's own colocations."""
        every = self.w.clone_children[cid]
        if cid in self.clones_done or any(m.allocating for m in every):
            return
        members = [m for m in every if m.group is None or self.w.group_members[m.group][0] is m]
        followers = [m for m in every if m not in members]
        self._assign_copies(cid, members)
        self.clones_done.add(cid)
        for m in followers:
            if m.provisional:
                self.assign(m)
        self._set_roles(cid)

    def _assign_copies(self, cid: str, members: list[Inst]) -> None:
        clone_meta = members[0].meta if members else {}
        node_max = meta_score(clone_meta, "clone-node-max", 1)
        for m in members:
            m.allocating = True
        ids = {m.id for m in members}
        before = {m.id: dict(m.allowed) for m in members}  # scores before colocations, for ordering
        for m in members:
            for c in self.this_with.get(m.id, []):
                for p in c.primary:
                    if p.provisional:
                        self.assign(p)
                if not any(p.provisional for p in c.primary):
                    self._apply_coloc_to_scores(m, c)
        self._swap_extra_copies(members)
        if self.w.config.options.stop_all_resources:
            for m in members:  # stop-all-resources: every copy stops (a Promoted one demotes first)
                if m.managed:
                    m.provisional = False
                    m.assigned = None
            for m in members:
                m.allocating = False
            return
        per_node: dict[str, int] = {}
        # Instances already running stay where they are when allowed; the best placed go first,
        # so a copy on a preferred node is kept there and the others are not shuffled onto it.
        def here_score(m: Inst) -> int:
            cur = m.current_node
            return -m.allowed.get(cur, -INFINITY) if cur is not None else INFINITY

        for m in sorted(members, key=here_score):
            cur = m.current_node
            if cur is None or not m.managed or m.target_role is Role.STOPPED or cur in m.failed_on:
                continue  # a failed copy is placed afresh, like any other instance
            info = self.w.nodes[cur]
            best = max(
                (
                    v
                    for n, v in m.allowed.items()
                    if self.w.nodes[n].available and per_node.get(n, 0) < node_max
                ),
                default=-INFINITY,
            )
            here = m.allowed.get(cur, -INFINITY)
            # Kept in place only where it scores at least as well as anywhere else it could go.
            if info.available and here >= 0 and here >= best and per_node.get(cur, 0) < node_max:
                per_node[cur] = per_node.get(cur, 0) + 1
                m.provisional = False
                m.assigned = cur
                info.num_assigned += 1

        # Pacemaker's instance order for the remaining ones: a copy whose node now scores below
        # zero goes last (it is stopped, and a fresh instance starts elsewhere); otherwise running
        # copies come first and move (a copy on a node that is merely unavailable is moved).
        def order(m: Inst) -> tuple[int, int]:
            cur = m.current_node
            banned = cur is not None and before[m.id].get(cur, 0) < 0
            return (1 if banned else 0, -m.role.rank)

        rest = sorted((m for m in members if m.provisional), key=order)
        for m in rest:
            if not m.managed:
                m.provisional = False
                m.assigned = m.current_node
                continue
            if m.target_role is Role.STOPPED:
                m.provisional = False
                continue
            scores = self._instance_scores(m, ids, per_node, node_max)
            candidates = [
                n
                for n, s in scores.items()
                if self.w.nodes[n].available and s >= 0 and per_node.get(n, 0) < node_max
            ]
            if not candidates:
                m.provisional = False
                continue
            cur = m.current_node
            chosen = min(
                candidates, key=lambda n: (-scores[n], self.w.nodes[n].num_assigned, 0 if n == cur else 1, n)
            )
            per_node[chosen] = per_node.get(chosen, 0) + 1
            m.provisional = False
            m.assigned = chosen
            self.w.nodes[chosen].num_assigned += 1
        for m in members:
            m.allocating = False

    def _instance_scores(
        self, m: Inst, ids: set[str], per_node: dict[str, int], node_max: int
    ) -> dict[str, int]:
        """An instance's scores with full nodes excluded and its dependents' aversions folded in
        (rolled back where they would leave no node)."""
        scores = {n: (-INFINITY if per_node.get(n, 0) >= node_max else s) for n, s in m.allowed.items()}
        for c in self.with_this.get(m.id, []):
            # Instances take in only the anti-colocations of the clone's dependents (as
            # Pacemaker's instance assignment does); positive ones act on the clone as a whole.
            if c.dependent.id in ids or not c.influence or c.dependent_role is Role.PROMOTED or c.score >= 0:
                continue
            merged = self._merge(c.dependent, scores, c.node_attribute, c.score / INFINITY, set(ids), False)
            if merged is not None:
                scores = merged
        return scores

    def _can_stay(self, m: Inst) -> bool:
        cur = m.current_node
        return cur is not None and self.w.nodes[cur].available and m.allowed.get(cur, -INFINITY) >= 0

    def _swap_extra_copies(self, members: list[Inst]) -> None:
        """A copy beyond clone-max that could stay takes the place of a configured instance that
        must leave its node, so the clone keeps the copy it can keep instead of moving one."""
        extras = [m for m in members if m.orphan and self._can_stay(m)]
        for m in members:
            if m.orphan or not extras or m.current_node is None or self._can_stay(m):
                continue
            extra = extras.pop(0)
            m.current, extra.current = extra.current, m.current
            m.failed_on, extra.failed_on = extra.failed_on, m.failed_on
            m.known_on, extra.known_on = extra.known_on, m.known_on
            m.allowed, extra.allowed = extra.allowed, m.allowed

    def _set_roles(self, cid: str) -> None:
        members = self.w.clone_children[cid]
        ids = {m.id for m in members}
        dependents: list[tuple[Inst, int, str]] = []
        seen: set[str] = set()
        for m in members:
            for c in self.with_this.get(m.id, []):
                if (
                    c.primary_role is Role.PROMOTED
                    and c.influence
                    and c.id not in seen
                    and c.dependent.id not in ids
                ):
                    seen.add(c.id)
                    dependents.append((c.dependent, c.score, c.node_attribute))
        primaries = []
        if members:
            for c in self.this_with.get(members[0].id, []):
                primaries.append((c.primary, c.score, c.dependent_role, c.primary_role, c.node_attribute))

        def merge(dep: Inst, nodes: dict[str, int], attr: str, factor: float) -> dict[str, int] | None:
            return self._merge(dep, nodes, attr, factor, set(ids), True)

        set_instance_roles(self.w, cid, dependents, primaries, merge)


def assign_all(w: Working, colocs: list[Coloc]) -> None:
    a = _Assigner(w, colocs)
    order = _allocation_order(w, a)
    for unit in order:
        if unit.kind == "clone":
            a.assign_clone(unit.id)
        elif unit.kind == "group":
            a.assign_group(unit.id)
        else:
            a.assign(unit.members[0])


def _allocation_order(w: Working, a: _Assigner) -> list[Unit]:
    """Pacemaker 2.1.5: by priority in configuration order; with a utilization-aware placement
    strategy, also by score on the current node, then by scores node by node (cmp_resources)."""
    units = sorted((u for u in w.units if u.members), key=lambda u: -u.priority)
    if w.config.options.placement_strategy == "default":
        return units
    node_names = sorted(w.nodes)
    keyed: list[tuple[tuple[int, int, tuple[int, ...]], Unit]] = []
    for unit in units:
        first = unit.members[0]
        rep = unit.members[-1] if unit.kind == "group" else first
        scores = a.sort_scores(rep)
        cur = first.current_node
        cur_score = scores.get(cur, -INFINITY) if cur else -INFINITY
        per_node = tuple(-scores.get(n, -INFINITY) for n in node_names)
        keyed.append(((-unit.priority, -cur_score, per_node), unit))
    keyed.sort(key=lambda kv: kv[0])
    return [u for _, u in keyed]
