"""Turn the action graph into the Transition's actions and the edges between them.

Duties: emit only actions that are required and runnable; stops on a node being fenced are implied
by the fence (never sent to a dead node) and whatever waited for them waits for the fence instead;
probes for every resource whose state on an online node is unknown come first, and a resource
starts only after it has been probed everywhere, so a copy running unnoticed is never doubled.
"""

from __future__ import annotations

from .actions import Graph, Node, node_for
from .transition import Action, ActionKind
from .unpack import Working
from .working import Inst

__all__ = ["emit_actions"]

_KIND = {k.value: k for k in ActionKind}


def _aid(inst_id: str, task: str, node: str) -> str:
    return f"{inst_id}:{task}:{node}"


def emit_actions(w: Working, g: Graph) -> list[Action]:
    # (kind, resource, node, interval, reason) per action id; each Action (a frozen dataclass,
    # slow to build) is made once, at the end, with its edges: at 32 nodes x 1000 primitives
    # there are 33,000 of them
    out: dict[str, tuple[ActionKind, str, str, int, str]] = {}
    after: dict[str, set[str]] = {}
    fence_ids = {node: f"fence:{node}" for node in g.fences}
    for node, reason in g.fences.items():
        out[fence_ids[node]] = (ActionKind.FENCE, "", node, 0, reason)
        after[fence_ids[node]] = set()

    def emitted(act: Node | None) -> str | None:
        """The id standing for this graph action in the transition (a fence for implied stops)."""
        if act is None or act.inst is None or not act.required or not act.runnable:
            return None
        if act.task in ("stop", "demote") and act.node in fence_ids:
            return fence_ids[act.node]
        return _aid(act.inst.id, act.task, act.node)

    for act in g.actions.values():
        aid = emitted(act)
        if aid is None or aid in out or act.inst is None:
            continue
        out[aid] = (_KIND[act.task], act.inst.id, act.node, 0, act.reason)
        after[aid] = set()
    probes = _probes(w, g)
    for probe_id, inst, node in probes:
        out[probe_id] = (ActionKind.MONITOR, inst.id, node, 0, "probe")
        after[probe_id] = set()

    def edge(first: str | None, then: str | None) -> None:
        if first and then and first != then and first in out and then in out:
            after[then].add(first)

    for inst in w.insts.values():
        nxt = inst.assigned
        start = emitted(g.get(inst, "start", nxt))
        promote = emitted(g.get(inst, "promote", nxt))
        for cur in inst.running_on:
            stop = emitted(g.get(inst, "stop", cur))
            demote = emitted(g.get(inst, "demote", cur))
            edge(stop, start)
            edge(demote, stop)
            if cur in fence_ids:
                edge(fence_ids[cur], start)
        edge(start, promote)
    for order in g.orders:
        for f in order.firsts:
            fa = emitted(g.get(f, order.first_task, node_for(f, order.first_task)))
            for t in order.thens:
                edge(fa, emitted(g.get(t, order.then_task, node_for(t, order.then_task))))
    # Within a clone, a copy starts on a node only after any other copy there has stopped.
    for members in w.clone_children.values():
        stops = [(c, emitted(g.get(m, "stop", c))) for m in members for c in m.running_on]
        for m in members:
            start = emitted(g.get(m, "start", m.assigned))
            for node, stop in stops:
                if node == m.assigned:
                    edge(stop, start)
    # Within a promotable clone, the old Promoted instance is demoted before a new one is promoted.
    for members in w.clone_children.values():
        demotes = [emitted(g.get(m, "demote", c)) for m in members for c in m.running_on]
        promotes = [emitted(g.get(m, "promote", m.assigned)) for m in members]
        for d in demotes:
            for p in promotes:
                edge(d, p)
    by_inst: dict[str, list[str]] = {}
    for probe_id, inst, _node in probes:
        by_inst.setdefault(inst.clone or inst.id, []).append(probe_id)
    for inst in w.insts.values():
        start = emitted(g.get(inst, "start", inst.assigned))
        for probe_id in by_inst.get(inst.clone or inst.id, []):
            edge(probe_id, start)
    return [
        Action(aid, kind, rsc, node, interval, tuple(sorted(after[aid])), reason)
        for aid, (kind, rsc, node, interval, reason) in out.items()
    ]


def _probes(w: Working, g: Graph) -> list[tuple[str, Inst, str]]:
    out: list[tuple[str, Inst, str]] = []
    seen_clone: set[tuple[str, str]] = set()
    for inst in w.insts.values():
        if inst.orphan or not inst.managed:
            continue
        for node in w.node_list():
            if not node.online or node.unclean or node.name in g.fences:
                continue
            if inst.clone is not None:
                key = (inst.clone, node.name)
                if key in seen_clone:
                    continue
                members = w.clone_children.get(inst.clone, [])
                if any(node.name in m.known_on for m in members if m.prim.id == inst.prim.id):
                    continue
                seen_clone.add(key)
            elif node.name in inst.known_on:
                continue
            out.append((_aid(inst.id, "probe", node.name), inst, node.name))
    return out
