"""`/metrics`: Prometheus text that prometheus-client's parser reads, with ha_cluster_exporter's
names and labels for the cluster's state and Paceline's own latencies and counters."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from paceline.daemon.http import Request

from .webtier import running_daemon, until


def _samples(text: str) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, []).append(s)
    return out


def _value(samples: dict[str, list[Sample]], name: str, **labels: str) -> float:
    found = [s.value for s in samples[name] if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_metrics_parse_and_carry_the_cluster_state_and_paceline_s_own(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_daemon(tmp_path) as r, httpx.AsyncClient(base_url=r.url, timeout=60) as c:
            api = r.daemon_api_handle
            await api(Request("POST", "/resource/other/ban", body={}))
            r.fake.fail("other", "start", reason="broken")
            await api(Request("POST", "/resource/other/clear", body={}))
            await until(lambda: bool(r.daemon.membership.renew_latencies))
            resp = await c.get("/metrics")  # no token needed, like every read
            assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
            m = _samples(resp.text)
            for name in (
                "ha_cluster_pacemaker_nodes",
                "ha_cluster_pacemaker_resources",
                "ha_cluster_pacemaker_fail_count",
                "ha_cluster_pacemaker_migration_threshold",
                "ha_cluster_pacemaker_stonith_enabled",
                "ha_cluster_pacemaker_config_last_change",
                "paceline_operation_duration_seconds_bucket",
                "paceline_operation_duration_seconds_count",
                "paceline_lease_renew_seconds_count",
                "paceline_dc_changes_total",
                "paceline_transitions_total",
                "paceline_transition_duration_seconds_count",
                "paceline_fencing_events_total",
            ):
                assert name in m, name
            assert _value(m, "ha_cluster_pacemaker_nodes", node="n1", type="member", status="online") == 1
            assert _value(m, "ha_cluster_pacemaker_nodes", node="n1", type="member", status="standby") == 0
            assert _value(m, "ha_cluster_pacemaker_nodes", node="n1", status="dc") == 1
            web = {
                s.labels["status"]: s.value
                for s in m["ha_cluster_pacemaker_resources"]
                if s.labels["resource"] == "web"
            }
            assert web == {"active": 1, "orphaned": 0, "blocked": 0, "failed": 0, "failure_ignored": 0}
            (w,) = [s for s in m["ha_cluster_pacemaker_resources"] if s.labels["resource"] == "web"][:1]
            assert w.labels == {**w.labels, "node": "n1", "role": "started", "managed": "true",
                                "agent": "ocf:heartbeat:Dummy", "group": "", "clone": ""}  # fmt: skip
            other = [s for s in m["ha_cluster_pacemaker_resources"] if s.labels["resource"] == "other"]
            assert {s.labels["role"] for s in other} == {"stopped"} and all(s.value == 0 for s in other)
            assert _value(m, "ha_cluster_pacemaker_fail_count", node="n1", resource="other") == 1000000
            assert _value(m, "ha_cluster_pacemaker_migration_threshold", node="n1", resource="web") == 3
            assert _value(m, "ha_cluster_pacemaker_migration_threshold", resource="other") == 1000000
            assert _value(m, "ha_cluster_pacemaker_stonith_enabled") == 0
            assert _value(m, "ha_cluster_pacemaker_config_last_change") > 1.7e9
            starts = _value(
                m, "paceline_operation_duration_seconds_count", agent="ocf:heartbeat:Dummy", operation="start"
            )
            assert starts >= 1  # other's failed start, at least
            assert _value(m, "paceline_transitions_total") >= 2
            assert _value(m, "paceline_transition_duration_seconds_count") >= 2
            assert _value(m, "paceline_lease_renew_seconds_count") >= 1
            assert _value(m, "paceline_fencing_events_total", result="failure") == 0

    asyncio.run(go())
