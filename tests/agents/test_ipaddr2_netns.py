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

from .conftest import arun, wait_until

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


@pytest.fixture
def lan() -> Iterator[dict[str, str]]:
    """Three namespaces (node a, node b, client c) on one bridge in a fourth. Returns
    {"a": ns, "b": ns, "c": ns, "a_dev": dev, "b_dev": dev, "a_mac": mac, "b_mac": mac}."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2")
    tag = os.getpid() % 100000
    names = {k: f"pl{k}{tag}" for k in ("lan", "a", "b", "c")}
    try:
        for ns in names.values():
            must("netns", "add", ns)
        must("-n", names["lan"], "link", "add", "br0", "type", "bridge")
        must("-n", names["lan"], "link", "set", "br0", "up")
        out: dict[str, str] = dict(names)
        for i, k in enumerate(("a", "b", "c"), start=1):
            dev, peer = f"pl{k}{tag}i", f"pl{k}{tag}p"
            must("link", "add", dev, "type", "veth", "peer", "name", peer)
            must("link", "set", dev, "netns", names[k])
            must("link", "set", peer, "netns", names["lan"])
            must("-n", names["lan"], "link", "set", peer, "master", "br0")
            must("-n", names["lan"], "link", "set", peer, "up")
            must("-n", names[k], "link", "set", "lo", "up")
            must("-n", names[k], "addr", "add", f"192.0.2.{i}/24", "dev", dev)
            must("-n", names[k], "link", "set", dev, "up")
            out[f"{k}_dev"] = dev
            out[f"{k}_mac"] = ip("-n", names[k], "-br", "link", "show", dev).stdout.split()[2]
        yield out
    finally:
        for ns in names.values():
            ip("netns", "del", ns)


def neigh_mac(ns: str, addr: str) -> str:
    fields = ip("-n", ns, "neigh", "show", addr).stdout.split()
    return fields[fields.index("lladdr") + 1] if "lladdr" in fields else ""


@pytest.mark.slow
def test_vip_moves_between_namespaces_with_gratuitous_arp(make_runner: Make, lan: dict[str, str]) -> None:
    if shutil.which("ping") is None:
        pytest.skip("needs ping (iputils-ping, installed by scripts/setup.sh)")
    ra = make_runner(node_name="a")
    rb = make_runner(node_name="b", state_dir=ra.state_dir.parent / "state-b")

    def op(r: LocalAgentRunner, k: str, action: str) -> OcfRc:
        params = {"ip": VIP, "cidr_netmask": "24", "nic": lan[f"{k}_dev"], "network_namespace": lan[k]}
        res = arun(r.run(OpRequest("vip", IPADDR2, action, params, timeout_ms=20000)))
        assert res.status is OpStatus.DONE, res
        return res.rc

    assert op(ra, "a", "start") is OcfRc.OK
    assert reachable(lan["c"], VIP)
    assert neigh_mac(lan["c"], VIP) == lan["a_mac"]
    assert op(ra, "a", "stop") is OcfRc.OK
    assert op(rb, "b", "start") is OcfRc.OK
    # the client learns the new owner from IPaddr2's gratuitous ARP (send_arp), not by asking
    assert wait_until(lambda: neigh_mac(lan["c"], VIP) == lan["b_mac"], 3.0)
    assert reachable(lan["c"], VIP)
    assert op(rb, "b", "stop") is OcfRc.OK
