"""Offline simulation helpers around the scheduler: inject events, apply a transition, render it.

Everything here is pure (no clock, no I/O): `now` is always passed in.

- `apply_node_fail` and `apply_op_fail` inject what `crm_simulate --node-fail` and `--op-fail`
  inject (a node that left without a clean shutdown; a failed operation result plus a bumped fail
  count).
- `apply_transition` is "the transition ran and every action succeeded": the resulting state, for
  convergence checks (re-scheduling it must ask for nothing but monitors).
- `transition_to_json` and `explain` render a transition for `paceline simulate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from .model.config import Configuration, Primitive
from .model.enums import Role
from .model.scores import INFINITY, add_scores, format_score
from .model.state import ClusterState, FailRecord, OpRecord
from .model.yaml_loader import OP_NAMES
from .model.yaml_state import default_interval, instance_primitive, op_status_for_rc
from .scheduler.transition import ActionKind, Transition

__all__ = [
    "SimulationError",
    "apply_node_fail",
    "apply_op_fail",
    "apply_transition",
    "explain",
    "parse_op_fail",
    "transition_to_json",
]


class SimulationError(ValueError):
    """An event that names something that does not exist, or is malformed; the message says what."""


def _require_node(state: ClusterState, node: str) -> None:
    if state.node(node) is None:
        known = ", ".join(n.name for n in state.nodes) or "none"
        raise SimulationError(f"unknown node {node!r} (known nodes: {known})")


def apply_node_fail(state: ClusterState, node: str, config: Configuration | None = None) -> ClusterState:
    """The node stops answering: offline and unclean (it must be fenced before its resources move).

    As Pacemaker unpacks a node that left the membership: with stonith-enabled=false (only known
    when `config` is given) the node is simply offline and clean. Raises SimulationError.
    """
    _require_node(state, node)
    fencing = config.options.stonith_enabled if config is not None else True
    nodes = tuple(
        replace(
            n,
            online=False,
            unclean=fencing,
            unclean_reason="peer is no longer part of the cluster" if fencing else "",
        )
        if n.name == node
        else n
        for n in state.nodes
    )
    return replace(state, nodes=nodes)


def parse_op_fail(spec: str) -> tuple[str, str, str, int]:
    """`RSC:OP:NODE[:RC]` -> (resource, op, node, rc); RC defaults to 1 (generic error).

    OP is an operation name, optionally with its interval in ms (`monitor_10000`). RSC may itself
    contain colons (a clone instance `db:1`): the last two or three fields are OP, NODE and RC.
    """
    parts = spec.split(":")
    rc = 1
    if len(parts) >= 4 and parts[-1].lstrip("-").isdigit():
        rc = int(parts.pop())
    elif len(parts) >= 4 and _split_op(parts[-3])[0] in OP_NAMES and _split_op(parts[-2])[0] not in OP_NAMES:
        # RSC:OP:NODE:RC with an RC that is not a number (not an op named like a node)
        raise SimulationError(
            f"bad RC {parts[-1]!r} in --op-fail {spec!r}: expected a number (an OCF exit code, e.g. 7)"
        )
    if len(parts) < 3 or not all(parts):
        raise SimulationError(f"bad --op-fail {spec!r}: expected RSC:OP:NODE[:RC], e.g. vip:monitor:n1:7")
    return ":".join(parts[:-2]), parts[-2], parts[-1], rc


def _split_op(op: str) -> tuple[str, int | None]:
    name, sep, interval = op.rpartition("_")
    if sep and interval.isdigit() and name in OP_NAMES:
        return name, int(interval)
    return op, None


def apply_op_fail(
    state: ClusterState, spec: str, config: Configuration, now: float | None = None
) -> ClusterState:
    """Record that RSC's OP on NODE returned RC (`RSC:OP:NODE[:RC]`), as crm_simulate --op-fail.

    Appends an op record (after every existing one) and, when RC is not success, adds one to the
    fail count of that operation on that node (stamped `now`). A monitor without an interval refers
    to the resource's first configured monitor. Raises SimulationError naming an unknown resource,
    operation or node.
    """
    rsc, op_text, node, rc = parse_op_fail(spec)
    prim = instance_primitive(config, rsc)
    if prim is None:
        found = config.find(rsc)
        if found is not None:
            members = ", ".join(p.id for p in found.primitives())
            raise SimulationError(
                f"{rsc!r} is a {type(found).__name__.lower()}; name one of its primitives: {members}"
            )
        raise SimulationError(f"unknown resource {rsc!r} in --op-fail {spec!r}")
    op, interval = _split_op(op_text)
    if op not in OP_NAMES:
        raise SimulationError(
            f"unknown operation {op!r} in --op-fail {spec!r} (expected e.g. start, stop, monitor)"
        )
    _require_node(state, node)
    if interval is None:
        interval = default_interval(prim, op)
    call_id = max((r.call_id for r in state.history), default=0) + 1
    record = OpRecord(
        rsc,
        node,
        op,
        interval,
        rc,
        op_status_for_rc(rc),
        call_id=call_id,
        last_rc_change=now,
        expected_rc=0,
    )
    failures = list(state.failures)
    if rc != 0:
        key = f"{op}_{interval}"
        for i, f in enumerate(failures):
            if f.resource == rsc and f.node == node and f.operation == key:
                failures[i] = replace(f, count=min(INFINITY, f.count + 1), last_failure=now)
                break
        else:
            failures.append(FailRecord(rsc, node, 1, now, key))
    return replace(state, history=(*state.history, record), failures=tuple(failures))


def apply_transition(
    state: ClusterState, transition: Transition, config: Configuration | None = None
) -> ClusterState:
    """The state after `transition` ran with every action succeeding.

    Invariants: fenced nodes are offline, clean, and run nothing; every (resource, node, role) in
    the placement has a fresh successful start (and promote for Promoted) followed by a record of
    each recurring monitor the transition scheduled there (or, where it started nothing, of the
    monitors that already ran there); nothing else runs. Fail counts are kept (as in Pacemaker, a
    recovery does not clear them). Call ids are renumbered from 1 in a deterministic order.
    """
    fenced = {a.node for a in transition.actions if a.kind is ActionKind.FENCE}
    nodes = tuple(replace(n, online=False, unclean=False) if n.name in fenced else n for n in state.nodes)
    started = {
        (a.resource, a.node)
        for a in transition.actions
        if a.kind in (ActionKind.START, ActionKind.MIGRATE_FROM)
    }
    new_monitors: dict[tuple[str, str], list[int]] = {}
    for a in transition.actions:
        if a.kind is ActionKind.MONITOR and a.interval_ms > 0:
            new_monitors.setdefault((a.resource, a.node), []).append(a.interval_ms)
    history: list[OpRecord] = []
    for rsc in sorted(transition.placement):
        for node in sorted(transition.placement[rsc]):
            role = transition.placement[rsc][node]
            if role in (Role.STOPPED, Role.UNKNOWN):
                continue
            history.append(OpRecord(rsc, node, "start", rc=0, expected_rc=0))
            if role is Role.PROMOTED:
                history.append(OpRecord(rsc, node, "promote", rc=0, expected_rc=0))
            monitor_rc = 8 if role is Role.PROMOTED else 0
            intervals = set(new_monitors.get((rsc, node), []))
            if (rsc, node) not in started and node not in fenced:
                intervals |= _old_monitors(state, rsc, node, config, role)
            for interval in sorted(intervals):
                history.append(OpRecord(rsc, node, "monitor", interval, monitor_rc, expected_rc=monitor_rc))
    numbered = tuple(replace(r, call_id=i + 1) for i, r in enumerate(history))
    return replace(state, nodes=nodes, history=numbered)


def _old_monitors(
    state: ClusterState, rsc: str, node: str, config: Configuration | None, role: Role
) -> set[int]:
    """Intervals of recurring monitors that succeeded on (rsc, node) and still fit `role`."""
    out = set()
    want_rc = 8 if role is Role.PROMOTED else 0
    for r in state.history:
        if (
            r.resource == rsc
            and r.node == node
            and r.task == "monitor"
            and r.interval_ms > 0
            and r.rc == want_rc
        ):
            out.add(r.interval_ms)
    if config is not None:
        prim = instance_primitive(config, rsc)
        if isinstance(prim, Primitive):
            configured = {op.interval_ms for op in prim.ops if op.name == "monitor" and op.enabled}
            out &= configured
    return out


def transition_to_json(transition: Transition) -> dict[str, object]:
    """`{"actions": [{"id", "action", "resource", "node", "after"}], "placement": {rsc: {node: role}},
    "summary": [...], "scores": [{"resource", "node", "score", "source", "detail"}]}`.

    Actions keep the scheduler's order and each `after` list is sorted; `action` is the kind's value
    (a monitor's interval is in its id); roles are their string values; scores are integers
    (INFINITY = 1000000); summary lines have their padding collapsed to single spaces
    (`Start vip ( n1 )`), so they diff cleanly.
    """
    actions = []
    for a in transition.actions:
        actions.append(
            {
                "id": a.id,
                "action": a.kind.value,
                "resource": a.resource,
                "node": a.node,
                "after": sorted(a.after),
            }
        )
    placement = {
        rsc: {node: role.value for node, role in sorted(nodes.items())}
        for rsc, nodes in sorted(transition.placement.items())
    }
    scores = [
        {"resource": t.resource, "node": t.node, "score": t.score, "source": t.source, "detail": t.detail}
        for t in transition.scores
    ]
    summary = [" ".join(line.split()) for line in transition.summary]
    return {"actions": actions, "placement": placement, "summary": summary, "scores": scores}


def _signed(score: int) -> str:
    text = format_score(score)
    return text if text.startswith("-") else f"+{text}"


def explain(transition: Transition, rsc: str) -> list[str]:
    """One line per node: the score terms for `rsc` there, in words, and the total.

    E.g. `n1: +100 from location loc-app-n1; +100 from stickiness (resource-stickiness on the
    current node); total 200`. The total is the scheduler's final score when it reports one, else
    the saturating sum of the terms. Nodes appear in name order. Empty when nothing is known.
    """
    terms: dict[str, list[str]] = {}
    sums: dict[str, int] = {}
    for t in transition.scores:
        if t.resource != rsc:
            continue
        words = f"{_signed(t.score)} from {t.source}" if t.source else _signed(t.score)
        if t.detail:
            words += f" ({t.detail})"
        terms.setdefault(t.node, []).append(words)
        sums[t.node] = add_scores(sums.get(t.node, 0), t.score)
    finals: Mapping[str, int] = transition.final_scores.get(rsc, {})
    lines = []
    for node in sorted(set(terms) | set(finals)):
        total = finals.get(node, sums.get(node, 0))
        body = "; ".join(terms.get(node, [])) or "no score terms"
        lines.append(f"{node}: {body}; total {format_score(total)}")
    return lines
