"""Runner for ``systemd:UNIT`` (``.service`` assumed when the unit has no suffix), via systemctl.

Duties: where systemd is not PID 1's init (no ``/run/systemd/system``), every action answers
ERR_INSTALLED / NOT_INSTALLED with the reason "systemd is not running". ``start``/``stop`` wait
for the job (systemctl's default); ``monitor``/``status`` read ``systemctl is-active``: active,
reloading, activating -> OK; inactive, deactivating, failed, unknown -> NOT_RUNNING. A unit whose
LoadState is not-found gives ERR_INSTALLED on start."""

from __future__ import annotations

from xml.sax.saxutils import escape

from .context import DEFAULT_TIMEOUT_MS, RunContext
from .metadata import AgentMetadata, parse_metadata
from .process import run_process
from .types import AgentSpec, OcfRc, OpRequest, OpResult, OpStatus

__all__ = ["SYSTEMD_ACTIONS", "SystemdRunner"]

SYSTEMD_ACTIONS = frozenset({"start", "stop", "monitor", "status", "reload", "restart", "meta-data"})
NOT_RUNNING_REASON = "systemd is not running on this node (no /run/systemd/system)"


def unit_name(spec: AgentSpec) -> str:
    return spec.type if "." in spec.type else spec.type + ".service"


class SystemdRunner:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def running(self) -> bool:
        return self.ctx.systemd_marker.is_dir()

    def exists(self, spec: AgentSpec) -> bool:
        return self.running()

    async def metadata(self, spec: AgentSpec) -> AgentMetadata:
        u = escape(unit_name(spec))
        return parse_metadata(
            f'<resource-agent name="{u}"><version>1.0</version>'
            f'<longdesc lang="en">systemd unit {u}</longdesc>'
            f'<shortdesc lang="en">systemd unit {u}</shortdesc><parameters/><actions>'
            '<action name="start" timeout="100s"/><action name="stop" timeout="100s"/>'
            '<action name="monitor" timeout="100s" interval="60s"/><action name="meta-data" timeout="5s"/>'
            "</actions></resource-agent>"
        )

    async def _ctl(self, args: list[str], timeout_ms: int) -> tuple[int | None, str, str, float, str]:
        out = await run_process(
            [self.ctx.systemctl, *args],
            env=dict(self.ctx.base_env),
            timeout_s=timeout_ms / 1000,
            reaper=self.ctx.reaper,
            cwd="/",
        )
        err = out.spawn_error or ("timed out" if out.timed_out else "")
        return out.exit_code, out.stdout, out.stderr, out.duration_ms, err

    async def run(self, req: OpRequest) -> OpResult:
        if req.action not in SYSTEMD_ACTIONS:
            return OpResult(
                OcfRc.ERR_UNIMPLEMENTED,
                OpStatus.NOT_SUPPORTED,
                0.0,
                f"{req.action} is not an action of systemd units",
            )
        if not self.running():
            return OpResult(OcfRc.ERR_INSTALLED, OpStatus.NOT_INSTALLED, 0.0, NOT_RUNNING_REASON)
        unit = unit_name(req.spec)
        timeout = req.timeout_ms or DEFAULT_TIMEOUT_MS
        if req.action == "meta-data":
            return OpResult(OcfRc.OK, OpStatus.DONE, 0.0, stdout=(await self.metadata(req.spec)).shortdesc)
        if req.action in ("monitor", "status"):
            code, so, se, ms, err = await self._ctl(["is-active", unit], timeout)
            if err:
                return OpResult(
                    OcfRc.ERR_GENERIC,
                    OpStatus.TIMEOUT if err == "timed out" else OpStatus.ERROR,
                    ms,
                    f"systemctl is-active {unit}: {err}",
                    so,
                    se,
                )
            state = so.strip()
            if state in ("active", "reloading", "activating"):
                return OpResult(OcfRc.OK, OpStatus.DONE, ms, "", so, se, code)
            return OpResult(
                OcfRc.NOT_RUNNING, OpStatus.DONE, ms, f"unit {unit} is {state or 'unknown'}", so, se, code
            )
        if req.action == "start":
            code, so, se, ms, err = await self._ctl(["show", "-p", "LoadState", "--value", unit], timeout)
            if not err and so.strip() == "not-found":
                return OpResult(
                    OcfRc.ERR_INSTALLED, OpStatus.DONE, ms, f"unit {unit} not found", so, se, code
                )
        code, so, se, ms, err = await self._ctl([req.action, unit], timeout)
        if err:
            return OpResult(
                OcfRc.ERR_GENERIC,
                OpStatus.TIMEOUT if err == "timed out" else OpStatus.ERROR,
                ms,
                f"systemctl {req.action} {unit}: {err}",
                so,
                se,
            )
        if code == 0:
            return OpResult(OcfRc.OK, OpStatus.DONE, ms, "", so, se, code)
        reason = (
            se.strip().splitlines()[-1] if se.strip() else f"systemctl {req.action} {unit} exited with {code}"
        )
        return OpResult(OcfRc.ERR_GENERIC, OpStatus.DONE, ms, reason[:512], so, se, code)
