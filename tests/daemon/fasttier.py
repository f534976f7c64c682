"""The fast tier: controller + node agent on the memory store, FakeAgentRunner and a VirtualClock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from paceline.agents import FakeAgentRunner
from paceline.controller.loop import Controller
from paceline.controller.records import Event, EventKind
from paceline.controller.statedb import StateDB
from paceline.controller.view import effective_config
from paceline.model.yaml_loader import load_config_text
from paceline.node.agent import NodeAgent
from paceline.store import MemoryStore, VirtualClock

WEB = """
cluster: {name: t, options: {stonith-enabled: false}}
resources:
  - id: web
    agent: ocf:heartbeat:Dummy
    meta: {migration-threshold: 3, failure-timeout: 60s}
    ops: {monitor: {interval: 5s}}
  - id: worker
    agent: ocf:heartbeat:Dummy
    ops: {monitor: {interval: 10s}}
  - id: other
    agent: ocf:heartbeat:Dummy
constraints:
  - order: {first: web, then: worker}
  - colocation: {resource: worker, with: web, score: INFINITY}
"""


@dataclass
class Harness:
    text: str = WEB
    node: str = "n1"
    clock: VirtualClock = field(default_factory=VirtualClock)
    fake: FakeAgentRunner = field(default_factory=FakeAgentRunner)
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = MemoryStore(self.clock)
        self.db = StateDB(self.store, self.clock, on_event=self.events.append)
        self.config = load_config_text(self.text)
        self.agent = NodeAgent(self.fake, self.db, self.node, self.clock, self._wake)
        self.ctl = Controller(self.db, self.clock, self.node, self.agent, self.config)
        self.task: asyncio.Task[None] | None = None

    def _wake(self) -> None:
        self.ctl.wake()

    async def start(self) -> None:
        snap = await self.db.snapshot()
        self.agent.config = effective_config(self.config, self.node, snap)
        await self.agent.probe()
        self.task = asyncio.create_task(self.ctl.run())
        await self.settle()

    async def settle(self) -> None:
        """Until the controller is idle. If it is not, a virtual sleep (a restart back-off) may be
        pending: the clock is nudged by 0.5 s at a time (at most 20 s in all)."""
        for _ in range(3):
            for _ in range(20):
                await asyncio.sleep(0)
            for _ in range(40):
                if await self.ctl.wait_idle(0.25):
                    break
                self.clock.advance(0.5)
            else:
                raise AssertionError("controller did not become idle")

    async def advance(self, seconds: float, step: float = 1.0) -> None:
        left = seconds
        while left > 0:
            self.clock.advance(min(step, left))
            left -= step
            await self.settle()

    async def failcount(self, rsc: str) -> int:
        snap = await self.db.snapshot()
        return sum(f.count for f in snap.failures if f.resource == rsc)

    def kinds(self, rsc: str | None = None) -> list[EventKind]:
        return [e.kind for e in self.events if rsc is None or e.resource == rsc]

    def actions(self, *rscs: str) -> list[tuple[str, str]]:
        return [
            (c.resource_id, c.action)
            for c in self.fake.calls
            if c.action != "monitor" and c.resource_id in rscs
        ]

    async def stop(self) -> None:
        self.ctl.stop()
        if self.task is not None:
            await asyncio.wait_for(self.task, 5)
        await self.agent.close()
