"""Actions: from (current, assigned) per instance to start/stop/promote/demote/fence actions,
with ordering edges and Pacemaker's propagation of "required" and "runnable" along mandatory orders.

Invariants: an instance's start on a node comes after its stop on any other node; nothing starts on
a node before the fencing of a node its resources are recovered from; a start that cannot run
makes every start mandatorily ordered after it unrunnable too.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from ..model.config import Order
from ..model.digest import op_digest
from ..model.enums import NoQuorumPolicy, OrderKind, Role
from ..model.scores import INFINITY
from .meta import is_true, meta_score
from .unpack import Working
from .working import Inst

__all__ = ["Graph", "Node", "OrderEdge", "build_graph", "node_for"]


@dataclass
class Node:
    """One action in the graph being built."""

    inst: Inst | None
    task: str
    node: str
    required: bool = False
    runnable: bool = True
    reason: str = ""
    block_reason: str = ""
    required_at_outset: bool = False
    """Required before any ordering was applied (a move, a recovery, a stop for want of a node)."""
    blocked_by: tuple[OrderEdge, list[Node]] | None = None
    """The first instances and their actions of the ordering that made this optional action
    unrunnable ("unrunnable X start"): when they are themselves required, Pacemaker names them
    "required X start" instead (see `_name_required_blockers`)."""
    after: set[tuple[str, str, str]] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.inst.id if self.inst else "", self.task, self.node)


@dataclass(frozen=True)
class OrderEdge:
    """`then_task` of every then-instance waits for `first_task` of the first-instances.

    `need`: None when every first must be able to act; a number when that many suffice (a clone,
    whose "running" needs one copy or clone-min; a require-all=false set, which needs one member).
    """

    firsts: list[Inst]
    first_task: str
    thens: list[Inst]
    then_task: str
    mandatory: bool
    label: str
    need: int | None = None
    symmetrical: bool = True
    """An asymmetrical order only holds back a start that has to happen (a copy that runs and
    stays where it is keeps running)."""
    implies: bool | None = None
    """Whether the first's action being required makes the then's required too (a restart carries
    over). None: as `mandatory`. An Optional order whose then has restart-type=restart implies."""

    inverse: bool = False
    """The inverse of a symmetrical order (then's stop before first's stop): Pacemaker's
    implies-first, where the later action being required makes the earlier one required. Any
    other edge implies-then: the first's action being required makes the then's required."""

    group_order: bool = False
    """An ordering between two members of a group (their start and stop sequence)."""
    one_or_more: bool = False
    """The first side is Pacemaker's "one-or-more" pseudo-action (clone-min, require-all=false):
    never required itself, so it is always named "unrunnable"."""

    @property
    def carries_restart(self) -> bool:
        return self.mandatory if self.implies is None else self.implies


@dataclass
class Graph:
    actions: dict[tuple[str, str, str], Node] = field(default_factory=dict)
    fences: dict[str, str] = field(default_factory=dict)
    orders: list[OrderEdge] = field(default_factory=list)
    """(first instances, task, then instances, task, mandatory, label): every ordering to honour."""

    def get(self, inst: Inst, task: str, node: str | None) -> Node | None:
        if node is None:
            return None
        return self.actions.get((inst.id, task, node))

    def add(self, inst: Inst | None, task: str, node: str, required: bool) -> Node:
        n = Node(inst, task, node, required)
        self.actions[n.key] = n
        return n


def build_graph(w: Working) -> Graph:
    g = Graph()
    # Something must be able to fence (pe_can_fence): a fence device, or watchdog self-fencing.
    # Without either Pacemaker plans no fence at all (and leaves every resource alone, see unpack).
    stonith = w.config.options.stonith_enabled and (
        w.have_stonith_resource or w.config.options.watchdog_fencing
    )
    no_quorum = not w.state.have_quorum
    policy = w.config.options.no_quorum_policy
    for info in w.node_list():
        # Without quorum only nodes still in our membership may be fenced (as Pacemaker's pe_can_fence).
        can_fence = stonith and (not no_quorum or policy is NoQuorumPolicy.IGNORE or info.online)
        if info.unclean and can_fence:
            g.fences[info.name] = info.fence_reason or "node is unclean"
    _inhibit_unmatched_interleaved(w)
    for inst in w.insts.values():
        _inst_actions(w, g, inst, no_quorum, policy)
    for action in g.actions.values():
        action.required_at_outset = action.required
    _propagate(w, g)
    return g


def _inhibit_unmatched_interleaved(w: Working) -> None:
    """Interleaved clones, mandatory order: a copy of the later clone on a node where the earlier
    clone has no copy cannot start there, so it is not placed at all (Pacemaker "inhibits" it)."""
    for order in w.config.orders:
        if order.kind is not OrderKind.MANDATORY or _task(order.first_action) != "start":
            continue
        if not _interleaved(w, order):
            continue
        first_nodes = {f.assigned for f in w.clone_children[order.first] if f.assigned is not None}
        for t in w.clone_children[order.then]:
            if t.assigned is not None and t.assigned not in first_nodes and not t.running_on:
                w.nodes[t.assigned].num_assigned -= 1
                t.assigned = None


def _inst_actions(w: Working, g: Graph, inst: Inst, no_quorum: bool, policy: NoQuorumPolicy) -> None:
    if not inst.managed or inst.blocked:
        return
    cur_nodes = inst.running_on
    if len(cur_nodes) > 1:
        mode = inst.meta.get("multiple-active", "stop_start")
        if mode == "block":
            # Left alone, and so is the rest of its group (Pacemaker shows them all blocked).
            for member in w.group_members.get(inst.group or "", [inst]):
                member.blocked = True
            return
        if mode == "stop_only":
            inst.assigned = None
    nxt = inst.assigned
    next_role = inst.next_role
    if next_role is Role.UNKNOWN:
        next_role = Role.STARTED if nxt else Role.STOPPED
        inst.next_role = next_role
    for cur in cur_nodes:
        info = w.nodes[cur]
        restart = inst.failed and cur in inst.failed_on
        need_stop = nxt != cur or restart or next_role is Role.STOPPED or len(cur_nodes) > 1
        stop = g.add(inst, "stop", cur, need_stop)
        if nxt is None:
            stop.reason = "node availability"
        if info.unclean and cur not in g.fences:
            stop.runnable = False
            if no_quorum and policy is NoQuorumPolicy.STOP:
                stop.block_reason = "no quorum"
        if inst.current.get(cur) is Role.PROMOTED:
            g.add(inst, "demote", cur, need_stop or next_role is not Role.PROMOTED or inst.demote_required)
    if nxt is not None:
        moving = nxt not in cur_nodes
        restart = inst.failed and nxt in inst.failed_on
        start = g.add(inst, "start", nxt, moving or restart or len(cur_nodes) > 1)
        change = None if moving or restart else _definition_change(inst, nxt)
        if change == "agent":
            start.required = True  # a different agent now: Pacemaker gives no reason
        elif change == "restart":
            start.required = True
            start.reason = "resource definition change"
        elif change == "reload":
            g.add(inst, "reload", nxt, True)
        if moving and any(i.pending and n not in inst.known_on for n, i in w.nodes.items()):
            # A node still joining may be running it unseen: no start until it has been checked.
            start.runnable = False
        requires = inst.meta.get("requires", "quorum")
        if no_quorum and requires != "nothing":
            if policy in (NoQuorumPolicy.STOP, NoQuorumPolicy.SUICIDE):
                start.runnable = False
                start.block_reason = "no quorum"
            elif policy is NoQuorumPolicy.FREEZE and not cur_nodes:
                start.runnable = False
                start.block_reason = "quorum freeze"
        if next_role is Role.PROMOTED:
            was_promoted = inst.current.get(nxt) is Role.PROMOTED
            g.add(inst, "promote", nxt, moving or restart or not was_promoted or inst.demote_required)


def _definition_change(inst: Inst, node: str) -> str | None:
    """How the start in effect on `node` differs from the configuration now: None, "agent" (it ran
    with another agent), "reload" (only parameters the agent can take in place changed) or
    "restart"."""
    start = inst.start_digest.get(node)
    if start is None or inst.orphan or inst.prim.service is not None:
        return None
    if start.agent and start.agent != str(inst.prim.agent):
        return "agent"
    if inst.prim.agent.standard == "stonith" and start.secure_digest is not None:
        return None  # a fence device's recorded digests also cover what its agent adds
    start_op = inst.prim.operation("start")
    op_params = dict(start_op.params) if start_op is not None else {}
    if start.op_digest == op_digest(inst.prim.params_for("start")):
        return None
    if start.restart_digest is not None:
        # Only the resource's own parameters can be reloadable; the operation's always restart.
        restart_params = {k: v for k, v in inst.prim.params.items() if k in start.force_restart}
        restart_params.update(op_params)
        if start.restart_digest == op_digest(restart_params):
            return "reload"
    return "restart"


def _start_key(inst: Inst, node: str | None) -> tuple[str, str, str] | None:
    return (inst.id, "start", node) if node else None


def _propagate(w: Working, g: Graph) -> None:
    edges = _order_edges(w, g)
    g.orders = edges
    _block_colocated(w, g)
    changed = True
    rounds = 0
    while changed and rounds < 50:
        changed = False
        rounds += 1
        for edge in edges:
            first_insts, first_task, then_insts, then_task = (
                edge.firsts,
                edge.first_task,
                edge.thens,
                edge.then_task,
            )
            mandatory, label = edge.mandatory, edge.label
            first_actions = [
                a
                for a in (
                    g.actions.get((i.id, first_task, node_for(i, first_task) or "")) for i in first_insts
                )
                if a is not None
            ]
            then_actions = [
                a
                for a in (g.actions.get((t.id, then_task, node_for(t, then_task) or "")) for t in then_insts)
                if a is not None
            ]
            if first_task == "stop" and then_task == "stop" and mandatory:
                # Something that must stop first but cannot (left alone, or its own stop cannot
                # run) keeps the later stop from running too.
                stuck = [i for i in first_insts if i.running_on and (not i.managed or i.blocked)]
                stuck_stops = [a for a in first_actions if a.required and not a.runnable]
                in_group = edge.group_order
                for a in then_actions:
                    if a.required and a.runnable and (stuck or stuck_stops):
                        a.runnable = False
                        if stuck and in_group:
                            # A group's stop order restarts (Pacemaker's pe_order_restart): it
                            # names the member that cannot stop, unless the stop has a reason.
                            a.block_reason = a.reason or f"unrunnable {stuck[0].id} stop"
                        elif stuck:
                            a.block_reason = a.reason or "node availability"
                        else:
                            a.block_reason = f"unrunnable {stuck_stops[0].key[0]} stop"
                        changed = True
            if any(not i.managed for i in first_insts):
                continue  # an unmanaged resource neither blocks nor forces what follows it
            if first_task == "stop" and then_task == "stop" and edge.inverse:
                # Inverse of a start order: if the later stop is required, so is the earlier one;
                # for a clone, only when fewer copies than it needs stay up.
                cause = next((a for a in then_actions if a.required), None)
                if edge.need is not None:
                    staying = [
                        t
                        for t in then_insts
                        if t.running_on and not any(a.required for a in then_actions if a.inst is t)
                    ]
                    if len(staying) >= edge.need:
                        cause = None
                if edge.carries_restart and cause is not None and _inverse_implies(edge):
                    for a in first_actions:
                        if not a.required:
                            a.required = True
                            a.reason = f"required {cause.key[0]} stop"
                            changed = True
                continue
            if first_task == "start" and edge.need is not None:
                unrunnable = mandatory and _runnable_copies(g, first_insts) < edge.need
            elif first_task == "start":
                unrunnable = mandatory and (
                    len(first_actions) < len(first_insts) or any(not a.runnable for a in first_actions)
                )
            else:
                unrunnable = False
            required = any(a.required and a.runnable and not _migrates(w, a.inst) for a in first_actions)
            if required and first_task == "start" and _clone_stays_up(g, first_insts):
                required = False  # a clone already up elsewhere: a new copy restarts nobody
            for then in then_actions:
                if (
                    unrunnable
                    and then.runnable
                    and then_task == "start"
                    and (edge.symmetrical or then.required)
                ):
                    then.runnable = False
                    then.block_reason = f"unrunnable {label}"
                    then.blocked_by = None if then.required else (edge, first_actions)
                    changed = True
                if (
                    edge.carries_restart
                    and required
                    and not then.required
                    and (first_task == then_task or "stop" in (first_task, then_task))
                ):
                    then.required = True
                    then.reason = f"required {label}"
                    changed = True
        for inst in w.insts.values():
            changed |= _restart_rules(g, inst)
        _block_colocated(w, g)
    _name_required_blockers(w, g)


def _name_required_blockers(w: Working, g: Graph) -> None:
    """Pacemaker gives an action one reason, the first one set. A start ordered after a start that
    is itself required (the first runs now, so its unrunnable start takes it down) is made required
    by that order before the order makes it unrunnable: its reason reads "required X start"; after
    a first that is merely unrunnable (not running, or stopping anyway) it reads "unrunnable X
    start". A clone's or a group's "running" is required when any of its starts is."""
    for action in g.actions.values():
        if action.blocked_by is None or not action.block_reason.startswith("unrunnable "):
            continue
        edge, firsts = action.blocked_by
        prev = _previous_member(w, action.inst)
        if edge.one_or_more:
            continue
        # A group's "running" (or a start) that becomes unrunnable only through other orders,
        # rather than from the outset (a clone with no copy to start, a resource with no start).
        late = _is_group(w, edge.firsts) or any(f.block_reason and f.blocked_by for f in firsts)
        if prev is not None and prev in edge.thens and prev.clone is None and late:
            # An order on a whole group reaches each member. When its first becomes unrunnable
            # late, Pacemaker has by then made a member after the first required through the
            # one before it (that one restarts): it names that member.
            start = g.get(prev, "start", prev.assigned)
            if start is not None and _required_first(g, [prev], [start]):
                action.block_reason = f"required {prev.id} start"
                continue
        if not _required_first(g, edge.firsts, firsts):
            continue
        if prev is not None and prev in edge.thens:
            # A required first makes each member of a group after it required in turn: the
            # second member's stop is required by the first member's stop (the group's stop
            # order), every later member's start by the start of the one before it.
            second = _previous_member(w, prev) is None
            action.block_reason = f"required {prev.id} {'stop' if second else 'start'}"
            continue
        action.block_reason = "required " + action.block_reason.removeprefix("unrunnable ")


