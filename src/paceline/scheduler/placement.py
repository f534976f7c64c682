"""Assignment: each instance to a node, in Pacemaker's order, from the scores `scoring` set.

Colocations act here: mandatory ones ban, advisory ones add, and dependents' preferences merge
into their primaries. Ties break as Pacemaker's do: higher score, then fewer resources already
assigned to the node, then the node the resource runs on now, then node name. Clone copies are
placed by `clones`.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from ..model.enums import Role
from ..model.scores import INFINITY, add_scores
from .scoring import Coloc
from .transition import ScoreTerm
from .unpack import Working
from .working import Inst, Unit

if TYPE_CHECKING:
    from .clones import CloneAssigner

__all__ = ["assign_all"]


# --- assignment ---------------------------------------------------------------------------------


class _Assigner:
    def __init__(self, w: Working, colocs: list[Coloc], balance: bool = True) -> None:
        self.w = w
        self.balance = balance
        self.this_with: dict[str, list[Coloc]] = {}
        self.with_this: dict[str, list[Coloc]] = {}
        for c in colocs:
            self.this_with.setdefault(c.dependent.id, []).append(c)
            for p in c.primary:
                self.with_this.setdefault(p.id, []).append(c)
        # Pacemaker keeps a dependent's colocations sorted by its primaries: higher priority first,
        # then clones before groups before primitives, then by id (primaries are placed in that order).
        for lst in self.this_with.values():
            lst.sort(key=self._primary_rank)
        # A primary's dependents: by their priority, variant and id; the same pair of resources by
        # score, then constraint id, so that no input order can change the outcome.
        for lst in self.with_this.values():
            lst.sort(key=self._dependent_rank)

    @cached_property
    def clones(self) -> CloneAssigner:
        """Places clone copies; made (and `clones`, `promotion` imported) only for a configuration
        with clones."""
        from .clones import CloneAssigner

        return CloneAssigner(self)

    def _primary_rank(self, c: Coloc) -> tuple[int, int, str, int, str]:
        rid = c.primary_id
        variant = 2 if rid in self.w.clone_children else 1 if rid in self.w.group_members else 0
        priority = c.primary[0].priority if c.primary else 0
        return (-priority, -variant, rid, c.score, c.id)

    def _dependent_rank(self, c: Coloc) -> tuple[int, int, str, int, str]:
        inst = c.dependent
        variant = 2 if inst.clone else 1 if inst.group else 0
        return (-inst.priority, -variant, inst.clone or inst.group or inst.id, c.score, c.id)

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
        if inst.clone is not None and inst.provisional and inst.clone not in self.clones.done:
            self.assign_clone(inst.clone)
        if not inst.provisional:
            return inst.assigned
        if inst.allocating:
            return None
        inst.allocating = True
        this_with = self.this_with.get(inst.id, [])
        with_this = self.with_this.get(inst.id, [])
        for c in this_with:
            self._apply_this_with(inst, c)
        for c in with_this:
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

    def _colocated(self, inst: Inst) -> list[Inst]:
        """`inst` and every resource tied to it by +INFINITY colocations, either way, transitively
        (Pacemaker's find_colocated_rscs; a clone dependent of a non-clone is left out)."""
        found: list[Inst] = []
        seen: set[str] = set()

        def visit(r: Inst) -> None:
            if r.id in seen:
                return
            seen.add(r.id)
            found.append(r)
            for c in self.this_with.get(r.id, []):
                if c.score >= INFINITY and _affects_location(c):
                    for p in c.primary:
                        if p is not inst:
                            visit(p)
            for c in self.with_this.get(r.id, []):
                d = c.dependent
                if d is inst or (d.clone is not None and r.clone is None):
                    continue
                if c.score >= INFINITY and _affects_location(c):
                    visit(d)

        visit(inst)
        return found

    @staticmethod
    def _sum_needs(insts: list[Inst]) -> dict[str, int]:
        need: dict[str, int] = {}
        for m in insts:
            for k, v in m.prim.utilization.items():
                need[k] = need.get(k, 0) + v
        return need

    @staticmethod
    def _fits(free: dict[str, int], need: dict[str, int]) -> bool:
        return not any(k in free and free[k] < v for k, v in need.items())

    def _ban_insufficient_capacity(self, inst: Inst) -> str | None:
        """As Pacemaker: where some node can take `inst` together with everything still unplaced
        that must run with it, only such nodes stay allowed; otherwise nodes without room for
        `inst` alone are banned, and the node with the most room is returned as the preferred one."""
        if self.w.config.options.placement_strategy == "default":
            return None
        group = [m for m in self._colocated(inst) if m.provisional or m is inst]
        together = self._sum_needs(group)
        alone = self._sum_needs([inst])
        if not together and not alone:
            return None
        # Free capacity once per usable node: _free walks every instance.
        free = {n: self._free(n) for n, s in inst.allowed.items() if s >= 0 and self.w.nodes[n].available}
        what = inst.id if len(group) == 1 else f"{inst.id} and what must run with it"
        need, prefer = together, None
        if not any(self._fits(f, together) for f in free.values()):
            need, what = alone, inst.id
            if free:
                prefer = min(free, key=lambda n: (-sum(free[n].values()), n))
        for n, f in free.items():
            if not self._fits(f, need):
                inst.add_score(n, -INFINITY, "utilization", f"{n} lacks capacity for {what}")
        return prefer

    def _capacity_key(self, node: str) -> int:
        if self.w.config.options.placement_strategy != "balanced":
            return 0
        return -sum(self._free(node).values())

    def _best_node(self, inst: Inst) -> str | None:
        prefer = self._ban_insufficient_capacity(inst)
        if not inst.allowed:
            return None
        nodes = sorted(inst.allowed, key=lambda n: self._sort_key(inst, n, inst.allowed))
        best = nodes[0]
        info = self.w.nodes[best]
        if not info.available or inst.allowed[best] < 0:
            return None
        if prefer is not None and inst.allowed.get(prefer, -INFINITY) >= inst.allowed[best]:
            return prefer  # room is short for all that goes with it: the roomiest node, if as good
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
        self.clones.assign(cid)


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
    # The nodes are compared in Pacemaker's node order: usable first, then (balanced) more
    # capacity, then fewer resources active now, then by name.
    active: dict[str, int] = {}
    for inst in w.insts.values():
        for n in inst.running_on:
            active[n] = active.get(n, 0) + 1
    node_names = sorted(
        w.nodes,
        key=lambda n: (0 if w.nodes[n].available else 1, a._capacity_key(n), active.get(n, 0), n),
    )
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


def _affects_location(c: Coloc) -> bool:
    """A colocation between roles (Promoted, Unpromoted) decides roles, not where things run."""
    plain = (None, Role.STARTED)
    return c.dependent_role in plain and c.primary_role in plain
