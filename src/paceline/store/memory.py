"""`MemoryStore`: the embedded, in-process Store (single machine, and the fast test tier).

Invariants beyond the protocol's:
- Every operation runs to completion without awaiting in between, so it is atomic with respect
  to the event loop; leases are checked against the injected `Clock` (expired leases are swept
  before every operation and by `sweep_leases()`).
- With a `Persistence`, every committed change to a key without a lease is written through before
  the call returns, and the store opens with the persisted keys and revision: durable state
  survives a restart of the daemon. Leased keys are ephemeral (never persisted): a leased put over
  a durable key deletes its persisted copy (it must not come back after a restart).
- Watchers get events through unbounded queues; the last `history_limit` events are kept so a
  watch can start from a recent revision. `history_floor` is the lowest start revision a watch
  can be given: every event after it is still kept (it rises when old events are dropped, by
  `compact()`, and a store re-opened from persistence starts with no history: floor = revision).
  A watch from below the floor raises StoreError from its iterator (as etcd's does), never yields
  nothing; a watch from a future revision yields only events after it.
- A transaction branch that writes one key twice (two puts, or a put under a delete) is refused
  with StoreError before anything is compared, both branches checked, as etcd refuses it
  ("duplicate key given in txn request").
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from .clock import Clock, SystemClock
from .persistence import Persistence
from .protocol import (
    Compare,
    Delete,
    EventType,
    KeyValue,
    LeaseExpired,
    Put,
    StoreError,
    TxnResult,
    WatchEvent,
)

__all__ = ["MemoryStore", "MemoryWatch"]


@dataclass
class _Lease:
    ttl: float
    deadline: float
    keys: set[str] = field(default_factory=set)


def _check_branch(ops: list[Put | Delete]) -> None:
    """etcd's rule: within one branch no key is put twice, nor put and deleted."""
    puts: set[str] = set()
    dels = [op for op in ops if isinstance(op, Delete)]
    for op in ops:
        if not isinstance(op, Put):
            continue
        hit = op.key in puts or any(op.key.startswith(d.key) if d.prefix else op.key == d.key for d in dels)
        if hit:
            raise StoreError(f"duplicate key given in txn request: {op.key!r} is written twice")
        puts.add(op.key)


class MemoryWatch:
    """An async iterator of WatchEvents under a prefix; `close()` ends it."""

    def __init__(self, store: MemoryStore, prefix: str, after: int = 0) -> None:
        self._store = store
        self.prefix = prefix
        self.after = after  # only events of later revisions
        self.queue: asyncio.Queue[WatchEvent | StoreError | None] = asyncio.Queue()

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[WatchEvent]:
        while True:
            ev = await self.queue.get()
            if ev is None:
                self.queue.put_nowait(None)  # every later iteration ends too
                return
            if isinstance(ev, StoreError):
                self.queue.put_nowait(None)
                raise ev
            yield ev

    def close(self) -> None:
        self._store._unwatch(self)
        self.queue.put_nowait(None)


