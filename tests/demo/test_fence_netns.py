"""fence_paceline_netns run as a real subprocess (request on stdin) against real namespaces: off
isolates a node that serves HTTP and holds a VIP, on brings it back without the VIP."""

from __future__ import annotations

import re
import sys
import time

from lxml import etree

from paceline.agents.metadata import parse_metadata
from paceline.demo import netns
from paceline.demo.netns import DemoNet

from .conftest import Spawn, agent, probe, wait_until

VIP = "192.0.2.50"
PORT = 8080


def req(net: DemoNet, action: str, plug: str | None = None, **extra: str) -> str:
    lines = [f"action={action}", f"netns_prefix={net.prefix}"]
    if plug is not None:
        lines.append(f"plug={plug}")
    lines += [f"{k}={v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def status(net: DemoNet, plug: str) -> int:
    return agent(req(net, "status", plug)).returncode


def test_off_isolates_the_node_and_on_brings_it_back_without_the_vip(net: DemoNet, spawn: Spawn) -> None:
    n1, n2 = net.ns("n1"), net.ns("n2")
    server = spawn(netns.exec_argv(n1, [sys.executable, "-m", "http.server", "-b", "192.0.2.11", str(PORT)]))
    forker = spawn(netns.exec_argv(n1, ["sh", "-c", "sleep 300 & sleep 300 & wait"]))
    bystander = spawn(netns.exec_argv(n2, ["sleep", "300"]))
    netns_ip = ["ip", "-n", n1, "addr", "add", f"{VIP}/24", "dev", "eth0"]
    spawn(netns_ip).wait()
    assert wait_until(lambda: probe(net, "192.0.2.11", PORT) == "open", 10)
    assert probe(net, VIP, PORT) == "refused"  # the kernel answers for the VIP (RST)
    assert status(net, "n1") == 0

    t0 = time.monotonic()
    res = agent(req(net, "off", "n1"))
    took = time.monotonic() - t0
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Success: Powered OFF")
    assert netns.pids(n1) == []
    assert server.wait(5) == -9 and forker.wait(5) == -9
    assert bystander.poll() is None  # n2 untouched
    assert probe(net, "192.0.2.11", PORT) == "silent"
    assert probe(net, VIP, PORT) == "silent"  # not even an RST: the kernel no longer answers
    assert status(net, "n1") == 2 and status(net, "n2") == 0
    assert agent(req(net, "off", "n1")).returncode == 0  # fencing a fenced node is fine
    print(f"off took {took:.3f} s (agent process included); agent said: {res.stdout.strip()}")

    res = agent(req(net, "on", "n1"))
    assert res.returncode == 0, res.stderr
    assert f"{VIP}/24 on eth0" in res.stdout
    assert status(net, "n1") == 0
    v4 = [str(a.address) for a in netns.addresses(n1) if a.address.version == 4]
    assert sorted(v4) == ["127.0.0.1/8", "192.0.2.11/24"]
    assert wait_until(lambda: probe(net, "192.0.2.11", PORT) == "refused", 10)  # reachable, nothing runs
    assert probe(net, VIP, PORT) == "silent"


def test_reboot_status_list_monitor(net: DemoNet, spawn: Spawn) -> None:
    victim = spawn(netns.exec_argv(net.ns("n3"), ["sleep", "300"]))
    res = agent(req(net, "reboot", "n3"))
    assert res.returncode == 0, res.stderr
    assert victim.wait(5) == -9 and netns.pids(net.ns("n3")) == []
    assert status(net, "n3") == 0

    res = agent(req(net, "list"))
    assert res.returncode == 0
    assert res.stdout.splitlines() == [f"n{k},{net.prefix}n{k}" for k in (1, 2, 3)]  # not the client
    res = agent(req(net, "list-status"))
    assert res.stdout.splitlines()[0] == f"n1,{net.prefix}n1,ON"
    assert agent(req(net, "monitor")).returncode == 0
    res = agent(f"action=status\nport=n2\nnetns_prefix={net.prefix}\nnodename=n2\n")  # port alias
    assert res.returncode == 0 and "ignoring unknown parameter 'nodename=n2'" in res.stderr


def test_refusals(net: DemoNet) -> None:
    res = agent(req(net, "off", "n9"))
    assert res.returncode == 1
    assert res.stderr.strip() == f"ERROR: plug=n9: no namespace {net.prefix}n9 (known nodes: n1, n2, n3)"
    for plug in ("client", "../n1", "n1;x", "eth0"):
        res = agent(req(net, "off", plug))
        assert res.returncode == 1 and "is not a demo node name" in res.stderr, plug
    res = agent(req(net, "status", "n1", netns_prefix="pl"))  # the later key wins: a bad prefix
    assert res.returncode == 1 and "netns_prefix" in res.stderr
    res = agent(req(net, "status", "n9"))
    assert res.returncode == 1  # missing namespace: unknown, not "off"
    res = agent(req(net, "on", "n1", first_host="20"))
    assert res.returncode == 1 and "own address 192.0.2.20/24" in res.stderr
    assert status(net, "n1") == 0
    res = agent(req(net, "explode", "n1"))
    assert res.returncode == 1 and "unknown action" in res.stderr
    assert agent(req(net, "off")).returncode == 1  # no plug
    res = agent(req(net, "off", "n1"), inside=net.ns("n1"))
    assert res.returncode == 1 and "this agent runs in it" in res.stderr
    assert status(net, "n1") == 0  # nothing was done


def test_metadata_is_fence_agents_xml() -> None:
    res = agent("action=metadata\n")
    assert res.returncode == 0
    root = etree.fromstring(res.stdout.encode())
    assert root.tag == "resource-agent" and root.get("name") == "fence_paceline_netns"
    params = {p.get("name") for p in root.iter("parameter")}
    assert {"action", "plug", "port", "netns_prefix", "first_host"} <= params
    actions = {a.get("name") for a in root.iter("action")}
    assert {"on", "off", "reboot", "status", "list", "monitor", "metadata"} <= actions
    md = parse_metadata(res.stdout)
    plug = md.parameter("plug")
    assert plug is not None and plug.required
    prefix = md.parameter("netns_prefix")
    assert prefix is not None and prefix.default == "pl-"
    assert re.search(r'<parameter name="port"[^>]*deprecated="1"', res.stdout)
