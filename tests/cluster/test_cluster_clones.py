"""Clones and promotable clones across a real cluster on loopback (3 etcd members, 3 `paceline
run` machines): copies run where the DC placed them, a promotable clone (Debian's unmodified
`ocf:pacemaker:Stateful`, promotion scores through the `crm_attribute --promotion` shim) is
promoted on exactly one node, and its promotion moves when that node dies. The observers read
/proc and each machine's agent state files; they do not ask Paceline."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from daemon.realdaemon import wait_for
from etcdcluster import EtcdCluster

from .harness import Machine, Sampler, SingletonObserver, machines
from .test_cluster_real import NODES

pytestmark = pytest.mark.slow

STATEFUL = Path("/usr/lib/ocf/resource.d/pacemaker/Stateful")


@dataclass
class PromotionObserver(Sampler):
    """Samples each live machine's Stateful state file (`HA_VARRUN/Stateful-RSC.state`) every few
    milliseconds; `doubles` lists every sample where two live machines said Promoted. A machine
    the test has killed (`dead`) counts for nothing: its files outlive it, it serves nothing."""

    files: dict[str, Path]
    period_s: float = 0.003
    dead: set[str] = field(default_factory=set)
    samples: int = 0
    doubles: list[dict[str, str]] = field(default_factory=list)
    last: dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def scan(self) -> dict[str, str]:
        out = {}
        for node, path in self.files.items():
            if node in self.dead:
                continue
            try:
                out[node] = path.read_text().strip()
            except OSError:
                out[node] = "Stopped"
        return out

    def sample(self) -> None:
        now = self.scan()
        self.samples += 1
        self.last = now
        if sum(1 for v in now.values() if v == "Promoted") > 1:
            self.doubles.append(now)

    def promoted(self) -> list[str]:
        return sorted(n for n, v in self.last.items() if v == "Promoted")


def _yaml(url: str, marker: str, resources: str, constraints: str = "") -> str:
    return f"""
cluster:
  name: {marker}
  store: {url}
  options: {{lease-ttl: 1s}}
nodes: [{", ".join(NODES)}]
resources:
{resources}
constraints:
{constraints or "  []"}
"""


@contextlib.contextmanager
def _cluster(tmp_path: Path, text: str) -> Iterator[dict[str, Machine]]:
    with EtcdCluster(3, tmp_path / "etcd") as etcd:
        cfg = tmp_path / "cluster.yaml"
        cfg.write_text(text.replace("@URL@", etcd.url))
        with machines(NODES, tmp_path, cfg) as ms:
            for m in ms.values():
                m.start()
            yield ms


def test_a_clone_runs_one_copy_per_node_and_a_dead_node_costs_only_its_copy(tmp_path: Path) -> None:
    marker = "pl" + uuid.uuid4().hex[:10]
    resources = f"""
  - clone: web-clone
    max: 3
    resource:
      id: web
      service:
        command: [{sys.executable}, -c, "import time; time.sleep(1e6)", {marker}]
        stop_grace: 1s
      ops: {{monitor: {{interval: 1s, timeout: 5s}}}}
"""
    obs = SingletonObserver(marker).start()  # pid -> node; two on one node must never happen
    try:
        with _cluster(tmp_path, _yaml("@URL@", marker, resources)) as ms:
            assert obs.wait_on(lambda ns: ns == set(NODES), 30), obs.last
            assert wait_for(lambda: len(obs.last) == 3, 5), obs.last
            before = dict(obs.last)

            def where() -> list[tuple[str, str, str]]:
                return sorted((r["id"], r["node"], r["role"]) for r in ms["n1"].status()["resources"])

            assert wait_for(lambda: where() == [("web", n, "Started") for n in NODES], 10), where()
            victim = next(n for n in NODES if n != ms["n1"].status()["dc"])
            ms[victim].kill()
            survivors = [n for n in NODES if n != victim]
            assert obs.wait_on(lambda ns: ns == set(survivors), 15), obs.last
            time.sleep(3)  # the dead node is fenced by its lease; nothing else moves
            assert obs.nodes() == set(survivors)
            assert {p: n for p, n in before.items() if n != victim} == obs.last, (before, obs.last)
            counts: dict[str, int] = {}
            for n in obs.last.values():
                counts[n] = counts.get(n, 0) + 1
            assert all(c == 1 for c in counts.values()), obs.last
    finally:
        obs.stop()
    assert obs.samples > 100


def _per_node_counts(sample: dict[int, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n in sample.values():
        counts[n] = counts.get(n, 0) + 1
    return counts


@pytest.mark.skipif(not STATEFUL.exists(), reason="pacemaker-resource-agents is not installed")
def test_stateful_is_promoted_exactly_once_and_its_promotion_and_vip_move_when_its_node_dies(
    tmp_path: Path,
) -> None:
    marker = "pl" + uuid.uuid4().hex[:10]
    resources = f"""
  - promotable: db-clone
    resource:
      id: db
      agent: ocf:pacemaker:Stateful
      ops:
        monitor:
          - {{interval: 1s, role: Promoted, timeout: 5s}}
          - {{interval: 2s, role: Unpromoted, timeout: 5s}}
  - id: vip
    service:
      command: [{sys.executable}, -c, "import time; time.sleep(1e6)", {marker}]
      stop_grace: 1s
    ops: {{monitor: {{interval: 1s, timeout: 5s}}}}