def _is_group(w: Working, insts: list[Inst]) -> bool:
    return (
        bool(insts)
        and insts[0].group is not None
        and insts[0].clone is None
        and all(i.group == insts[0].group for i in insts)
    )


def _previous_member(w: Working, inst: Inst | None) -> Inst | None:
    if inst is None or inst.group is None:
        return None
    members = w.group_members.get(inst.group, [])
    at = next((i for i, m in enumerate(members) if m is inst), 0)
    return members[at - 1] if at > 0 else None


def _required_first(g: Graph, insts: list[Inst], actions: list[Node]) -> bool:
    """Whether the first side of an order was required when Pacemaker reached its then: one of its
    starts is, or is implied by the required stop before it on the same node (a primitive's "stop
    then start" implies the start). A start required from the outset always counts; one required
    only through other orders counts for a clone copy or group member, whose changes Pacemaker
    follows at once, but not for a lone primitive (its thens are reached first). A lone primitive
    with no start at all (it stops) gets one made for the order, required by its stop; a clone's or
    group's members get none, their "running" stays optional."""
    for a in actions:
        stop = g.actions.get((a.key[0], "stop", a.node)) if a.task == "start" else None
        if a.required_at_outset or (stop is not None and stop.required_at_outset):
            return True
        now = a.required or (stop is not None and stop.required)
        if now and a.inst is not None and (a.inst.clone is not None or a.inst.group is not None):
            return True
    if len(insts) == 1 and insts[0].clone is None and insts[0].group is None and not actions:
        only = insts[0]
        return any(
            (s := g.get(only, "stop", n)) is not None and s.required_at_outset for n in only.running_on
        )
    return False


