"""Differential test: Hypothesis builds small clusters from the features Paceline supports, and
Pacemaker 2.1.5's crm_simulate (Debian's pacemaker-cli-utils) must print the same Transition
Summary as our scheduler for each.

Features drawn: 2-4 nodes (some in standby or offline), primitives, groups, anonymous clones,
node-score locations, mandatory/advisory/anti colocations, mandatory orders, resource-stickiness,
migration-threshold with failed monitors, and resources already running. Fencing is off (no fence
device is simulated); lines are compared as multisets with whitespace collapsed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from cib_oracle import crm_simulate_available, crm_simulate_summary, to_cib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paceline.model import (
    INFINITY,
    AgentRef,
    Clone,
    ClusterOptions,
    ClusterState,
    Colocation,
    Configuration,
    FailRecord,
    Group,
    Location,
    Node,
    NodeStatus,
    Op,
    OpRecord,
    Order,
    Primitive,
    Resource,
)
from paceline.scheduler import schedule

pytestmark = pytest.mark.skipif(not crm_simulate_available(), reason="crm_simulate is not installed")

NOW = 1_700_000_000.0
DUMMY = AgentRef("ocf", "Dummy", "pacemaker")
MONITOR = (Op("monitor", interval_ms=10_000, timeout_ms=20_000),)


@st.composite
def clusters(draw: st.DrawFn) -> tuple[Configuration, ClusterState]:
    node_names = [f"node{i + 1}" for i in range(draw(st.integers(2, 4)))]
    kinds = [draw(st.sampled_from(["online"] * 6 + ["standby", "offline"])) for _ in node_names]
    if all(k != "online" for k in kinds):
        kinds[0] = "online"
    statuses = tuple(
        NodeStatus(n, online=k != "offline", standby=k == "standby")
        for n, k in zip(node_names, kinds, strict=True)
    )
    threshold = draw(st.sampled_from([None, 1, 2]))
    meta = {"migration-threshold": str(threshold)} if threshold else {}
    prims = [Primitive(f"rsc{i + 1}", DUMMY, meta=meta, ops=MONITOR) for i in range(draw(st.integers(1, 6)))]
    resources: list[Resource] = []
    i = 0
    while i < len(prims):
        size = draw(st.integers(1, 3))
        run = prims[i : i + size]
        i += size
        shape = draw(st.sampled_from(["plain", "plain", "group", "clone"]))
        if shape == "group" and len(run) > 1:
            resources.append(Group(f"grp{len(resources) + 1}", tuple(run)))
        elif shape == "clone" and len(run) == 1:
            resources.append(Clone(f"{run[0].id}-clone", run[0]))
        else:
            resources.extend(run)
    tops = [r.id for r in resources]
    scores = st.sampled_from([-INFINITY, -50, 10, 100, INFINITY])
    locations = tuple(
        Location(f"loc{k}", draw(st.sampled_from(tops)), draw(st.sampled_from(node_names)), draw(scores))
        for k in range(draw(st.integers(0, 3)))
    )
    colocations: list[Colocation] = []
    orders: list[Order] = []
    if len(tops) > 1:
        for k in range(draw(st.integers(0, 2))):
            a, b = sorted(
                draw(st.lists(st.sampled_from(tops), min_size=2, max_size=2, unique=True)), key=tops.index
            )
            colocations.append(Colocation(f"col{k}", b, a, draw(st.sampled_from([INFINITY, -INFINITY, 50]))))
        for k in range(draw(st.integers(0, 2))):
            a, b = sorted(
                draw(st.lists(st.sampled_from(tops), min_size=2, max_size=2, unique=True)), key=tops.index
            )
            orders.append(Order(f"ord{k}", a, b))
    stickiness = draw(st.sampled_from(["0", "0", "100", "INFINITY"]))
    history: list[OpRecord] = []
    failures: list[FailRecord] = []
    call = 0
    cloned = {r.child.id for r in resources if isinstance(r, Clone)}
    usable = [n for n, k in zip(node_names, kinds, strict=True) if k != "offline"]
    for p in prims:
        if p.id in cloned:
            where = draw(st.lists(st.sampled_from(usable), unique=True, max_size=len(usable)))
        else:
            where = [draw(st.sampled_from(usable))] if draw(st.integers(0, 2)) == 0 else []
        for node in where:
            call += 1
            history.append(
                OpRecord(p.id, node, "start", rc=0, call_id=call, expected_rc=0, last_rc_change=NOW - 600)
            )
            call += 1
            failed = draw(st.integers(0, 5)) == 0
            history.append(
                OpRecord(
                    p.id,
                    node,
                    "monitor",
                    10_000,
                    rc=7 if failed else 0,
                    call_id=call,
                    expected_rc=0,
                    last_rc_change=NOW - 300,
                )
            )
            if failed:
                failures.append(FailRecord(p.id, node, 1, NOW - 300, "monitor_10000"))
    config = Configuration(
        name="diff",
        options=ClusterOptions(stonith_enabled=False, raw={"stonith-enabled": "false"}),
        nodes=tuple(Node(n) for n in node_names),
        resources=tuple(resources),
        locations=locations,
        colocations=tuple(colocations),
        orders=tuple(orders),
        rsc_defaults={"resource-stickiness": stickiness},
    )
    return config, ClusterState(nodes=statuses, history=tuple(history), failures=tuple(failures))


def describe(config: Configuration, state: ClusterState) -> str:
    """A compact account of a generated cluster for failure messages."""
    nodes = [(n.name, "standby" if n.standby else "online" if n.online else "offline") for n in state.nodes]
    out = [f"nodes {nodes}"]
    for r in config.resources:
        if isinstance(r, Group):
            out.append(f"group {r.id} {[m.id for m in r.members]}")
        elif isinstance(r, Clone):
            out.append(f"clone {r.id} of {r.child.id}")
        else:
            out.append(f"primitive {r.id} {dict(r.meta)}")
    out += [f"location {x.resource} {x.node} {x.score}" for x in config.locations]
    out += [f"colocation {x.resource} with {x.with_resource} {x.score}" for x in config.colocations]
    out += [f"order {x.first} then {x.then}" for x in config.orders]
    out += [f"history {h.resource}@{h.node} {h.task} rc={h.rc}" for h in state.history]
    out += [f"failcount {f.resource}@{f.node} {f.count}" for f in state.failures]
    out.append(f"stickiness {config.rsc_defaults.get('resource-stickiness')}")
    return "\n".join(out)


def _norm(lines: list[str] | tuple[str, ...]) -> Counter[str]:
    return Counter(" ".join(line.split()) for line in lines)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=clusters())
def test_same_transition_summary_as_crm_simulate(
    case: tuple[Configuration, ClusterState], tmp_path: Path
) -> None:
    config, state = case
    ours = schedule(config, state, NOW).summary
    theirs = crm_simulate_summary(to_cib(config, state, NOW), NOW, tmp_path)
    assert _norm(ours) == _norm(theirs), describe(config, state)
