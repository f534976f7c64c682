"""Fixtures for the demo network tests: each test gets its own DemoNet (prefix ``t<pid><letter>-``,
hence its own namespaces, veths and bridge; never a running demo's ``pl-``), removed after the
test even when it fails, and the processes it started are killed by PID."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import paceline
from paceline.demo import netns
from paceline.demo.netns import DemoNet, DemoUnavailable

Spawn = Callable[[list[str]], "subprocess.Popen[bytes]"]
_seq = itertools.count()
SRC = str(Path(paceline.__file__).resolve().parents[1])  # the code under test, for subprocesses

PROBE = """
import socket, sys
addr, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket()
s.settimeout(timeout)
try:
    s.connect((addr, port))
    print("open")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("silent")
"""


def unique_prefix() -> str:
    n = next(_seq)
    return f"t{os.getpid()}{chr(ord('a') + n % 26)}{n // 26 or ''}-"


def leftovers_by_prefix(prefix: str) -> list[str]:
    """Any namespace or host link whose name starts with ``prefix`` (not only the names DemoNet knows)."""
    res = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True)
    link_names = [line.split(":")[1].strip().split("@")[0] for line in res.stdout.splitlines()]
    return [n for n in [*netns.namespaces(), *link_names] if n.startswith(prefix)]


def wait_until(pred: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


@pytest.fixture(scope="session", autouse=True)
def _needs_netns() -> None:
    try:
        netns.require_netns()
    except DemoUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture
def prefix() -> Iterator[str]:
    """A fresh prefix; whatever exists under it after the test (namespaces, links) is removed."""
    p = unique_prefix()
    try:
        yield p
    finally:
        for ns in [n for n in netns.namespaces() if n.startswith(p)]:
            try:
                netns.kill_all(ns)
            finally:
                subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        for name in leftovers_by_prefix(p):
            subprocess.run(["ip", "link", "del", "dev", name], capture_output=True, check=False)


@pytest.fixture
def net(prefix: str) -> Iterator[DemoNet]:
    """A created 3-node demo network (the host does not join: this machine's own network may be
    192.0.2.0/24), destroyed after the test."""
    n = DemoNet(prefix=prefix, host=None)
    n.create()
    try:
        yield n
    finally:
        n.destroy()


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start a process (its own session); killed by PID and waited for after the test."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(argv: list[str]) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)


def probe(net: DemoNet, addr: str, port: int, timeout: float = 1.0) -> str:
    """Connect from the client namespace: "open", "refused" (the kernel answered with RST) or
    "silent" (no answer within ``timeout``, or unreachable)."""
    argv = netns.exec_argv(net.ns("client"), [sys.executable, "-c", PROBE, addr, str(port), str(timeout)])
    res = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    return res.stdout.strip()


def agent(stdin: str, inside: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the fence agent as a real subprocess (in namespace ``inside`` if given), the request on stdin."""
    env = {**os.environ, "PYTHONPATH": SRC}
    argv = [sys.executable, "-m", "paceline.demo.fence_netns"]
    return subprocess.run(
        netns.exec_argv(inside, argv) if inside else argv,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
