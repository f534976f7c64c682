"""Helpers for tests that run the real daemon (`paceline run`) as a subprocess.

Every process a test starts is stopped by PID by the test: the daemon (SIGTERM, then SIGKILL),
and afterwards any service process still recorded in the state directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
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
    def __init__(self, state_dir: Path, config: Path | None) -> None:
        self.state_dir = state_dir
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = state_dir.parent / f"{state_dir.name}-daemon.log"

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "paceline.cli.main", "run", "--state-dir", str(self.state_dir)]
        if self.config is not None:
            args.insert(4, str(self.config))
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        assert wait_for(lambda: self.client.request("GET", "/status")[0] == 200, 15), self.log.read_text()

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
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(5)

    def terminate(self, timeout: float = 20) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise

    def cleanup(self) -> None:
        """Stop whatever is left: the daemon, then recorded service processes (by PID)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        services = self.state_dir / "agents" / "services"
        for f in services.glob("*.json") if services.exists() else []:
            with contextlib.suppress(OSError, ValueError, KeyError):
                pid = int(json.loads(f.read_text())["pid"])
                os.killpg(pid, signal.SIGKILL)


def no_daemon(d: RealDaemon) -> bool:
    try:
        d.client.request("GET", "/status")
    except NoDaemon:
        return True
    return False
