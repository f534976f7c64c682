"""Build the working set from configuration and observed state.

Duties: expand groups and clones into instances; derive each instance's current role per node from
its operation history (as Pacemaker's status unpacking does: the last operations by call id decide,
failures mark the instance failed and may ban nodes); compute node availability and health.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cmp_to_key

from ..model.config import Clone, Configuration, Group, Location, Op, Primitive
from ..model.enums import HealthStrategy, NoQuorumPolicy, OnFail, OpStatus, Role
from ..model.scores import INFINITY, add_scores, parse_score
from ..model.state import ClusterState, OpRecord
from .meta import duration_seconds, effective_meta, is_true, meta_score
from .working import Inst, NodeInfo, Unit

__all__ = ["Working", "unpack"]

_ON_FAIL_RANK = {
    OnFail.IGNORE: 0,
    OnFail.DEMOTE: 1,
    OnFail.RESTART: 2,
    OnFail.BLOCK: 4,
    OnFail.STOP: 5,
    OnFail.STANDBY: 6,
    OnFail.FENCE: 7,
    OnFail.RESTART_CONTAINER: 8,
}


@dataclass
class Working:
    config: Configuration
    state: ClusterState
    now: float
    nodes: dict[str, NodeInfo]
    insts: dict[str, Inst]
    units: list[Unit]
    unit_of: dict[str, Unit]
    clone_children: dict[str, list[Inst]] = field(default_factory=dict)
    group_members: dict[str, list[Inst]] = field(default_factory=dict)
    have_stonith_resource: bool = False
    promotion_locations: list[tuple[Inst, Location]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def node_list(self) -> list[NodeInfo]:
        return sorted(self.nodes.values(), key=lambda n: n.index)

    def members_of(self, rsc_id: str) -> list[Inst]:
        """The instances a constraint on `rsc_id` refers to (a primitive, group or clone)."""
        if rsc_id in self.insts:
            return [self.insts[rsc_id]]
        if rsc_id in self.group_members:
            return self.group_members[rsc_id]
        if rsc_id in self.clone_children:
            return self.clone_children[rsc_id]
        return []


def unpack(config: Configuration, state: ClusterState, now: float) -> Working:
    nodes = _nodes(config, state)
    insts: dict[str, Inst] = {}
    units: list[Unit] = []
    unit_of: dict[str, Unit] = {}
    w = Working(config, state, now, nodes, insts, units, unit_of)
    for rsc in config.resources:
        if isinstance(rsc, Primitive):
            inst = _make_inst(w, rsc, None, None, rsc.id)
            unit = Unit(rsc.id, [inst], "primitive", inst.priority)
        elif isinstance(rsc, Group):
            members = [_make_inst(w, m, rsc, None, m.id) for m in rsc.members]
            w.group_members[rsc.id] = members
            unit = Unit(rsc.id, members, "group", members[0].priority if members else 0)
        else:
            members = _expand_clone(w, rsc)
            w.clone_children[rsc.id] = members
            unit = Unit(rsc.id, members, "clone", meta_score(dict(rsc.meta), "priority", 0))
        units.append(unit)
        for m in unit.members:
            unit_of[m.id] = unit
        unit_of[rsc.id] = unit
    opts = config.options
    if not state.have_quorum and opts.no_quorum_policy is NoQuorumPolicy.SUICIDE and opts.stonith_enabled:
        for info in nodes.values():
            if info.online and not info.unclean:
                info.unclean = True
                info.fence_reason = "cluster does not have quorum"
    w.have_stonith_resource = any(p.agent.standard == "stonith" for p in config.primitives())
    if opts.stonith_enabled and not w.have_stonith_resource and not opts.watchdog_fencing:
        # As Pacemaker: with fencing required but no fence device, nothing can be recovered safely,
        # so every resource is left alone (unmanaged).
        for inst in insts.values():
            inst.managed = False
    _apply_history(w)
    _hands_off(w)
    for inst in insts.values():
        if any(nodes[n].maintenance for n in inst.running_on):
            inst.managed = False  # what runs on a node in maintenance is left alone
    _apply_tickets(w)
    return w


def _hands_off(w: Working) -> None:
    """Unknown means hands off: what uses a feature Paceline does not schedule (a CIB's bundles,
    remote and guest nodes), and whatever depends on it through a colocation (the dependent) or an
    order (the then), is left as it is (unmanaged) and reported."""
    ho = w.config.hands_off
    if not ho:
        return
    why: dict[str, str] = {}
    for inst in w.insts.values():
        reason = ho.covers(inst.id) or ho.covers(inst.prim.id)
        if reason is None and inst.known_on & set(ho.nodes):
            reason = "runs on a remote or guest node"
        if reason is not None:
            why[inst.id] = f"uses {reason}"

    def side(rsc_id: str) -> tuple[list[Inst], str | None]:
        members = w.members_of(rsc_id)
        reason = ho.covers(rsc_id)
        if reason is not None:
            return members, f"depends on {reason}"
        hit = next((m for m in members if m.id in why), None)
        return members, (f"depends on {hit.id}" if hit is not None else None)

    links = [(c.with_resource, c.resource) for c in w.config.colocations]
    links += [(o.first, o.then) for o in w.config.orders]
    changed = True
    while changed:
        changed = False
        for primary, dependent in links:
            _, reason = side(primary)
            if reason is None:
                continue
            for inst in w.members_of(dependent):
                if inst.id not in why:
                    why[inst.id] = f"{reason} ({primary})" if not reason.endswith(f"{primary}") else reason
                    changed = True
    for inst_id, reason in sorted(why.items()):
        inst = w.insts[inst_id]
        if inst.managed:
            inst.managed = False
            w.warnings.append(
                f"{inst_id} is left as it is (unmanaged): it {reason}, which Paceline does not support"
            )


def _apply_tickets(w: Working) -> None:
    """Resources whose ticket is revoked or in standby give way, per their loss-policy."""
    states = {t.id: t for t in w.state.tickets}
    for tc in w.config.tickets:
        st = states.get(tc.ticket)
        granted = st is not None and st.granted
        standby = st is not None and st.standby
        if granted and not standby:
            continue
        targets = w.members_of(tc.resource)
        policy = tc.loss_policy
        if granted:  # standby: a graceful step back (a Promoted role is demoted unless policy is stop)
            policy = "stop" if tc.role is not Role.PROMOTED or policy == "stop" else "demote"
        why = f"ticket {tc.ticket} is {'in standby' if granted else 'not granted'}"
        if tc.role is Role.PROMOTED and policy != "stop":
            # demote, freeze: no copy may be promoted; fence: and the Promoted one's node goes.
            for inst in targets:
                inst.no_promote = True
                if policy == "fence":
                    for n, r in inst.current.items():
                        if r is Role.PROMOTED and not w.nodes[n].unclean:
                            w.nodes[n].unclean = True
                            w.nodes[n].fence_reason = "deadman ticket was lost"
            continue
        for inst in targets:
            if policy == "freeze":
                keep = set(inst.running_on)
                for n in w.nodes:
                    if n not in keep:
                        inst.add_score(n, -INFINITY, "ticket", why)
                continue
            if policy == "fence":
                for n in inst.running_on:
                    info = w.nodes[n]
                    if not info.unclean:
                        info.unclean = True
                        info.fence_reason = "deadman ticket was lost"
            for n in w.nodes:
                inst.add_score(n, -INFINITY, "ticket", why)


def _nodes(config: Configuration, state: ClusterState) -> dict[str, NodeInfo]:
    out: dict[str, NodeInfo] = {}
    for i, node in enumerate(config.nodes):
        st = state.node(node.name)
        attrs = dict(node.attributes)
        if st is not None:
            attrs.update(st.attributes)
        attrs["#uname"] = node.name
        attrs["#id"] = node.id or node.name
        attrs["#kind"] = "cluster" if node.type == "member" else node.type
        attrs["#is_dc"] = "true" if state.dc == node.name else "false"
        attrs.setdefault("#cluster-name", config.name)
        info = NodeInfo(
            name=node.name,
            index=i,
            online=st.online if st else False,
            unclean=st.unclean if st else False,
            standby=(st.standby if st else False) or is_true(attrs.get("standby")),
            maintenance=(st.maintenance if st else False) or config.options.maintenance_mode,
            shutdown=st.shutdown if st else False,
            pending=st.pending if st else False,
            fence_reason=(st.unclean_reason or "node is unclean") if st and st.unclean else "",
            attributes=attrs,
            utilization=dict(node.utilization),
        )
        info.health_score = _health_score(config, attrs)
        out[node.name] = info
    return out


def _health_score(config: Configuration, attrs: dict[str, str]) -> int:
    opts = config.options
    strategy = opts.node_health_strategy
    if strategy is HealthStrategy.NONE:
        return 0
    total = opts.node_health_base if strategy is HealthStrategy.PROGRESSIVE else 0
    colours = {
        "red": opts.node_health_red,
        "yellow": opts.node_health_yellow,
        "green": opts.node_health_green,
    }
    for name, value in attrs.items():
        if not name.startswith("#health"):
            continue
        v = value.strip().lower()
        if strategy is HealthStrategy.ONLY_GREEN:
            score = 0 if v == "green" else -INFINITY
        elif strategy is HealthStrategy.MIGRATE_ON_RED:
            score = -INFINITY if v == "red" else 0
        elif v in colours:
            score = colours[v]
        else:
            try:
                score = parse_score(v)
            except ValueError:
                score = 0
        total = add_scores(total, score)
    return total


def _make_inst(w: Working, prim: Primitive, group: Group | None, clone: Clone | None, inst_id: str) -> Inst:
    meta = effective_meta(w.config, prim, group, clone)
    default_stickiness = 1 if clone is not None else 0
    inst = Inst(
        id=inst_id, prim=prim, meta=meta, group=group.id if group else None, clone=clone.id if clone else None
    )
    managed_default = not w.config.options.maintenance_mode
    inst.managed = is_true(meta.get("is-managed"), managed_default) and not (
        w.config.options.maintenance_mode or is_true(meta.get("maintenance"))
    )
    role_text = meta.get("target-role")
    if role_text:
        try:
            inst.target_role = Role.parse(role_text)
        except ValueError:
            w.warnings.append(f"{inst_id}: invalid target-role {role_text!r} ignored")
    inst.stickiness = meta_score(
        meta, "resource-stickiness", meta_score(meta, "default-resource-stickiness", default_stickiness)
    )
    threshold = meta_score(meta, "migration-threshold", INFINITY)
    inst.migration_threshold = threshold
    inst.failure_timeout_s = duration_seconds(meta.get("failure-timeout"))
    inst.priority = meta_score(meta, "priority", 0)
    w.insts[inst_id] = inst
    return inst


def _expand_clone(w: Working, clone: Clone) -> list[Inst]:
    """Anonymous clone instances child:0..child:N-1 (N = clone-max, default the node count)."""
    n_nodes = len(w.config.nodes)
    count = meta_score(dict(clone.meta), "clone-max", n_nodes)
    out: list[Inst] = []
    child = clone.child
    for i in range(max(0, count)):
        if isinstance(child, Primitive):
            out.append(_make_inst(w, child, None, clone, f"{child.id}:{i}"))
        else:
            group_id = f"{child.id}:{i}"
            members = [_make_inst(w, m, child, clone, f"{m.id}:{i}") for m in child.members]
            for m in members:
                m.group = group_id
            w.group_members[group_id] = members
            out.extend(members)
    return out


# --- history ---------------------------------------------------------------------------------------


def _apply_history(w: Working) -> None:
    by_rsc_node: dict[tuple[str, str], list[OpRecord]] = {}
    for rec in w.state.history:
        by_rsc_node.setdefault((rec.resource, rec.node), []).append(rec)
    clone_slots: dict[str, dict[str, Inst]] = defaultdict(dict)
    active_claims: dict[str, set[str]] = {}
    # Several history entries (e.g. "child:0" probed, "child:1" running) may map to one instance on
    # one node: each is replayed on its own and the most active outcome counts.
    merged: dict[tuple[str, str, str], tuple[Inst, list[OpRecord]]] = {}

    # Entries that show the resource active claim clone instance numbers first (Pacemaker numbers
    # anonymous instances by the active copies it finds, in status order).
    # The status section's order (when the state came from one), then node names, break ties:
    # never the order the history happens to arrive in.
    position = {n.name: n.status_position for n in w.state.nodes}

    def claim_order(kv: tuple[tuple[str, str], list[OpRecord]]) -> tuple[int, int, str, str]:
        (rsc_id, node), records = kv
        return (0 if _entry_active(records) else 1, position.get(node, 0), node, rsc_id)

    entries = sorted(by_rsc_node.items(), key=claim_order)
    for (rsc_id, node), records in entries:
        info = w.nodes.get(node)
        if info is None or not (info.online or (info.unclean and w.config.options.stonith_enabled)):
            continue  # a cleanly stopped node runs nothing; its history is stale
        inst = _instance_for(w, rsc_id, node, records, clone_slots, active_claims)
        if inst is None:
            continue
        merged[(inst.id, node, rsc_id)] = (inst, list(records))
    for (_, node, _), (inst, records) in merged.items():
        inst.known_on.add(node)
        _unpack_ops(w, inst, node, records)


def _instance_for(
    w: Working,
    rsc_id: str,
    node: str,
    records: list[OpRecord],
    clone_slots: dict[str, dict[str, Inst]],
    active_claims: dict[str, set[str]],
) -> Inst | None:
    if rsc_id in w.insts and w.insts[rsc_id].clone is None:
        return w.insts[rsc_id]
    base = rsc_id.split(":", 1)[0]
    # Clone instance: find the clone whose child is `base`.
    for clone_id, members in w.clone_children.items():
        clone = next((r for r in w.config.resources if r.id == clone_id and isinstance(r, Clone)), None)
        prim = next((p for p in clone.primitives() if p.id == base), None) if clone is not None else None
        if clone is None or prim is None:
            continue
        candidates = [m for m in members if m.prim.id == base]
        if not candidates:  # clone-max 0: whatever runs is a copy to stop
            if not _entry_active(records):
                return None
            if is_true(effective_meta(w.config, prim, None, clone).get("globally-unique")) and ":" in rsc_id:
                if rsc_id not in w.insts:
                    _extra_instance(w, clone, prim, rsc_id.split(":", 1)[1])
                return w.insts[rsc_id]  # a unique copy keeps its number
            slots = clone_slots[f"{clone_id}/{base}"]
            if node not in slots:
                slots[node] = _extra_instance(w, clone, prim, len(slots))
            return slots[node]
        if is_true(candidates[0].meta.get("globally-unique")):
            # Unique copies are distinct resources: the history's number names the copy.
            exact = next((m for m in candidates if m.id == rsc_id), None)
            if exact is not None:
                return exact
            if ":" in rsc_id:
                # A numbered copy beyond the configured ones is an orphan that keeps its number
                # (Pacemaker stops `dlm:9`, not the next free `dlm:2`).
                if not _entry_active(records):
                    return None
                if rsc_id in w.insts:
                    return w.insts[rsc_id]
                return _extra_instance(w, clone, prim, rsc_id.split(":", 1)[1])
        slots = clone_slots[f"{clone_id}/{base}"]
        if node in slots:
            key = f"{clone_id}/{base}"
            if not (_entry_active(records) and node in active_claims.get(key, set())):
                if _entry_active(records):
                    active_claims.setdefault(key, set()).add(node)
                return slots[node]
            # A second copy active on the same node: one too many, to be stopped.
            return _extra_instance(w, clone, prim, len(candidates))
        # Anonymous copies are numbered by discovery, whatever number the history recorded.
        unique = is_true(candidates[0].meta.get("globally-unique"))
        preferred = next((m for m in candidates if m.id == rsc_id and m not in slots.values()), None)
        free = (preferred if unique else None) or next(
            (m for m in candidates if m not in slots.values()), None
        )
        if _entry_active(records):
            active_claims.setdefault(f"{clone_id}/{base}", set()).add(node)
        if free is None:
            if not _entry_active(records):
                return None
            free = _extra_instance(w, clone, prim, len(candidates))
        slots[node] = free
        return free
    if rsc_id in w.insts:
        return w.insts[rsc_id]
    # Orphan: in the status section but not configured.
    if not any(_active_record(r) for r in records):
        return None
    from ..model.config import AgentRef

    orphan = Inst(
        id=rsc_id, prim=Primitive(rsc_id, AgentRef("ocf", "unknown", "unknown")), meta={}, orphan=True
    )
    orphan.target_role = Role.STOPPED
    if not w.config.options.stop_orphan_resources:
        orphan.managed = False  # the operator asked to leave removed resources running, unmanaged
    w.insts[rsc_id] = orphan
    unit = Unit(rsc_id, [orphan], "primitive")
    w.units.append(unit)
    w.unit_of[rsc_id] = unit
    return orphan


def _extra_instance(w: Working, clone: Clone, prim: Primitive, number: int | str) -> Inst:
    """A copy running beyond clone-max, to be stopped: an anonymous one numbered on from the
    configured ones, a globally-unique one under the number it has."""
    meta = effective_meta(w.config, prim, None, clone)
    inst = Inst(id=f"{prim.id}:{number}", prim=prim, meta=meta, group=None, clone=clone.id, orphan=True)
    inst.target_role = Role.STOPPED
    w.insts[inst.id] = inst
    w.clone_children[clone.id].append(inst)
    w.unit_of[inst.id] = w.unit_of[clone.id]
    return inst


def _entry_active(records: list[OpRecord]) -> bool:
    """The entry shows the resource active (or failed) there at its newest record."""
    ordered = sorted(records, key=cmp_to_key(_op_order))
    if not ordered:
        return False
    last = ordered[-1]
    if last.task == "stop" and last.rc == 0 and last.status is OpStatus.DONE:
        return False
    return not (last.task == "monitor" and last.interval_ms == 0 and last.rc in (5, 7))


def _active_record(r: OpRecord) -> bool:
    return r.task in ("start", "promote", "migrate_from") or (r.task == "monitor" and r.rc in (0, 8))


def _op_def(inst: Inst, task: str, interval_ms: int) -> Op | None:
    for op in inst.prim.ops:
        if op.name == task and op.interval_ms == interval_ms:
            return op
    return None


def _on_fail_for(w: Working, inst: Inst, rec: OpRecord) -> OnFail:
    op = _op_def(inst, rec.task, rec.interval_ms)
    if op is not None and op.on_fail is not None:
        on_fail = op.on_fail
    elif rec.task == "stop":
        on_fail = OnFail.FENCE if w.config.options.stonith_enabled else OnFail.BLOCK
    else:
        text = w.config.op_defaults.get("on-fail")
        try:
            on_fail = OnFail.parse(text) if text else OnFail.RESTART
        except ValueError:
            on_fail = OnFail.RESTART
    if on_fail is OnFail.FENCE and not w.config.options.stonith_enabled:
        on_fail = OnFail.STOP if rec.task != "stop" else OnFail.BLOCK
    if on_fail is OnFail.DEMOTE and rec.task not in ("monitor", "promote"):
        on_fail = OnFail.RESTART
    return on_fail


def _expired(w: Working, inst: Inst, rec: OpRecord) -> bool:
    if inst.failure_timeout_s <= 0 or rec.last_rc_change is None:
        return False
    return rec.last_rc_change + inst.failure_timeout_s <= w.now


def _op_order(a: OpRecord, b: OpRecord) -> int:
    """Pacemaker's order of a resource's operations on a node: by call id; a pending operation
    (no call id yet) is dated against a completed one by their transition numbers when both are
    known, else it comes last."""
    if a.call_id >= 0 and b.call_id >= 0:
        return (a.call_id > b.call_id) - (a.call_id < b.call_id)
    if a.call_id < 0 and b.call_id < 0:
        return 0
    if a.transition is not None and b.transition is not None and a.transition != b.transition:
        return -1 if a.transition < b.transition else 1
    return 1 if a.call_id < 0 else -1


def _unpack_ops(w: Working, inst: Inst, node: str, records: list[OpRecord]) -> None:
    # By call id. The same call recorded twice (a failure kept as "last failure" and a newer
    # result of the same recurring monitor) counts once: with its newest result.
    newest: dict[tuple[str, int, int], OpRecord] = {}
    for rec in records:
        key = (rec.task, rec.interval_ms, rec.call_id)
        if key not in newest or (rec.last_rc_change or 0.0) > (newest[key].last_rc_change or 0.0):
            newest[key] = rec
    ops = sorted(newest.values(), key=cmp_to_key(_op_order))
    role = Role.STOPPED
    failed = False
    on_fail: OnFail | None = None
    for rec in ops:
        task = rec.task
        if task in ("notify", "meta-data", "validate-all", "cancel", "reload", "reload-agent"):
            continue
        is_probe = task == "monitor" and rec.interval_ms == 0
        if rec.status is OpStatus.PENDING:
            if task == "start":
                role = Role.STARTED
            elif task == "promote":
                role = Role.PROMOTED
            elif task in ("migrate_to", "migrate_from"):
                role = Role.STARTED
            continue
        if rec.status is OpStatus.CANCELLED:
            continue
        rc = {190: 0, 191: 8}.get(rec.rc, rec.rc)
        expected = rec.expected_rc
        outcome = _classify(rec, rc, expected, is_probe)
        if outcome == "ok":
            if rc == 7 or task == "stop":
                role = Role.STOPPED
                failed, on_fail = _clear(failed, on_fail)
            elif task == "start":
                role = Role.STARTED
                failed, on_fail = _clear(failed, on_fail)
                if rec.op_digest:
                    inst.start_digest[node] = rec
            elif task == "promote":
                role = Role.PROMOTED
                failed, on_fail = _clear(failed, on_fail)
            elif task == "demote":
                role = Role.UNPROMOTED
                if on_fail is OnFail.DEMOTE:
                    failed, on_fail = False, None
            elif task == "migrate_from":
                role = Role.STARTED
                failed, on_fail = _clear(failed, on_fail)
            elif task == "migrate_to":
                role = Role.STARTED
            elif rc == 8:
                role = Role.PROMOTED
            elif role.rank < Role.STARTED.rank:
                role = Role.STARTED
            if is_probe and rec.op_digest and rc in (0, 8):
                inst.start_digest[node] = rec  # found running: its parameters are checked like a start's
            continue
        # A failure.
        if _expired(w, inst, rec) and not _failcount_live(w, inst, node):
            continue
        this_fail = _on_fail_for(w, inst, rec)
        if this_fail is OnFail.IGNORE:
            inst.failure_ignored = True
            if task == "start" or (task == "monitor" and rc != 7):
                role = Role.STARTED if role.rank < Role.STARTED.rank else role
            continue
        if outcome in ("hard", "fatal"):
            # An anonymous clone is banned as a whole: its copies are interchangeable.
            banned = [inst]
            if inst.clone is not None and not is_true(inst.meta.get("globally-unique")):
                banned = w.clone_children.get(inst.clone, [inst])
            for target in banned:
                if outcome == "fatal":
                    for n in w.nodes:
                        target.add_score(
                            n, -INFINITY, "fatal-error", f"{task} on {node} failed (rc {rec.rc})"
                        )
                else:
                    target.add_score(node, -INFINITY, "hard-error", f"{task} failed (rc {rec.rc})")
            if is_probe and (rc == 5 or rec.status is OpStatus.NOT_INSTALLED):
                role = Role.STOPPED  # not installed here: nothing runs, nothing to recover
                continue
        if on_fail is None or _ON_FAIL_RANK[this_fail] > _ON_FAIL_RANK[on_fail]:
            on_fail = this_fail
        failed = True
        if task == "stop":
            inst.add_score(node, -INFINITY, "stop-failure", "stop failed here")
            if role.rank < Role.STARTED.rank:
                role = Role.STARTED
        elif task == "promote" or rc in (8, 9):
            role = Role.PROMOTED
        elif task == "demote":
            # Left Promoted when the failure blocks it; else Unpromoted, even for "not running"
            # (the suite's promoted-failed-demote and promoted-demote-block say so).
            role = Role.PROMOTED if this_fail is OnFail.BLOCK else Role.UNPROMOTED
        elif task == "monitor" and rc == 7 and not is_probe:
            role = role if role.rank >= Role.STARTED.rank else Role.STARTED
        elif role.rank < Role.STARTED.rank:
            role = Role.STARTED
    previous = inst.current.get(node)
    if previous is None or role.rank > previous.rank:
        inst.current[node] = role
    if w.nodes[node].unclean:
        # The node will be fenced (even if still online): whatever failed there stops with it;
        # Pacemaker ignores on-fail and names the moves Move, not Recover.
        failed, on_fail = False, None
    if failed and on_fail is OnFail.DEMOTE and inst.current.get(node) is Role.PROMOTED:
        # on-fail=demote: a failed Promoted monitor (or promote) is answered by demoting in place,
        # not by a recovery (constraints on the fail count decide whether it is promoted again).
        inst.demote_required = True
        return
    if failed:
        inst.failed_on.add(node)
        if inst.on_fail is None or (
            on_fail is not None and _ON_FAIL_RANK[on_fail] > _ON_FAIL_RANK[inst.on_fail]
        ):
            inst.on_fail = on_fail
        info = w.nodes[node]
        if on_fail is OnFail.FENCE:
            if not info.unclean:
                info.fence_reason = f"{inst.id} failed there"
            info.unclean = True
        elif on_fail is OnFail.STANDBY:
            info.standby = True
        elif on_fail is OnFail.BLOCK:
            inst.blocked = True
        elif on_fail is OnFail.STOP:
            inst.target_role = Role.STOPPED


def _clear(failed: bool, on_fail: OnFail | None) -> tuple[bool, OnFail | None]:
    if on_fail in (None, OnFail.IGNORE, OnFail.RESTART, OnFail.DEMOTE, OnFail.RESTART_CONTAINER):
        return False, None
    return failed, on_fail


def _classify(rec: OpRecord, rc: int, expected: int | None, is_probe: bool) -> str:
    if rec.status in (OpStatus.ERROR_HARD, OpStatus.NOT_INSTALLED):
        return "hard"
    if rec.status is OpStatus.ERROR_FATAL:
        return "fatal"
    if rec.status in (OpStatus.TIMEOUT, OpStatus.NOT_SUPPORTED):
        return "fail"
    if rec.status is OpStatus.ERROR and rc == 0:
        return "fail"
    if rc == 7:
        if is_probe or expected == 7 or rec.task == "stop":
            return "ok"
        return "fail"
    if rc == 0:
        if expected in (None, 0, 7) or is_probe:
            return "ok"
        return "fail"
    if rc == 8:
        if is_probe or expected in (None, 8):
            return "ok"
        return "fail"
    if rc == 3 and rec.interval_ms > 0:
        return "fail"
    if rc in (2, 3, 4, 5):
        return "hard"
    if rc == 6:
        return "fatal"
    return "fail"


_FAILCOUNT_NAME = re.compile(r"^(?P<rsc>[^#]+)")


def _failcount_live(w: Working, inst: Inst, node: str) -> bool:
    return failcount(w, inst, node) > 0


def failcount(w: Working, inst: Inst, node: str) -> int:
    """Unexpired fail count of an instance on a node (clone instances share their base name's)."""
    names = {inst.id, inst.prim.id, inst.id.split(":", 1)[0]}
    total = 0
    for rec in w.state.failures:
        if rec.node != node or rec.resource not in names:
            continue
        expired = rec.last_failure is not None and rec.last_failure + inst.failure_timeout_s <= w.now
        if inst.failure_timeout_s > 0 and expired:
            continue
        total = add_scores(total, rec.count)
    return total
