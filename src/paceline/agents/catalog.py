"""Listing the agents installed on this node, per class (for ``paceline agent list``).

Pure reads of the file system (and ``systemctl list-unit-files`` where systemd runs);
results are sorted spec strings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .context import RunContext
from .fence import fence_agent_dirs
from .types import Standard

__all__ = ["list_agents"]


def _executables(d: Path) -> list[Path]:
    try:
        return sorted(p for p in d.iterdir() if p.is_file() and os.access(p, os.X_OK))
    except OSError:
        return []


def list_agents(ctx: RunContext, standard: Standard | None = None) -> list[str]:
    out: list[str] = []
    want = [standard] if standard else list(Standard)
    for std in want:
        if std is Standard.OCF:
            base = ctx.ocf_root / "resource.d"
            providers = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
            for prov in providers:
                out.extend(
                    f"ocf:{prov.name}:{a.name}" for a in _executables(prov) if not a.name.startswith(".")
                )
        elif std is Standard.LSB:
            out.extend(
                f"lsb:{p.name}"
                for p in _executables(ctx.lsb_dir)
                if not p.name.startswith((".", "README")) and p.name not in {"rc", "rcS", "skeleton"}
            )
        elif std is Standard.STONITH:  # where FenceRunner looks: fence_dir, scripts dir, PATH
            names = {
                p.name
                for d in fence_agent_dirs(ctx.fence_dir, path=ctx.base_env.get("PATH", ""))
                for p in _executables(d)
                if p.name.startswith("fence_") and not p.name.endswith(".py")
            }
            out.extend(f"stonith:{n}" for n in sorted(names))
        elif std is Standard.SYSTEMD:
            if ctx.systemd_marker.is_dir():
                try:
                    res = subprocess.run(
                        [ctx.systemctl, "list-unit-files", "--type=service", "--no-legend", "--plain"],
                        capture_output=True,
                        text=True,
                        timeout=10,
                        check=False,
                    )
                    out.extend(
                        f"systemd:{line.split()[0]}" for line in res.stdout.splitlines() if line.strip()
                    )
                except (OSError, subprocess.TimeoutExpired):
                    pass
        elif std is Standard.SERVICE:
            out.append("service:NAME")
    return out
