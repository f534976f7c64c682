"""`StateDB`: the daemon's durable records in a Store (see `records` for the key layout).

Invariants:
- Call ids increase strictly across everything recorded by every node, also across restarts:
  they come from a counter in the store (compare-and-swap), as do event sequence numbers.
- Every record (operation result, its fail count and last failure, the monitors a stop cancels)
  is one store transaction; a read-modify-write (fail count, counters) compares the key's
  revision and retries, so two nodes never lose each other's updates.
- `snapshot()` reads every part at one store revision.
- A recurring monitor's record is rewritten only when its rc or status changes (as Pacemaker
  records a recurring result only on change), so an idle cluster writes nothing. A successful
  stop deletes the resource's recurring monitor records (they were cancelled).
- A failed operation (not the expected rc, or not DONE) adds one to the fail count of
  (resource, node, op_interval) and stamps `last_failure`; a failed start adds INFINITY when
  `start_failure_is_fatal`. A failure is never recorded without its fail count.
- The event log keeps the last `event_limit` events; sequence numbers increase strictly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..model.enums import OpStatus
from ..model.scores import INFINITY
from ..model.state import FailRecord, OpRecord
from ..store import Clock, Compare, Delete, KeyValue, Put, Store, StoreError
from .records import (
    CALL_ID_COUNTER,
    EVENT_COUNTER,
    PREFIX,
    Event,
    EventKind,
    decode_event,
    decode_fail,
    decode_op,
    encode_event,
    encode_fail,
    encode_op,
    fail_key,
    op_key,
)

__all__ = ["ConfigVersion", "DynamicLocation", "Member", "Snapshot", "StateDB", "is_failure"]


@dataclass(frozen=True)
class ConfigVersion:
    version: int
    text: str
    applied_at: float
    source: str


@dataclass(frozen=True)
class DynamicLocation:
    """A location constraint added from the command line (ban, move)."""

    id: str
    resource: str
    node: str
    score: int


@dataclass(frozen=True)
class Member:
    """A node present in the cluster: its member key exists (its lease is alive)."""

    name: str
    state: str
    """`joining` (probing what runs there) or `online`."""
    lease: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything the scheduler needs that is recorded, read at one store revision."""

    revision: int
    history: tuple[OpRecord, ...]
    failures: tuple[FailRecord, ...]
    node_flags: dict[str, dict[str, bool]]
    locations: tuple[DynamicLocation, ...]
    meta: dict[str, dict[str, str]]
    members: dict[str, Member] = field(default_factory=dict)
    dc: str | None = None
    dc_revision: int = 0
    """The DC key's create revision: the DC's epoch, the fencing token of what it dispatches."""
    fenced: dict[str, dict[str, Any]] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    fence_reasons: dict[str, str] = field(default_factory=dict)
    """Why fencing of a node was requested (`nodes/<node>` `fence_reason`), where it says."""


def is_failure(task: str, interval_ms: int, rc: int, status: OpStatus, expected_rc: int) -> bool:
    """Whether an operation result is a failure. Probes may find a resource running or stopped."""
    if status is not OpStatus.DONE:
        return True
    if task == "monitor" and interval_ms == 0:
        return rc not in (0, 7, 8)
    if task == "stop" and rc == 7:
        return False
    return rc != expected_rc


