"""A real cluster on loopback: 3 etcd members, 3 `paceline run` processes (each its own "machine":
state dir, mini init, watchdog), faults injected by PID, and an observer reading /proc that
fails on any moment where two nodes run the singleton."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from daemon.realdaemon import wait_for
from etcdcluster import EtcdCluster

from .harness import Machine, SingletonObserver, cluster_yaml, machines

pytestmark = pytest.mark.slow

NODES = ("n1", "n2", "n3")


@dataclass
class Cluster:
    etcd: EtcdCluster
    nodes: dict[str, Machine]
    observer: SingletonObserver
    config: Path

    def running_on(self) -> str:
        assert self.observer.wait_on(lambda ns: len(ns) == 1, 20), (
            f"singleton not running: {self.observer.last}"
        )
        return next(iter(self.observer.nodes()))

    def status(self, via: str) -> dict[str, object]:
        return self.nodes[via].status()

    def others(self, node: str) -> list[str]:
        return [n for n in self.nodes if n != node]


def dummy_fencing(tmp_path: Path) -> str:
    """A working fence_dummy device for every node (its status file says "on", no newline)."""
    status_file = tmp_path / "fence-status"
    status_file.write_text("on")
    return f"""
fencing:
  devices:
    - id: pdu
      agent: fence_dummy
      hosts: [n1, n2, n3]
      params: {{status_file: "{status_file}", pcmk_reboot_timeout: "10s"}}
"""


@contextlib.contextmanager
def cluster(
    tmp_path: Path, fencing: str = "", extra: str = "", ttl: str = "1s", extra_options: str = ""
) -> Iterator[Cluster]:
    marker = "pl" + uuid.uuid4().hex[:10]
    with EtcdCluster(3, tmp_path / "etcd") as etcd:
        cfg = tmp_path / "cluster.yaml"
        cfg.write_text(
            cluster_yaml(
                etcd.url, marker, ttl=ttl, fencing=fencing, extra_resources=extra, extra_options=extra_options
            )
        )
        obs = SingletonObserver(marker).start()
        try:
            with machines(NODES, tmp_path, cfg) as ms:
                for m in ms.values():
                    m.start()
                yield Cluster(etcd, ms, obs, cfg)
        finally:
            obs.stop()
        assert not obs.overlaps, f"the singleton ran on two nodes at once: {obs.overlaps[:3]}"
        assert obs.samples > 100


def test_a_singleton_runs_once_and_moves_when_its_machine_dies(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        first = c.running_on()
        st = c.status(c.others(first)[0])
        assert st["dc"] in NODES
        assert {n["name"]: n["state"] for n in st["nodes"]} == dict.fromkeys(NODES, "online")  # type: ignore[index, union-attr]
        assert [(r["id"], r["node"]) for r in st["resources"]] == [("single", first)]  # type: ignore[index, union-attr]
        dying_pid = next(iter(c.observer.last))
        env = Path(f"/proc/{dying_pid}/environ").read_bytes()
        assert b"PACELINE_TOKEN=" in env  # the fencing token reaches the service
        c.nodes[first].kill()
        assert c.observer.wait_on(lambda ns: len(ns) == 1 and first not in ns, 15), c.observer.last
        survivor = c.others(first)[0]

        def settled() -> bool:
            s = c.status(survivor)
            states = {n["name"]: n["state"] for n in s["nodes"]}  # type: ignore[index, union-attr]
            return states[first] == "offline" and s["dc"] != first

        assert wait_for(settled, 10)
        fenced = next(n for n in c.status(survivor)["nodes"] if n["name"] == first)  # type: ignore[index, union-attr]
        assert "watchdog" in fenced["fenced"]["method"]
        # it stays where it is: no second move, no second copy
        time.sleep(1.5)
        assert len(c.observer.nodes()) == 1


def test_a_hung_node_is_stopped_by_its_watchdog_before_anyone_else_starts_it(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        first = c.running_on()
        m = c.nodes[first]
        m.stop()  # SIGSTOP: the daemon hangs, its watchdog does not
        try:
            assert c.observer.wait_on(lambda ns: len(ns) == 1 and first not in ns, 15), c.observer.last
        finally:
            m.cont()
        other = c.others(first)[0]

        def rejoined() -> bool:
            states = {n["name"]: n["state"] for n in c.status(other)["nodes"]}  # type: ignore[index, union-attr]
            return states[first] == "online"

        assert wait_for(rejoined, 15)
        time.sleep(1.5)
        assert len(c.observer.nodes()) == 1 and first not in c.observer.nodes()
        assert (m.daemon.state_dir / "agents" / "watchdog-fired").exists()


def test_losing_an_etcd_member_moves_nothing(tmp_path: Path) -> None:
    """With the default lease (2 s) even the etcd leader's death (an election of ~0.5-1 s) is
    ridden out; with 1 s a leader loss can make nodes fence themselves (safe, not quiet)."""
    with cluster(tmp_path, ttl="2s") as c:
        first = c.running_on()
        pid = next(iter(c.observer.last))
        c.etcd.kill(c.etcd.leader())
        time.sleep(4)
        assert c.observer.last == {pid: first}
        st = c.status(first)
        assert all(n["state"] == "online" for n in st["nodes"])  # type: ignore[index, union-attr]


def test_the_dc_killed_in_the_middle_of_a_transition_a_new_dc_finishes_it(tmp_path: Path) -> None:
    slow = """
  - id: slow
    agent: ocf:heartbeat:Delay
    params: {startdelay: "3", stopdelay: "0", mondelay: "0"}
    ops: {start: {timeout: 20s}, monitor: {interval: 10s, timeout: 20s}}
