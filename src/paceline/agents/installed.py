"""Is what a configuration needs installed on this machine? (agents, service commands, users)

`missing_here(config)` reads the file system only (no state directory, no processes) and returns
one `Missing(resource, message)` per thing this machine lacks: an OCF, LSB or fence agent that is
not installed (or not executable), a service command not found on the service's PATH, a service
user or working directory that does not exist. `config validate` and `run` report these as
warnings, because a file may well be meant for another machine; starting such a resource then
fails with a message that says the same (the class runners' `ERR_INSTALLED` results).

The places looked in are the ones `RunContext.create` uses by default (`DEFAULT_*` there).
"""

from __future__ import annotations

import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..model.config import Configuration, Primitive
from .context import DEFAULT_FENCE_DIR, DEFAULT_LSB_DIR, DEFAULT_OCF_ROOT
from .service_def import SERVICE_PATH, ServiceDefinition, ServiceDefinitionError

__all__ = ["Missing", "command_problem", "missing_here"]


@dataclass(frozen=True)
class Missing:
    resource: str
    message: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.message}"


def _executable(p: Path) -> bool:
    return p.is_file() and os.access(p, os.X_OK)


def command_problem(argv0: str, path: str, cwd: str | None = None) -> str | None:
    """Why `argv0` cannot be run with this PATH (None when it can): the message the service
    agent gives when a start fails for it, and `missing_here`'s warning."""
    if "/" in argv0:
        full = Path(argv0) if argv0.startswith("/") else Path(cwd or "/") / argv0
        if not full.exists():
            return f"command {argv0} not found"
        if not _executable(full):
            return f"command {argv0} is not an executable file"
        return None
    if shutil.which(argv0, path=path) is None:
        return f"command {argv0!r} not found on PATH ({path})"
    return None


def _service_missing(prim: Primitive) -> list[str]:
    try:
        d = ServiceDefinition.from_mapping(prim.service or {})
    except ServiceDefinitionError:
        return []  # the schema reports it (an error, not a warning)
    out: list[str] = []
    if d.cwd and not Path(d.cwd).is_dir():
        out.append(f"working directory {d.cwd} does not exist here")
    if d.user:
        try:
            pwd.getpwnam(d.user)
        except KeyError:
            out.append(f"user {d.user!r} does not exist here")
    problem = command_problem(d.command[0], d.env.get("PATH", SERVICE_PATH), d.cwd)
    if problem is not None:
        out.append(problem)
    return out


def missing_here(
    config: Configuration,
    *,
    ocf_root: str | os.PathLike[str] = DEFAULT_OCF_ROOT,
    lsb_dir: str | os.PathLike[str] = DEFAULT_LSB_DIR,
    fence_dir: str | os.PathLike[str] = DEFAULT_FENCE_DIR,
) -> list[Missing]:
    """What this machine lacks to run `config`'s resources, in configuration order."""
    out: list[Missing] = []
    for prim in config.primitives():
        agent = prim.agent
        if prim.service is not None:
            out.extend(Missing(prim.id, m) for m in _service_missing(prim))
        elif agent.standard == "ocf" and agent.provider is not None:
            p = Path(ocf_root) / "resource.d" / agent.provider / agent.type
            if not _executable(p):
                out.append(Missing(prim.id, f"agent {agent} is not installed here ({p} not found)"))
        elif agent.standard == "lsb":
            p = Path(lsb_dir) / agent.type
            if not _executable(p):
                out.append(Missing(prim.id, f"agent {agent} is not installed here ({p} not found)"))
        elif agent.standard == "stonith":
            p = Path(fence_dir) / agent.type
            if not _executable(p):
                out.append(
                    Missing(prim.id, f"fence agent {agent.type} is not installed here ({p} not found)")
                )
    return out
