"""The per-node context every class runner shares, and the mapping from a finished process to
an ``OpResult``.

Invariants: ``RunContext`` is immutable; directories it names exist once ``RunContext.create``
returned. ``outcome_to_result`` never raises and always explains a non-DONE status in
``exit_reason``."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from .attrstore import ATTR_STORE_ENV
from .metadata import AgentMetadata
from .process import ProcessOutcome
from .reaper import Reaper
from .shimbin import install_shims
from .types import AgentSpec, OcfRc, OpRequest, OpResult, OpStatus

__all__ = [
    "DEFAULT_FENCE_DIR",
    "DEFAULT_LSB_DIR",
    "DEFAULT_OCF_ROOT",
    "DEFAULT_TIMEOUT_MS",
    "ClassRunner",
    "RunContext",
    "exit_reason_from",
    "outcome_to_result",
]

DEFAULT_TIMEOUT_MS = 20000
DEFAULT_OCF_ROOT = "/usr/lib/ocf"
DEFAULT_LSB_DIR = "/etc/init.d"
DEFAULT_FENCE_DIR = "/usr/sbin"
EXIT_REASON_PREFIX = "ocf-exit-reason:"


@dataclass(frozen=True)
class RunContext:
    """Where things are on this node and who we are."""

    node_name: str
    node_id: int
    state_dir: Path
    bin_dir: Path  # shim wrappers; first in the agents' PATH, and HA_SBIN_DIR
    rsctmp: Path  # HA_RSCTMP, per node
    attr_store: Path  # PACELINE_ATTR_STORE
    ocf_root: Path
    lsb_dir: Path
    fence_dir: Path
    systemctl: str
    systemd_marker: Path
    reaper: Reaper
    base_env: MappingProxyType[str, str]

    @classmethod
    def create(
        cls,
        state_dir: str | os.PathLike[str],
        node_name: str,
        *,
        node_id: int = 1,
        reaper: Reaper | None = None,
        ocf_root: str | os.PathLike[str] = DEFAULT_OCF_ROOT,
        lsb_dir: str | os.PathLike[str] = DEFAULT_LSB_DIR,
        fence_dir: str | os.PathLike[str] = DEFAULT_FENCE_DIR,
        systemctl: str = "systemctl",
        systemd_marker: str | os.PathLike[str] = "/run/systemd/system",
    ) -> RunContext:
        sd = Path(state_dir).absolute()
        bin_dir = install_shims(sd / "bin")
        rsctmp = sd / "rsctmp"
        rsctmp.mkdir(parents=True, exist_ok=True)
        attr = sd / "attrs.json"
        # HA_VARRUN (/var/run by default, agents' pid and state files) is the one HA_ variable a
        # daemon passes on: nodes sharing one machine's /run (tests, the demo) each need their own
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OCF_", "PACELINE_", "HA_")) or k == "HA_VARRUN"
        }
        path = env.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        for extra in ("/usr/sbin", "/sbin"):
            if extra not in path.split(":"):
                path += ":" + extra
        env.update(
            PATH=f"{bin_dir}:{path}",
            HA_SBIN_DIR=str(bin_dir),
            HA_RSCTMP=str(rsctmp),
            HA_LOGFACILITY="none",
            PACELINE_NODE_NAME=node_name,
            PACELINE_NODE_ID=str(node_id),
            PACELINE_STATE_DIR=str(sd),
            **{ATTR_STORE_ENV: str(attr)},
        )
        return cls(
            node_name=node_name,
            node_id=node_id,
            state_dir=sd,
            bin_dir=bin_dir,
            rsctmp=rsctmp,
            attr_store=attr,
            ocf_root=Path(ocf_root),
            lsb_dir=Path(lsb_dir),
            fence_dir=Path(fence_dir),
            systemctl=systemctl,
            systemd_marker=Path(systemd_marker),
            reaper=reaper or Reaper(),
            base_env=MappingProxyType(env),
        )


class ClassRunner(Protocol):
    """One agent class (ocf, lsb, ...). ``run`` never raises for agent misbehaviour."""

    async def run(self, req: OpRequest) -> OpResult: ...

    async def metadata(self, spec: AgentSpec) -> AgentMetadata: ...

    def exists(self, spec: AgentSpec) -> bool: ...


def exit_reason_from(stderr: str) -> str:
    """The text of the last ``ocf-exit-reason:`` line in ``stderr`` ('' if none)."""
    reason = ""
    for line in stderr.splitlines():
        idx = line.find(EXIT_REASON_PREFIX)
        if idx >= 0:
            reason = line[idx + len(EXIT_REASON_PREFIX) :].strip()
    return reason[:512]


def _signame(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


def outcome_to_result(
    out: ProcessOutcome,
    timeout_ms: int,
    what: str,
    map_code: Callable[[int], OcfRc | None] = OcfRc.from_exit_code,
    reason: Callable[[ProcessOutcome], str] = lambda o: exit_reason_from(o.stderr),
) -> OpResult:
    """Turn a process outcome into a result; ``map_code`` maps an exit code to an OCF code
    (None: not a valid code for this class)."""
    if out.spawn_error is not None:
        return OpResult(OcfRc.ERR_GENERIC, OpStatus.ERROR, out.duration_ms, f"{what}: {out.spawn_error}")
    if out.timed_out:
        return OpResult(
            OcfRc.ERR_GENERIC,
            OpStatus.TIMEOUT,
            out.duration_ms,
            f"{what} timed out after {timeout_ms} ms (process group killed)",
            out.stdout,
            out.stderr,
        )
    if out.signal is not None:
        return OpResult(
            OcfRc.ERR_GENERIC,
            OpStatus.ERROR,
            out.duration_ms,
            f"{what} was killed by {_signame(out.signal)}",
            out.stdout,
            out.stderr,
        )
    assert out.exit_code is not None
    rc = map_code(out.exit_code)
    text = reason(out)
    if rc is None:
        msg = f"{what} exited with {out.exit_code}, which is not a valid exit code"
        return OpResult(
            OcfRc.ERR_GENERIC,
            OpStatus.ERROR,
            out.duration_ms,
            f"{msg}: {text}" if text else msg,
            out.stdout,
            out.stderr,
            out.exit_code,
        )
    return OpResult(rc, OpStatus.DONE, out.duration_ms, text, out.stdout, out.stderr, out.exit_code)
