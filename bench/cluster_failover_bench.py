"""Cluster failover: kill -9 of the machine running a singleton -> the singleton running elsewhere.

A real cluster on loopback: 3 etcd members (election 500 ms, heartbeat 50 ms), 3 `paceline run`
(each its own state dir, mini init and watchdog), no fence device (watchdog fencing only). An
observer that does not ask Paceline scans /proc every ~3 ms for the singleton's process and the
node that started it (PACELINE_NODE_NAME). Each round kills the machine running it (the daemon
and every process below it, SIGKILL), measures kill -> a process running on another node, then
starts the killed node again and waits until it is online. Overlaps (two nodes at once) are
counted over the whole run.

    python3 bench/cluster_failover_bench.py [--kills 20] [--ttl 1s] [--ttl 2s]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cluster.harness import SingletonObserver, cluster_yaml, machines
from daemon.realdaemon import wait_for
from etcdcluster import EtcdCluster


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def run(ttl: str, kills: int) -> dict[str, object]:
    marker = "plb" + uuid.uuid4().hex[:10]
    times: list[float] = []
    dc_victims = 0
    with tempfile.TemporaryDirectory(prefix="pl-bench-") as tmp:
        root = Path(tmp)
        with EtcdCluster(3, root / "etcd") as etcd:
            cfg = root / "cluster.yaml"
            cfg.write_text(cluster_yaml(etcd.url, marker, ttl=ttl))
            obs = SingletonObserver(marker).start()
            try:
                with machines(("n1", "n2", "n3"), root, cfg) as ms:
                    for m in ms.values():
                        m.start()
                    for i in range(kills):
                        assert obs.wait_on(lambda ns: len(ns) == 1, 30), obs.last
                        victim = next(iter(obs.nodes()))
                        other = next(n for n in ms if n != victim)
                        if ms[other].status()["dc"] == victim:
                            dc_victims += 1
                        t0 = time.monotonic()
                        ms[victim].kill()
                        ok = obs.wait_on(lambda ns, v=victim: len(ns) == 1 and v not in ns, 30)  # type: ignore[misc]
                        dt = time.monotonic() - t0
                        if not ok:
                            raise SystemExit(f"round {i}: no failover within 30 s ({obs.last})")
                        times.append(dt)
                        print(
                            f"  ttl {ttl} kill {i + 1:2d}: {victim} -> {next(iter(obs.nodes()))} {dt:.3f} s"
                        )
                        ms[victim].start()

                        def online(v: str = victim, o: str = other) -> bool:
                            st = ms[o].status()
                            return any(n["name"] == v and n["state"] == "online" for n in st["nodes"])

                        assert wait_for(online, 20)
            finally:
                obs.stop()
    return {
        "ttl": ttl,
        "kills": len(times),
        "dc_victims": dc_victims,
        "p50": statistics.median(times),
        "p99": pct(times, 99),
        "min": min(times),
        "max": max(times),
        "overlaps": len(obs.overlaps),
        "samples": obs.samples,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--ttl", action="append", default=[])
    args = ap.parse_args()
    results = [run(ttl, args.kills) for ttl in (args.ttl or ["1s", "2s"])]
    print("\n| lease-ttl | kills | of which the DC | p50 | p99 | min | max | overlaps (samples) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['ttl']} | {r['kills']} | {r['dc_victims']} | {r['p50']:.3f} s | {r['p99']:.3f} s | "
            f"{r['min']:.3f} s | {r['max']:.3f} s | {r['overlaps']} ({r['samples']}) |"
        )


if __name__ == "__main__":
    main()
