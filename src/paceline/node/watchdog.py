"""The node's watchdog: a separate, tiny process that kills the node's resources when the node
agent stops feeding it (SIGSTOP, deadlock, crash).

Run as ``python3 -m paceline.node.watchdog --pid DAEMON_PID --services DIR`` with a pipe on stdin.
Protocol, one line each: ``arm T`` (T: a CLOCK_MONOTONIC time, the node's self-fence deadline;
see `model.leases.LeaseTiming.self_deadline`), ``disarm`` (the node runs nothing that needs it),
``stops JSON`` (the stop commands of the node's resources that are not processes, an address
say: ``[{"argv", "env", "timeout", "before"}]``, replacing the last list; ``before``, optional, is
``[{"argv", "env"}]`` run in order before that stop, within its timeout: the demote of a promoted
copy), ``exit`` (clean shutdown: never
fires). End of input without ``exit`` (the daemon died) keeps the
last deadline: the watchdog fires at it and then exits.

Duties:
- Fire at the armed deadline, never later than the next scheduler tick after it: every
  descendant of the daemon (but this process) gets SIGKILL, and every built-in service recorded
  in ``--services`` (adopted ones are not our descendants) has its whole process group killed.
  Then it runs the last ``stops`` commands, all at once (each after its ``before`` commands, one
  after the other, whatever they answered), each chain killed at its timeout (the daemon
  gives them the lease margin: they must be done before the DC counts the node fenced). One line
  on stderr says what it killed and stopped; a ``fired`` file with the time is written beside the
  services directory.
- Feed `/dev/watchdog` where it exists and ``--hardware`` is given (the kernel then reboots the
  machine if this process itself stops); otherwise this process is the watchdog.
- Import nothing heavy: it starts in a few milliseconds and must not hang on anything.

`WatchdogClient` is the daemon's side: it starts the process, arms it after every acknowledged
keep-alive and disarms it on a clean shutdown.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

__all__ = ["WatchdogClient", "descendants", "main"]


def _ppids() -> dict[int, int]:
    out: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = data[data.rfind(")") + 2 :].split()
        with contextlib.suppress(IndexError, ValueError):
            out[int(name)] = int(fields[1])
    return out


def descendants(root: int) -> list[int]:
    """Every process below `root` in the process tree (a full /proc scan)."""
    parent = _ppids()
    kids: dict[int, list[int]] = {}
    for pid, pp in parent.items():
        kids.setdefault(pp, []).append(pid)
    out: list[int] = []
    todo = list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _service_groups(services: Path | None) -> list[int]:
    if services is None or not services.is_dir():
        return []
    out = []
    for p in services.glob("*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            out.append(int(json.loads(p.read_text())["pid"]))
    return out


def fire(daemon_pid: int, services: Path | None) -> list[int]:
    """Kill the node's resources; the pids and process groups signalled."""
    me = os.getpid()
    hit: list[int] = []
    for pgid in _service_groups(services):
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)
            hit.append(pgid)
    for pid in descendants(daemon_pid):
        if pid == me:
            continue
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            hit.append(pid)
    return hit


def _run_chain(cmds: list[tuple[list[str], dict[str, str]]], deadline: float, failed: list[str]) -> None:
    """Run `cmds` one after the other until `deadline` (monotonic); a command still running then
    has its process group killed and ends the chain. What failed is appended to `failed`."""
    for argv, env in cmds:
        what = " ".join(argv[-2:])
        try:
            p = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                cwd="/",
            )
        except OSError:
            failed.append(f"{what} (cannot run)")
            continue
        try:
            rc = p.wait(max(0.0, deadline - time.monotonic()))
            if rc != 0:
                failed.append(f"{what} (rc {rc})")
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            failed.append(f"{what} (timed out)")
            return


def _command(st: object) -> tuple[list[str], dict[str, str]]:
    d = st if isinstance(st, dict) else {}
    argv = [str(a) for a in d.get("argv", [])]
    env = {str(k): str(v) for k, v in dict(d.get("env", {})).items()}
    return argv, env


