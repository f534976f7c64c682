"""The role of each resource on a node as its recorded history says, for monitors and status.

Invariant: the most recent record (highest call id) among the resource's `last` operation and its
recurring monitors decides: a failed result means FAILED; otherwise the last operation gives
Started (start, probe rc 0, migrate_from), Promoted (promote, rc 8), Unpromoted (demote) or
Stopped (stop, probe rc 7). A failed stop means Blocked. A probe that finds the agent not
installed means Stopped: nothing can run there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from ..controller.statedb import is_failure
from ..model.enums import OpStatus
from ..model.state import OpRecord

__all__ = ["LocalRole", "RoleView", "active_anywhere", "active_on", "roles_on"]


class LocalRole(Enum):
    STARTED = "Started"
    STOPPED = "Stopped"
    PROMOTED = "Promoted"
    UNPROMOTED = "Unpromoted"
    FAILED = "FAILED"
    BLOCKED = "Blocked"


@dataclass(frozen=True)
class RoleView:
    role: LocalRole
    record: OpRecord
    """The record that decided the role."""


def _failed(r: OpRecord) -> bool:
    expected = r.expected_rc if r.expected_rc is not None else 0
    return is_failure(r.task, r.interval_ms, r.rc, r.status, expected)


def _not_installed_probe(r: OpRecord) -> bool:
    return r.task == "monitor" and r.interval_ms == 0 and (r.rc == 5 or r.status is OpStatus.NOT_INSTALLED)


def roles_on(history: Iterable[OpRecord], node: str) -> dict[str, RoleView]:
    latest: dict[str, OpRecord] = {}
    last_op: dict[str, OpRecord] = {}
    for r in history:
        if r.node != node:
            continue
        if r.task == "monitor" and r.interval_ms > 0:
            pass
        else:
            cur = last_op.get(r.resource)
            if cur is None or r.call_id > cur.call_id:
                last_op[r.resource] = r
        cur = latest.get(r.resource)
        if cur is None or r.call_id > cur.call_id:
            latest[r.resource] = r
    out: dict[str, RoleView] = {}
    for rsc, rec in latest.items():
        if _not_installed_probe(rec):
            out[rsc] = RoleView(LocalRole.STOPPED, rec)  # nothing can run without its agent
            continue
        if _failed(rec):
            out[rsc] = RoleView(LocalRole.BLOCKED if rec.task == "stop" else LocalRole.FAILED, rec)
            continue
        base = last_op.get(rsc, rec)
        out[rsc] = RoleView(_role_of(base), base)
    return out


def active_on(history: Iterable[OpRecord], node: str) -> list[str]:
    """The resources the history says run on `node`, or may (failed, blocked): all but Stopped."""
    return [rid for rid, v in roles_on(history, node).items() if v.role is not LocalRole.STOPPED]


def active_anywhere(history: Iterable[OpRecord]) -> dict[str, list[str]]:
    """`active_on` for every node the history names (nodes where nothing is active left out)."""
    records = tuple(history)
    out = {n: active_on(records, n) for n in sorted({r.node for r in records})}
    return {n: rids for n, rids in out.items() if rids}


def _role_of(r: OpRecord) -> LocalRole:
    if r.task == "stop" or r.rc == 7:
        return LocalRole.STOPPED
    if r.task == "promote" or r.rc == 8:
        return LocalRole.PROMOTED
    if r.task == "demote":
        return LocalRole.UNPROMOTED
    if r.task in ("start", "migrate_from", "monitor"):
        return LocalRole.STARTED
    return LocalRole.STOPPED
