"""HAProxy 2.6 (Debian's) kept in step through its runtime API only, on loopback: three copies
(small HTTP servers naming their node) are added as servers, serve traffic, one is drained and
deleted under a steady client load without a failed request, and one that dies is reported by
`DownTracker` from HAProxy's own health checks. HAProxy is never reloaded (same pid)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from daemon.realdaemon import free_port, wait_for
from paceline.balancer import Balancer, DownTracker, HaproxyRuntime, Server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed"),
]


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # HAProxy's health check closes before reading the body


class Copy:
    """One clone copy: an HTTP server on its own port answering with its node's name."""

    def __init__(self, node: str) -> None:
        self.node = node
        name = node.encode()

        class H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(name)))
                self.end_headers()
                self.wfile.write(name)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = _Quiet(("127.0.0.1", 0), H)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def kill(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def haproxy(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = free_port()
    sock = tmp_path / "admin.sock"
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(f"""
global
  stats socket {sock} mode 600 level admin
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  retries 3
  option redispatch
frontend fe
  bind 127.0.0.1:{port}
  default_backend web
backend web
  balance roundrobin
  option httpchk GET /
""")
    p = subprocess.Popen(
        ["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        assert wait_for(sock.exists, 10), p.stderr.read() if p.poll() is not None and p.stderr else ""
        yield p, port, sock
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class Client:
    """Requests through HAProxy at a steady rate (about 200/s), counting who answered and failures."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/"
        self.answers: list[tuple[float, str]] = []
        self.failures: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    self.answers.append((t, r.read().decode()))
            except OSError as e:
                self.failures.append((t, str(e)))
            time.sleep(0.005)

    def start(self) -> Client:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def seen_since(self, t: float) -> set[str]:
        return {who for when, who in list(self.answers) if when >= t}


def test_servers_follow_the_copies_through_the_runtime_api(tmp_path: Path) -> None:
    copies = {n: Copy(n) for n in ("n1", "n2", "n3")}
    with haproxy(tmp_path) as (proc, port, sock):
        bal = Balancer(HaproxyRuntime(sock), "web", prefix="n", drain_timeout_s=3)
        client = Client(port).start()
        try:
            added = time.monotonic()
            p = asyncio.run(bal.sync({n: Server(f"127.0.0.1:{c.port}") for n, c in copies.items()}))
            assert p.add == ("n1", "n2", "n3")
            assert wait_for(lambda: client.seen_since(added) == {"n1", "n2", "n3"}, 5), client.seen_since(
                added
            )
            first_traffic = {
                n: min(w for w, who in client.answers if who == n) - added for n in ("n1", "n2", "n3")
            }
            assert max(first_traffic.values()) < 1.0, first_traffic
            time.sleep(0.5)
            servers = asyncio.run(bal.servers())
            assert {n: (s.status, s.check_status) for n, s in servers.items()} == dict.fromkeys(
                ("n1", "n2", "n3"), ("UP", "L7OK")
            )

            # n2's copy is to stop: drained and deleted while the client keeps going
            removed = time.monotonic()
            p = asyncio.run(bal.sync({n: Server(f"127.0.0.1:{copies[n].port}") for n in ("n1", "n3")}))
            assert p.remove == ("n2",)
            assert set(asyncio.run(bal.servers())) == {"n1", "n3"}
            time.sleep(0.3)
            assert client.seen_since(time.monotonic() - 0.25) == {"n1", "n3"}
            assert not [f for f in client.failures if f[0] >= removed], client.failures
            copies["n2"].kill()  # stopped only once it was out: nobody noticed

            # weights
            asyncio.run(
                bal.sync(
                    {
                        "n1": Server(f"127.0.0.1:{copies['n1'].port}", 3),
                        "n3": Server(f"127.0.0.1:{copies['n3'].port}"),
                    }
                )
            )
            assert {n: s.weight for n, s in asyncio.run(bal.servers()).items()} == {"n1": 3, "n3": 1}

            # n3's copy dies behind everyone's back: HAProxy's checks see it, the tracker says so
            tracker = DownTracker(after_s=0.5)
            copies["n3"].kill()
            died = time.monotonic()
            reported: list[tuple[str, str]] = []

            def down_reported() -> bool:
                reported.extend(tracker.feed(time.monotonic(), asyncio.run(bal.servers())))
                return bool(reported)

            assert wait_for(down_reported, 5, 0.02)
            assert reported[0][0] == "n3" and "DOWN" in reported[0][1]
            assert 0.5 <= time.monotonic() - died < 2.0
            assert proc.poll() is None  # one HAProxy process throughout: never reloaded
        finally:
            client.stop()
            for c in copies.values():
                with contextlib.suppress(OSError):
                    c.kill()
    assert len(client.answers) > 100
    _ = os.getpid()
