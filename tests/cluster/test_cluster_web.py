"""The web API and metrics of a real cluster (3 etcd members, 3 daemons on loopback): every node
gives the same answer, an action through one node's API is carried out by the DC, and /metrics
names the DC and carries the cluster node's own latencies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from daemon.realdaemon import wait_for
from paceline.web.tokens import Role, create_token, tokens_path

from .test_cluster_real import NODES, cluster

pytestmark = pytest.mark.slow


def _get(url: str, path: str) -> Any:
    return httpx.get(url + path, timeout=10).json()


def _samples(url: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for fam in text_string_to_metric_families(httpx.get(url + "/metrics", timeout=10).text):
        for s in fam.samples:
            out.setdefault(s.name, []).append(s)
    return out


def test_every_node_s_web_api_gives_the_same_answer_and_acts_through_the_dc(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        where = c.running_on()
        urls = {n: c.nodes[n].web_url for n in NODES}

        def same(path: str) -> bool:
            answers = [_get(u, path) for u in urls.values()]
            return all(a == answers[0] for a in answers)

        assert wait_for(lambda: same("/api/v1/status"), 10), [
            _get(u, "/api/v1/status") for u in urls.values()
        ]
        assert wait_for(lambda: same("/api/v1/explain/single"), 10)
        status = _get(urls["n1"], "/api/v1/status")
        assert [r["node"] for r in status["resources"] if r["id"] == "single"] == [where]
        ex = _get(urls["n2"], "/api/v1/explain/single")
        assert ex["targets"][0]["placement"] == {where: "Started"}
        # an action through another node's API: the DC moves the singleton
        via = next(n for n in NODES if n != where)
        token = create_token(tokens_path(c.nodes[via].daemon.state_dir), Role.ADMIN, "ops")
        read = httpx.post(f"{urls[via]}/api/v1/resources/single/ban", json={"node": where}, timeout=30)
        assert read.status_code == 401
        resp = httpx.post(
            f"{urls[via]}/api/v1/resources/single/ban",
            json={"node": where},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        assert c.observer.wait_on(lambda ns: len(ns) == 1 and where not in ns, 20)
        moved = next(iter(c.observer.nodes()))
        third = next(n for n in NODES if n != via)
        assert wait_for(
            lambda: (
                [r["node"] for r in _get(urls[third], "/api/v1/status")["resources"] if r["id"] == "single"]
                == [moved]
            ),
            10,
        )
        # metrics: every node names the same DC; the DC counted becoming it; leases renewed
        dc = status["dc"]
        for url in urls.values():
            m = _samples(url)
            dcs = {
                s.labels["node"]
                for s in m["ha_cluster_pacemaker_nodes"]
                if s.labels["status"] == "dc" and s.value
            }
            assert dcs == {dc}
            assert m["paceline_lease_renew_seconds_count"][0].value > 0
            assert m["ha_cluster_pacemaker_stonith_enabled"][0].value == 1
        m = _samples(urls[dc])
        assert m["paceline_dc_changes_total"][0].value >= 1
        assert m["paceline_transitions_total"][0].value >= 1
