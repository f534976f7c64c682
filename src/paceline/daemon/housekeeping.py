"""Start-up housekeeping of the node daemon: what a reboot or a changed configuration left behind.

- `forget_previous_boot`: after a reboot, what agents kept in HA_RSCTMP (state files such as
  Dummy's) and the transient node attributes describe the previous boot: they are cleared, as the
  tmpfs Pacemaker's HA_RSCTMP lives on would be. (Built-in services check the boot id themselves.)
  The boot id of the last start is kept in `STATE/boot_id`.
- `stop_orphans`: built-in services still running from an earlier configuration that no longer
  has them are stopped (Pacemaker's stop-orphan-resources), each with a `stop` event.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path

from ..agents import AgentSpec, LocalAgentRunner, OpRequest
from ..agents.procfs import boot_id
from ..controller.records import EventKind
from ..controller.statedb import StateDB
from ..model.config import Configuration

__all__ = ["forget_previous_boot", "stop_orphans"]

log = logging.getLogger("paceline.daemon")


def forget_previous_boot(runner: LocalAgentRunner, state_dir: Path, node: str) -> bool:
    """Clear the previous boot's temporary agent state; True when this is the first start since a
    reboot."""
    marker = state_dir / "boot_id"
    now = boot_id()
    try:
        before = marker.read_text().strip()
    except OSError:
        before = now
    rebooted = before != now
    if rebooted:
        log.info(
            "first start since a reboot: clearing agents' temporary state and transient attributes",
            extra={"fields": {"kind": "daemon"}},
        )
        for p in runner.ctx.rsctmp.iterdir():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()
        with contextlib.suppress(OSError, ValueError):
            runner.attributes.clear_transient(node)
    marker.write_text(now + "\n")
    return rebooted


async def stop_orphans(
    runner: LocalAgentRunner, db: StateDB, node: str, config: Configuration, adopted: list[str]
) -> list[str]:
    """Stop the adopted built-in services the configuration no longer has; the ids stopped."""
    if not config.options.stop_orphan_resources:
        return []
    known = {p.id for p in config.primitives()}
    stopped = []
    for rid in adopted:
        if rid in known:
            continue
        res = await runner.run(OpRequest(rid, AgentSpec("service", None, "service"), "stop"))
        stopped.append(rid)
        await db.log_event(
            EventKind.STOP,
            node,
            f"{rid} is no longer configured: stopped it" + ("" if res.ok else f" (failed: {res.describe()})"),
            resource=rid,
            task="stop",
            rc=int(res.rc),
            target_rc=0,
            desc="ok" if res.ok else "error",
            extra={"reason": "orphan"},
        )
    return stopped