"""
    with cluster(tmp_path, extra=slow) as c:
        c.running_on()
        dc = str(c.status("n1")["dc"])
        survivor = c.others(dc)[0]

        def slow_where() -> list[object]:
            return [r["node"] for r in c.status(survivor)["resources"] if r["id"] == "slow"]  # type: ignore[index, union-attr]

        # the start of `slow` takes 3 s; kill the DC while it runs (whether here or elsewhere)
        time.sleep(0.5)
        c.nodes[dc].kill()
        assert wait_for(lambda: slow_where() != [None] and len(slow_where()) == 1, 30), slow_where()
        assert wait_for(lambda: c.status(survivor)["dc"] not in ("", dc), 10)
        assert c.observer.wait_on(lambda ns: len(ns) == 1 and dc not in ns, 15)
        assert slow_where()[0] != dc


def test_a_failing_fence_device_keeps_the_resources_stopped_and_says_why(tmp_path: Path) -> None:
    fencing = """
fencing:
  devices:
    - id: pdu
      agent: fence_dummy
      hosts: [n1, n2, n3]
      params: {type: fail, pcmk_reboot_timeout: "2s"}
"""
    with cluster(tmp_path, fencing=fencing) as c:
        first = c.running_on()
        c.nodes[first].kill()
        other = c.others(first)[0]

        def reported() -> bool:
            evs = c.nodes[other].daemon.events()
            return any("fencing" in e["message"] and "failed" in e["message"] for e in evs)

        assert wait_for(reported, 20)
        time.sleep(2)
        assert c.observer.nodes() == set()  # stays stopped: never started without the fence
        states = {n["name"]: n["state"] for n in c.status(other)["nodes"]}  # type: ignore[index, union-attr]
        assert states[first] == "unclean"


def test_no_process_is_left_behind(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        c.running_on()
        pids = [m.pid for m in c.nodes.values()]
        etcd_pids = [p.pid for p in c.etcd.procs if p is not None]
    for pid in pids + etcd_pids:
        assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    assert not any((tmp_path / "etcd").glob("etcd-m*/member"))
    _ = os.getpid()


def test_node_fence_from_the_command_line_fences_the_node_and_nothing_overlaps(tmp_path: Path) -> None:
    """The singleton may come back to the fenced node afterwards (nothing keeps it away); what
    must hold is that the node was fenced (its copy killed) and no two copies ever ran."""
    with cluster(tmp_path) as c:
        first = c.running_on()
        old_pid = next(iter(c.observer.last))
        other = c.others(first)[0]
        out = c.nodes[other].daemon.cli("node", "fence", first)
        assert out.returncode == 0, out.stderr
        # the fenced node's copy is killed; a new copy runs (anywhere, once)
        assert wait_for(lambda: old_pid not in c.observer.last and len(c.observer.nodes()) == 1, 15)

        def fenced() -> bool:
            evs = c.nodes[other].daemon.events()
            return any(e["message"].startswith(f"node {first} fenced by watchdog") for e in evs)

        assert wait_for(fenced, 10)


def test_a_working_fence_device_fences_the_lost_node_before_its_singleton_moves(tmp_path: Path) -> None:
    with cluster(tmp_path, fencing=dummy_fencing(tmp_path)) as c:
        first = c.running_on()
        c.nodes[first].kill()
        assert c.observer.wait_on(lambda ns: len(ns) == 1 and first not in ns, 20), c.observer.last
        other = c.others(first)[0]
        evs = c.nodes[other].daemon.events()
        assert any(e["message"].startswith(f"node {first} fenced by device pdu") for e in evs), [
            e["message"] for e in evs
        ]


def test_silent_nodes_are_fenced_by_a_device_after_missed_heartbeats_not_after_their_lease(
    tmp_path: Path,
) -> None:
    """With a 10 s lease, anything that moves within 6 s of a kill moved because the dead node's
    missed heartbeats got it fenced by the device: first the DC (fenced by another node, which then
    frees the DC key), then the node running the singleton (fenced by the new DC)."""
    fencing = dummy_fencing(tmp_path)
    with cluster(tmp_path, fencing=fencing, ttl="10s") as c:
        c.running_on()
        time.sleep(2.5)  # heartbeats are judged once they have flowed for 2 s
        dc = str(c.status("n1")["dc"])
        assert dc in c.nodes
        c.nodes[dc].kill()
        rest = c.others(dc)
        assert wait_for(lambda: c.status(rest[0])["dc"] in rest, 6), c.status(rest[0])
        assert c.observer.wait_on(lambda ns: len(ns) == 1 and dc not in ns, 6), c.observer.last
        evs = [e["message"] for e in c.nodes[rest[0]].daemon.events()]
        assert any(m.startswith(f"node {dc} fenced by device pdu") and "heartbeats" in m for m in evs), evs

        time.sleep(2.5)  # no second fencing on heartbeats within 2 s of the first
        where = c.running_on()
        c.nodes[where].kill()
        last = next(n for n in rest if n != where)
        assert c.observer.wait_on(lambda ns: ns == {last}, 6), (
            c.observer.last,
            [e["message"] for e in c.nodes[last].daemon.events()][-15:],
        )

        def state_of_where() -> object:
            return {n["name"]: n["state"] for n in c.status(last)["nodes"]}[where]  # type: ignore[index, union-attr]

        assert wait_for(lambda: state_of_where() != "online", 6)
        evs = [e["message"] for e in c.nodes[last].daemon.events()]
        assert any(m.startswith(f"node {where} fenced by device pdu") and "heartbeats" in m for m in evs), evs


@pytest.mark.parametrize("policy", ["freeze", "stop"])
def test_no_quorum_policy_is_applied_by_each_node_when_the_store_loses_its_majority(
    tmp_path: Path, policy: str
) -> None:
    """Two of the three etcd members die for longer than the lease: no node can reach a
    quorate store. `freeze` keeps the singleton running where it is (every node can be fenced by
    a device, as the configuration check demands); `stop` makes its node fence itself. With the
    store back, the singleton runs exactly once."""
    fencing = dummy_fencing(tmp_path)
    with cluster(tmp_path, fencing=fencing, extra_options=f", no-quorum-policy: {policy}") as c:
        first = c.running_on()
        pid = next(iter(c.observer.last))
        time.sleep(3)  # past every node's heartbeat grace
        leader = c.etcd.leader()
        down = [next(i for i in range(3) if i != leader), leader]
        for i in down:
            c.etcd.kill(i)
        time.sleep(3)  # three 1 s leases
        if policy == "freeze":
            assert c.observer.last == {pid: first}, c.observer.last
        else:
            assert c.observer.nodes() == set(), c.observer.last
        for i in down:
            c.etcd.restart(i)
        assert c.observer.wait_on(lambda ns: len(ns) == 1, 30), c.observer.last
        time.sleep(2)
        assert len(c.observer.nodes()) == 1
