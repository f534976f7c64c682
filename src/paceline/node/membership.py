"""Membership: this node's presence in the store under a lease, and the DC (leader) key.

Keys: `members/<node>` -> {"pid", "since"} and `dc` -> {"node", "since"}, both bound to the node's
lease. On etcd (a later issue) these are how nodes see each other and elect the DC; with the
embedded store the one node is always the member and the DC, through the same code path.

Invariants:
- `join()` grants a lease of `ttl_s`, writes the member key with it, and takes the DC key only if
  it is absent (compare-and-swap on mod_revision 0): never two DCs.
- `run()` refreshes the lease every `ttl_s / 3`. When the lease is gone (the process stalled
  longer than the TTL, or the store lost it) it logs that and joins again; `on_lost` is called
  first so the caller can react (a multi-node daemon stops its resources: self-fencing).
- `leave()` revokes the lease: both keys disappear at once.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable

from ..controller.records import PREFIX
from ..store import Clock, Compare, LeaseExpired, Put, Store

__all__ = ["Membership"]

log = logging.getLogger("paceline.node")


class Membership:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        node: str,
        ttl_s: float = 2.0,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.node = node
        self.ttl_s = ttl_s
        self.on_lost = on_lost
        self.lease: int | None = None
        self.is_dc = False
        self.rejoins = 0

    async def join(self) -> None:
        self.lease = await self.store.grant_lease(self.ttl_s)
        body = json.dumps({"pid": os.getpid(), "since": self.clock.time()})
        await self.store.put(f"{PREFIX}members/{self.node}", body, self.lease)
        dc = json.dumps({"node": self.node, "since": self.clock.time()})
        res = await self.store.txn([Compare(f"{PREFIX}dc", 0)], [Put(f"{PREFIX}dc", dc, self.lease)])
        self.is_dc = res.succeeded or await self.dc() == self.node

    async def dc(self) -> str | None:
        kv = await self.store.get(f"{PREFIX}dc")
        return str(json.loads(kv.value)["node"]) if kv else None

    async def members(self) -> list[str]:
        kvs, _ = await self.store.range(f"{PREFIX}members/")
        return [kv.key.rsplit("/", 1)[1] for kv in kvs]

    async def run(self) -> None:
        if self.lease is None:
            await self.join()
        while True:
            await self.clock.sleep(self.ttl_s / 3)
            assert self.lease is not None
            try:
                await self.store.refresh_lease(self.lease)
            except LeaseExpired:
                log.error(
                    "lease of %s expired (the daemon stalled longer than %gs): joining again",
                    self.node,
                    self.ttl_s,
                    extra={"fields": {"kind": "node"}},
                )
                if self.on_lost is not None:
                    self.on_lost()
                self.rejoins += 1
                await self.join()

    async def leave(self) -> None:
        if self.lease is not None:
            await self.store.revoke_lease(self.lease)
            self.lease = None
            self.is_dc = False
