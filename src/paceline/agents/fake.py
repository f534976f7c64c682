"""``FakeAgentRunner``: an in-memory ``AgentRunner`` for other layers' fast tests.

Behaviour: results are scripted per (resource, action) or (resource, action, interval) with
``script()`` (a queue of results used in order; the last one repeats) or per resource with
``fail()``; unscripted operations behave like a perfect agent that tracks state: start -> OK and
running, stop -> OK and stopped, monitor -> OK / NOT_RUNNING (RUNNING_PROMOTED when promoted),
promote/demote change the role. Every request is recorded in ``calls``. An optional ``delay_s``
makes each operation take that long (on the event loop clock). No processes, no files."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from .metadata import AgentMetadata
from .types import AgentSpec, OcfRc, OpRequest, OpResult, OpStatus

__all__ = ["FakeAgentRunner"]


def _result(rc: OcfRc, status: OpStatus = OpStatus.DONE, reason: str = "") -> OpResult:
    return OpResult(rc, status, 0.0, reason)


@dataclass
class FakeAgentRunner:
    delay_s: float = 0.0
    calls: list[OpRequest] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    promoted: set[str] = field(default_factory=set)
    _scripts: dict[tuple[str, ...], list[OpResult]] = field(default_factory=dict)
    metadata_by_spec: dict[AgentSpec, AgentMetadata] = field(default_factory=dict)

    def script(
        self,
        resource_id: str,
        action: str,
        results: Iterable[OpResult | OcfRc],
        interval_ms: int | None = None,
    ) -> None:
        """Answer the next operations ``action`` on ``resource_id`` with ``results`` in order
        (an ``OcfRc`` means a DONE result with that code). The last result repeats."""
        key = (resource_id, action) if interval_ms is None else (resource_id, action, str(interval_ms))
        self._scripts[key] = [r if isinstance(r, OpResult) else _result(r) for r in results]

    def fail(
        self, resource_id: str, action: str, rc: OcfRc = OcfRc.ERR_GENERIC, reason: str = "scripted failure"
    ) -> None:
        self.script(resource_id, action, [_result(rc, reason=reason)])

    def timeout(self, resource_id: str, action: str) -> None:
        self.script(resource_id, action, [_result(OcfRc.ERR_GENERIC, OpStatus.TIMEOUT, "scripted timeout")])

    def kill(self, resource_id: str) -> None:
        """The resource dies: monitors now answer NOT_RUNNING."""
        self.running.discard(resource_id)
        self.promoted.discard(resource_id)

    def calls_for(self, resource_id: str, action: str | None = None) -> list[OpRequest]:
        return [
            c for c in self.calls if c.resource_id == resource_id and (action is None or c.action == action)
        ]

    async def metadata(self, spec: AgentSpec) -> AgentMetadata:
        if spec in self.metadata_by_spec:
            return self.metadata_by_spec[spec]
        return AgentMetadata(spec.type, "1.0", f"fake {spec}", "", (), ())

    def _scripted(self, req: OpRequest) -> OpResult | None:
        for key in ((req.resource_id, req.action, str(req.interval_ms)), (req.resource_id, req.action)):
            queue = self._scripts.get(key)
            if queue:
                return queue.pop(0) if len(queue) > 1 else queue[0]
        return None

    async def run(self, req: OpRequest) -> OpResult:
        self.calls.append(req)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        scripted = self._scripted(req)
        rid = req.resource_id
        if scripted is not None:
            if scripted.ok and req.action == "start":
                self.running.add(rid)
            elif scripted.ok and req.action == "stop":
                self.kill(rid)
            return scripted
        if req.action in ("start", "migrate_from"):
            self.running.add(rid)
        elif req.action in ("stop", "migrate_to"):
            self.kill(rid)
        elif req.action == "promote":
            if rid not in self.running:
                return _result(OcfRc.NOT_RUNNING)
            self.promoted.add(rid)
        elif req.action == "demote":
            self.promoted.discard(rid)
        elif req.action in ("monitor", "status"):
            if rid not in self.running:
                return _result(OcfRc.NOT_RUNNING)
            return _result(OcfRc.RUNNING_PROMOTED if rid in self.promoted else OcfRc.OK)
        return _result(OcfRc.OK)
