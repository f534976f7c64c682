"""Agent runner overhead: Dummy monitors through LocalAgentRunner versus a plain shell loop
calling the agent with the same environment (the fork/exec floor).

Usage: python3 bench/agents_bench.py [--n 500] [--agent ocf:heartbeat:Dummy] [--parallel 4]
Prints operations per second, wall ms per operation and CPU ms per operation (ours + the
agents'), and the runner's overhead relative to the floor. Not a test: numbers only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from paceline.agents import AgentSpec, LocalAgentRunner, OcfRc, OpRequest
from paceline.agents.ocf_env import ocf_environment


@dataclass(frozen=True)
class Sample:
    name: str
    n: int
    wall_s: float
    cpu_self_s: float
    cpu_children_s: float

    def line(self) -> str:
        per = self.wall_s / self.n * 1000
        cpu = (self.cpu_self_s + self.cpu_children_s) / self.n * 1000
        return (
            f"{self.name:<34} {self.n / self.wall_s:8.0f} ops/s  {per:6.2f} ms/op  "
            f"CPU {cpu:6.2f} ms/op (ours {self.cpu_self_s / self.n * 1000:5.2f}, "
            f"agents {self.cpu_children_s / self.n * 1000:5.2f})"
        )


def _usage() -> tuple[float, float]:
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime, c.ru_utime + c.ru_stime


def measure(name: str, n: int, fn: object) -> Sample:
    s0, c0 = _usage()
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    wall = time.perf_counter() - t0
    s1, c1 = _usage()
    return Sample(name, n, wall, s1 - s0, c1 - c0)


def shell_floor(env: dict[str, str], agent: str, n: int) -> None:
    script = f"i=0; while [ $i -lt {n} ]; do {shlex.quote(agent)} monitor; i=$((i+1)); done"
    subprocess.run(
        ["sh", "-c", script], env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--agent", default="ocf:heartbeat:Dummy")
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    spec = AgentSpec.parse(args.agent)
    state = tempfile.mkdtemp(prefix="paceline-bench-")
    runner = LocalAgentRunner(state, "bench", max_concurrency=args.parallel)
    req = OpRequest("bench", spec, "monitor", interval_ms=10000, timeout_ms=20000)
    path = str(runner.ctx.ocf_root / "resource.d" / str(spec.provider) / spec.type)
    env = ocf_environment(runner.ctx, req, 20000)

    async def seq(n: int) -> None:
        for _ in range(n):
            res = await runner.run(req)
            assert res.rc in (OcfRc.OK, OcfRc.NOT_RUNNING), res

    async def par(n: int) -> None:
        reqs = [
            OpRequest(f"bench{i}", spec, "monitor", interval_ms=10000, timeout_ms=20000)
            for i in range(args.parallel)
        ]

        async def worker(q: OpRequest) -> None:
            for _ in range(n // args.parallel):
                await runner.run(q)

        await asyncio.gather(*(worker(q) for q in reqs))

    loop = asyncio.new_event_loop()
    loop.run_until_complete(seq(20))  # warm-up (page cache, metadata-free path)
    print(f"{args.agent} monitor, n={args.n}, {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    floors, runs = [], []
    for _ in range(args.rounds):
        floors.append(measure("shell loop (fork/exec floor)", args.n, lambda: shell_floor(env, path, args.n)))
        runs.append(
            measure("LocalAgentRunner, sequential", args.n, lambda: loop.run_until_complete(seq(args.n)))
        )
    best_floor = min(floors, key=lambda s: s.wall_s)
    best_run = min(runs, key=lambda s: s.wall_s)
    parallel = measure(
        f"LocalAgentRunner, {args.parallel} in parallel",
        args.n // args.parallel * args.parallel,
        lambda: loop.run_until_complete(par(args.n)),
    )
    for s in (best_floor, best_run, parallel):
        print(s.line())
    floor_ms = best_floor.wall_s / best_floor.n * 1000
    run_ms = best_run.wall_s / best_run.n * 1000
    floor_cpu = (best_floor.cpu_self_s + best_floor.cpu_children_s) / best_floor.n * 1000
    run_cpu = (best_run.cpu_self_s + best_run.cpu_children_s) / best_run.n * 1000
    print(
        f"overhead wall: {run_ms - floor_ms:+.2f} ms/op = {(run_ms / floor_ms - 1) * 100:+.1f}% of the floor"
    )
    print(
        f"overhead CPU:  {run_cpu - floor_cpu:+.2f} ms/op = "
        f"{(run_cpu / floor_cpu - 1) * 100:+.1f}% of the floor"
    )
    loop.run_until_complete(runner.close())
    loop.close()


if __name__ == "__main__":
    main()