class MemoryStore:
    def __init__(
        self,
        clock: Clock | None = None,
        persistence: Persistence | None = None,
        history_limit: int = 10_000,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self._persist = persistence
        self._data: dict[str, KeyValue] = {}
        self._revision = 0
        self._leases: dict[int, _Lease] = {}
        self._lease_ids = itertools.count(1)
        self._watches: list[MemoryWatch] = []
        self._history_limit = history_limit
        self._history: deque[WatchEvent] = deque()
        self._floor = 0
        self._closed = False
        if persistence is not None:
            kvs, rev = persistence.load()
            self._data = {kv.key: kv for kv in kvs}
            self._revision = rev
            self._floor = rev  # the events before a restart are gone

    # -- helpers -----------------------------------------------------------------------------
    @property
    def revision(self) -> int:
        return self._revision

    @property
    def history_floor(self) -> int:
        """The lowest `start_revision` a watch can be given (every later event is kept)."""
        return self._floor

    def _check(self) -> None:
        if self._closed:
            raise StoreError("store is closed")
        self.sweep_leases()

    def sweep_leases(self) -> int:
        """Expire every lease past its deadline (deleting its keys); the number expired."""
        now = self.clock.monotonic()
        dead = [lid for lid, lease in self._leases.items() if lease.deadline <= now]
        for lid in dead:
            self._drop_lease(lid)
        return len(dead)

    def _drop_lease(self, lid: int) -> None:
        lease = self._leases.pop(lid, None)
        if lease is None or not lease.keys:
            return
        self._commit([Delete(k) for k in sorted(lease.keys)])

    def _apply_put(self, op: Put, rev: int, events: list[WatchEvent]) -> None:
        old = self._data.get(op.key)
        if old is not None and old.lease is not None and old.lease in self._leases:
            self._leases[old.lease].keys.discard(op.key)
        kv = KeyValue(
            op.key,
            op.value,
            old.create_revision if old else rev,
            rev,
            (old.version + 1) if old else 1,
            op.lease,
        )
        self._data[op.key] = kv
        if op.lease is not None:
            self._leases[op.lease].keys.add(op.key)
        events.append(WatchEvent(EventType.PUT, kv))

    def _apply_delete(self, op: Delete, rev: int, events: list[WatchEvent]) -> None:
        keys = sorted(k for k in self._data if k.startswith(op.key)) if op.prefix else [op.key]
        for k in keys:
            old = self._data.pop(k, None)
            if old is None:
                continue
            if old.lease is not None and old.lease in self._leases:
                self._leases[old.lease].keys.discard(k)
            gone = KeyValue(k, "", old.create_revision, rev, 0, old.lease)
            events.append(WatchEvent(EventType.DELETE, gone))

    def _commit(self, ops: list[Put | Delete]) -> int:
        """Apply `ops` at one new revision (none if nothing changed); notify watchers; persist."""
        for op in ops:
            if isinstance(op, Put) and op.lease is not None and op.lease not in self._leases:
                raise LeaseExpired(f"lease {op.lease} does not exist")
        rev = self._revision + 1
        events: list[WatchEvent] = []
        for op in ops:
            if isinstance(op, Put):
                self._apply_put(op, rev, events)
            else:
                self._apply_delete(op, rev, events)
        if not events and not any(isinstance(op, Put) for op in ops):
            return self._revision
        self._revision = rev
        if self._persist is not None:
            # a leased put is a delete for the disk: the key may have been durable before
            durable = [e if e.kv.lease is None else WatchEvent(EventType.DELETE, e.kv) for e in events]
            self._persist.save(durable, rev)
        for ev in events:
            self._history.append(ev)
            for w in list(self._watches):
                if ev.kv.key.startswith(w.prefix) and ev.revision > w.after:
                    w.queue.put_nowait(ev)
        while len(self._history) > self._history_limit:
            self._floor = max(self._floor, self._history.popleft().revision)
        return rev

    def _unwatch(self, w: MemoryWatch) -> None:
        if w in self._watches:
            self._watches.remove(w)

    # -- the protocol ----------------------------------------------------------------------------
    async def get(self, key: str) -> KeyValue | None:
        self._check()
        return self._data.get(key)

    async def range(self, prefix: str, revision: int | None = None) -> tuple[list[KeyValue], int]:
        self._check()
        if revision is not None and revision != self._revision:
            raise StoreError(f"revision {revision} is not kept (the embedded store is at {self._revision})")
        return [self._data[k] for k in sorted(k for k in self._data if k.startswith(prefix))], self._revision

    def range_now(self, prefix: str) -> list[KeyValue]:
        """`range` without the await (the embedded store only)."""
        self._check()
        return [self._data[k] for k in sorted(k for k in self._data if k.startswith(prefix))]

    async def put(self, key: str, value: str, lease: int | None = None) -> int:
        self._check()
        return self._commit([Put(key, value, lease)])

    async def delete(self, key: str, prefix: bool = False) -> int:
        self._check()
        before = len(self._data)
        self._commit([Delete(key, prefix)])
        return before - len(self._data)

    async def txn(
        self, compares: list[Compare], success: list[Put | Delete], failure: list[Put | Delete] | None = None
    ) -> TxnResult:
        self._check()
        for branch in (success, failure or []):
            _check_branch(branch)
        ok = all(
            (self._data[c.key].mod_revision if c.key in self._data else 0) == c.mod_revision for c in compares
        )
        ops = success if ok else (failure or [])
        rev = self._commit(list(ops)) if ops else self._revision
        return TxnResult(ok, rev)

    async def grant_lease(self, ttl_s: float) -> int:
        self._check()
        lid = next(self._lease_ids)
        self._leases[lid] = _Lease(ttl_s, self.clock.monotonic() + ttl_s)
        return lid

    async def refresh_lease(self, lease: int) -> None:
        self._check()
        entry = self._leases.get(lease)
        if entry is None:
            raise LeaseExpired(f"lease {lease} has expired or was revoked")
        entry.deadline = self.clock.monotonic() + entry.ttl

    async def revoke_lease(self, lease: int) -> None:
        self._check()
        self._drop_lease(lease)

    def watch(self, prefix: str, start_revision: int | None = None) -> MemoryWatch:
        """Events under `prefix` after `start_revision` (None: after the current revision).

        Below `history_floor` the iterator raises StoreError (the watch gets nothing)."""
        if self._closed:
            raise StoreError("store is closed")
        after = self._revision if start_revision is None else start_revision
        w = MemoryWatch(self, prefix, after)
        if after < self._floor:
            w.queue.put_nowait(
                StoreError(f"revision {after} is compacted (the store keeps the events after {self._floor})")
            )
            return w
        for ev in self._history:
            if ev.revision > after and ev.kv.key.startswith(prefix):
                w.queue.put_nowait(ev)
        self._watches.append(w)
        return w

    async def compact(self, revision: int) -> None:
        """Drop the events before `revision` (as etcd's compaction: a watch can still start at
        `revision - 1`, not below). StoreError for a future revision."""
        if revision > self._revision:
            raise StoreError(f"revision {revision} is a future revision (the store is at {self._revision})")
        while self._history and self._history[0].revision < revision:
            self._history.popleft()
        self._floor = max(self._floor, revision - 1)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for w in list(self._watches):
            w.close()
        if self._persist is not None:
            self._persist.close()
