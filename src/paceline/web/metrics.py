"""`/metrics`: Prometheus text format, built with prometheus-client.

The cluster's state, read at every scrape (the same facts as `status`, so any node answers the
same), under ha_cluster_exporter's names and labels where it has one:

    ha_cluster_pacemaker_nodes{node,type,status}          1 or 0 per status (online, standby,
        standby_onfail, maintenance, pending, unclean, shutdown, expected_up, dc)
    ha_cluster_pacemaker_resources{node,resource,role,managed,status,agent,group,clone}
        1 or 0 per status (active, orphaned, blocked, failed, failure_ignored)
    ha_cluster_pacemaker_fail_count{node,resource}
    ha_cluster_pacemaker_migration_threshold{node,resource}
    ha_cluster_pacemaker_stonith_enabled
    ha_cluster_pacemaker_config_last_change               (Unix time)

and Paceline's own, counted by this daemon since it started (sum them over the nodes):

    paceline_operation_duration_seconds{agent,operation}  agent operations run here (probe = monitor 0)
    paceline_lease_renew_seconds                          etcd lease keep-alive round trips
    paceline_dc_changes_total                             this node became the DC
    paceline_transitions_total, paceline_transition_duration_seconds   transitions run by this
        node as the DC (planned and executed, until its last action ended)
    paceline_fencing_events_total{result}                 fencings by this node: success, failure
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from ..agents.metadata import AgentMetadata
from ..agents.types import AgentSpec, OpRequest, OpResult
from ..controller.records import Event, EventKind

__all__ = ["ClusterFacts", "Metrics", "ObservedList", "TimedRunner", "state_families"]

NODE_STATUSES = ("online", "standby", "standby_onfail", "maintenance", "pending", "unclean", "shutdown",
                 "expected_up", "dc")  # fmt: skip
RESOURCE_STATUSES = ("active", "orphaned", "blocked", "failed", "failure_ignored")
_ROLES = {"Started": "started", "Stopped": "stopped", "Promoted": "master", "Unpromoted": "slave"}


@dataclass(frozen=True)
class ClusterFacts:
    """What a scrape reports about the cluster (see `facts` in `listen`)."""

    status: Mapping[str, Any]
    """`status.build_status`'s shape (`cluster_status` in a cluster)."""
    parents: Mapping[str, tuple[str, str]]
    """primitive id -> (group id, clone id), '' for none."""
    fail_counts: Mapping[tuple[str, str], int]
    """(resource, node) -> fail count."""
    thresholds: Mapping[tuple[str, str], int]
    """(resource, node) -> migration-threshold."""
    stonith_enabled: bool
    config_last_change: float


def _node_flags(state: str, name: str, dc: str) -> dict[str, bool]:
    up = state in ("online", "standby", "maintenance", "shutdown", "joining")
    return {
        "online": up,
        "standby": state == "standby",
        "standby_onfail": False,
        "maintenance": state == "maintenance",
        "pending": state == "joining",
        "unclean": state == "unclean",
        "shutdown": state == "shutdown",
        "expected_up": True,
        "dc": name == dc,
    }


def state_families(f: ClusterFacts) -> list[Metric]:
    """ha_cluster_exporter's Pacemaker metrics from the cluster's facts."""
    nodes = GaugeMetricFamily(
        "ha_cluster_pacemaker_nodes",
        "The nodes and their status (1: in this status)",
        labels=["node", "type", "status"],
    )
    dc = str(f.status.get("dc") or "")
    for n in f.status.get("nodes", []):
        for status, on in _node_flags(n["state"], n["name"], dc).items():
            nodes.add_metric([n["name"], "member", status], 1.0 if on else 0.0)
    labels = ["node", "resource", "role", "managed", "status", "agent", "group", "clone"]
    rscs = GaugeMetricFamily(
        "ha_cluster_pacemaker_resources", "The resources and their status (1: in this status)", labels=labels
    )
    for r in f.status.get("resources", []):
        group, clone = f.parents.get(r["id"].rsplit(":", 1)[0] if ":" in r["id"] else r["id"], ("", ""))
        role = r["role"]
        current = (
            "failed"
            if role == "FAILED"
            else "blocked"
            if role == "Blocked"
            else "active"
            if r["node"]
            else ""
        )
        managed = "false" if str(r.get("reason", "")).startswith("unmanaged") else "true"
        shown = _ROLES.get(role, "started" if r["node"] else "stopped")
        for status in RESOURCE_STATUSES:
            rscs.add_metric(
                [r["node"] or "", r["id"], shown, managed, status, r["agent"], group, clone],
                1.0 if status == current else 0.0,
            )
    fails = GaugeMetricFamily(
        "ha_cluster_pacemaker_fail_count", "Fail count per node and resource", labels=["node", "resource"]
    )
    for (rsc, node), count in sorted(f.fail_counts.items()):
        fails.add_metric([node, rsc], float(count))
    thr = GaugeMetricFamily(
        "ha_cluster_pacemaker_migration_threshold",
        "migration-threshold per node and resource",
        labels=["node", "resource"],
    )
    for (rsc, node), value in sorted(f.thresholds.items()):
        thr.add_metric([node, rsc], float(value))
    stonith = GaugeMetricFamily(
        "ha_cluster_pacemaker_stonith_enabled", "Whether fencing is enabled (1) or not (0)"
    )
    stonith.add_metric([], 1.0 if f.stonith_enabled else 0.0)
    change = GaugeMetricFamily(
        "ha_cluster_pacemaker_config_last_change", "When the configuration last changed (Unix time)"
    )
    change.add_metric([], f.config_last_change)
    return [nodes, rscs, fails, thr, stonith, change]