class StateDB:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        event_limit: int = 2000,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.event_limit = event_limit
        self.on_event = on_event

    async def load(self) -> None:
        """Make sure the counters (call id, event sequence) in the store are at least what is
        recorded (a store written before the counters existed)."""
        ops, _ = await self.store.range(PREFIX + "ops/")
        await self._raise_counter(
            CALL_ID_COUNTER, max((decode_op(kv.value).call_id for kv in ops), default=0)
        )
        events, _ = await self.store.range(PREFIX + "events/")
        await self._raise_counter(EVENT_COUNTER, int(events[-1].key.rsplit("/", 1)[1]) if events else 0)

    async def _raise_counter(self, key: str, at_least: int) -> None:
        while True:
            kv = await self.store.get(key)
            cur = int(kv.value) if kv else 0
            if cur >= at_least:
                return
            res = await self.store.txn(
                [Compare(key, kv.mod_revision if kv else 0)], [Put(key, str(at_least))]
            )
            if res.succeeded:
                return

    async def _next(self, key: str) -> int:
        """The next value of a counter in the store (compare-and-swap; retried on a race)."""
        while True:
            kv = await self.store.get(key)
            value = (int(kv.value) if kv else 0) + 1
            res = await self.store.txn([Compare(key, kv.mod_revision if kv else 0)], [Put(key, str(value))])
            if res.succeeded:
                return value

    async def next_call_id(self) -> int:
        return await self._next(CALL_ID_COUNTER)

    # -- snapshot --------------------------------------------------------------------------------
    async def snapshot(self) -> Snapshot:
        """Every part read at one store revision (the first range's)."""
        kvs: list[KeyValue] = []
        rev: int | None = None
        for part in (
            "attrs/",
            "constraints/",
            "dc",
            "fail/",
            "fenced/",
            "members/",
            "meta/",
            "nodes/",
            "ops/",
        ):
            got, at = await self.store.range(PREFIX + part, rev)
            rev = at if rev is None else rev
            kvs.extend(got)
        history: list[OpRecord] = []
        failures: list[FailRecord] = []
        flags: dict[str, dict[str, bool]] = {}
        locs: list[DynamicLocation] = []
        meta: dict[str, dict[str, str]] = {}
        members: dict[str, Member] = {}
        fenced: dict[str, dict[str, Any]] = {}
        attrs: dict[str, dict[str, str]] = {}
        reasons: dict[str, str] = {}
        dc: str | None = None
        dc_rev = 0
        for kv in kvs:
            rest = kv.key[len(PREFIX) :]
            kind, _, name = rest.partition("/")
            if kind == "ops":
                history.append(decode_op(kv.value))
            elif kind == "fail":
                failures.append(decode_fail(kv.value))
            elif kind == "nodes":
                body = json.loads(kv.value)
                if "fence_reason" in body:
                    reasons[name] = str(body.pop("fence_reason"))
                flags[name] = {k: bool(v) for k, v in body.items()}
            elif kind == "constraints":
                d = json.loads(kv.value)
                locs.append(DynamicLocation(name, d["resource"], d["node"], int(d["score"])))
            elif kind == "meta":
                meta[name] = {str(k): str(v) for k, v in json.loads(kv.value).items()}
            elif kind == "members":
                members[name] = Member(name, str(json.loads(kv.value).get("state", "online")), kv.lease)
            elif kind == "fenced":
                fenced[name] = dict(json.loads(kv.value))
            elif kind == "attrs":
                attrs[name] = {str(k): str(v) for k, v in json.loads(kv.value).items()}
            elif kind == "dc" and not name:
                dc = str(json.loads(kv.value).get("node"))
                dc_rev = kv.create_revision
        history.sort(key=lambda r: r.call_id)
        # a member fenced under the lease it still holds is not there: it is off, and its keys
        # only wait for the lease to be revoked or to run out
        members = {
            n: m for n, m in members.items() if m.lease is None or fenced.get(n, {}).get("lease") != m.lease
        }
        return Snapshot(
            rev or 0,
            tuple(history),
            tuple(failures),
            flags,
            tuple(locs),
            meta,
            members,
            dc,
            dc_rev,
            fenced,
            attrs,
            reasons,
        )

    # -- operations ------------------------------------------------------------------------------
    async def record(
        self,
        rsc: str,
        node: str,
        task: str,
        interval_ms: int,
        rc: int,
        status: OpStatus,
        expected_rc: int = 0,
        exit_reason: str = "",
        start_failure_is_fatal: bool = True,
        agent: str = "",
    ) -> tuple[OpRecord, bool]:
        """Record one result; returns (the record, whether it was a failure). `agent` names the
        agent that ran it, so that a resource later removed from the configuration can be stopped."""
        now = self.clock.time()
        failed = is_failure(task, interval_ms, rc, status, expected_rc)
        slot = f"monitor_{interval_ms}" if task == "monitor" and interval_ms > 0 else "last"
        key = op_key(node, rsc, slot)
        if slot != "last" and not failed:
            old = await self.store.get(key)
            if old is not None:
                prev = decode_op(old.value)
                if prev.rc == rc and prev.status is status:
                    return prev, False
        rec = OpRecord(
            rsc,
            node,
            task,
            interval_ms,
            rc,
            status,
            call_id=await self.next_call_id(),
            last_rc_change=now,
            exit_reason=exit_reason,
            expected_rc=expected_rc,
            agent=agent,
        )
        operation = f"{task}_{interval_ms}"
        fkey = fail_key(node, rsc, operation)
        while True:  # one transaction; the fail count is read-modify-write, so compare and retry
            ops: list[Put | Delete] = [Put(key, encode_op(rec))]
            compares: list[Compare] = []
            if task == "stop" and not failed:
                # stopping cancels the recurring monitors: their results no longer describe anything
                ops.append(Delete(op_key(node, rsc, "monitor_"), prefix=True))
            if failed:
                ops.append(Put(op_key(node, rsc, "last_failure"), encode_op(rec)))
                old_fail = await self.store.get(fkey)
                count = decode_fail(old_fail.value).count if old_fail else 0
                add = INFINITY if task == "start" and start_failure_is_fatal else 1
                fail = FailRecord(rsc, node, min(INFINITY, count + add), now, operation)
                ops.append(Put(fkey, encode_fail(fail)))
                compares.append(Compare(fkey, old_fail.mod_revision if old_fail else 0))
            if (await self.store.txn(compares, ops)).succeeded:
                return rec, failed

    async def failcount(self, rsc: str, node: str) -> int:
        kvs, _ = await self.store.range(f"{PREFIX}fail/{node}/{rsc}/")
        return min(INFINITY, sum(decode_fail(kv.value).count for kv in kvs))

    async def forget_node_history(self, node: str) -> None:
        """Drop every operation record of `node` (kept: fail counts)."""
        await self.store.delete(f"{PREFIX}ops/{node}/", prefix=True)

    async def drop_monitor_records(self, rsc: str, node: str) -> None:
        """Drop the recurring monitor records of a resource (they describe an earlier life)."""
        kvs, _ = await self.store.range(op_key(node, rsc, "monitor_"))
        for kv in kvs:
            await self.store.delete(kv.key)

    async def forget_unknown(self, node: str, known: set[str]) -> list[str]:
        """Drop the records (history and fail counts) of resources on `node` that are not in
        `known` (removed from the configuration while the daemon was down); the ids dropped."""
        gone: set[str] = set()
        for part in ("ops", "fail"):
            kvs, _ = await self.store.range(f"{PREFIX}{part}/{node}/")
            for kv in kvs:
                rsc = kv.key[len(f"{PREFIX}{part}/{node}/") :].split("/", 1)[0]
                if rsc not in known:
                    gone.add(rsc)
                    await self.store.delete(kv.key)
        return sorted(gone)

    async def forget_resource(self, rsc: str, node: str) -> None:
        """Cleanup: drop the resource's history and fail counts on `node` (it is probed again)."""
        await self.store.delete(f"{PREFIX}ops/{node}/{rsc}/", prefix=True)
        await self.store.delete(f"{PREFIX}fail/{node}/{rsc}/", prefix=True)

    async def clear_failures(self, rsc: str, node: str) -> int:
        """Drop fail counts and the last-failure record, keep the rest of the history."""
        n = await self.store.delete(f"{PREFIX}fail/{node}/{rsc}/", prefix=True)
        await self.store.delete(op_key(node, rsc, "last_failure"))
        return n

    async def drop_failure(self, fail: FailRecord) -> None:
        await self.store.delete(fail_key(fail.node, fail.resource, fail.operation))

    async def drop_op(self, rec: OpRecord) -> None:
        slot = f"monitor_{rec.interval_ms}" if rec.task == "monitor" and rec.interval_ms > 0 else "last"
        await self.store.delete(op_key(rec.node, rec.resource, slot))

    # -- node flags, dynamic constraints and meta --------------------------------------------------
    async def set_node_flags(self, node: str, **flags: bool) -> None:
        await self._update_node(node, flags)

    async def request_fencing(self, node: str, reason: str) -> None:
        """Mark `node` unclean until it is fenced (`fenced/<node>` written clears the mark)."""
        await self._update_node(node, {"fence_requested": True, "fence_reason": reason})

    async def _update_node(self, node: str, changes: dict[str, Any]) -> None:
        key = f"{PREFIX}nodes/{node}"
        while True:  # compare-and-swap: flags written by another node meanwhile are kept
            old = await self.store.get(key)
            cur: dict[str, Any] = json.loads(old.value) if old else {}
            cur.update(changes)
            res = await self.store.txn(
                [Compare(key, old.mod_revision if old else 0)], [Put(key, json.dumps(cur, sort_keys=True))]
            )
            if res.succeeded:
                return

    async def add_location(self, loc: DynamicLocation) -> None:
        body = {"resource": loc.resource, "node": loc.node, "score": loc.score}
        await self.store.put(f"{PREFIX}constraints/{loc.id}", json.dumps(body, sort_keys=True))

    async def clear_locations(self, rsc: str) -> int:
        kvs, _ = await self.store.range(f"{PREFIX}constraints/")
        n = 0
        for kv in kvs:
            if json.loads(kv.value).get("resource") == rsc:
                n += await self.store.delete(kv.key)
        return n

    async def set_meta(self, rsc: str, name: str, value: str | None) -> None:
        """Override (or, with None, stop overriding) meta attribute `name` of `rsc`."""
        key = f"{PREFIX}meta/{rsc}"
        while True:  # compare-and-swap: another node's override of another attribute is kept
            old = await self.store.get(key)
            cur: dict[str, str] = json.loads(old.value) if old else {}
            if value is None:
                cur.pop(name, None)
            else:
                cur[name] = value
            op: Put | Delete = Put(key, json.dumps(cur, sort_keys=True)) if cur else Delete(key)
            res = await self.store.txn([Compare(key, old.mod_revision if old else 0)], [op])
            if res.succeeded:
                return

    # -- configuration versions --------------------------------------------------------------------
    async def current_config(self) -> ConfigVersion | None:
        kv = await self.store.get(f"{PREFIX}config/current")
        return _config_version(kv.value) if kv else None

    async def save_config(self, text: str, source: str, expect: int | None = None) -> ConfigVersion:
        """Store `text` as the next version, current and in the history, in one transaction.
        With `expect`, only if the current version is still `expect` (else StoreError): two
        nodes applying at once never both believe they applied over the same version."""
        key = f"{PREFIX}config/current"
        while True:
            kv = await self.store.get(key)
            cur = _config_version(kv.value) if kv else None
            have = cur.version if cur else 0
            if expect is not None and have != expect:
                raise StoreError(f"the configuration changed meanwhile (version {have}, not {expect})")
            cv = ConfigVersion(have + 1, text, self.clock.time(), source)
            body = json.dumps(
                {"version": cv.version, "text": text, "applied_at": cv.applied_at, "source": source}
            )
            res = await self.store.txn(
                [Compare(key, kv.mod_revision if kv else 0)],
                [Put(f"{PREFIX}config/history/{cv.version:08d}", body), Put(key, body)],
            )
            if res.succeeded:
                return cv

    async def config_history(self) -> list[ConfigVersion]:
        kvs, _ = await self.store.range(f"{PREFIX}config/history/")
        return [_config_version(kv.value) for kv in kvs]

    # -- the event log -----------------------------------------------------------------------------
    async def log_event(self, kind: EventKind, node: str, message: str, **fields: Any) -> Event:
        seq = await self._next(EVENT_COUNTER)
        ev = Event(seq, self.clock.time(), kind, node, message, **fields)
        await self.store.put(f"{PREFIX}events/{ev.seq:012d}", encode_event(ev))
        if ev.seq > self.event_limit and ev.seq % 100 == 0:
            kvs, _ = await self.store.range(f"{PREFIX}events/")
            for kv in kvs[: max(0, len(kvs) - self.event_limit)]:
                await self.store.delete(kv.key)
        if self.on_event is not None:
            self.on_event(ev)
        return ev

    async def events(self, since: int = 0, limit: int = 100) -> list[Event]:
        kvs, _ = await self.store.range(f"{PREFIX}events/")
        out = [decode_event(kv.value) for kv in kvs]
        out = [e for e in out if e.seq > since]
        return out[-limit:] if limit > 0 else out


def _config_version(text: str) -> ConfigVersion:
    d = json.loads(text)
    return ConfigVersion(int(d["version"]), str(d["text"]), float(d["applied_at"]), str(d.get("source", "")))
