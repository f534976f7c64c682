"""paceline.demo.netns with real namespaces, veths and a bridge (each test under its own prefix)."""

from __future__ import annotations

import subprocess
import time
from ipaddress import IPv4Interface

import pytest

from paceline.demo import netns
from paceline.demo.netns import SUBNET, DemoNet, DemoUnavailable, NetnsError

from .conftest import Spawn, leftovers_by_prefix, probe, wait_until


def test_require_netns_says_what_is_needed_in_one_line() -> None:
    with pytest.raises(DemoUnavailable) as e:
        netns.require_netns(euid=lambda: 1000)
    assert "needs root" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(DemoUnavailable) as e:
        netns.require_netns(euid=lambda: 0, ip="/nonexistent/ip")
    assert "iproute2" in str(e.value) and "\n" not in str(e.value)


def test_description_names_and_addresses() -> None:
    net = DemoNet()
    assert net.bridge == "pl-br0"
    assert [m.ns for m in net.members] == ["pl-n1", "pl-n2", "pl-n3", "pl-client"]
    assert [str(m.address) for m in net.members] == [
        "192.0.2.11/24",
        "192.0.2.12/24",
        "192.0.2.13/24",
        "192.0.2.100/24",
    ]
    assert net.host_address == IPv4Interface("192.0.2.1/24")
    assert all(m.address.ip in SUBNET and len(m.host_if) <= 15 for m in net.members)
    assert net.ns("n2") == "pl-n2"
    for bad in (
        dict(prefix="pl"),  # no dash: names of two prefixes could collide
        dict(prefix="a-b-"),
        dict(prefix="averyverylongprefix-"),  # interface names > 15 chars
        dict(first_node_host=99, nodes=3, client_host=100),  # n2 would be .100
        dict(first_node_host=253, nodes=3),  # beyond .254
        dict(host=0),
    ):
        with pytest.raises(ValueError):
            DemoNet(**bad)  # type: ignore[arg-type]


def test_subnet_conflicts_reads_ip_json() -> None:
    addrs = [
        {"ifname": "eth0", "addr_info": [{"local": "192.0.2.2", "prefixlen": 24}]},
        {"ifname": "pl-br0", "addr_info": [{"local": "192.0.2.1", "prefixlen": 24}]},
        {"ifname": "eth1", "addr_info": [{"local": "10.0.0.2", "prefixlen": 8}]},
    ]
    routes = [
        {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
        {"dst": "192.0.2.0/24", "dev": "pl-br0"},
        {"dst": "10.0.0.0/8", "dev": "eth1"},
    ]
    assert netns.subnet_conflicts(addrs, routes, "pl-br0") == [
        "eth0 has 192.0.2.2/24",
        "route default via 192.0.2.1 dev eth0",
    ]
    assert netns.subnet_conflicts(addrs[1:], routes[1:], "pl-br0") == []


def test_create_destroy_leaves_nothing(prefix: str) -> None:
    net = DemoNet(prefix=prefix, host=None)
    t0 = time.monotonic()
    net.create()
    created = time.monotonic() - t0
    try:
        assert set(net.leftovers()) == {
            *(m.ns for m in net.members),
            *(m.host_if for m in net.members),
            net.bridge,
        }
        for m in net.members:
            assert {(link.name, link.up) for link in netns.links(m.ns)} == {("lo", True), ("eth0", True)}
            assert [a.address for a in netns.addresses(m.ns) if a.scope == "global"] == [m.address]
        # the bridge connects them: a connect from the client is answered (RST: nothing listens)
        assert wait_until(lambda: probe(net, "192.0.2.13", 9) == "refused")
        assert netns.pids(net.ns("n1")) == []
    finally:
        t0 = time.monotonic()
        net.destroy()
        destroyed = time.monotonic() - t0
    assert net.leftovers() == [] and leftovers_by_prefix(prefix) == []
    net.destroy()  # twice is fine
    assert leftovers_by_prefix(prefix) == []
    print(f"create {created:.3f} s, destroy {destroyed:.3f} s")


def test_create_refuses_existing_names_and_destroy_cleans_a_half_made_net(prefix: str) -> None:
    net = DemoNet(prefix=prefix, nodes=2, host=None)
    # what a crashed create() may leave: the bridge, one namespace with its veth, one bare namespace
    subprocess.run(["ip", "link", "add", net.bridge, "type", "bridge"], check=True)
    subprocess.run(["ip", "netns", "add", net.ns("n1")], check=True)
    m1 = net.member("n1")
    subprocess.run(
        ["ip", "link", "add", m1.host_if, "type", "veth", "peer", "name", "eth0", "netns", m1.ns], check=True
    )
    subprocess.run(["ip", "netns", "add", net.ns("n2")], check=True)
    with pytest.raises(NetnsError, match="partly exists"):
        net.create()
    assert set(net.leftovers()) == {net.bridge, m1.ns, m1.host_if, net.ns("n2")}  # refused, untouched
    net.destroy()
    assert leftovers_by_prefix(prefix) == []
    net.create()  # now it can be made
    net.destroy()
    assert leftovers_by_prefix(prefix) == []


def test_host_does_not_join_a_subnet_the_machine_already_uses(prefix: str) -> None:
    net = DemoNet(prefix=prefix)  # host=1: 192.0.2.1/24 on the bridge
    if not net.host_conflicts():
        pytest.skip("this machine does not use 192.0.2.0/24 itself; joining would be safe here")
    with pytest.raises(DemoUnavailable, match="use host=None"):
        net.create()
    assert leftovers_by_prefix(prefix) == []


def test_kill_all_links_and_flush(net: DemoNet, spawn: Spawn) -> None:
    ns = net.ns("n2")
    # a process tree inside the namespace, forking while we kill
    spawn(netns.exec_argv(ns, ["sh", "-c", "while true; do sleep 5 & sleep 0.01; done"]))
    assert wait_until(lambda: len(netns.pids(ns)) >= 3)
    other = spawn(netns.exec_argv(net.ns("n3"), ["sleep", "60"]))
    assert netns.kill_all(ns) >= 3
    assert netns.pids(ns) == []
    assert other.poll() is None, "a process in another namespace was killed"

    netns.links_down(ns)
    assert {(link.name, link.up) for link in netns.links(ns)} == {("lo", True), ("eth0", False)}
    netns.links_up(ns)
    assert {(link.name, link.up) for link in netns.links(ns)} == {("lo", True), ("eth0", True)}

    subprocess.run(["ip", "-n", ns, "addr", "add", "192.0.2.50/24", "dev", "eth0"], check=True)
    subprocess.run(["ip", "-n", ns, "addr", "add", "192.0.2.51/32", "dev", "lo"], check=True)
    removed = netns.flush_extra_addresses(ns, [net.member("n2").address])
    assert sorted(str(a.address) for a in removed) == ["192.0.2.50/24", "192.0.2.51/32"]
    kept = [a for a in netns.addresses(ns) if a.address.version == 4]
    assert sorted(str(a.address) for a in kept) == ["127.0.0.1/8", "192.0.2.12/24"]