def _migrates(w: Working, inst: Inst | None) -> bool:
    """Moves live: what is ordered after it keeps running (no restart needed)."""
    if inst is None:
        return False
    cur = inst.current_node
    value = (inst.meta.get("allow-migrate") or "").strip().lower()
    return (
        value in ("true", "yes", "1", "on")
        and cur is not None
        and inst.assigned not in (None, cur)
        and not inst.failed
        and w.nodes[cur].online
        and not w.nodes[cur].unclean
    )


def _runnable_copies(g: Graph, insts: list[Inst]) -> int:
    """How many of these can start: copies of a cloned group count whole (every member's start
    runnable, as the group's "running" needs), anything else one by one."""
    copies: dict[str, list[Inst]] = {}
    for i in insts:
        copies.setdefault(i.group if i.group and i.clone else i.id, []).append(i)
    count = 0
    for members in copies.values():
        starts = [g.actions.get((m.id, "start", node_for(m, "start") or "")) for m in members]
        if all(s is not None and s.runnable for s in starts):
            count += 1
    return count


def _clone_stays_up(g: Graph, insts: list[Inst]) -> bool:
    """Some instance of this clone runs now and keeps running where it is."""
    if not insts or insts[0].clone is None:
        return False
    for i in insts:
        cur = i.current_node
        if cur is None or i.assigned != cur:
            continue
        start = g.get(i, "start", cur)
        if start is not None and not start.required:
            return True
    return False


