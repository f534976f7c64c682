"""The demo for real: 3 namespaces, 3 etcd members, 3 `paceline run`, an IPaddr2 VIP, the
namespace fence device. Each break (kill, hang, partition) of the node serving the VIP must end
with the VIP served from another node, judged by two observers that do not ask Paceline: one
polls the VIP from the client namespace every 10 ms (node and fencing token: never back to an
older token, which is what a second copy answering would look like), one reads /proc for the
web processes (never two nodes at once, whatever the network lets the first observer see)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.harness import SingletonObserver
from paceline.demo.control import Demo
from paceline.demo.netns import DemoNet
from paceline.demo.observe import VipObserver

from .conftest import SRC, leftovers_by_prefix, unique_prefix

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    prefix = unique_prefix()
    d = Demo(root=tmp_path / "demo", net=DemoNet(prefix=prefix, host=None), name=f"pl-test-{prefix[:-1]}")
    try:
        d.up(timeout_s=60, say=lambda *_: None)
        yield d
    finally:
        pids = d._recorded_pids() if d.root.exists() else []
        for log in d.root.glob("*/*.log"):  # kept beside the test, for whoever reads a failure
            (tmp_path / "logs").mkdir(exist_ok=True)
            shutil.copy(log, tmp_path / "logs" / f"{log.parent.name}-{log.name}")
        assert d.down() == []
        assert leftovers_by_prefix(prefix) == []
        assert not d.root.exists()
        assert not any(d.etcd_dir(n).exists() for n in d.nodes)
        for pid in pids:
            assert not _alive(pid), f"process {pid} outlived `down`"


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def test_kill_hang_and_partition_of_the_serving_node_each_move_the_vip_and_nothing_runs_twice(
    demo: Demo,
) -> None:
    procs = SingletonObserver(f"--demo\0{demo.name}\0").start()
    vip = VipObserver(demo.client_ns, demo.vip).start()
    try:
        for breaker in ("kill", "hang", "partition"):
            assert vip.wait_for(lambda a: a is not None and a.node is not None, 30), breaker
            victim = vip.current()
            assert victim is not None and victim.node is not None
            t0 = time.monotonic()
            getattr(demo, breaker)(victim.node)
            moved = vip.wait_for(lambda a, v=victim.node: a is not None and a.node not in (None, v), 30)
            assert moved, f"{breaker} {victim.node}: the VIP never answered from another node"
            after = vip.first_answer_after(t0, victim.node)
            assert after is not None and after.token >= victim.token
            # the broken node runs no web process any more (fenced: its namespace was emptied)
            assert procs.wait_on(lambda ns, v=victim.node: v not in ns and len(ns) == 1, 10), procs.last
            # Paceline's own account agrees (once the start is recorded: the page answers first)
            assert _wait(lambda a=after.node: demo.status()["web"] == a, 10), (breaker, demo.status())
            assert _state(demo, victim.node) != "online", demo.status()
            demo.heal(victim.node)
            assert _wait(lambda v=victim.node: _state(demo, v) == "online", 30), demo.status()
    finally:
        vip.stop()
        procs.stop()
    assert vip.violations() == []
    assert procs.overlaps == [], procs.overlaps[:3]
    assert vip.polls > 200 and procs.samples > 200


def _state(demo: Demo, node: str) -> str:
    return {n["name"]: n["state"] for n in demo.status()["nodes"]}.get(node, "")


def _wait(pred: object, timeout: float) -> bool:
    assert callable(pred)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.2)
    return bool(pred())


def test_the_command_line_brings_a_demo_up_reports_it_and_removes_it_twice(tmp_path: Path) -> None:
    prefix = unique_prefix()
    env = {
        **os.environ,
        "PYTHONPATH": SRC,
        "PACELINE_DEMO_PREFIX": prefix,
        "PACELINE_DEMO_ROOT": str(tmp_path / "demo"),
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "paceline.cli.main", "demo", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    try:
        up = cli("up")
        assert up.returncode == 0, up.stderr
        assert "answers: served by n" in up.stdout
        again = cli("up")
        assert again.returncode == 1 and "already" in again.stderr
        st = cli("status", "--json")
        assert st.returncode == 0, st.stderr
        data = json.loads(st.stdout)
        assert data["vip"] == "192.0.2.50"
        assert data["web"] in ("n1", "n2", "n3")
        assert data["answer"]["node"] == data["web"]
        assert sorted(n["name"] for n in data["nodes"]) == ["n1", "n2", "n3"]
        assert {n["state"] for n in data["nodes"]} == {"online"}
        bad = cli("kill", "n9")
        assert bad.returncode == 1 and "no node 'n9'" in bad.stderr
    finally:
        first = cli("down")
        second = cli("down")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert leftovers_by_prefix(prefix) == []
    assert not (tmp_path / "demo").exists()
    nothing = cli("status")
    assert nothing.returncode == 1 and "paceline demo up" in nothing.stderr


def test_watchdog_only_a_hung_node_gives_up_its_vip_before_another_node_takes_it(tmp_path: Path) -> None:
    """No fence device: the hung node's watchdog kills its web service and runs the VIP's stop
    (an address is no process: killing alone would leave it answering ARP) before its lease runs
    out and the DC starts both elsewhere."""
    prefix = unique_prefix()
    d = Demo(
        root=tmp_path / "demo",
        net=DemoNet(prefix=prefix, host=None),
        name=f"pl-test-{prefix[:-1]}",
        fence_device=False,
        lease_ttl="1s",
    )
    procs = SingletonObserver(f"--demo\0{d.name}\0")
    vip = VipObserver(d.client_ns, d.vip)
    try:
        d.up(timeout_s=60, say=lambda *_: None)
        procs.start()
        vip.start()
        assert vip.wait_for(lambda a: a is not None and a.node is not None, 30)
        victim = vip.current()
        assert victim is not None and victim.node is not None
        d.hang(victim.node)
        assert vip.wait_for(lambda a, v=victim.node: a is not None and a.node not in (None, v), 30)
        ns = d.net.ns(victim.node)
        addrs = subprocess.run(["ip", "-n", ns, "-o", "addr"], capture_output=True, text=True).stdout
        assert f"{d.vip}/" not in addrs, addrs  # the hung node's watchdog removed the address
        d.heal(victim.node)
        assert _wait(lambda v=victim.node: _state(d, v) == "online", 30), d.status()
    finally:
        vip.stop()
        procs.stop()
        for log in d.root.glob("*/*.log"):
            (tmp_path / "logs").mkdir(exist_ok=True)
            shutil.copy(log, tmp_path / "logs" / f"{log.parent.name}-{log.name}")
        assert d.down() == []
    assert vip.violations() == []
    assert procs.overlaps == [], procs.overlaps[:3]
