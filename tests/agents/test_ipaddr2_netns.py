"""ocf:heartbeat:IPaddr2 adding a virtual IP inside a network namespace this test creates
(parameter network_namespace), reachable from a second namespace over a veth pair, removed on
stop. Addresses are TEST-NET-1 (192.0.2.0/24) and exist only inside the two namespaces."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator

import pytest

from paceline.agents import AgentSpec, LocalAgentRunner, OcfRc, OpRequest, OpStatus

from .conftest import arun

Make = Callable[..., LocalAgentRunner]
IPADDR2 = AgentSpec.parse("ocf:heartbeat:IPaddr2")
VIP = "192.0.2.100"


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=False)


def must(*args: str) -> None:
    res = ip(*args)
    assert res.returncode == 0, f"ip {' '.join(args)}: {res.stderr}"


@pytest.fixture
def two_namespaces() -> Iterator[tuple[str, str]]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2")
    a, b = f"plvipa{os.getpid()}", f"plvipb{os.getpid()}"
    va, vb = f"pva{os.getpid() % 100000}", f"pvb{os.getpid() % 100000}"
    try:
        must("netns", "add", a)
        must("netns", "add", b)
        must("link", "add", va, "type", "veth", "peer", "name", vb)
        must("link", "set", va, "netns", a)
        must("link", "set", vb, "netns", b)
        for ns, dev, addr in ((a, va, "192.0.2.1/24"), (b, vb, "192.0.2.2/24")):
            must("-n", ns, "link", "set", "lo", "up")
            must("-n", ns, "addr", "add", addr, "dev", dev)
            must("-n", ns, "link", "set", dev, "up")
        yield a, b
    finally:
        for ns in (a, b):
            ip("netns", "del", ns)
        ip("link", "del", va)  # only if it never left the root namespace


def reachable(ns: str, addr: str) -> bool:
    res = subprocess.run(
        ["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", addr],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return res.returncode == 0


@pytest.mark.slow
def test_ipaddr2_in_namespace(make_runner: Make, two_namespaces: tuple[str, str]) -> None:
    if shutil.which("ping") is None:
        pytest.skip("needs ping (iputils-ping, installed by scripts/setup.sh)")
    a, b = two_namespaces
    dev = f"pva{os.getpid() % 100000}"
    r = make_runner()
    params = {"ip": VIP, "cidr_netmask": "24", "nic": dev, "network_namespace": a}

    def op(action: str, interval: int = 0) -> OcfRc:
        res = arun(r.run(OpRequest("vip", IPADDR2, action, params, interval_ms=interval, timeout_ms=20000)))
        assert res.status is OpStatus.DONE, res
        return res.rc

    assert op("monitor") is OcfRc.NOT_RUNNING
    assert not reachable(b, VIP)
    assert op("start") is OcfRc.OK
    assert VIP in ip("-n", a, "-4", "addr", "show", "dev", dev).stdout
    assert VIP not in ip("-4", "addr", "show").stdout  # not in the root namespace
    assert reachable(b, VIP)
    assert op("monitor", 10000) is OcfRc.OK
    assert op("stop") is OcfRc.OK
    assert VIP not in ip("-n", a, "-4", "addr", "show", "dev", dev).stdout
    assert not reachable(b, VIP)
    assert op("monitor") is OcfRc.NOT_RUNNING
