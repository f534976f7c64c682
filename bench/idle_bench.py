"""Idle cost of the daemon: CPU and RSS with N ocf:heartbeat:Dummy resources monitored every 10 s.

Starts `paceline run` on a generated configuration, waits until every resource runs, lets it
settle, then samples /proc/PID/stat (utime+stime of the daemon itself, and of the agents it ran:
cutime+cstime) and VmRSS over the measuring window.

    python3 bench/idle_bench.py [--resources 100] [--interval 10s] [--seconds 60] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from paceline.cli.daemon_cmds import DaemonClient

TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid: int) -> tuple[float, float]:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(f[11]) + int(f[12])) / TICK
    children = (int(f[13]) + int(f[14])) / TICK
    return own, children


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resources", type=int, default=100)
    ap.add_argument("--interval", default="10s")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="paceline-idle-"))
    rscs = "\n".join(
        f"  - {{id: d{i:03d}, agent: ocf:heartbeat:Dummy, ops: {{monitor: {{interval: {a.interval}}}}}}}"
        for i in range(a.resources)
    )
    (d / "c.yaml").write_text(
        f"cluster: {{name: idle, options: {{stonith-enabled: false}}}}\nresources:\n{rscs}\n"
    )
    log = open(d / "daemon.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "paceline.cli.main",
            "run",
            str(d / "c.yaml"),
            "--state-dir",
            str(d / "state"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = DaemonClient(d / "state")
    try:
        t_start = time.monotonic()
        while True:
            try:
                code, st = client.request("GET", "/status")
                if code == 200 and all(r["role"] == "Started" for r in st["resources"]):
                    break
            except Exception:
                pass
            if time.monotonic() - t_start > 120:
                raise RuntimeError("resources did not start")
            time.sleep(0.2)
        started_s = time.monotonic() - t_start
        time.sleep(15)  # settle: first monitors, SQLite checkpoint
        own0, ch0 = cpu(proc.pid)
        t0 = time.monotonic()
        rss = []
        while time.monotonic() - t0 < a.seconds:
            time.sleep(1)
            rss.append(rss_mb(proc.pid))
        own1, ch1 = cpu(proc.pid)
        wall = time.monotonic() - t0
        result = {
            "resources": a.resources,
            "interval": a.interval,
            "window_s": round(wall, 1),
            "all_started_after_s": round(started_s, 2),
            "daemon_cpu_percent_of_one_core": round((own1 - own0) / wall * 100, 2),
            "agents_cpu_percent_of_one_core": round((ch1 - ch0) / wall * 100, 2),
            "rss_mb_max": round(max(rss), 1),
            "rss_mb_median": round(sorted(rss)[len(rss) // 2], 1),
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    print(json.dumps(result, indent=2) if a.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
