"""Real etcd members on loopback for tests and benchmarks (Debian's /usr/bin/etcd 3.4).

`EtcdCluster(n, root)` starts `n` members; use it as a context manager (`with EtcdCluster(3) as c:
... c.url`). Invariants:
- Every member is a child process of this object, started with `start_new_session=True`, on its own
  free loopback client and peer ports, with its own data directory `root/etcd-m<i>` (`root`
  defaults to a new temporary directory, on /dev/shm when it exists: no disk fsync cost). Nothing
  is shared with another cluster (own ports, own cluster token).
- Election timeout 500 ms and heartbeat 50 ms by default: etcd then grants lease TTLs of 1 s.
- `start()` returns once every member answers `/health` (the member serves and its cluster has a
  leader); `restart(i)` once member i does again. A member that exits during start, or a start
  slower than `start_timeout`, raises with the tail of that member's log (`root/etcd-m<i>.log`).
- `kill(i)` SIGKILLs member i by PID and reaps it (its data stays for `restart(i)`).
- `stop()` (also leaving the `with` block, and interpreter exit as a last resort) SIGTERMs every
  member by PID, SIGKILLs whatever is left after 2 s, reaps each, and removes the data directories
  (the whole temporary directory when it made it; a caller's `root` keeps only the logs): no
  process or data directory outlives the cluster object.
- etcd's own environment variables (ETCD_*, ETCDCTL_*) are not passed on: only the flags decide.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import weakref
from pathlib import Path
from types import TracebackType

__all__ = ["EtcdCluster", "EtcdNotFound", "free_ports", "require_etcd"]

MISSING = (
    "is not on PATH: these tests need a real etcd server (Debian package etcd-server;"
    " scripts/setup.sh installs it)"
)


class EtcdNotFound(RuntimeError):
    """No `etcd` binary: the etcd tests need one (scripts/setup.sh installs Debian's etcd-server)."""


def require_etcd(etcd: str = "etcd") -> None:
    """Fail the calling test (never skip it) when there is no etcd to run."""
    if shutil.which(etcd) is None:
        import pytest

        pytest.fail(f"{etcd!r} {MISSING}", pytrace=False)


def free_ports(n: int) -> list[int]:
    """`n` distinct free loopback ports (every socket is held open until all are chosen)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _terminate(procs: list[subprocess.Popen[bytes] | None], grace: float) -> None:
    """SIGTERM every live process by PID, SIGKILL whatever is left after `grace` s, reap all."""
    live = [p for p in procs if p is not None and p.poll() is None]
    for p in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in live:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
            p.wait()


def _cleanup(procs: list[subprocess.Popen[bytes] | None], remove: list[Path]) -> None:
    _terminate(procs, 2.0)
    for path in remove:
        shutil.rmtree(path, ignore_errors=True)


class EtcdCluster:
    """`n` etcd members on 127.0.0.1 (see the module's invariants)."""

    def __init__(
        self,
        n: int = 1,
        root: str | os.PathLike[str] | None = None,
        election_ms: int = 500,
        heartbeat_ms: int = 50,
        *,
        etcd: str = "etcd",
        start_timeout: float = 20.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        binary = shutil.which(etcd)
        if binary is None:
            raise EtcdNotFound(f"{etcd!r} {MISSING}")
        self.binary = binary
        self.n = n
        self.election_ms = election_ms
        self.heartbeat_ms = heartbeat_ms
        self.start_timeout = start_timeout
        self.extra_args = extra_args
        ports = free_ports(2 * n)
        self.client_ports = ports[:n]
        self.peer_ports = ports[n:]
        if root is None:
            shm = Path("/dev/shm")
            tmp = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
            self.root = Path(tempfile.mkdtemp(prefix="paceline-etcd-", dir=tmp))
            remove = [self.root]
        else:
            self.root = Path(root)
            remove = [self.data_dir(i) for i in range(n)]
        self.token = f"paceline-{uuid.uuid4().hex[:12]}"
        self.initial = ",".join(f"{self.name(i)}=http://127.0.0.1:{p}" for i, p in enumerate(self.peer_ports))
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * n
        # the same list object: whatever runs at exit (or at stop()) is terminated
        self._finalizer = weakref.finalize(self, _cleanup, self.procs, remove)

    # -- addresses -------------------------------------------------------------------------------
    @property
    def endpoints(self) -> str:
        """ "127.0.0.1:p1,127.0.0.1:p2,..." (the client port of every member, dead or alive)."""
        return ",".join(f"127.0.0.1:{p}" for p in self.client_ports)

    @property
    def url(self) -> str:
        return f"etcd://{self.endpoints}"

    def client_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.client_ports[i]}"

    def name(self, i: int) -> str:
        return f"m{i}"

    def data_dir(self, i: int) -> Path:
        return self.root / f"etcd-{self.name(i)}"

    def log_path(self, i: int) -> Path:
        return self.root / f"etcd-{self.name(i)}.log"

    def pid(self, i: int) -> int | None:
        p = self.procs[i]
        return p.pid if p is not None and p.poll() is None else None

    def alive(self, i: int) -> bool:
        return self.pid(i) is not None

    # -- life cycle ------------------------------------------------------------------------------
    def _argv(self, i: int) -> list[str]:
        peer = f"http://127.0.0.1:{self.peer_ports[i]}"
        return [
            self.binary,
            "--name", self.name(i),
            "--data-dir", str(self.data_dir(i)),
            "--listen-client-urls", self.client_url(i),
            "--advertise-client-urls", self.client_url(i),
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", self.initial,
            "--initial-cluster-state", "new",  # ignored once the data directory exists
            "--initial-cluster-token", self.token,
            "--election-timeout", str(self.election_ms),
            "--heartbeat-interval", str(self.heartbeat_ms),
            "--logger", "zap",
            "--log-outputs", "stderr",
            *self.extra_args,
        ]  # fmt: skip

    def _spawn(self, i: int) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ETCD_", "ETCDCTL_"))}
        with open(self.log_path(i), "ab") as log:
            self.procs[i] = subprocess.Popen(
                self._argv(i),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def healthy(self, i: int, timeout: float = 0.5) -> bool:
        """Member i answers /health with "true" (it serves and its cluster has a leader)."""
        try:
            with urllib.request.urlopen(f"{self.client_url(i)}/health", timeout=timeout) as r:
                return b'"true"' in r.read()
        except (OSError, urllib.error.URLError):
            return False

    def status(self, i: int, timeout: float = 0.5) -> dict[str, object] | None:
        """Member i's maintenance status (etcd's JSON gateway), None when it does not answer."""
        req = urllib.request.Request(f"{self.client_url(i)}/v3/maintenance/status", data=b"{}", method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                body = json.loads(r.read())
        except (OSError, urllib.error.URLError, ValueError):
            return None
        return body if isinstance(body, dict) else None

    def member_id(self, i: int) -> int | None:
        """Member i's raft member id (as in response headers), None when it does not answer."""
        st = self.status(i)
        header = st.get("header") if st else None
        return int(str(header["member_id"])) if isinstance(header, dict) else None

    def leader(self, timeout: float = 5.0) -> int:
        """The index of the member that is the raft leader now, as the live members see it
        (waits up to `timeout` s for an election; RuntimeError when there is none)."""
        deadline = time.monotonic() + timeout
        while True:
            ids = {self.member_id(i): i for i in range(self.n) if self.alive(i)}
            for i in range(self.n):
                st = self.status(i) if self.alive(i) else None
                if st and int(str(st.get("leader", 0))) in ids:
                    return ids[int(str(st["leader"]))]
            if time.monotonic() > deadline:
                raise RuntimeError(f"no etcd leader among the live members {sorted(ids.values())}")
            time.sleep(0.05)

    def wait_ready(self, members: list[int] | None = None) -> None:
        waiting = list(range(self.n)) if members is None else list(members)
        deadline = time.monotonic() + self.start_timeout
        while waiting:
            for i in list(waiting):
                p = self.procs[i]
                if p is None or p.poll() is not None:
                    raise RuntimeError(f"etcd member {i} is not running:\n{self._tail(i)}")
                if self.healthy(i):
                    waiting.remove(i)
            if waiting:
                if time.monotonic() > deadline:
                    tail = self._tail(waiting[0])
                    raise RuntimeError(
                        f"etcd members {waiting} not healthy after {self.start_timeout} s:\n{tail}"
                    )
                time.sleep(0.05)

    def _tail(self, i: int, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path(i).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self) -> EtcdCluster:
        """Start every member and wait until all are healthy (everything is stopped on failure)."""
        try:
            for i in range(self.n):
                self._spawn(i)
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self, i: int) -> None:
        """SIGKILL member i (by its PID) and reap it; its data directory stays for `restart(i)`."""
        p = self.procs[i]
        if p is not None and p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
            p.wait()

    def restart(self, i: int, wait: bool = True) -> None:
        """Start member i again on its ports and data directory (killing it first if it runs)."""
        self.kill(i)
        self._spawn(i)
        if wait:
            self.wait_ready([i])

    def stop(self) -> None:
        """Terminate every member (SIGTERM, SIGKILL after 2 s), reap them, remove their data."""
        self._finalizer()

    def __enter__(self) -> EtcdCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