"""
    constraints = """
  - colocation: {resource: vip, with: db-clone, with-role: Promoted, score: INFINITY}
  - order: {first: db-clone, first-action: promote, then: vip, then-action: start}
"""
    vip = SingletonObserver(marker).start()
    files = {n: tmp_path / n / "varrun" / "Stateful-db.state" for n in NODES}
    prom = PromotionObserver(files).start()
    try:
        with _cluster(tmp_path, _yaml("@URL@", marker, resources, constraints)) as ms:
            assert wait_for(lambda: len(prom.promoted()) == 1, 30), prom.last
            assert wait_for(
                lambda: sorted(prom.last.values()) == ["Promoted", "Unpromoted", "Unpromoted"], 15
            ), prom.last
            first = prom.promoted()[0]
            assert vip.wait_on(lambda ns: ns == {first}, 15), (vip.last, prom.last)

            def roles() -> list[tuple[str, str]]:
                return sorted(
                    (r["node"], r["role"]) for r in ms["n1"].status()["resources"] if r["id"] == "db"
                )

            want = sorted((n, "Promoted" if n == first else "Unpromoted") for n in NODES)
            assert wait_for(lambda: roles() == want, 10), roles()

            prom.dead.add(first)
            ms[first].kill()
            rest = [n for n in NODES if n != first]
            assert wait_for(lambda: len(prom.promoted()) == 1, 20), prom.last
            second = prom.promoted()[0]
            assert second in rest
            assert vip.wait_on(lambda ns: ns == {second}, 15), (vip.last, prom.last)
            time.sleep(2)
            assert prom.promoted() == [second] and vip.nodes() == {second}
            assert sorted(prom.last.values()) == ["Promoted", "Unpromoted"], prom.last
    finally:
        prom.stop()
        vip.stop()
    assert not prom.doubles, f"promoted on two live nodes at once: {prom.doubles[:3]}"
    assert not vip.overlaps, vip.overlaps[:3]
    assert prom.samples > 100


@pytest.mark.skipif(not STATEFUL.exists(), reason="pacemaker-resource-agents is not installed")
def test_a_hung_promoted_node_is_demoted_and_stopped_by_its_watchdog_before_another_is_promoted(
    tmp_path: Path,
) -> None:
    """SIGSTOP on the promoted node's daemon: its watchdog fires at the lease deadline and runs
    the OCF demote then stop of what is promoted there (Stateful refuses to stop a promoted
    copy); only then is another copy promoted. The hung node counts as live throughout."""
    resources = """
  - promotable: db-clone
    resource:
      id: db
      agent: ocf:pacemaker:Stateful
      ops:
        monitor: [{interval: 1s, role: Promoted, timeout: 5s}, {interval: 2s, role: Unpromoted, timeout: 5s}]
"""
    files = {n: tmp_path / n / "varrun" / "Stateful-db.state" for n in NODES}
    prom = PromotionObserver(files).start()
    try:
        with _cluster(tmp_path, _yaml("@URL@", "pl" + uuid.uuid4().hex[:10], resources)) as ms:
            assert wait_for(
                lambda: sorted(prom.last.values()) == ["Promoted", "Unpromoted", "Unpromoted"], 30
            ), prom.last
            first = prom.promoted()[0]
            ms[first].stop()  # SIGSTOP
            try:
                assert wait_for(lambda: len(prom.promoted()) == 1 and prom.promoted() != [first], 20), (
                    prom.last
                )
                assert prom.last[first] == "Stopped", prom.last  # demoted, then stopped
            finally:
                ms[first].cont()
            second = prom.promoted()[0]
            assert second != first
            time.sleep(3)  # the hung node rejoins: nothing is promoted twice
            assert prom.promoted() == [second], prom.last
    finally:
        prom.stop()
    assert not prom.doubles, f"promoted on two live nodes at once: {prom.doubles[:3]}"
