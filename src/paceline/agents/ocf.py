"""Runner for ``ocf:PROVIDER:TYPE`` agents (OCF_ROOT/resource.d/PROVIDER/TYPE).

Duties:
- Run the agent with the action as its only argument and Pacemaker's environment (``ocf_env``).
- Map exit codes 0-9, 190, 191 to ``OcfRc``; anything else is an ERROR result, never a crash.
  Keep the last ``ocf-exit-reason:`` line of stderr as the reason.
- Meta-data: fetched once per agent (and again when the agent file changes), parsed with lxml;
  gives the default timeout of an action when the request has none.
- Before the first start (also migrate_from / reload) of a resource with a given parameter set,
  check the parameters against the meta-data; problems give ERR_CONFIGURED / ERROR_FATAL and the
  agent is not run. Fetching meta-data uses at most half of the operation's timeout, and the
  whole operation (check + action) stays within its timeout. Agents without usable meta-data
  are not checked (and not asked again until the agent file changes).
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from .context import DEFAULT_TIMEOUT_MS, RunContext, outcome_to_result
from .metadata import AgentMetadata, MetadataError, check_params, parse_metadata
from .ocf_env import env_problems, ocf_environment
from .process import run_process
from .types import AgentSpec, OcfRc, OpRequest, OpResult, OpStatus

__all__ = ["OCF_ACTIONS", "AgentMetadataUnavailable", "OcfRunner"]

OCF_ACTIONS = frozenset(
    {
        "start",
        "stop",
        "monitor",
        "promote",
        "demote",
        "notify",
        "migrate_to",
        "migrate_from",
        "reload",
        "reload-agent",
        "validate-all",
        "meta-data",
        "status",
    }
)
_VALIDATE_BEFORE = frozenset({"start", "migrate_from", "reload", "reload-agent"})


class AgentMetadataUnavailable(RuntimeError):
    """The agent is missing or its meta-data action failed or printed no usable XML."""


class OcfRunner:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self._md_cache: dict[AgentSpec, tuple[float, AgentMetadata]] = {}
        self._validated: dict[str, frozenset[tuple[str, str]]] = {}
        self._md_failed: dict[AgentSpec, float] = {}

    def path(self, spec: AgentSpec) -> Path:
        assert spec.provider is not None
        return self.ctx.ocf_root / "resource.d" / spec.provider / spec.type

    def exists(self, spec: AgentSpec) -> bool:
        p = self.path(spec)
        return p.is_file() and os.access(p, os.X_OK)

    def _timeout(self, req: OpRequest) -> int:
        if req.timeout_ms is not None:
            return req.timeout_ms
        cached = self._md_cache.get(req.spec)
        if cached is not None:
            t = cached[1].default_timeout_ms(req.action)
            if t is not None:
                return t
        return DEFAULT_TIMEOUT_MS

    async def metadata(self, spec: AgentSpec, timeout_ms: int = 10000) -> AgentMetadata:
        p = self.path(spec)
        try:
            mtime = p.stat().st_mtime
        except OSError:
            raise AgentMetadataUnavailable(f"agent {spec} is not installed ({p} not found)") from None
        cached = self._md_cache.get(spec)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        if self._md_failed.get(spec) == mtime:
            raise AgentMetadataUnavailable(f"meta-data of {spec} failed before (agent unchanged since)")
        res = await self._exec(OpRequest("meta-data", spec, "meta-data", timeout_ms=timeout_ms), timeout_ms)
        if not res.ok:
            if res.status is not OpStatus.TIMEOUT:  # a short budget is no verdict on the agent
                self._md_failed[spec] = mtime
            raise AgentMetadataUnavailable(f"meta-data of {spec} failed: {res.describe()}")
        try:
            md = parse_metadata(res.stdout)
        except MetadataError as e:
            self._md_failed[spec] = mtime
            raise AgentMetadataUnavailable(f"meta-data of {spec}: {e}") from None
        self._md_cache[spec] = (mtime, md)
        return md

    def command(self, req: OpRequest, budget_ms: int) -> tuple[list[str], dict[str, str]]:
        """The agent's argv and environment for `req` (what `run` executes)."""
        return [str(self.path(req.spec)), req.action], ocf_environment(self.ctx, req, budget_ms)

    async def _exec(self, req: OpRequest, timeout_ms: int, budget_ms: int | None = None) -> OpResult:
        """Run the agent; ``timeout_ms`` is what is left of the operation's ``budget_ms``."""
        budget = budget_ms or timeout_ms
        argv, env = self.command(req, budget)
        out = await run_process(
            argv,
            env=env,
            timeout_s=timeout_ms / 1000,
            reaper=self.ctx.reaper,
            cwd="/",
        )
        return outcome_to_result(out, budget, f"{req.spec} {req.action}")

    async def run(self, req: OpRequest) -> OpResult:
        if req.action not in OCF_ACTIONS:
            return OpResult(
                OcfRc.ERR_UNIMPLEMENTED, OpStatus.NOT_SUPPORTED, 0.0, f"{req.action} is not an OCF action"
            )
        if not self.exists(req.spec):
            return OpResult(
                OcfRc.ERR_INSTALLED,
                OpStatus.NOT_INSTALLED,
                0.0,
                f"agent {req.spec} is not installed ({self.path(req.spec)} not found or not executable)",
            )
        bad = env_problems(req)
        if bad:
            return OpResult(OcfRc.ERR_CONFIGURED, OpStatus.ERROR_FATAL, 0.0, "; ".join(bad))
        timeout = self._timeout(req)
        if req.action in _VALIDATE_BEFORE:
            key = frozenset(req.params.items())
            if self._validated.get(req.resource_id) != key:
                t0 = time.monotonic()
                problem = await self._check(req, min(10000, max(1, timeout // 2)))
                if problem is not None:
                    return problem
                self._validated[req.resource_id] = key
                if req.timeout_ms is None:  # meta-data now known: the agent's own default applies
                    timeout = self._timeout(req)
                spent = (time.monotonic() - t0) * 1000
                res = await self._exec(req, max(1, timeout - round(spent)), timeout)
                return dataclasses.replace(res, duration_ms=res.duration_ms + spent)
        return await self._exec(req, timeout)

    async def _check(self, req: OpRequest, md_timeout_ms: int) -> OpResult | None:
        """Check parameters against meta-data fetched within ``md_timeout_ms`` (half the op's budget)."""
        try:
            md = await self.metadata(req.spec, md_timeout_ms)
        except AgentMetadataUnavailable:
            return None  # nothing to check against; the agent's own validation still runs
        problems = check_params(md, req.params)
        if not problems:
            return None
        return OpResult(
            OcfRc.ERR_CONFIGURED,
            OpStatus.ERROR_FATAL,
            0.0,
            f"invalid parameters for {req.spec}: " + "; ".join(problems),
        )
