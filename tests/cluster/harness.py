"""Helpers for tests that run a real cluster on loopback: real etcd members, one `paceline run` per
node (each under its own mini init, its own state dir and HA_RSCTMP: a "machine"), and an
observer that does not ask Paceline.

- `Machine.kill()` is a machine dying: SIGKILL to the daemon and every process below it (its
  watchdog, its services), by PID.
- `SingletonObserver` samples /proc every few milliseconds for processes carrying a marker in
  their command line and reads which node started them from their environment
  (PACELINE_NODE_NAME, set by the service agent): it fails on any moment where two nodes run one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from daemon.realdaemon import RealDaemon, wait_for
from paceline.node.watchdog import descendants

__all__ = ["Machine", "SingletonObserver", "cluster_yaml", "descendants", "machines"]


def cluster_yaml(
    url: str,
    marker: str,
    ttl: str = "1s",
    nodes: tuple[str, ...] = ("n1", "n2", "n3"),
    extra_resources: str = "",
    fencing: str = "",
    extra_options: str = "",
) -> str:
    return f"""
cluster:
  name: {marker}
  store: {url}
  options: {{lease-ttl: {ttl}{extra_options}}}
nodes: [{", ".join(nodes)}]
{fencing}
resources:
  - id: single
    service:
      command: [{sys.executable}, -c, "import time; time.sleep(1e6)", {marker}]
      stop_grace: 1s
    ops: {{monitor: {{interval: 1s, timeout: 5s}}}}
{extra_resources}
"""


class Machine:
    """One node: a `paceline run --node NAME` under its own mini init."""

    def __init__(self, name: str, root: Path, config: Path) -> None:
        self.name = name
        # the web listener on a free port each (three nodes on one loopback)
        # and its own HA_VARRUN (agents' state files: /run is this one machine's, shared)
        self.varrun = root / name / "varrun"
        self.varrun.mkdir(parents=True, exist_ok=True)
        self.daemon = RealDaemon(
            root / name, config, ("--node", name, "--http", "127.0.0.1:0"), {"HA_VARRUN": str(self.varrun)}
        )

    @property
    def web_url(self) -> str:
        """The node's web API (`STATE/http.json`, written once it listens)."""
        info = self.daemon.state_dir / "http.json"
        assert wait_for(info.exists, 10), f"{self.name}: no web listener"
        return str(json.loads(info.read_text())["url"])

    def start(self) -> None:
        self.daemon.start()

    @property
    def pid(self) -> int:
        assert self.daemon.pid is not None
        return self.daemon.pid

    def status(self) -> dict[str, Any]:
        return self.daemon.status()

    def kill(self) -> None:
        """The machine dies: the daemon and everything below it, SIGKILL, at once."""
        pids = [self.pid, *descendants(self.pid)]
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self.daemon.wait(5)

    def stop(self) -> None:
        self.daemon.signal(signal.SIGSTOP)

    def cont(self) -> None:
        self.daemon.signal(signal.SIGCONT)

    def cleanup(self) -> None:
        if self.daemon.pid is not None:
            for pid in descendants(self.daemon.pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(self.daemon.pid, signal.SIGCONT)
        self.daemon.cleanup()


@contextlib.contextmanager
def machines(names: tuple[str, ...], root: Path, config: Path) -> Iterator[dict[str, Machine]]:
    ms = {n: Machine(n, root, config) for n in names}
    try:
        yield ms
    finally:
        for m in ms.values():
            m.cleanup()


class Sampler:
    """A thread that calls `sample()` every `period_s` seconds from `start()` to `stop()`
    (subclasses are dataclasses with `period_s`, `_stop` and `_thread` fields)."""

    period_s: float
    _stop: threading.Event
    _thread: threading.Thread | None

    def sample(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(self.period_s)

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


@dataclass
class SingletonObserver(Sampler):
    """Samples /proc for `marker` processes; `overlaps` lists every sample with two nodes."""

    marker: str
    period_s: float = 0.003
    samples: int = 0
    overlaps: list[tuple[float, dict[int, str]]] = field(default_factory=list)
    last: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def scan(self) -> dict[int, str]:
        """pid -> node for every live process carrying the marker."""
        found: dict[int, str] = {}
        needle = self.marker.encode()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    cmd = f.read()
                if needle not in cmd:
                    continue
                with open(f"/proc/{name}/stat", "rb") as f:
                    state = f.read().decode("ascii", "replace")
                if state[state.rfind(")") + 2] in "ZX":
                    continue  # a zombie runs nothing
                with open(f"/proc/{name}/environ", "rb") as f:
                    env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
            except OSError:
                continue
            found[int(name)] = env.get(b"PACELINE_NODE_NAME", b"?").decode()
        return found

    def sample(self) -> None:
        now = self.scan()
        self.samples += 1
        self.last = now
        if len(set(now.values())) > 1:
            self.overlaps.append((time.monotonic(), now))

    def nodes(self) -> set[str]:
        return set(self.last.values())

    def wait_on(self, pred: Any, timeout: float) -> bool:
        return wait_for(lambda: pred(self.nodes()), timeout, 0.005)
