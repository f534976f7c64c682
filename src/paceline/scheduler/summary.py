"""crm_simulate-style Transition Summary lines, one per resource change, in Pacemaker's words."""

from __future__ import annotations

from ..model.enums import Role
from .actions import Graph
from .unpack import Working
from .working import Inst

__all__ = ["summarize"]


def summarize(w: Working, g: Graph) -> list[str]:
    lines = [
        f"Fence ({w.config.options.stonith_action}) {node} '{reason}'" for node, reason in g.fences.items()
    ]
    for unit in w.units:
        for inst in unit.members:
            lines.extend(_inst_lines(w, g, inst))
    return lines


def _fmt(verb: str, rsc: str, where: str, reason: str = "") -> str:
    line = f"{verb:<10} {rsc} ( {where} )"
    if reason:
        line += f"  {reason}"
    return line


def _role_name(role: Role | None) -> str:
    if role is None or role in (Role.STARTED, Role.UNKNOWN):
        return "Unpromoted"
    return str(role.value)


def _inst_lines(w: Working, g: Graph, inst: Inst) -> list[str]:
    if not inst.managed:
        return []
    promotable = _is_promotable(w, inst)
    cur_nodes = inst.running_on
    cur = cur_nodes[0] if cur_nodes else None
    nxt = inst.assigned
    start = g.get(inst, "start", nxt)
    stop = g.get(inst, "stop", cur)
    out: list[str] = []
    if inst.blocked:
        return out
    if cur is None and nxt is None:
        return out
    if cur is None:
        assert start is not None and nxt is not None
        if promotable and inst.next_role is Role.PROMOTED:
            promote = g.get(inst, "promote", nxt)
            blocked = not start.runnable or (promote is not None and not promote.runnable)
            # Pacemaker names the promote's own reason here, not the start's.
            reason = promote.block_reason if promote is not None else start.block_reason
            return [
                _fmt(
                    "Promote",
                    inst.id,
                    f"Stopped -> Promoted {nxt}",
                    _blocked(reason) if blocked else "",
                )
            ]
        if start.runnable:
            out.append(_fmt("Start", inst.id, nxt))
        else:
            out.append(_fmt("Start", inst.id, nxt, _blocked(start.block_reason)))
        out.extend(_role_lines(g, inst, None, nxt))
        return out
    if len(cur_nodes) > 1:
        if inst.meta.get("multiple-active") == "block":
            return []
        if nxt is None:
            return [_fmt("Stop", inst.id, n, "due to node availability") for n in cur_nodes]
        if nxt in cur_nodes:
            unexpected = inst.meta.get("multiple-active") == "stop_unexpected" and inst.failed
            return [
                _fmt(
                    "Recover" if inst.failed else "Restart",
                    inst.id,
                    nxt,
                    "due to being multiply active" if unexpected else "",
                )
            ]
        return [_fmt("Recover" if inst.failed else "Move", inst.id, f"{cur} -> {nxt}")]
    assert stop is not None
    stop_sfx = "" if stop.runnable else " (blocked)"
    if nxt is None or (start is not None and not start.runnable):
        if not stop.runnable:
            where = f"{_role_name(inst.current.get(cur))} {cur}" if promotable else cur
            return [
                _fmt(
                    "Stop",
                    inst.id,
                    where,
                    # Pacemaker's action has one reason, the first given: the stop's own
                    # (node availability) before what made it unrunnable.
                    _blocked(stop.reason or stop.block_reason),
                )
            ]
        reason = stop.reason if nxt is None else (start.block_reason if start else "")
        where = f"{_role_name(inst.current.get(cur))} {cur}" if promotable else cur
        out.append(_fmt("Stop", inst.id, where, f"due to {reason}{stop_sfx}" if reason else stop_sfx.strip()))
        return out
    assert start is not None
    if nxt != cur:
        verb = "Recover" if inst.failed else "Move"
        blocker = None
        if can_migrate(w, inst):
            blocker = _migration_blocker(w, g, inst)
            verb = "Migrate" if blocker is None else "Move"
        where = f"{cur} -> {nxt}"
        if promotable:
            before, will = _role_name(inst.current.get(cur)), _role_name(inst.next_role)
            where = f"{cur} -> {nxt} {will}" if before == will else f"{before} {cur} -> {will} {nxt}"
        out.append(_fmt(verb, inst.id, where, f"due to unrunnable {blocker} stop" if blocker else ""))
        return out
    was = inst.current.get(cur)
    role_change = promotable and _role_name(was) != _role_name(inst.next_role)
    here = f"{_role_name(was)} {cur}" if promotable else cur
    if inst.failed and cur in inst.failed_on:
        if role_change:
            here = f"{_role_name(was)} -> {_role_name(inst.next_role)} {cur}"
        out.append(_fmt("Recover", inst.id, here))
        return out
    if start.required and stop.required:
        if role_change:
            here = f"{_role_name(was)} -> {_role_name(inst.next_role)} {cur}"
        out.append(_fmt("Restart", inst.id, here, f"due to {start.reason}" if start.reason else ""))
        return out
    reload = g.get(inst, "reload", cur)
    if reload is not None and reload.required and reload.runnable:
        out.append(_fmt("Reload", inst.id, cur))
    out.extend(_role_lines(g, inst, cur, nxt))
    return out


