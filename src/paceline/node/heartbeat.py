"""`Heartbeats`: this node's heartbeat, and its view of everyone else's (through the store).

Duties:
- `beat()` puts `HEARTBEATS<node>` (under the node's lease, so it vanishes with the lease) every
  `policy.interval`, but only while the node's lease is valid: a node that may not run resources
  does not claim to be alive.
- `watch()` records, on this node's monotonic clock, when each node's heartbeat last *arrived*
  (its own included: the reference of the relative rule in `model.heartbeats`). A deleted
  heartbeat key (the node left, or its lease is gone) forgets the node: the lease path judges it.
- `check()` calls `on_silent(node, lag)` once per silence: again only after that node was heard
  from anew, or when `on_silent` answered False ("not now"): then the node's silence is counted
  again from this moment.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from ..controller.records import HEARTBEATS
from ..model.heartbeats import HeartbeatPolicy
from ..store import Clock, EventType, Store, StoreError

__all__ = ["Heartbeats"]

log = logging.getLogger("paceline.node")


class Heartbeats:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        node: str,
        policy: HeartbeatPolicy,
        lease: Callable[[], int | None],
        on_silent: Callable[[str, float], Awaitable[bool]],
    ) -> None:
        self.store = store
        self.clock = clock
        self.node = node
        self.policy = policy
        self._lease = lease
        self.on_silent = on_silent
        self.arrivals: dict[str, float] = {}
        self.first: dict[str, float] = {}
        """When each node's current run of heartbeats began (its key was created)."""
        self._judged: set[str] = set()
        self.sent = 0

    def silent_now(self) -> dict[str, float]:
        """The nodes silent in this node's view now, each with how far it lags."""
        return self.policy.silent(self.arrivals, self.node, self.first)

    async def run(self) -> None:
        await asyncio.gather(self._beat(), self._watch(), self._check())

    async def _beat(self) -> None:
        while True:
            lease = self._lease()
            if lease is not None:
                self.sent += 1
                body = json.dumps({"seq": self.sent, "t": self.clock.time()})
                try:
                    await asyncio.wait_for(
                        self.store.put(HEARTBEATS + self.node, body, lease), self.policy.interval * 2
                    )
                except (StoreError, TimeoutError, OSError) as e:
                    log.debug("heartbeat of %s not written: %s", self.node, e or type(e).__name__)
            await self.clock.sleep(self.policy.interval)

    async def _watch(self) -> None:
        while True:
            try:
                kvs, rev = await self.store.range(HEARTBEATS)
                now = self.clock.monotonic()
                for kv in kvs:
                    name = kv.key[len(HEARTBEATS) :]
                    self.arrivals.setdefault(name, now)
                    self.first.setdefault(name, now)
                watch = self.store.watch(HEARTBEATS, rev + 1)
                try:
                    async for ev in watch:
                        name = ev.kv.key[len(HEARTBEATS) :]
                        if ev.type is EventType.DELETE:
                            self.arrivals.pop(name, None)
                            self.first.pop(name, None)
                        else:
                            now = self.clock.monotonic()
                            self.arrivals[name] = now
                            if ev.kv.version == 1:  # the key was (re)created: a new run of beats
                                self.first[name] = now
                            self.first.setdefault(name, now)
                        self._judged.discard(name)
                finally:
                    watch.close()
            except StoreError as e:
                log.debug("heartbeat watch: %s", e)
                await self.clock.sleep(self.policy.interval)

    async def _check(self) -> None:
        while True:
            await self.clock.sleep(self.policy.interval / 2)
            for name, lag in self.silent_now().items():
                if name in self._judged:
                    continue
                self._judged.add(name)
                try:
                    handled = await self.on_silent(name, lag)
                except StoreError as e:  # the store is shaky (an election): judge again shortly
                    log.warning("handling the silence of %s: %s", name, e)
                    handled = False
                except Exception:  # a failing handler must not end the checks
                    log.exception("handling the silence of %s failed", name)
                    handled = True
                if not handled and name in self.arrivals:
                    self._judged.discard(name)
                    self.arrivals[name] = self.clock.monotonic()