def node_for(inst: Inst, task: str) -> str | None:
    """The node an action of this task would run on (start/promote: next node; else current)."""
    if task in ("start", "promote"):
        return inst.assigned
    return inst.current_node


def _restart_rules(g: Graph, inst: Inst) -> bool:
    """A required start where the instance already runs needs a stop first; an unrunnable start of
    a running instance forces it to stop; a stop that cannot run keeps it from starting elsewhere."""
    changed = False
    nxt = inst.assigned
    if nxt is None:
        return False
    for cur in inst.running_on:
        stop_elsewhere = g.get(inst, "stop", cur)
        start_here = g.get(inst, "start", nxt)
        if (
            cur != nxt
            and stop_elsewhere is not None
            and not stop_elsewhere.runnable
            and start_here is not None
            and start_here.runnable
        ):
            start_here.runnable = False
            start_here.block_reason = stop_elsewhere.block_reason or "node availability"
            changed = True
    start = g.get(inst, "start", nxt)
    stop = g.get(inst, "stop", nxt)
    reload = g.get(inst, "reload", nxt)
    if reload is not None and reload.required and start is not None and start.required:
        reload.required = False  # restarted anyway: the new parameters come with the start
        changed = True
    if start is None or stop is None:
        return changed
    if start.required and start.runnable and not stop.required:
        stop.required = True
        changed = True
    if stop.required and not start.required and start.runnable:
        start.required = True
        if not start.reason and not stop.reason.startswith("required "):
            # A start required only by its own stop, itself required by an order, names no
            # reason in Pacemaker (the order's reason stays on the stop).
            start.reason = stop.reason
        changed = True
    if not start.runnable and not stop.required:
        stop.required = True
        changed = True
    return changed