def _blocked(reason: str) -> str:
    """crm_simulate's suffix for an action that cannot run: with its reason when there is one."""
    return f"due to {reason} (blocked)" if reason else "blocked"


def _role_lines(g: Graph, inst: Inst, cur: str | None, nxt: str) -> list[str]:
    out: list[str] = []
    was = inst.current.get(cur) if cur else None
    promote = g.get(inst, "promote", nxt)
    if was is Role.PROMOTED and inst.next_role is Role.PROMOTED and cur == nxt and inst.demote_required:
        return [_fmt("Re-promote", inst.id, f"Promoted {nxt}")] if promote and promote.runnable else []
    if was is Role.PROMOTED and inst.next_role is not Role.PROMOTED and cur == nxt:
        out.append(_fmt("Demote", inst.id, f"Promoted -> Unpromoted {nxt}"))
    if promote is not None and promote.required and promote.runnable:
        before = "Unpromoted" if cur == nxt else "Stopped"
        out.append(_fmt("Promote", inst.id, f"{before} -> Promoted {nxt}"))
    return out


def _is_promotable(w: Working, inst: Inst) -> bool:
    if inst.clone is None:
        return False
    return any(getattr(r, "promotable", False) for r in w.config.resources if r.id == inst.clone)


def can_migrate(w: Working, inst: Inst) -> bool:
    """Moving live (migrate_to/migrate_from) is possible: allowed, not failed, the source alive."""
    cur = inst.current_node
    if cur is None or inst.assigned is None or cur == inst.assigned or inst.failed or not is_migratable(inst):
        return False
    return w.nodes[cur].online and not w.nodes[cur].unclean


def _migration_blocker(w: Working, g: Graph, inst: Inst) -> str | None:
    """Something this resource is ordered after that stops without migrating: then this one must
    stop and start too (it cannot run through its dependency's outage). Names that dependency."""
    for edge in g.orders:
        if (
            not edge.mandatory
            or edge.first_task != "start"
            or edge.then_task != "start"
            or inst not in edge.thens
        ):
            continue
        for f in edge.firsts:
            if f.clone is not None:
                # A clone's copy only matters on the destination: one still to start there blocks.
                blocking = f.assigned == inst.assigned and f.current_node != inst.assigned
            else:
                stopping = any((a := g.get(f, "stop", n)) is not None and a.required for n in f.running_on)
                blocking = stopping and not can_migrate(w, f)
            if blocking:
                return edge.label.split(" ", 1)[0]
    return None


def is_migratable(inst: Inst) -> bool:
    value = inst.meta.get("allow-migrate")
    return value is not None and value.strip().lower() in ("true", "yes", "1", "on")
