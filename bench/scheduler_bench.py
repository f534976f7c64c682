"""Scheduler scale: Paceline vs crm_simulate on N nodes x M Dummy primitives.

The status section has every node online and no resource history (nothing probed yet).

Each primitive gets a location preference and every tenth one a colocation with its predecessor,
as the issue asks. Both tools read the same CIB file. Prints one line per size; run as
`python3 bench/scheduler_bench.py [--sizes 16x500,32x2000] [--no-crm]`.

Like with like: the speed-up compares whole processes (Paceline's: interpreter, imports,
`read_cib` + `schedule`; crm_simulate's: `crm_simulate -R -x FILE`); the in-process time of
`read_cib` + `schedule` is shown beside it. `bench/cli_bench.py` times `paceline simulate --cib`
itself (the command line included).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from paceline.model import (
    AgentRef,
    ClusterOptions,
    ClusterState,
    Colocation,
    Configuration,
    Location,
    Node,
    NodeStatus,
    Primitive,
)
from paceline.model.cib_writer import write_cib


def make_cib(nodes: int, prims: int) -> bytes:
    ns = tuple(Node(f"node{i}", id=str(i + 1)) for i in range(nodes))
    rs = tuple(Primitive(f"rsc{j}", AgentRef("ocf", "Dummy", "pacemaker")) for j in range(prims))
    locs = tuple(
        Location(f"loc{j}", f"rsc{j}", node=f"node{(j * 7) % nodes}", score=(j % 5) * 10 + 1)
        for j in range(prims)
    )
    cols = tuple(Colocation(f"col{j}", f"rsc{j}", f"rsc{j - 1}", score=100) for j in range(1, prims, 10))
    cfg = Configuration(
        name="bench",
        options=ClusterOptions(stonith_enabled=False, raw={"stonith-enabled": "false"}),
        nodes=ns,
        resources=rs,
        locations=locs,
        colocations=cols,
    )
    # Every node online and no resource history: the scheduler must probe and place everything.
    state = ClusterState(nodes=tuple(NodeStatus(n.name) for n in ns), have_quorum=True)
    return write_cib(cfg, state)


def time_paceline(path: Path) -> tuple[float, float, float, int]:
    """In-process seconds (read + schedule), the whole process's wall seconds, its peak RSS (MB)
    and the number of summary lines, for a fresh process reading the CIB and scheduling."""
    code = (
        "import sys,time,resource;from paceline.model.cib import read_cib;"
        "from paceline.scheduler import schedule;"
        "t=time.perf_counter();r=read_cib(sys.argv[1]);tr=schedule(r.config,r.state,0.0);"
        "d=time.perf_counter()-t;"
        "print(d, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024, len(tr.summary))"
    )
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    whole = time.perf_counter() - t
    d, rss, n = out.stdout.split()
    return float(d), whole, float(rss), int(n)


def time_crm(path: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run(["crm_simulate", "-R", "-x", str(path)], capture_output=True, check=True)
    d = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return d, max(after, before) / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="8x250,16x500,16x1000,32x1000,32x2000")
    ap.add_argument("--no-crm", action="store_true")
    ap.add_argument("--crm-max-cells", type=int, default=70_000, help="skip crm_simulate above N*M")
    args = ap.parse_args()
    have_crm = shutil.which("crm_simulate") is not None and not args.no_crm
    header = ("size", "cells", "in-process s", "process s", "paceline MB", "crm_simulate s", "speed-up")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (9, 7, 12, 10, 12, 15, 9), strict=True)))
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            n, m = (int(x) for x in size.split("x"))
            path = Path(tmp) / f"bench-{n}x{m}.xml"
            path.write_bytes(make_cib(n, m))
            inner, whole, rss, _ = time_paceline(path)
            crm_text, ratio = "-", "-"
            if have_crm and n * m <= args.crm_max_cells:
                crm, _ = time_crm(path)
                crm_text, ratio = f"{crm:.2f}", f"{crm / whole:.1f}x"
            print(
                f"{size:>9} {n * m:>7} {inner:>12.3f} {whole:>10.3f} {rss:>12.0f} {crm_text:>15} {ratio:>9}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
