"""Helpers for tests that run the real daemon (`paceline run`) as a subprocess.

Every process a test starts is stopped by PID by the test: the daemon (SIGTERM, then SIGKILL),
any service process still recorded in the state directory, and the mini init the daemons run
under (`minit.py`, which reaps what a killed daemon leaves behind, as init would).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paceline.cli.daemon_cmds import DaemonClient, NoDaemon


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(pred: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return True
        except Exception:
            pass
        time.sleep(step)
    return pred()


def http_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=0.5) as r:
            return 200 <= int(r.status) < 400
    except OSError:
        return False


def web_yaml(port: int, extra_meta: str = "", extra: str = "") -> str:
    return f"""
cluster: {{name: test, options: {{stonith-enabled: false}}}}
resources:
  - id: web
    service:
      command: [{sys.executable}, -m, http.server, "{port}", --bind, 127.0.0.1, --directory, /tmp]
      probe: {{http: "http://127.0.0.1:{port}/", interval: 500ms, timeout: 1s, failure_threshold: 2}}
      stop_grace: 2s
    meta: {{migration-threshold: 3{extra_meta}}}
    ops: {{monitor: {{interval: 10s, timeout: 5s}}}}
  - id: worker
    agent: ocf:heartbeat:Dummy
    ops: {{monitor: {{interval: 10s}}}}
constraints:
  - order: {{first: web, then: worker}}
  - colocation: {{resource: worker, with: web, score: INFINITY}}
{extra}
"""


class RealDaemon:
    """`paceline run` under a per-test mini init (`minit.py`) that reaps orphans as init would."""

    def __init__(
        self,
        state_dir: Path,
        config: Path | None,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.config = config
        self.extra_args = extra_args
        self.env = dict(env or {})
        """Added to the daemon's environment."""
        self.pid: int | None = None
        self.log = state_dir.parent / f"{state_dir.name}-daemon.log"
        self._init: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self._exits: dict[int, int] = {}

    def _ensure_init(self) -> subprocess.Popen[str]:
        if self._init is None:
            self._init = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("minit.py"))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            out = self._init.stdout
            assert out is not None
            threading.Thread(
                target=lambda: [self._lines.put(json.loads(ln)) for ln in out], daemon=True
            ).start()
        return self._init

    def _next(self, key: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            msg = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if "exited" in msg:
                self._exits[int(msg["exited"])] = int(msg["code"])
            if key in msg:
                return msg

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "paceline.cli.main", "run", "--state-dir", str(self.state_dir)]
        if self.config is not None:
            args.insert(4, str(self.config))
        args.extend(self.extra_args)
        init = self._ensure_init()
        assert init.stdin is not None
        init.stdin.write(json.dumps({"args": args, "log": str(self.log), "env": self.env}) + "\n")
        init.stdin.flush()
        self.pid = int(self._next("started", 10)["started"])
        assert wait_for(lambda: self.client.request("GET", "/status")[0] == 200, 15), self.log.read_text()

    def signal(self, sig: int) -> None:
        assert self.pid is not None
        os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        """The daemon's exit code (negative: killed by that signal)."""
        assert self.pid is not None
        deadline = time.monotonic() + timeout
        while self.pid not in self._exits:
            try:
                self._next("exited", max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"daemon {self.pid} still runs after {timeout}s") from None
        return self._exits[self.pid]

    @property
    def client(self) -> DaemonClient:
        return DaemonClient(self.state_dir, timeout=60)

    def status(self) -> dict[str, Any]:
        code, data = self.client.request("GET", "/status")
        assert code == 200, data
        return dict(data)

    def resource(self, rid: str) -> dict[str, Any]:
        return next(r for r in self.status()["resources"] if r["id"] == rid)

    def events(self) -> list[dict[str, Any]]:
        return list(self.client.request("GET", "/events?limit=0")[1]["events"])

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "paceline.cli.main", *args, "--state-dir", str(self.state_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def service_pid(self, rid: str = "web") -> int | None:
        p = self.state_dir / "agents" / "services" / f"{rid}.json"
        try:
            return int(json.loads(p.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return None

    def kill9(self) -> None:
        self.signal(signal.SIGKILL)
        assert self.wait(5) == -signal.SIGKILL

    def terminate(self, timeout: float = 20) -> int:
        self.signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            raise

    def cleanup(self) -> None:
        """Stop whatever is left: the daemon, recorded service processes (by PID), the mini init."""
        if self.pid is not None and self.pid not in self._exits:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        services = self.state_dir / "agents" / "services"
        for f in services.glob("*.json") if services.exists() else []:
            with contextlib.suppress(OSError, ValueError, KeyError):
                pid = int(json.loads(f.read_text())["pid"])
                os.killpg(pid, signal.SIGKILL)
        if self._init is not None:
            assert self._init.stdin is not None
            self._init.stdin.close()
            try:
                self._init.wait(5)
            except subprocess.TimeoutExpired:
                self._init.kill()
                self._init.wait()


def no_daemon(d: RealDaemon) -> bool:
    try:
        d.client.request("GET", "/status")
    except NoDaemon:
        return True
    return False