def _block_colocated(w: Working, g: Graph) -> None:
    """A dependent of a mandatory colocation cannot start where its primary cannot start."""
    for col in w.config.colocations:
        if col.score < INFINITY:
            continue
        prims = w.members_of(col.with_resource)
        if col.with_resource in w.group_members:
            prims = prims[:1]
        deps = w.members_of(col.resource)
        if col.resource in w.group_members:
            deps = deps[:1]
        if not prims:
            continue
        if col.with_resource in w.clone_children:
            starts = [g.get(p, "start", p.assigned) for p in prims]
            if any(s is not None and s.runnable for s in starts) or any(p.running_on for p in prims):
                continue
        blocked = True
        for p in prims:
            s = g.get(p, "start", p.assigned)
            if s is not None and s.runnable:
                blocked = False
        if not blocked:
            continue
        for d in deps:
            # A colocation of the Promoted role only holds back the promotion.
            task = "promote" if col.resource_role is Role.PROMOTED else "start"
            s = g.get(d, task, d.assigned)
            if s is not None and s.runnable:
                s.runnable = False
                s.block_reason = f"colocation with {col.with_resource}"


def _order_edges(w: Working, g: Graph) -> list[OrderEdge]:
    """Every ordering to honour.

    Order constraints come before the groups' own member orderings, so that a restart caused by
    something outside a group names that cause. A constraint on a group as "then" reaches every
    member (through the group's start, as in Pacemaker). Orders sharing a "one-or-more:" id (a
    require-all=false set) become one edge that needs any one of their firsts.
    """
    out: list[OrderEdge] = []
    pooled: dict[tuple[str, str, str], OrderEdge] = {}
    for order in w.config.orders:
        firsts = w.members_of(order.first)
        thens = w.members_of(order.then)
        if not firsts or not thens:
            continue
        mandatory = order.kind is OrderKind.MANDATORY
        fa = _task(order.first_action)
        ta = _task(order.then_action)
        need: int | None = None
        label = f"{order.first} {fa}"
        if order.first in w.group_members and fa == "start":
            label = f"{order.first} running"
        if order.first in w.clone_children:
            clone_min = _first_min(w, order)
            need = clone_min or 1
            label = (
                f"clone-one-or-more:{order.id}"
                if clone_min
                else f"{order.first} {'running' if fa == 'start' else fa}"
            )
        if not order.require_all:
            key = (order.id, order.then, ta)
            if key in pooled:
                prev = pooled[key]
                pooled[key] = OrderEdge(
                    prev.firsts + firsts, fa, thens, ta, mandatory, order.id, 1, one_or_more=True
                )
            else:
                pooled[key] = OrderEdge(firsts, fa, thens, ta, mandatory, order.id, 1, one_or_more=True)
            continue
        if _interleaved(w, order):
            # Each copy of the "then" clone waits only for the copy of the first on its own node.
            for t in thens:
                local = [f for f in firsts if f.assigned is not None and f.assigned == t.assigned]
                local = local or [f for f in firsts if t.current_node and f.current_node == t.current_node]
                if not local:
                    continue
                out.append(OrderEdge(local, fa, [t], ta, mandatory, f"{local[0].id} {fa}"))
                if order.symmetrical and fa == "start" and ta == "start":
                    out.append(OrderEdge([t], "stop", local, "stop", mandatory, f"{t.id} stop", inverse=True))
            continue
        # An asymmetrical Mandatory order only keeps the then from starting without the first
        # (Pacemaker's pe_order_asymmetrical): a restart of the first does not carry over.
        implies = (mandatory and order.symmetrical) or (
            order.kind is OrderKind.OPTIONAL and _restart_type(w, order.then, thens) == "restart"
        )
        # Through a clone-min "one or more" step, starting more copies restarts nothing after it.
        carries = implies and not (order.first in w.clone_children and _first_min(w, order))
        out.append(
            OrderEdge(
                firsts,
                fa,
                thens,
                ta,
                mandatory,
                label,
                need,
                order.symmetrical,
                carries,
                one_or_more=label.startswith("clone-one-or-more:"),
            )
        )
        if order.symmetrical and fa == "start" and ta == "start":
            inverse = OrderEdge(
                thens, "stop", firsts, "stop", mandatory, f"{order.then} stop", need, inverse=True
            )
            out.append(replace(inverse, implies=implies))
    for edge in pooled.values():
        out.append(edge)
        out.append(
            OrderEdge(edge.thens, "stop", edge.firsts, "stop", edge.mandatory, edge.label, 1, inverse=True)
        )
    for gid, members in w.group_members.items():
        ordered = True
        for rsc in w.config.resources:
            if rsc.id == gid:
                ordered = is_true(rsc.meta.get("ordered"), True)
        if not ordered:
            continue
        for prev_m, cur in itertools.pairwise(members):
            out.append(
                OrderEdge([prev_m], "start", [cur], "start", True, f"{prev_m.id} start", group_order=True)
            )
            out.append(
                OrderEdge(
                    [cur], "stop", [prev_m], "stop", True, f"{cur.id} stop", inverse=True, group_order=True
                )
            )
    return out


