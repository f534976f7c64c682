"""`paceline status --json`: what runs where, fail counts and why, from the daemon's records.

Shape (exactly these keys)::

    {"cluster": str, "dc": str,
     "nodes": [{"name", "state", "attributes", "reason"}],
     "resources": [{"id", "agent", "role", "node", "failcount", "last_failure", "reason"}]}

`role` is one of Started, Stopped, Promoted, Unpromoted, FAILED, Blocked; `node` is null when the
resource runs nowhere; `last_failure` is an ISO 8601 UTC time or null; `state` is online, standby,
maintenance, unclean (it needs fencing that cannot be done: `reason` says why) or offline.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ..controller.statedb import Snapshot, is_failure
from ..controller.view import walk_primitives
from ..model.config import Clone, Configuration, Group, Primitive
from ..model.scores import INFINITY, format_score
from ..node.roles import LocalRole, RoleView, roles_on
from ..scheduler.meta import effective_meta, meta_score

__all__ = ["build_status", "iso"]


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_status(
    config: Configuration,
    snap: Snapshot,
    node: str,
    attributes: Mapping[str, str],
    stopping: bool = False,
    unclean: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`config` is the effective configuration (with this node and the CLI's constraints);
    `unclean`: {node: why} for nodes that need fencing no device can carry out."""
    nodes = []
    for n in config.nodes:
        flags = snap.node_flags.get(n.name, {})
        reason = (unclean or {}).get(n.name, "")
        if reason:
            state = "unclean"
        elif n.name != node:
            state = "offline"
        elif flags.get("maintenance"):
            state = "maintenance"
        elif flags.get("standby"):
            state = "standby"
        else:
            state = "online"
        attrs = dict(n.attributes)
        if n.name == node:
            attrs.update(attributes)
        nodes.append({"name": n.name, "state": state, "attributes": attrs, "reason": reason})
    roles = roles_on(snap.history, node)
    my_flags = snap.node_flags.get(node, {})
    resources = []
    for prim, group, clone, rid in _instances(config, roles):
        view = roles.get(rid)
        role = view.role if view is not None else LocalRole.STOPPED
        if role is LocalRole.STARTED and clone is not None and clone.promotable:
            role = LocalRole.UNPROMOTED  # a promotable clone's instance that is not promoted
        fails = [f for f in snap.failures if f.resource == rid and f.node == node]
        count = min(INFINITY, sum(f.count for f in fails))
        last = max((f.last_failure for f in fails if f.last_failure is not None), default=None)
        meta = effective_meta(config, prim, group, clone)
        threshold = meta_score(meta, "migration-threshold", INFINITY)
        reason = ""
        unmanaged = _unmanaged(config, meta, node, my_flags)
        if unmanaged:
            reason = f"unmanaged ({unmanaged}): not monitored, left as it is"
        elif role is LocalRole.STOPPED and my_flags.get("standby"):
            reason = f"{node} is in standby (paceline node online {node} to end it)"
        elif role is LocalRole.STOPPED:
            if count >= INFINITY:
                reason = (
                    f"cannot run on {node} (a start failed): paceline resource cleanup {prim.id} to retry"
                )
                last_start = [
                    r for r in snap.history if r.resource == rid and r.node == node and r.task == "start"
                ]
                if last_start and last_start[-1].exit_reason:
                    reason += f"; start: {last_start[-1].exit_reason}"
            elif count and 0 < threshold <= count:
                reason = (
                    f"failed {format_score(count)} times on {node} (migration-threshold "
                    f"{format_score(threshold)}): stopped, no other node can run it"
                )
            elif any(loc.resource in (prim.id, rid) and loc.score < 0 for loc in snap.locations):
                reason = (
                    "banned from "
                    + ", ".join(
                        loc.node for loc in snap.locations if loc.resource in (prim.id, rid) and loc.score < 0
                    )
                    + f" (paceline resource clear {prim.id} to undo)"
                )
            elif meta.get("target-role", "").lower() == "stopped":
                reason = "target-role is Stopped"
            elif stopping:
                reason = "daemon shutting down"
            else:
                reason = _needs(config, prim.id, roles)
        elif role in (LocalRole.FAILED, LocalRole.BLOCKED) and view is not None:
            reason = view.record.exit_reason or f"{view.record.task} returned rc {view.record.rc}"
        if not reason and view is not None and count:
            failed = [
                r
                for r in snap.history
                if r.resource == prim.id
                and r.node == node
                and r.exit_reason
                and is_failure(r.task, r.interval_ms, r.rc, r.status, r.expected_rc or 0)
            ]
            if failed:
                reason = "last failure: " + max(failed, key=lambda r: r.call_id).exit_reason
        resources.append(
            {
                "id": rid,
                "agent": str(prim.agent),
                "role": role.value,
                "node": node if role is not LocalRole.STOPPED else None,
                "failcount": count,
                "last_failure": iso(last),
                "reason": reason,
            }
        )
    return {"cluster": config.name, "dc": node, "nodes": nodes, "resources": resources}


def _unmanaged(config: Configuration, meta: Mapping[str, str], node: str, flags: Mapping[str, Any]) -> str:
    """Why Paceline leaves a resource alone here ("" when it manages it)."""
    if config.options.maintenance_mode:
        return "cluster maintenance-mode"
    if flags.get("maintenance"):
        return f"{node} in maintenance"
    if meta.get("is-managed", "true").lower() in ("false", "no", "off", "0", "n"):
        return "is-managed=false"
    if meta.get("maintenance", "false").lower() in ("true", "yes", "on", "1", "y"):
        return "maintenance=true"
    return ""


def _needs(config: Configuration, rsc: str, roles: Mapping[str, RoleView]) -> str:
    """Why a stopped resource may be waiting: a mandatory order or colocation on a stopped one."""
    wanted = {o.first for o in config.orders if o.then == rsc}
    wanted |= {c.with_resource for c in config.colocations if c.resource == rsc and c.score >= INFINITY}
    for other in sorted(wanted):
        found = config.find(other)
        ids = [p.id for p in found.primitives()] if found is not None else [other]
        if all(roles.get(i) is None or roles[i].role is LocalRole.STOPPED for i in ids):
            return f"needs {other}, which is stopped"
    return ""


def _instances(
    config: Configuration, roles: Mapping[str, RoleView]
) -> Iterator[tuple[Primitive, Group | None, Clone | None, str]]:
    """Each primitive with the id it runs under here: its own, or each clone instance (`db:0`)
    the history knows (the bare id when none runs)."""
    for prim, group, clone in walk_primitives(config):
        if clone is None:
            yield prim, group, clone, prim.id
            continue
        ids = sorted(
            r
            for r, v in roles.items()
            if r.rsplit(":", 1)[0] == prim.id and r != prim.id and v.role is not LocalRole.STOPPED
        )
        for rid in ids or [prim.id]:
            yield prim, group, clone, rid
