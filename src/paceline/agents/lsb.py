"""Runner for ``lsb:NAME`` init scripts (``/etc/init.d/NAME``).

Duties: ``monitor`` (and ``status``) run the script's ``status``; its LSB status codes are mapped
as Pacemaker maps them (0 running -> OK; 1, 2, 3 dead / not running -> NOT_RUNNING; 4 unknown ->
ERR_GENERIC). Other actions (start, stop, restart, force-reload, reload) use the LSB exit codes,
which equal OCF's for 0-7. ``meta-data`` is synthesised from the script's LSB header."""

from __future__ import annotations

import os
import re
from pathlib import Path
from xml.sax.saxutils import escape

from .context import DEFAULT_TIMEOUT_MS, RunContext, outcome_to_result
from .metadata import AgentMetadata, parse_metadata
from .process import run_process
from .types import AgentSpec, OcfRc, OpRequest, OpResult, OpStatus

__all__ = ["LSB_ACTIONS", "LsbRunner", "lsb_status_to_ocf"]

LSB_ACTIONS = frozenset(
    {"start", "stop", "monitor", "status", "restart", "force-reload", "reload", "meta-data"}
)


def lsb_status_to_ocf(code: int) -> OcfRc | None:
    if code == 0:
        return OcfRc.OK
    if code in (1, 2, 3):
        return OcfRc.NOT_RUNNING
    if code == 4:
        return OcfRc.ERR_GENERIC
    if code == 150:  # Pacemaker's extension: not installed
        return OcfRc.ERR_INSTALLED
    if code == 151:
        return OcfRc.ERR_PERM
    return None


def _lsb_action_to_ocf(code: int) -> OcfRc | None:
    return OcfRc(code) if 0 <= code <= 7 else None


class LsbRunner:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def path(self, spec: AgentSpec) -> Path:
        return self.ctx.lsb_dir / spec.type

    def exists(self, spec: AgentSpec) -> bool:
        p = self.path(spec)
        return p.is_file() and os.access(p, os.X_OK)

    async def metadata(self, spec: AgentSpec) -> AgentMetadata:
        try:
            text = self.path(spec).read_text(errors="replace")
        except OSError:
            raise FileNotFoundError(f"init script {self.path(spec)} not found") from None
        header: dict[str, str] = {}
        m = re.search(r"### BEGIN INIT INFO(.*?)### END INIT INFO", text, re.S)
        if m:
            for line in m.group(1).splitlines():
                kv = re.match(r"#\s*([A-Za-z-]+):\s*(.*)", line)
                if kv:
                    header[kv.group(1).lower()] = kv.group(2).strip()
        short = header.get("short-description", spec.type)
        long = header.get("description", short)
        acts = "".join(f'<action name="{a}" timeout="15s"/>' for a in ("start", "stop", "status", "restart"))
        xml = (
            f'<resource-agent name="{escape(spec.type)}"><version>1.0</version>'
            f'<longdesc lang="en">{escape(long)}</longdesc><shortdesc lang="en">{escape(short)}</shortdesc>'
            f'<parameters/><actions>{acts}<action name="monitor" timeout="15s" interval="15s"/>'
            f'<action name="meta-data" timeout="5s"/></actions></resource-agent>'
        )
        return parse_metadata(xml)

    async def run(self, req: OpRequest) -> OpResult:
        if req.action not in LSB_ACTIONS:
            return OpResult(
                OcfRc.ERR_UNIMPLEMENTED,
                OpStatus.NOT_SUPPORTED,
                0.0,
                f"{req.action} is not an action of LSB init scripts",
            )
        if not self.exists(req.spec):
            return OpResult(
                OcfRc.ERR_INSTALLED,
                OpStatus.NOT_INSTALLED,
                0.0,
                f"init script {self.path(req.spec)} not found",
            )
        if req.action == "meta-data":
            md = await self.metadata(req.spec)
            return OpResult(OcfRc.OK, OpStatus.DONE, 0.0, stdout=md.shortdesc)
        action = "status" if req.action == "monitor" else req.action
        timeout = req.timeout_ms or DEFAULT_TIMEOUT_MS
        out = await run_process(
            [str(self.path(req.spec)), action],
            env=dict(self.ctx.base_env),
            timeout_s=timeout / 1000,
            reaper=self.ctx.reaper,
            cwd="/",
        )
        mapper = lsb_status_to_ocf if action == "status" else _lsb_action_to_ocf
        return outcome_to_result(
            out,
            timeout,
            f"{req.spec} {action}",
            mapper,
            lambda o: o.stderr.strip().splitlines()[-1][:512] if o.stderr.strip() else "",
        )
