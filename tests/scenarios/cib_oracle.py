"""Write a scenario (configuration + observed state) as a Pacemaker CIB, so that crm_simulate can
judge our golden files.

Covers what the scenarios use: primitives (a `service` becomes ocf:pacemaker:Dummy), groups,
clones, stonith devices, node/attribute-rule locations, colocations, orders, cluster options,
rsc_defaults, node membership, fail counts and operation history. Operation records carry the
digest Pacemaker computes (md5 of ` <parameters .../>` plus a newline; recurring operations add
CRM_meta_timeout), so that crm_simulate does not see a "resource definition change".
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from paceline.model.cib_writer import write_cib

__all__ = ["crm_simulate_available", "crm_simulate_summary", "to_cib"]

to_cib = write_cib


def crm_simulate_available() -> bool:
    return shutil.which("crm_simulate") is not None


def crm_simulate_summary(cib: bytes, now: float, workdir: Path) -> list[str]:
    """crm_simulate's Transition Summary lines for `cib` at `now`, whitespace collapsed."""
    path = workdir / "cib.xml"
    path.write_bytes(cib)
    when = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    result = subprocess.run(
        ["crm_simulate", "-x", str(path), "-S", "-t", when],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "Transition Summary:" not in result.stdout:
        raise RuntimeError(f"crm_simulate failed: {result.stderr.strip()}")
    block = result.stdout.split("Transition Summary:\n", 1)[1].split("\nExecuting", 1)[0]
    return [" ".join(line.split()[1:]) for line in block.splitlines() if line.strip().startswith("*")]
