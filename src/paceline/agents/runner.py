"""The ``AgentRunner`` protocol and ``LocalAgentRunner``, which runs operations on this node.

Duties of ``LocalAgentRunner``:
- Dispatch each request to its class runner (ocf, lsb, systemd, service, stonith).
- At most ``max_concurrency`` operations run at once on the node (Pacemaker's node-action-limit;
  default twice the CPU count); operations on one resource run one at a time, in arrival order.
- Reap orphaned zombies of agent sessions before every operation and every 0.5 s while any
  operation or service exists (so a killed daemon an agent started is never seen as alive).
- Never raise for agent or request problems: every failure is an ``OpResult``.
  Only ``asyncio.CancelledError`` propagates (after the operation's processes are killed).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

from .attrstore import AttributeStore
from .context import DEFAULT_FENCE_DIR, DEFAULT_LSB_DIR, DEFAULT_OCF_ROOT, ClassRunner, RunContext
from .fence import FenceRunner
from .lsb import LsbRunner
from .metadata import AgentMetadata
from .ocf import OcfRunner
from .reaper import Reaper
from .service import ServiceSupervisor
from .systemd import SystemdRunner
from .types import AgentSpec, OcfRc, OpRequest, OpResult, OpStatus, Standard

__all__ = ["AgentRunner", "LocalAgentRunner"]

log = logging.getLogger(__name__)


@runtime_checkable
class AgentRunner(Protocol):
    """Runs one operation and reports how it ended. Implementations never raise for agent
    failures (they are results); operations on one resource are serialised."""

    async def run(self, req: OpRequest) -> OpResult: ...

    async def metadata(self, spec: AgentSpec) -> AgentMetadata: ...


class LocalAgentRunner:
    """Runs agents on this node. ``state_dir`` holds the shim bin dir, HA_RSCTMP, the attribute
    store (``attrs.json``), service state files and logs."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        node_name: str,
        max_concurrency: int | None = None,
        *,
        node_id: int = 1,
        ocf_root: str | os.PathLike[str] = DEFAULT_OCF_ROOT,
        lsb_dir: str | os.PathLike[str] = DEFAULT_LSB_DIR,
        fence_dir: str | os.PathLike[str] = DEFAULT_FENCE_DIR,
        systemctl: str = "systemctl",
        systemd_marker: str | os.PathLike[str] = "/run/systemd/system",
        reaper: Reaper | None = None,
    ) -> None:
        self.ctx = RunContext.create(
            state_dir,
            node_name,
            node_id=node_id,
            reaper=reaper,
            ocf_root=ocf_root,
            lsb_dir=lsb_dir,
            fence_dir=fence_dir,
            systemctl=systemctl,
            systemd_marker=systemd_marker,
        )
        self.max_concurrency = max_concurrency or 2 * (os.cpu_count() or 1)
        self._sem = asyncio.Semaphore(self.max_concurrency)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self.services = ServiceSupervisor(self.ctx)
        self.attributes = AttributeStore(self.ctx.attr_store)
        self._runners: dict[Standard, ClassRunner] = {
            Standard.OCF: OcfRunner(self.ctx),
            Standard.LSB: LsbRunner(self.ctx),
            Standard.SYSTEMD: SystemdRunner(self.ctx),
            Standard.STONITH: FenceRunner(self.ctx),
            Standard.SERVICE: self.services,
        }
        self._reap_task: asyncio.Task[None] | None = None
        self.running_ops = 0

    @property
    def state_dir(self) -> Path:
        return self.ctx.state_dir

    @property
    def node_name(self) -> str:
        return self.ctx.node_name

    @property
    def reaper(self) -> Reaper:
        return self.ctx.reaper

    def agent_env(self) -> dict[str, str]:
        """The node part of every agent's environment (PATH with shims, HA_SBIN_DIR, ...)."""
        return dict(self.ctx.base_env)

    def class_runner(self, std: Standard) -> ClassRunner:
        return self._runners[std]

    def exists(self, spec: AgentSpec) -> bool:
        return self._runners[spec.std].exists(spec)

    def stop_command(self, req: OpRequest) -> tuple[list[str], dict[str, str]] | None:
        """The argv and environment of `req` (a stop, or the demote before it) for someone else to
        run when this process cannot (the watchdog, when the daemon hangs): OCF agents only;
        services are killed by process group instead, and other classes are not stopped that way
        (None)."""
        runner = self._runners[req.spec.std]
        if isinstance(runner, OcfRunner) and runner.exists(req.spec):
            return runner.command(req, req.timeout_ms or 2000)
        return None

    async def metadata(self, spec: AgentSpec) -> AgentMetadata:
        """Parsed meta-data; raises (FileNotFoundError or RuntimeError subclasses) if unavailable."""
        return await self._runners[spec.std].metadata(spec)

    @contextmanager
    def _resource_lock(self, rid: str) -> Iterator[asyncio.Lock]:
        lock, n = self._locks.get(rid, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[rid] = (lock, n + 1)
        try:
            yield lock
        finally:
            lock2, m = self._locks[rid]
            if m <= 1:
                del self._locks[rid]
            else:
                self._locks[rid] = (lock2, m - 1)

    def _ensure_reaper_task(self) -> None:
        if self._reap_task is None or self._reap_task.done():
            self._reap_task = asyncio.get_running_loop().create_task(self._reap_loop())

    async def _reap_loop(self) -> None:
        n = 0
        while True:
            await asyncio.sleep(0.5)
            self.ctx.reaper.reap_orphans()
            n += 1
            if n % 120 == 0:
                self.ctx.reaper.prune()

    async def run(self, req: OpRequest) -> OpResult:
        self._ensure_reaper_task()
        t0 = time.monotonic()
        with self._resource_lock(req.resource_id) as lock:
            async with lock, self._sem:
                self.ctx.reaper.reap_orphans()
                self.running_ops += 1
                try:
                    return await self._runners[req.spec.std].run(req)
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # a bug of ours or an OS surprise: still a result
                    log.exception("internal error running %s %s on %s", req.spec, req.action, req.resource_id)
                    return OpResult(
                        OcfRc.ERR_GENERIC,
                        OpStatus.ERROR,
                        (time.monotonic() - t0) * 1000,
                        f"internal error running {req.spec} {req.action}: {type(e).__name__}: {e}",
                    )
                finally:
                    self.running_ops -= 1

    async def close(self) -> None:
        """Stop background work. Supervised services keep running (adoptable later)."""
        if self._reap_task is not None:
            self._reap_task.cancel()
            self._reap_task = None
        await self.services.close()
