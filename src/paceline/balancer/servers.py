"""Keeping one HAProxy backend's servers in step with where a clone's copies run.

`plan(desired, current)` is pure: which servers to add, which to drain and delete, which to
re-weight. `Balancer.sync(desired)` reads HAProxy's view (`show stat`) and carries the plan out
through the runtime API:
- add: `add server BE/NAME ADDR check inter .. fall .. rise ..` (a dynamic server starts in MAINT
  and inherits no default-server), `enable health`, then `set server .. state ready`; a server
  that exists but is in MAINT (an add cut short) is made ready again;
- remove: `set server .. state drain` (no new connections; the current ones finish), wait until
  it has no current session or `drain_timeout_s` passed (then `shutdown sessions server`), then
  `state maint` and `del server` (HAProxy deletes only a server in MAINT with no session);
- weight: `set server .. weight N` where it differs.
Only servers whose names the balancer manages (`prefix`) are touched: a backend may have static
servers of its own.

`DownTracker` is the feedback: fed HAProxy's view over time, it names the managed servers that
have been DOWN (by HAProxy's own health checks) for longer than `after_s`, once each per outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .runtime import HaproxyRuntime, RuntimeError_, ServerStat

__all__ = ["Balancer", "DownTracker", "Plan", "Server", "plan"]

log = logging.getLogger("paceline.balancer")


@dataclass(frozen=True)
class Server:
    address: str
    """host:port"""
    weight: int = 1


@dataclass(frozen=True)
class Plan:
    add: tuple[str, ...] = ()
    ready: tuple[str, ...] = ()
    """Present but left in MAINT (or DRAIN) while wanted: made ready."""
    remove: tuple[str, ...] = ()
    reweight: tuple[tuple[str, int], ...] = ()
    readdress: tuple[str, ...] = ()
    """Present with another address: removed, then added again."""

    @property
    def empty(self) -> bool:
        return not (self.add or self.ready or self.remove or self.reweight or self.readdress)


def plan(
    desired: Mapping[str, Server], current: Mapping[str, ServerStat], managed: Callable[[str], bool]
) -> Plan:
    """What to change so that the managed servers of `current` are exactly `desired`."""
    add, ready, remove, reweight, readdress = [], [], [], [], []
    for name in sorted(desired):
        want = desired[name]
        have = current.get(name)
        if have is None:
            add.append(name)
            continue
        if have.address and have.address != want.address:
            readdress.append(name)
            continue
        if have.status.startswith(("MAINT", "DRAIN")):
            ready.append(name)
        if have.weight != want.weight:
            reweight.append((name, want.weight))
    for name in sorted(current):
        if name not in desired and managed(name):
            remove.append(name)
    return Plan(tuple(add), tuple(ready), tuple(remove), tuple(reweight), tuple(readdress))


class Balancer:
    def __init__(
        self,
        runtime: HaproxyRuntime,
        backend: str,
        check: str = "check inter 200 fall 2 rise 1",
        prefix: str = "",
        drain_timeout_s: float = 5.0,
    ) -> None:
        self.runtime = runtime
        self.backend = backend
        self.check = check
        self.prefix = prefix
        self.drain_timeout_s = drain_timeout_s
        self.poll_s = 0.05

    def _managed(self, name: str) -> bool:
        return name.startswith(self.prefix)

    def _sv(self, name: str) -> str:
        return f"{self.backend}/{name}"

    async def servers(self) -> dict[str, ServerStat]:
        """HAProxy's view of this backend's servers."""
        return {sv: st for (be, sv), st in (await self.runtime.stat()).items() if be == self.backend}

    async def sync(self, desired: Mapping[str, Server]) -> Plan:
        """Make the backend's managed servers `desired`; returns what was planned. Removals are
        drained concurrently; additions go first (capacity before it is taken away)."""
        p = plan(desired, await self.servers(), self._managed)
        for name in p.add:
            await self.add(name, desired[name])
        for name in p.ready:
            await self.runtime.command(f"set server {self._sv(name)} state ready")
        for name, weight in p.reweight:
            await self.runtime.command(f"set server {self._sv(name)} weight {weight}")
        await asyncio.gather(*(self.remove(n) for n in (*p.remove, *p.readdress)))
        for name in p.readdress:
            await self.add(name, desired[name])
        return p

    async def add(self, name: str, server: Server) -> None:
        sv = self._sv(name)
        await self.runtime.command(f"add server {sv} {server.address} weight {server.weight} {self.check}")
        if "check" in self.check.split():
            await self.runtime.command(f"enable health {sv}")
        await self.runtime.command(f"set server {sv} state ready")
        log.info("%s: server %s (%s) added", self.backend, name, server.address)

    async def remove(self, name: str) -> None:
        """Drain `name` (no new connections) until its sessions end or the drain timeout, then
        delete it."""
        sv = self._sv(name)
        await self.runtime.command(f"set server {sv} state drain")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_timeout_s
        while loop.time() < deadline:
            st = (await self.servers()).get(name)
            if st is None or st.scur == 0:
                break
            await asyncio.sleep(self.poll_s)
        else:
            await self.runtime.command(f"shutdown sessions server {sv}")
        await self.runtime.command(f"set server {sv} state maint")
        with contextlib.suppress(RuntimeError_):  # health checks may be off already
            await self.runtime.command(f"disable health {sv}")
        await self.runtime.command(f"del server {sv}")
        log.info("%s: server %s drained and deleted", self.backend, name)


@dataclass
class DownTracker:
    """Which managed servers HAProxy has seen DOWN for longer than `after_s` (each outage once)."""

    after_s: float
    managed: Callable[[str], bool] = lambda name: True
    _since: dict[str, float] | None = None
    _reported: set[str] | None = None

    def feed(self, now: float, servers: Mapping[str, ServerStat]) -> list[tuple[str, str]]:
        """HAProxy's view at `now` (seconds, monotonic); returns [(server, why)] newly past the
        limit. A server that comes up again, or is gone, starts over."""
        since = self._since if self._since is not None else {}
        reported = self._reported if self._reported is not None else set()
        self._since, self._reported = since, reported
        out = []
        for name, st in sorted(servers.items()):
            if not self.managed(name):
                continue
            if not st.down:
                since.pop(name, None)
                reported.discard(name)
                continue
            start = since.setdefault(name, now)
            if now - start >= self.after_s and name not in reported:
                reported.add(name)
                why = f"HAProxy has marked it DOWN for {now - start:.2f} s"
                if st.check_status:
                    why += f" (last check: {st.check_status})"
                out.append((name, why))
        for name in list(since):
            if name not in servers:
                del since[name]
                reported.discard(name)
        return out