def _restart_type(w: Working, rid: str, members: list[Inst]) -> str | None:
    """The deprecated restart-type meta of an order's then (a primitive's own, with what it inherits)."""
    if len(members) == 1 and members[0].id == rid:
        return members[0].meta.get("restart-type")
    return _top_meta(w, rid).get("restart-type") or w.config.rsc_defaults.get("restart-type")


def _first_min(w: Working, order: Order) -> int:
    """How many copies of a cloned `first` must be able to act (0: no such minimum): the clone's
    clone-min, else the order's own (a CIB's require-all=false)."""
    return meta_score(_top_meta(w, order.first), "clone-min", 0) or order.first_min


def _interleaved(w: Working, order: Order) -> bool:
    """Clone to clone, each copy of `then` waiting only for the copy of `first` on its node (not
    when a minimum number of first copies counts, wherever they run)."""
    return (
        order.first in w.clone_children
        and order.then in w.clone_children
        and is_true(_top_meta(w, order.then).get("interleave"))
        and not _first_min(w, order)
    )


def _top_meta(w: Working, rsc_id: str) -> dict[str, str]:
    """The meta attributes of a top-level resource (primitive, group or clone) as configured."""
    for rsc in w.config.resources:
        if rsc.id == rsc_id:
            return dict(rsc.meta)
    return {}


def _task(action: str) -> str:
    return {"running": "start", "stopped": "stop", "promoted": "promote", "demoted": "demote"}.get(
        action, action
    )


def _inverse_implies(edge: OrderEdge) -> bool:
    """Whether the inverse of an order makes its earlier stop required when the later one is.

    Pacemaker's implies-first (the inverse of a symmetrical order) only makes a "first" required
    when the flags it computes for the first's action for ordering purposes are already required
    while the action itself is optional: never for a primitive, whose flags are its own; for a
    clone, whose flags sum up its copies on the then's node, it can. A primitive is restarted by
    the forward order instead (its first's start required), which a live migration does not carry.
    A group's own stop sequence is a restart ordering and always carries."""
    return edge.group_order or any(f.clone is not None for f in edge.firsts)
