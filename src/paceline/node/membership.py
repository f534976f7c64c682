"""Membership: this node's presence in the store under a lease, its self-fence deadline, and the
DC (leader) key.

Keys (`controller.records`): `members/<node>` -> {"state", "pid", "since"} and `dc` ->
{"node", "since"}, both bound to the node's lease. On etcd these are how nodes see each other
and elect the DC; with the embedded store the one node is always the member and the DC, through
the same code path.

Invariants:
- `join()` grants a lease of `timing.ttl`, writes the member key with it; `campaign()` takes the
  DC key only if it is absent (compare-and-swap on mod_revision 0): never two DC keys. The DC
  key's create revision is the DC's token.
- The deadline: after every keep-alive etcd acknowledged, `deadline = timing.self_deadline(the
  monotonic time it was sent)` (see `model.leases`), and the watchdog is armed with it. `valid()`
  is true only before the deadline.
- `run()` sends a keep-alive every `timing.keepalive_interval`, each bounded by the time left to
  the deadline. At the deadline without an acknowledged keep-alive (the store unreachable, the
  lease revoked or expired, or this process stalled), `on_lost` is awaited first (the daemon
  self-fences: it stops everything at once), then the node joins again with a new lease.
  With `freeze` (no-quorum-policy freeze/ignore) a store out of reach only freezes the node (see
  `_freeze`); a lease the store says is gone (expired, or revoked to fence this node) still
  means self-fencing: the store is reachable then, and the cluster has counted this node out.
- `leave()` revokes the lease: both keys disappear at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable

from ..controller.records import DC_KEY, MEMBERS
from ..model.leases import LeaseTiming
from ..store import Clock, Compare, LeaseExpired, Put, Store, StoreError
from .watchdog import WatchdogClient

__all__ = ["Membership"]

log = logging.getLogger("paceline.node")


class Membership:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        node: str,
        ttl_s: float = 2.0,
        on_lost: Callable[[], Awaitable[None] | None] | None = None,
        watchdog: WatchdogClient | None = None,
        timing: LeaseTiming | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.node = node
        self.timing = timing or LeaseTiming(ttl=ttl_s)
        self.ttl_s = self.timing.ttl
        self.on_lost = on_lost
        self.watchdog = watchdog
        self.lease: int | None = None
        self.is_dc = False
        self.token = 0
        self.rejoins = 0
        self.state = "online"
        self.deadline = 0.0
        self.renew_latencies: list[float] = []
        self.freeze = False
        """no-quorum-policy freeze/ignore: when the store is out of reach, keep what runs here."""
        self.frozen = False
        self._expired = False
        self.on_rejoined: Callable[[], Awaitable[None]] | None = None
        """After a lost lease, the node joins again as `joining` and this is awaited (the cluster
        daemon probes, then goes online); without it the node rejoins online at once."""

    def valid(self) -> bool:
        """This node may run resources: its lease is certainly alive on the server."""
        return self.lease is not None and self.clock.monotonic() < self.deadline

    def _acked(self, sent_at: float) -> None:
        self.deadline = self.timing.self_deadline(sent_at)
        if self.watchdog is not None:
            self.watchdog.arm(self.deadline)

    def _member_body(self) -> str:
        return json.dumps({"state": self.state, "pid": os.getpid(), "since": self.clock.time()})

    async def join(self, state: str = "online") -> None:
        self.state = state
        sent = self.clock.monotonic()
        self.lease = await self.store.grant_lease(self.ttl_s)
        self._acked(sent)
        await self.store.put(MEMBERS + self.node, self._member_body(), self.lease)
        if state == "online":
            await self.campaign()

    async def set_state(self, state: str) -> None:
        """`joining` -> `online` (probed), `shutdown` (stopping: move everything away)."""
        self.state = state
        if self.lease is not None:
            await self.store.put(MEMBERS + self.node, self._member_body(), self.lease)

    async def campaign(self) -> bool:
        """Take the DC key if nobody holds it; True when this node is the DC (token set)."""
        if self.lease is None or not self.valid():
            return False
        dc = json.dumps({"node": self.node, "since": self.clock.time()})
        res = await self.store.txn([Compare(DC_KEY, 0)], [Put(DC_KEY, dc, self.lease)])
        kv = await self.store.get(DC_KEY)
        self.is_dc = (
            kv is not None and json.loads(kv.value).get("node") == self.node and kv.lease == self.lease
        )
        self.token = kv.create_revision if kv is not None and self.is_dc else 0
        if res.succeeded:
            log.info("%s is the DC (token %d)", self.node, self.token, extra={"fields": {"kind": "node"}})
        return self.is_dc

    async def dc(self) -> str | None:
        kv = await self.store.get(DC_KEY)
        return str(json.loads(kv.value)["node"]) if kv else None

    async def members(self) -> list[str]:
        kvs, _ = await self.store.range(MEMBERS)
        return [kv.key.rsplit("/", 1)[1] for kv in kvs]

    async def run(self) -> None:
        if self.lease is None:
            await self.join()
        while True:
            left = self.deadline - self.clock.monotonic()
            if self.frozen:
                left = self.timing.keepalive_interval
            await self.clock.sleep(max(0.0, min(self.timing.keepalive_interval, left)))
            if await self._keepalive():
                if self.frozen:
                    self.frozen = False
                    log.warning("%s reaches the cluster store again: no longer frozen", self.node)
                continue
            if self.freeze and not self._expired and self.watchdog is not None:
                # the watchdog must not fire at the lease deadline while the store is out of
                # reach: from the first failed keep-alive on it only watches this process live
                self.watchdog.arm(self.clock.monotonic() + self.timing.ttl)
            if self.clock.monotonic() < self.deadline:
                continue  # try again: there is still time
            if self.freeze and not self._expired:
                self._freeze()
                continue
            await self._lost()

    def _freeze(self) -> None:
        """no-quorum-policy freeze/ignore: the store is out of reach, so this node starts and
        records nothing (`valid()` is false), but keeps what it runs; the others fence it with a
        device before they start any of it (the configuration check requires one for every
        node). The watchdog stays armed a lease ahead while this process lives: a hang is still
        caught."""
        if not self.frozen:
            self.frozen = True
            log.error(
                "%s cannot reach the cluster store: no-quorum-policy freeze keeps what runs here "
                "and starts nothing",
                self.node,
                extra={"fields": {"kind": "node"}},
            )
        if self.watchdog is not None:
            self.watchdog.arm(self.clock.monotonic() + self.timing.ttl)

    async def _keepalive(self) -> bool:
        assert self.lease is not None
        sent = self.clock.monotonic()
        left = self.timing.keepalive_interval if self.frozen else self.deadline - sent
        self._expired = False
        if left <= 0:
            return False
        try:
            # each try is short: a call stuck on a dead etcd member must not eat the whole margin
            await asyncio.wait_for(
                self.store.refresh_lease(self.lease), min(left, self.timing.keepalive_interval)
            )
        except LeaseExpired:
            self.deadline = sent  # the server says it is gone: no point waiting
            self._expired = True
            return False
        except (StoreError, TimeoutError, OSError) as e:
            log.warning(
                "lease keep-alive of %s failed: %s",
                self.node,
                e or type(e).__name__,
                extra={"fields": {"kind": "node"}},
            )
            return False
        self._acked(sent)
        self.renew_latencies.append(self.clock.monotonic() - sent)
        del self.renew_latencies[:-1000]
        return True

    async def _lost(self) -> None:
        log.error(
            "%s lost its lease (no keep-alive acknowledged before its deadline): fencing itself",
            self.node,
            extra={"fields": {"kind": "node"}},
        )
        self.is_dc = False
        self.token = 0
        self.frozen = False
        if self.on_lost is not None:
            res = self.on_lost()
            if res is not None:
                await res
        self.rejoins += 1
        while True:
            try:
                await self.join("joining" if self.on_rejoined is not None else "online")
                break
            except (StoreError, OSError) as e:
                log.warning("cannot join again yet: %s", e, extra={"fields": {"kind": "node"}})
                await self.clock.sleep(self.timing.keepalive_interval)
        if self.on_rejoined is not None:
            await self.on_rejoined()

    async def leave(self) -> None:
        if self.lease is not None:
            lease, self.lease = self.lease, None
            self.is_dc = False
            try:
                await self.store.revoke_lease(lease)
            except StoreError as e:
                log.warning("could not revoke the lease: %s", e)
        if self.watchdog is not None:
            self.watchdog.disarm()
