"""The demo's keeper: parent (and child subreaper) of every process of the demo's "machines".

`python3 -m paceline.demo.keeper ROOT` reads `ROOT/keeper.json`:
`{"nodes": {NAME: {"etcd": {"argv", "log", "health": {"ns", "url"}}, "daemon": {"argv", "log"}}}}`
and starts, for each node, its etcd member, then (once a majority of members answer `/health`)
its `paceline run`. Duties and invariants:
- It is the child subreaper: whatever a node's processes leave behind (a killed daemon's
  services, double-forked agents) is re-parented here and reaped at once, so `kill -0` never
  mistakes a zombie for a live process. Nothing is restarted on its own: a killed "machine"
  stays dead until `heal` asks for it (op `start`).
- Its socket `ROOT/keeper.sock` takes one JSON line and answers one:
  `{"op": "pids"}` -> `{NAME: {"etcd": PID|null, "daemon": PID|null}}`;
  `{"op": "start", "node": NAME}` starts whichever of the node's two processes does not run;
  `{"op": "shutdown"}` SIGTERMs every daemon, waits for them (they stop their resources; up to
  `grace` seconds, then SIGKILL), then the etcd members, answers, and exits.
- Every process it starts gets its own session and a log file; PIDs are written to
  `ROOT/keeper.pids` on every change (for `paceline demo down` when the keeper itself is gone).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

from ..agents import become_subreaper
from .observe import get_json, in_netns

__all__ = ["main", "request"]


def request(root: Path, body: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
    """Send one request to the keeper of the demo in `root` and return its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(root / "keeper.sock"))
        s.sendall(json.dumps(body).encode() + b"\n")
        data = _read_line(s)
    answer: dict[str, Any] = json.loads(data or b"{}")
    return answer


def _read_line(s: socket.socket) -> bytes:
    """One newline-terminated message (what came before the peer closed, if it closed first)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


class _Keeper:
    def __init__(self, root: Path, spec: dict[str, Any], grace: float) -> None:
        self.root = root
        self.spec = spec
        self.grace = grace
        self.pids: dict[str, dict[str, int | None]] = {
            n: {"etcd": None, "daemon": None} for n in spec["nodes"]
        }
        self.lock = threading.Lock()
        self.stopping = False

    # -- processes ----------------------------------------------------------------------------------
    def _spawn(self, proc: dict[str, Any]) -> int:
        log = os.open(proc["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            env = dict(os.environ)
            env.update(proc.get("env", {}))
            pid = os.posix_spawnp(
                proc["argv"][0],
                proc["argv"],
                env,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, log, 1),
                    (os.POSIX_SPAWN_DUP2, log, 2),
                ],
                setsid=True,
            )
        finally:
            os.close(log)
        return pid

    def _save(self) -> None:
        tmp = self.root / "keeper.pids.tmp"
        tmp.write_text(json.dumps(self.pids))
        tmp.replace(self.root / "keeper.pids")

    def start(self, node: str) -> dict[str, Any]:
        spec = self.spec["nodes"][node]
        with self.lock:
            if self.stopping:
                return {"error": "the demo is shutting down"}
            started = []
            if self.pids[node]["etcd"] is None:
                self.pids[node]["etcd"] = self._spawn(spec["etcd"])
                started.append("etcd")
            self._save()
        if "etcd" in started:
            self._wait_healthy([spec["etcd"]["health"]], 1, 30)
        with self.lock:
            if self.pids[node]["daemon"] is None and not self.stopping:
                self.pids[node]["daemon"] = self._spawn(spec["daemon"])
                started.append("daemon")
            self._save()
        return {"started": started}

    def start_all(self) -> None:
        with self.lock:
            for spec_node, p in self.pids.items():
                p["etcd"] = self._spawn(self.spec["nodes"][spec_node]["etcd"])
            self._save()
        urls = [n["etcd"]["health"] for n in self.spec["nodes"].values()]
        self._wait_healthy(urls, len(urls) // 2 + 1, 60)
        with self.lock:
            for spec_node, p in self.pids.items():
                p["daemon"] = self._spawn(self.spec["nodes"][spec_node]["daemon"])
            self._save()

    @staticmethod
    def _wait_healthy(checks: list[dict[str, str]], need: int, timeout: float) -> None:
        """Until `need` of the members answer `/health` (asked from inside their namespaces)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ok = 0
            for c in checks:
                url = c["url"]
                with contextlib.suppress(OSError):
                    got = in_netns(c["ns"], lambda url=url: get_json(url, 0.5))  # type: ignore[misc]
                    ok += got is not None and got.get("health") == "true"
            if ok >= need:
                return
            time.sleep(0.1)

    def reap(self) -> None:
        """Reap every child and every re-parented orphan; forget the PIDs of known processes."""
        while True:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(0.05)
                continue
            except InterruptedError:
                continue
            with self.lock:
                for p in self.pids.values():
                    for kind, known in p.items():
                        if known == pid:
                            p[kind] = None
                            self._save()

    def shutdown(self) -> dict[str, Any]:
        with self.lock:
            self.stopping = True
        for kind in ("daemon", "etcd"):
            with self.lock:
                targets = [p[kind] for p in self.pids.values() if p[kind] is not None]
            for pid in targets:
                assert pid is not None
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)  # a hung ("hang NODE") daemon must hear SIGTERM
                    os.kill(pid, signal.SIGTERM)
            end = time.monotonic() + (self.grace if kind == "daemon" else 10)
            while time.monotonic() < end:
                with self.lock:
                    if all(p[kind] is None for p in self.pids.values()):
                        break
                time.sleep(0.05)
            with self.lock:
                left = [p[kind] for p in self.pids.values() if p[kind] is not None]
            for pid in left:
                assert pid is not None
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        return {"stopped": True}

    # -- the socket ---------------------------------------------------------------------------------
    def serve(self) -> None:
        path = self.root / "keeper.sock"
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(str(path))
        os.chmod(path, 0o600)
        srv.listen(8)
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = _read_line(conn)
            if not data.endswith(b"\n"):
                return
            try:
                req = json.loads(data)
                op = req.get("op")
                if op == "pids":
                    with self.lock:
                        answer: dict[str, Any] = json.loads(json.dumps(self.pids))
                elif op == "start" and req.get("node") in self.pids:
                    answer = self.start(str(req["node"]))
                elif op == "shutdown":
                    answer = self.shutdown()
                    conn.sendall(json.dumps(answer).encode() + b"\n")
                    (self.root / "keeper.sock").unlink(missing_ok=True)
                    os._exit(0)
                else:
                    answer = {"error": f"unknown request {req!r}"}
            except (ValueError, KeyError, OSError) as e:
                answer = {"error": str(e)}
            conn.sendall(json.dumps(answer).encode() + b"\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="paceline.demo.keeper")
    ap.add_argument("root", type=Path)
    ap.add_argument("--grace", type=float, default=30.0, help="how long daemons get to stop")
    args = ap.parse_args(argv)
    root: Path = args.root
    become_subreaper()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    spec = json.loads((root / "keeper.json").read_text())
    keeper = _Keeper(root, spec, args.grace)
    (root / "keeper.pid").write_text(str(os.getpid()))
    threading.Thread(target=keeper.reap, daemon=True).start()
    threading.Thread(target=keeper.start_all, daemon=True).start()
    keeper.serve()


if __name__ == "__main__":
    main()
