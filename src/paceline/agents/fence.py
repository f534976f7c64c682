"""Runner for ``stonith:fence_*`` agents (fence-agents), with their stdin protocol.

Duties: the agent gets ``key=value`` lines on stdin: every parameter, then ``action=...``.
Actions: off, on, reboot, status, monitor, list, list-status, metadata (``meta-data`` accepted),
validate-all; as a cluster resource, ``start`` runs ``monitor`` and registers the device on this
node, ``stop`` unregisters it, and ``monitor`` of an unregistered device is NOT_RUNNING.
Exit codes: 0 -> OK (for status: on), 2 -> NOT_RUNNING (status: off), anything else ->
ERR_GENERIC with the agent's last error line as the reason. Parameter values containing a
newline are refused (they would inject protocol lines).

Where an agent is found (``fence_agent_dirs``): the node's fence dir (/usr/sbin) first, then the
Python environment's scripts directory (where pip installs console scripts such as
``fence_paceline_netns``), then the agents' PATH; the first executable ``fence_*`` file wins."""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Callable
from pathlib import Path

from .context import DEFAULT_TIMEOUT_MS, RunContext, outcome_to_result
from .metadata import AgentMetadata, MetadataError, parse_metadata
from .process import ProcessOutcome, run_process
from .types import AgentSpec, OcfRc, OpRequest, OpResult, OpStatus

__all__ = ["FENCE_ACTIONS", "FenceRunner", "fence_agent_dirs", "fence_stdin", "find_fence_agent"]

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


def fence_agent_dirs(
    fence_dir: Path, *, scripts_dir: str | None = None, path: str | None = None
) -> list[Path]:
    """The directories searched for fence agents, in order, without repeats: ``fence_dir``, the
    scripts dir (default: this Python's ``sysconfig.get_path("scripts")``), then ``path``'s entries
    (default: $PATH)."""
    scripts = scripts_dir if scripts_dir is not None else sysconfig.get_path("scripts")
    entries = path if path is not None else os.environ.get("PATH", "")
    out: list[Path] = []
    for d in [str(fence_dir), scripts, *entries.split(os.pathsep)]:
        if d and Path(d) not in out:
            out.append(Path(d))
    return out


def _is_agent(p: Path) -> bool:
    return p.name.startswith("fence_") and p.is_file() and os.access(p, os.X_OK)


def find_fence_agent(name: str, dirs: list[Path]) -> Path | None:
    """The first executable ``dirs[i]/name``; None if there is none or ``name`` is no fence agent name."""
    if not name.startswith("fence_") or "/" in name:
        return None
    return next((d / name for d in dirs if _is_agent(d / name)), None)


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
        self._registered: set[str] = set()

    def dirs(self) -> list[Path]:
        return fence_agent_dirs(self.ctx.fence_dir, path=self.ctx.base_env.get("PATH", ""))

    def path(self, spec: AgentSpec) -> Path:
        """Where the agent is (``fence_dir/<type>`` if it is nowhere, for messages)."""
        return find_fence_agent(spec.type, self.dirs()) or self.ctx.fence_dir / spec.type

    def exists(self, spec: AgentSpec) -> bool:
        return find_fence_agent(spec.type, self.dirs()) is not None

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
                f"fence agent {req.spec.type} is not installed (not in {', '.join(map(str, self.dirs()))})",
            )
        bad = [k for k, v in req.params.items() if "\n" in v or "\n" in k or "=" in k]
        if bad:
            return OpResult(
                OcfRc.ERR_CONFIGURED,
                OpStatus.ERROR_FATAL,
                0.0,
                f"fence parameters may not contain newlines: {', '.join(bad)}",
            )
        # As a cluster resource a device "runs" on the node that registered it (Pacemaker: with
        # its fencer), not wherever the device answers: `start` checks the device and registers
        # it here, `stop` unregisters, a probe or monitor of an unregistered device is "not
        # running" without asking it. Registration lives in this process, as in Pacemaker's
        # fencer: a node that restarts (or was fenced) has none, and the DC starts it anew.
        if req.action == "stop":
            self._registered.discard(req.resource_id)
            return OpResult(OcfRc.OK, OpStatus.DONE, 0.0)
        if req.action == "monitor" and req.resource_id not in self._registered:
            return OpResult(OcfRc.NOT_RUNNING, OpStatus.DONE, 0.0)
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
        result = outcome_to_result(out, timeout, f"{req.spec.type} {action}", mapper, _reason)
        if req.action == "start" and result.ok:
            self._registered.add(req.resource_id)
        return result
