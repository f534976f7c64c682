"""Agent runner overhead: Dummy monitors through LocalAgentRunner versus a plain shell loop
calling the agent with the same environment (the fork/exec floor).

Usage: python3 bench/agents_bench.py [--n 2000] [--rounds 20] [--agent ocf:heartbeat:Dummy]
                                    [--parallel 4] [--crashes 50]
Prints operations per second, wall ms per operation and CPU ms per operation (ours + the
agents'), and the runner's overhead relative to the floor; then how long after a kill -9 the
built-in service agent's ServiceExited event arrives. Not a test: numbers only.
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

import signal
import statistics

from paceline.agents import AgentSpec, LocalAgentRunner, OcfRc, OpRequest, ServiceDefinition, ServiceExited
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
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--agent", default="ocf:heartbeat:Dummy")
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=20, help="interleaved chunks")
    ap.add_argument("--crashes", type=int, default=50)
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
    # Interleaved chunks (floor, runner, floor, runner, ...): load from other processes drifts
    # slowly, so comparing neighbouring chunks and taking the median of the paired ratios is
    # far steadier than comparing two long runs.
    chunk = max(10, args.n // args.rounds)
    floors, runs = [], []
    for _ in range(args.rounds):
        floors.append(measure("shell loop (fork/exec floor)", chunk, lambda: shell_floor(env, path, chunk)))
        runs.append(
            measure("LocalAgentRunner, sequential", chunk, lambda: loop.run_until_complete(seq(chunk)))
        )
    parallel = measure(
        f"LocalAgentRunner, {args.parallel} in parallel",
        args.n // args.parallel * args.parallel,
        lambda: loop.run_until_complete(par(args.n)),
    )

    def ms(s: Sample) -> float:
        return s.wall_s / s.n * 1000

    def cpu(s: Sample) -> float:
        return (s.cpu_self_s + s.cpu_children_s) / s.n * 1000

    med_floor = min(floors, key=lambda s: abs(ms(s) - statistics.median(map(ms, floors))))
    med_run = min(runs, key=lambda s: abs(ms(s) - statistics.median(map(ms, runs))))
    print(f"median chunk of {chunk} ops ({args.rounds} chunks each, interleaved):")
    for s in (med_floor, med_run, parallel):
        print(s.line())
    wall_ratio = statistics.median(ms(r) / ms(f) for f, r in zip(floors, runs, strict=True))
    cpu_ratio = statistics.median(cpu(r) / cpu(f) for f, r in zip(floors, runs, strict=True))
    ours = statistics.median(r.cpu_self_s / r.n * 1000 for r in runs)
    print(f"overhead wall (median of paired chunks): {(wall_ratio - 1) * 100:+.1f}% of the floor")
    print(f"overhead CPU  (median of paired chunks): {(cpu_ratio - 1) * 100:+.1f}% of the floor")
    floor_cpu = statistics.median(map(cpu, floors))
    print(f"runner's own CPU: {ours:.2f} ms/op = {ours / floor_cpu * 100:.1f}% of the floor")
    if args.crashes:
        lat = loop.run_until_complete(crash_latencies(runner, args.crashes))
        lat.sort()
        print(
            f"service crash -> ServiceExited event ({len(lat)} kill -9): "
            f"median {statistics.median(lat):.2f} ms, "
            f"p95 {lat[int(len(lat) * 0.95) - 1]:.2f} ms, max {lat[-1]:.2f} ms"
        )
    loop.run_until_complete(runner.close())
    loop.close()


async def crash_latencies(runner: LocalAgentRunner, n: int) -> list[float]:
    """kill -9 a supervised `sleep` n times; ms from the kill to the event (monotonic clock)."""
    d = ServiceDefinition.from_mapping({"command": ["sleep", "300"]})
    spec = AgentSpec("service", None, "crash")
    q = runner.services.subscribe()
    out = []
    for _ in range(n):
        res = await runner.run(OpRequest("crash", spec, "start", d.to_params()))
        assert res.ok, res
        pid = runner.services.pid("crash")
        assert pid is not None
        await asyncio.sleep(0.005)
        t0 = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        ev = await asyncio.wait_for(q.get(), 5)
        assert isinstance(ev, ServiceExited) and ev.pid == pid
        out.append((ev.at - t0) * 1000)
    return out


if __name__ == "__main__":
    main()
