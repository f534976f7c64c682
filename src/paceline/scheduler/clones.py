"""Clone copies: which copy runs where.

Copies already running stay where they score best (the best placed first, so none is shuffled
onto another's node); failed copies and copies that cannot stay are placed afresh, fresh ones
before displaced ones; per-node limits (clone-node-max) hold; a cloned group's copy is placed by
its first member and the other members follow. Promotable clones then get their roles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model.enums import Role
from ..model.scores import INFINITY
from .meta import meta_score
from .promotion import set_instance_roles
from .working import Inst

if TYPE_CHECKING:
    from .placement import _Assigner

__all__ = ["CloneAssigner"]


class CloneAssigner:
    def __init__(self, assigner: _Assigner) -> None:
        self.a = assigner
        self.done: set[str] = set()

    def assign(self, cid: str) -> None:
        """Place a clone's copies. For a cloned group, each copy's first member is placed as the
        copy; the other members follow it through the group's own colocations."""
        every = self.a.w.clone_children[cid]
        if cid in self.done or any(m.allocating for m in every):
            return
        members = [m for m in every if m.group is None or self.a.w.group_members[m.group][0] is m]
        followers = [m for m in every if m not in members]
        self._assign_copies(cid, members)
        self.done.add(cid)
        for m in followers:
            if m.provisional:
                self.a.assign(m)
        self._set_roles(cid)

    def _assign_copies(self, cid: str, members: list[Inst]) -> None:
        clone_meta = members[0].meta if members else {}
        node_max = meta_score(clone_meta, "clone-node-max", 1)
        for m in members:
            m.allocating = True
        ids = {m.id for m in members}
        before = {m.id: dict(m.allowed) for m in members}  # scores before colocations, for ordering
        for m in members:
            for c in self.a.this_with.get(m.id, []):
                for p in c.primary:
                    if p.provisional:
                        self.a.assign(p)
                if not any(p.provisional for p in c.primary):
                    self.a._apply_coloc_to_scores(m, c)
        self._swap_extra_copies(members)
        if self.a.w.config.options.stop_all_resources:
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

        # Pacemaker keeps at most clone-max / usable nodes (at least one) copies in place per node
        # in this pass, so that copies crowded onto one node spread out when they may.
        usable = sum(1 for info in self.a.w.nodes.values() if info.available)
        configured = sum(1 for m in members if not m.orphan)
        stay_max = max(1, configured // usable) if usable else 1
        for m in sorted(members, key=here_score):
            cur = m.current_node
            if cur is None or not m.managed or m.target_role is Role.STOPPED or cur in m.failed_on:
                continue  # a failed copy is placed afresh, like any other instance
            if per_node.get(cur, 0) >= stay_max:
                continue
            info = self.a.w.nodes[cur]
            best = max(
                (
                    v
                    for n, v in m.allowed.items()
                    if self.a.w.nodes[n].available and per_node.get(n, 0) < node_max
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
            if not m.managed or m.blocked:  # left alone where it is (on-fail=block included)
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
                if self.a.w.nodes[n].available and s >= 0 and per_node.get(n, 0) < node_max
            ]
            if not candidates:
                m.provisional = False
                continue
            cur = m.current_node
            chosen = min(
                candidates,
                key=lambda n: (-scores[n], self.a.w.nodes[n].num_assigned, 0 if n == cur else 1, n),
            )
            per_node[chosen] = per_node.get(chosen, 0) + 1
            m.provisional = False
            m.assigned = chosen
            self.a.w.nodes[chosen].num_assigned += 1
        for m in members:
            m.allocating = False

    def _instance_scores(
        self, m: Inst, ids: set[str], per_node: dict[str, int], node_max: int
    ) -> dict[str, int]:
        """An instance's scores with full nodes excluded and its dependents' aversions folded in
        (rolled back where they would leave no node)."""
        scores = {n: (-INFINITY if per_node.get(n, 0) >= node_max else s) for n, s in m.allowed.items()}
        for c in self.a.with_this.get(m.id, []):
            # Instances take in only the anti-colocations of the clone's dependents (as
            # Pacemaker's instance assignment does); positive ones act on the clone as a whole.
            if c.dependent.id in ids or not c.influence or c.dependent_role is Role.PROMOTED or c.score >= 0:
                continue
            merged = self.a._merge(c.dependent, scores, c.node_attribute, c.score / INFINITY, set(ids), False)
            if merged is not None:
                scores = merged
        return scores

    def _can_stay(self, m: Inst) -> bool:
        cur = m.current_node
        return cur is not None and self.a.w.nodes[cur].available and m.allowed.get(cur, -INFINITY) >= 0

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
        members = self.a.w.clone_children[cid]
        ids = {m.id for m in members}
        dependents: list[tuple[Inst, int, str]] = []
        seen: set[str] = set()
        for m in members:
            for c in self.a.with_this.get(m.id, []):
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
            for c in self.a.this_with.get(members[0].id, []):
                primaries.append((c.primary, c.score, c.dependent_role, c.primary_role, c.node_attribute))

        def merge(dep: Inst, nodes: dict[str, int], attr: str, factor: float) -> dict[str, int] | None:
            return self.a._merge(dep, nodes, attr, factor, set(ids), True)

        set_instance_roles(self.a.w, cid, dependents, primaries, merge)
