"""Runner for ``stonith:fence_*`` agents (fence-agents), with their stdin protocol.

Duties: the agent gets ``key=value`` lines on stdin: every parameter, then ``action=...``.
Actions: off, on, reboot, status, monitor, list, list-status, metadata (``meta-data`` accepted),
validate-all; as a cluster resource, ``start`` runs ``monitor`` and ``stop`` does nothing.
Exit codes: 0 -> OK (for status: on), 2 -> NOT_RUNNING (status: off), anything else ->
ERR_GENERIC with the agent's last error line as the reason. Parameter values containing a
newline are refused (they would inject protocol lines)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .context import DEFAULT_TIMEOUT_MS, RunContext, outcome_to_result
from .metadata import AgentMetadata, MetadataError, parse_metadata
from .process import ProcessOutcome, run_process
from .types import AgentSpec, OcfRc, OpRequest, OpResult, OpStatus

__all__ = ["FENCE_ACTIONS", "FenceRunner", "fence_stdin"]

FENCE_ACTIONS = frozenset(
    {
        "off",
        "on",
        "reboot",
        "status",
        "monitor",
        "list",
        "list-status",
        "metadata",
        "meta-data",
        "validate-all",
        "start",
        "stop",
    }
)


def fence_stdin(params: dict[str, str], action: str) -> bytes:
    lines = [f"{k}={v}" for k, v in params.items() if k != "action"]
    lines.append(f"action={action}")
    return ("\n".join(lines) + "\n").encode()


def _status_code(code: int) -> OcfRc | None:
    return {0: OcfRc.OK, 2: OcfRc.NOT_RUNNING}.get(code, OcfRc.ERR_GENERIC)


def _plain_code(code: int) -> OcfRc | None:
    return OcfRc.OK if code == 0 else OcfRc.ERR_GENERIC


def _reason(out: ProcessOutcome) -> str:
    if out.exit_code == 0:
        return ""
    lines = [ln.strip() for ln in out.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR" in ln or "error" in ln]
    pick = errors[-1] if errors else (lines[-1] if lines else "")
    return pick[:512]


class FenceRunner:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self._md: dict[AgentSpec, AgentMetadata] = {}

    def path(self, spec: AgentSpec) -> Path:
        return self.ctx.fence_dir / spec.type

    def exists(self, spec: AgentSpec) -> bool:
        p = self.path(spec)
        return spec.type.startswith("fence_") and p.is_file() and os.access(p, os.X_OK)

    async def metadata(self, spec: AgentSpec) -> AgentMetadata:
        if spec in self._md:
            return self._md[spec]
        res = await self.run(OpRequest("metadata", spec, "metadata", timeout_ms=10000))
        if not res.ok:
            raise FileNotFoundError(f"meta-data of {spec} failed: {res.describe()}")
        try:
            md = parse_metadata(res.stdout)
        except MetadataError as e:
            raise FileNotFoundError(f"meta-data of {spec}: {e}") from None
        self._md[spec] = md
        return md

    async def run(self, req: OpRequest) -> OpResult:
        if req.action not in FENCE_ACTIONS:
            return OpResult(
                OcfRc.ERR_UNIMPLEMENTED, OpStatus.NOT_SUPPORTED, 0.0, f"{req.action} is not a fence action"
            )
        if not self.exists(req.spec):
            return OpResult(
                OcfRc.ERR_INSTALLED,
                OpStatus.NOT_INSTALLED,
                0.0,
                f"fence agent {req.spec.type} is not installed ({self.path(req.spec)} not found)",
            )
        bad = [k for k, v in req.params.items() if "\n" in v or "\n" in k or "=" in k]
        if bad:
            return OpResult(
                OcfRc.ERR_CONFIGURED,
                OpStatus.ERROR_FATAL,
                0.0,
                f"fence parameters may not contain newlines: {', '.join(bad)}",
            )
        if req.action == "stop":
            return OpResult(OcfRc.OK, OpStatus.DONE, 0.0)
        action = {"start": "monitor", "meta-data": "metadata"}.get(req.action, req.action)
        timeout = req.timeout_ms or DEFAULT_TIMEOUT_MS
        out = await run_process(
            [str(self.path(req.spec))],
            env=dict(self.ctx.base_env),
            timeout_s=timeout / 1000,
            reaper=self.ctx.reaper,
            cwd="/",
            stdin_data=fence_stdin(dict(req.params), action),
        )
        mapper: Callable[[int], OcfRc | None] = (
            _status_code if action in ("status", "list-status") else _plain_code
        )
        return outcome_to_result(out, timeout, f"{req.spec.type} {action}", mapper, _reason)
