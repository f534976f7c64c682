"""Recurring monitors: one asyncio task per (resource, interval) that should run on this node.

Invariants:
- `sync(wanted)` makes the running set exactly `wanted`: tasks no longer wanted (or whose
  request changed) are cancelled, new ones started.
- A task runs its monitor, hands the result to `on_result`, and ends for good when `on_result`
  returns False (a failure: the controller recovers and `sync` starts a fresh task).
- The first run is immediate (as Pacemaker runs a recurring monitor right after the start), the
  next ones every interval after the previous one ended.
- Cancelling a task cancels the monitor it is running (the agent runner kills its processes).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..agents import AgentRunner, OpRequest, OpResult
from ..store import Clock

__all__ = ["MonitorManager", "MonitorSpec"]


@dataclass(frozen=True)
class MonitorSpec:
    resource: str
    interval_ms: int
    expected_rc: int
    request: OpRequest

    @property
    def key(self) -> tuple[str, int]:
        return (self.resource, self.interval_ms)


ResultHandler = Callable[[MonitorSpec, OpResult], Awaitable[bool]]


class MonitorManager:
    def __init__(self, runner: AgentRunner, clock: Clock, on_result: ResultHandler) -> None:
        self.runner = runner
        self.clock = clock
        self.on_result = on_result
        self._tasks: dict[tuple[str, int], tuple[MonitorSpec, asyncio.Task[None]]] = {}

    @property
    def active(self) -> list[tuple[str, int]]:
        return sorted(k for k, (_, t) in self._tasks.items() if not t.done())

    def sync(self, wanted: list[MonitorSpec]) -> None:
        want = {s.key: s for s in wanted}
        for key, (spec, task) in list(self._tasks.items()):
            if task.done() or want.get(key) != spec:
                if (not task.done() and key in want) or not task.done():
                    task.cancel()
                del self._tasks[key]
        for key, spec in want.items():
            if key not in self._tasks:
                self._tasks[key] = (spec, asyncio.get_running_loop().create_task(self._loop(spec)))

    def cancel(self, resource: str) -> None:
        """Stop every monitor of `resource` now (before a stop or after an event-driven failure)."""
        for key, (_, task) in list(self._tasks.items()):
            if key[0] == resource:
                task.cancel()
                del self._tasks[key]

    async def _loop(self, spec: MonitorSpec) -> None:
        while True:
            res = await self.runner.run(spec.request)
            if not await self.on_result(spec, res):
                return
            await self.clock.sleep(spec.interval_ms / 1000)

    async def close(self) -> None:
        tasks = [t for _, t in self._tasks.values()]
        self._tasks.clear()
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
