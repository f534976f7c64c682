"""Command-line start-up and `simulate --cib` as whole processes, compared like with like.

Every figure is the wall time of a fresh process, from fork to exit, measured here the same way
for every command (crm_simulate included), in the same run, interleaved (A, B, A, B, ...) so that
the machine's load hits all of them alike. Reported: the minimum and the median of `--runs` runs.

Rows:
- `python3 -c pass`: the interpreter's own floor on this machine (site, .pth files);
- `import click`: the floor of this command line (click); `import typer`: that of the Typer-built
  one it replaced (shown if Typer is installed);
- `paceline --help`, `paceline status` (against a daemon this benchmark starts on an empty
  configuration in a temporary state directory);
- `paceline simulate --cib` and `crm_simulate -R -x` on the same CIB (N nodes x M Dummy
  primitives, from `scheduler_bench.make_cib`), and their ratio.

`paceline` is run as the console script runs it (`from paceline.cli.main import app; app()`) with
this interpreter and this process's PYTHONPATH (run from a worktree with PYTHONPATH=src to
measure that worktree). With `--before DIR` (another tree's `src`, e.g. from `git archive`), every
`paceline` row is also timed with PYTHONPATH=DIR, interleaved with this tree's in the same run, so
that before and after see the same load.

Bytecode: an installed package has its modules compiled (pip does it at install), and wherever
Python may write `__pycache__` every run after the first finds them compiled. Where
PYTHONDONTWRITEBYTECODE is set (as on the machines these figures come from) and the tree has no
`__pycache__`, every `paceline` run compiles its sources first (~20 ms of `simulate`). The header
says which case each tree is in; `--bytecode` compiles the trees first (`compileall`, into their
`__pycache__`, which git ignores). Usage:
`python3 bench/cli_bench.py [--runs 7] [--sizes 16x500,32x1000] [--before DIR] [--bytecode]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scheduler_bench import make_cib

PACELINE = [sys.executable, "-c", "import sys; from paceline.cli.main import app; sys.exit(app())"]


def wall(argv: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    t = time.perf_counter()
    res = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
    d = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({res.returncode}): {res.stderr.decode()[-500:]}")
    return d


def package_dir(env: Mapping[str, str]) -> Path:
    """The `paceline` package a process with this environment imports."""
    code = "import paceline, pathlib; print(pathlib.Path(paceline.__file__).parent)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def start_daemon(state: Path) -> subprocess.Popen[bytes]:
    cfg = state.parent / "empty.yaml"
    cfg.write_text("cluster: {name: bench}\nresources: []\n")
    env = {**os.environ, "PACELINE_STATE_DIR": str(state)}
    proc = subprocess.Popen(
        [*PACELINE, "run", str(cfg)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (state / "paceline.sock").exists():
            probe = subprocess.run([*PACELINE, "status"], env=env, capture_output=True, check=False)
            if probe.returncode == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the daemon did not start")


def row(name: str, times: list[float]) -> str:
    return f"{name:<44} min {min(times) * 1000:8.1f} ms   median {statistics.median(times) * 1000:8.1f} ms"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--sizes", default="16x500,32x1000")
    ap.add_argument("--no-crm", action="store_true")
    ap.add_argument("--before", metavar="DIR", help="also time the paceline of this tree's src, interleaved")
    ap.add_argument("--bytecode", action="store_true", help="compile the trees' modules first")
    args = ap.parse_args()
    # (label suffix, environment overrides) for each tree whose `paceline` is timed
    trees: list[tuple[str, dict[str, str]]] = [("", {})]
    if args.before:
        trees.append((" [before]", {"PYTHONPATH": str(Path(args.before).resolve())}))
    have_crm = shutil.which("crm_simulate") is not None and not args.no_crm
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    for suffix, extra in trees:
        package = package_dir({**os.environ, **extra})
        if args.bytecode:
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
        sources = list(package.rglob("*.py"))
        compiled = sum(1 for p in sources if Path(importlib.util.cache_from_source(str(p))).exists())
        print(
            f"paceline{suffix}: {package}, {compiled} of {len(sources)} modules compiled; "
            f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        daemon = start_daemon(state)
        env = {**os.environ, "PACELINE_STATE_DIR": str(state)}
        try:
            cases: dict[str, tuple[list[str], dict[str, str] | None]] = {
                "python3 -c pass": ([sys.executable, "-c", "pass"], None),
                "python3 -c 'import click'": ([sys.executable, "-c", "import click"], None),
            }
            if importlib.util.find_spec("typer") is not None:
                cases["python3 -c 'import typer'"] = ([sys.executable, "-c", "import typer"], None)
            for suffix, extra in trees:
                cases[f"paceline --help{suffix}"] = ([*PACELINE, "--help"], {**os.environ, **extra})
                cases[f"paceline status{suffix}"] = ([*PACELINE, "status"], {**env, **extra})
            results: dict[str, list[float]] = {k: [] for k in cases}
            for _ in range(args.runs):
                for name, (argv, e) in cases.items():
                    results[name].append(wall(argv, e))
            for name, times in results.items():
                print(row(name, times))
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(30)
        for size in args.sizes.split(","):
            n, m = (int(x) for x in size.split("x"))
            path = Path(tmp) / f"bench-{n}x{m}.xml"
            path.write_bytes(make_cib(n, m))
            ours: dict[str, list[float]] = {suffix: [] for suffix, _ in trees}
            crm: list[float] = []
            for _ in range(args.runs):
                for suffix, extra in trees:
                    argv = [*PACELINE, "simulate", "--cib", str(path)]
                    ours[suffix].append(wall(argv, {**os.environ, **extra}))
                if have_crm:
                    crm.append(wall(["crm_simulate", "-R", "-x", str(path)]))
            for suffix, times in ours.items():
                print(row(f"paceline simulate --cib ({size}){suffix}", times))
            if crm:
                print(row(f"crm_simulate -R -x ({size})", crm))
                for suffix, times in ours.items():
                    print(
                        f"{'  crm_simulate / paceline' + suffix:<44} min {min(crm) / min(times):8.1f}x      "
                        f"median {statistics.median(crm) / statistics.median(times):8.1f}x"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