def run_stops(stops: list[dict[str, object]]) -> list[str]:
    """Run every stop chain at once (its ``before`` commands, then the stop, in order); what
    failed or timed out (by argv[0] and action)."""
    start = time.monotonic()
    failed: list[str] = []
    threads = []
    for st in stops:
        before = st.get("before", [])
        chain = [_command(b) for b in (before if isinstance(before, list) else [])] + [_command(st)]
        timeout = st.get("timeout", 2.0)
        deadline = start + (float(timeout) if isinstance(timeout, int | float) else 2.0)
        t = threading.Thread(target=_run_chain, args=(chain, deadline, failed), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="paceline-watchdog")
    ap.add_argument("--pid", type=int, required=True, help="the node daemon's pid")
    ap.add_argument("--services", type=Path, default=None, help="the service state directory")
    ap.add_argument("--hardware", default="", help="a /dev/watchdog device to feed")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C on the terminal is for the daemon
    hw = -1
    if args.hardware:
        with contextlib.suppress(OSError):
            hw = os.open(args.hardware, os.O_WRONLY)
    deadline: float | None = None
    stops: list[dict[str, object]] = []
    eof = False
    buf = b""
    fd = sys.stdin.fileno()
    while True:
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            hit = fire(args.pid, args.services)
            failed = run_stops(stops)
            print(
                f"paceline-watchdog: deadline passed {now - deadline:.3f}s ago without a keep-alive: "
                f"killed {len(hit)} process(es)/group(s) of daemon {args.pid}, ran {len(stops)} stop(s)"
                + (f"; failed: {', '.join(failed)}" if failed else ""),
                file=sys.stderr,
                flush=True,
            )
            if args.services is not None:
                with contextlib.suppress(OSError):
                    (args.services.parent / "watchdog-fired").write_text(f"{time.time()}\n")
            deadline = None
        if eof:
            if deadline is None:
                return 0
            time.sleep(max(0.0, deadline - time.monotonic()))
            continue
        if hw >= 0:
            with contextlib.suppress(OSError):
                os.write(hw, b"\0")
        wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            eof = True
            continue
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            word, _, arg = line.decode("ascii", "replace").strip().partition(" ")
            if word == "arm":
                with contextlib.suppress(ValueError):
                    deadline = float(arg)
            elif word == "disarm":
                deadline = None
            elif word == "stops":
                with contextlib.suppress(ValueError):
                    got = json.loads(arg)
                    if isinstance(got, list):
                        stops = [x for x in got if isinstance(x, dict)]
            elif word == "exit":
                if hw >= 0:
                    with contextlib.suppress(OSError):
                        os.write(hw, b"V")  # magic close: the hardware watchdog stands down
                return 0


class WatchdogClient:
    """The daemon's handle on its watchdog process (started at once, stopped by `close`)."""

    def __init__(self, services: Path, hardware: str = "") -> None:
        args = [sys.executable, "-m", "paceline.node.watchdog", "--pid", str(os.getpid())]
        args += ["--services", str(services)]
        if hardware:
            args += ["--hardware", hardware]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, start_new_session=False)
        self.armed_until: float | None = None
        self._stops: list[dict[str, object]] = []

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _send(self, line: str) -> None:
        stdin = self.proc.stdin
        if stdin is None:
            return
        with contextlib.suppress(OSError, ValueError):
            stdin.write((line + "\n").encode())
            stdin.flush()

    def arm(self, deadline: float) -> None:
        """Fire at `deadline` (monotonic) unless armed again before."""
        self.armed_until = deadline
        self._send(f"arm {deadline:.6f}")

    def disarm(self) -> None:
        self.armed_until = None
        self._send("disarm")

    def set_stops(
        self,
        stops: list[tuple[list[str], dict[str, str], float]],
        before: dict[int, list[tuple[list[str], dict[str, str]]]] | None = None,
    ) -> None:
        """What to run, besides killing processes, when it fires: (argv, env, timeout) each, and
        for stop number i, `before[i]`: (argv, env) commands run in order before it (within its
        timeout)."""
        body: list[dict[str, object]] = []
        for i, (a, e, t) in enumerate(stops):
            entry: dict[str, object] = {"argv": a, "env": e, "timeout": t}
            if before and before.get(i):
                entry["before"] = [{"argv": ba, "env": be} for ba, be in before[i]]
            body.append(entry)
        if body != self._stops:
            self._stops = body
            self._send("stops " + json.dumps(body))

    def close(self) -> None:
        """Clean shutdown: the watchdog exits without firing; waited for by pid."""
        self._send("exit")
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    raise SystemExit(main())
