"""crm_simulate-style Transition Summary lines, one per resource change, in Pacemaker's words."""

from __future__ import annotations

from ..model.enums import Role
from .actions import Graph
from .unpack import Working
from .working import Inst

__all__ = ["summarize"]


def summarize(w: Working, g: Graph) -> list[str]:
    lines = [f"Fence ({w.config.options.stonith_action}) {node} '{reason}'" for node, reason in g.fences.items()]
    for inst in w.insts.values():
        lines.extend(_inst_lines(w, g, inst))
    return lines


def _fmt(verb: str, rsc: str, where: str, reason: str = "") -> str:
    line = f"{verb:<10} {rsc} ( {where} )"
    if reason:
        line += f"  {reason}"
    return line


def _inst_lines(w: Working, g: Graph, inst: Inst) -> list[str]:
    if not inst.managed:
        return []
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
        if start.runnable:
            out.append(_fmt("Start", inst.id, nxt))
        else:
            out.append(_fmt("Start", inst.id, nxt, f"due to {start.block_reason} (blocked)"))
        out.extend(_role_lines(g, inst, None, nxt))
        return out
    if len(cur_nodes) > 1:
        if inst.meta.get("multiple-active") == "block":
            return []
        if nxt is None:
            return [_fmt("Stop", inst.id, n, "due to node availability") for n in cur_nodes]
        if nxt in cur_nodes:
            unexpected = inst.meta.get("multiple-active") == "stop_unexpected" and inst.failed
            return [_fmt("Recover" if inst.failed else "Restart", inst.id, nxt,
                         "due to being multiply active" if unexpected else "")]
        return [_fmt("Move", inst.id, f"{cur} -> {nxt}")]
    assert stop is not None
    stop_sfx = "" if stop.runnable else " (blocked)"
    if nxt is None or (start is not None and not start.runnable):
        if not stop.runnable:
            return [_fmt("Stop", inst.id, cur, f"due to {stop.block_reason} (blocked)" if stop.block_reason
                         else "blocked")]
        reason = stop.reason if nxt is None else (start.block_reason if start else "")
        out.append(_fmt("Stop", inst.id, cur, f"due to {reason}{stop_sfx}" if reason else stop_sfx.strip()))
        return out
    assert start is not None
    if nxt != cur:
        verb = "Recover" if inst.failed else "Move"
        if not inst.failed and is_migratable(inst) and w.nodes[cur].online and not w.nodes[cur].unclean:
            verb = "Migrate"
        out.append(_fmt(verb, inst.id, f"{cur} -> {nxt}"))
        out.extend(_role_lines(g, inst, cur, nxt))
        return out
    if inst.failed and cur in inst.failed_on:
        out.append(_fmt("Recover", inst.id, cur))
    elif start.required and stop.required:
        out.append(_fmt("Restart", inst.id, cur, f"due to {start.reason}" if start.reason else ""))
    out.extend(_role_lines(g, inst, cur, nxt))
    return out


def _role_lines(g: Graph, inst: Inst, cur: str | None, nxt: str) -> list[str]:
    out: list[str] = []
    was = inst.current.get(cur) if cur else None
    promote = g.get(inst, "promote", nxt)
    if was is Role.PROMOTED and inst.next_role is not Role.PROMOTED and cur == nxt:
        out.append(_fmt("Demote", inst.id, f"Promoted -> Unpromoted {nxt}"))
    if promote is not None and promote.required and promote.runnable:
        before = "Unpromoted" if cur == nxt else "Stopped"
        out.append(_fmt("Promote", inst.id, f"{before} -> Promoted {nxt}"))
    return out


def is_migratable(inst: Inst) -> bool:
    value = inst.meta.get("allow-migrate")
    return value is not None and value.strip().lower() in ("true", "yes", "1", "on")