class _StateCollector:
    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterable[Metric]:
        return list(self.families)


_OP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_RENEW_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2)


class Metrics:
    """One daemon's metrics: a registry of its own counters and the state read per scrape."""

    def __init__(self, facts: Callable[[], Awaitable[ClusterFacts]]) -> None:
        self.facts = facts
        self.registry = CollectorRegistry(auto_describe=False)
        self._state = _StateCollector()
        self.registry.register(self._state)
        r = self.registry
        self.operations = Histogram(
            "paceline_operation_duration_seconds",
            "Agent operations run on this node, by agent and operation",
            ["agent", "operation"],
            buckets=_OP_BUCKETS,
            registry=r,
        )
        self.lease_renew = Histogram(
            "paceline_lease_renew_seconds", "Lease keep-alive round trips", buckets=_RENEW_BUCKETS, registry=r
        )
        self.dc_changes = Counter("paceline_dc_changes", "Times this node became the DC", registry=r)
        self.transitions = Counter("paceline_transitions", "Transitions this node ran as the DC", registry=r)
        self.transition_duration = Histogram(
            "paceline_transition_duration_seconds",
            "From a transition's start to its last action's end",
            buckets=_OP_BUCKETS,
            registry=r,
        )
        self.fencing = Counter(
            "paceline_fencing_events", "Fencings carried out by this node, by result", ["result"], registry=r
        )
        for result in ("success", "failure"):
            self.fencing.labels(result)

    async def render(self) -> bytes:
        self._state.families = state_families(await self.facts())
        return generate_latest(self.registry)

    # -- what the daemon reports --------------------------------------------------------------------
    def observe_operation(self, req: OpRequest, res: OpResult) -> None:
        op = "probe" if req.action == "monitor" and req.interval_ms == 0 else req.action
        self.operations.labels(str(req.spec), op).observe(max(0.0, res.duration_ms / 1000))

    def observe_event(self, ev: Event) -> None:
        if ev.kind is not EventKind.NODE:
            return
        if ev.desc == "dc":
            self.dc_changes.inc()
        elif ev.desc == "fenced":
            self.fencing.labels("success").inc()
        elif ev.desc == "fence failed":
            self.fencing.labels("failure").inc()

    def observe_transition(self, seconds: float) -> None:
        self.transitions.inc()
        self.transition_duration.observe(seconds)


class TimedRunner:
    """An agent runner that reports every operation's duration (delegates everything else)."""

    def __init__(self, inner: Any, observe: Callable[[OpRequest, OpResult], None]) -> None:
        self.inner = inner
        self.observe = observe

    async def run(self, req: OpRequest) -> OpResult:
        res: OpResult = await self.inner.run(req)
        self.observe(req, res)
        return res

    async def metadata(self, spec: AgentSpec) -> AgentMetadata:
        md: AgentMetadata = await self.inner.metadata(spec)
        return md

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ObservedList(list[float]):
    """A list that reports what is appended (Membership's `renew_latencies`)."""

    def __init__(self, items: Iterable[float], observe: Callable[[float], None]) -> None:
        super().__init__(items)
        self.observe = observe

    def append(self, value: float) -> None:
        super().append(value)
        self.observe(value)
