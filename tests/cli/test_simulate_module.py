"""paceline.simulate: event injection, apply_transition, JSON rendering and explanations."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from paceline.cli.main import app
from paceline.cli.output import format_placement, format_summary
from paceline.cli.simulate_cmd import parse_now
from paceline.model.enums import OpStatus, Role
from paceline.model.scores import INFINITY
from paceline.model.state import FailRecord
from paceline.model.yaml_loader import load_config_text
from paceline.model.yaml_state import load_state_text
from paceline.scheduler.transition import Action, ActionKind, ScoreTerm, Transition
from paceline.simulate import (
    SimulationError,
    apply_node_fail,
    apply_op_fail,
    apply_transition,
    explain,
    parse_op_fail,
    transition_to_json,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CONFIG = load_config_text(
    textwrap.dedent(
        """\
        nodes: [n1, n2]
        resources:
          - {id: vip, agent: ocf:heartbeat:IPaddr2, ops: {monitor: {interval: 10s}}}
          - group: g
            resources: [{id: a, agent: lsb:a}]
          - promotable: dbc
            resource: {id: db, agent: ocf:pacemaker:Stateful}
        """
    )
)
STATE = load_state_text("running: {vip: n1}", "s.yaml", CONFIG)


def test_node_fail_marks_the_node_unclean_and_offline() -> None:
    state = apply_node_fail(STATE, "n1")
    n1 = state.node("n1")
    assert n1 is not None and (n1.online, n1.unclean) == (False, True)
    assert state.node("n2") == STATE.node("n2")
    no_fencing = load_config_text("cluster: {options: {stonith-enabled: false}}\nnodes: [n1, n2]")
    n1 = apply_node_fail(STATE, "n1", no_fencing).node("n1")
    assert n1 is not None and (n1.online, n1.unclean) == (False, False)
    with pytest.raises(SimulationError, match=r"unknown node 'n3' \(known nodes: n1, n2\)"):
        apply_node_fail(STATE, "n3")


def test_parse_op_fail() -> None:
    assert parse_op_fail("vip:monitor:n1") == ("vip", "monitor", "n1", 1)
    assert parse_op_fail("vip:monitor:n1:7") == ("vip", "monitor", "n1", 7)
    assert parse_op_fail("db:1:promote:n2:9") == ("db:1", "promote", "n2", 9)
    for bad in ("vip", "vip:monitor", "vip::n1", ":monitor:n1"):
        with pytest.raises(SimulationError, match="expected RSC:OP:NODE"):
            parse_op_fail(bad)


def test_op_fail_appends_a_record_and_bumps_the_fail_count() -> None:
    state = apply_op_fail(STATE, "vip:monitor:n1:7", CONFIG, now=100.0)
    last = state.history[-1]
    assert (last.resource, last.node, last.task, last.interval_ms, last.rc) == (
        "vip",
        "n1",
        "monitor",
        10_000,
        7,
    )
    assert last.call_id == max(r.call_id for r in STATE.history) + 1 and last.status is OpStatus.DONE
    assert state.failures == (FailRecord("vip", "n1", 1, 100.0, "monitor_10000"),)
    state = apply_op_fail(state, "vip:monitor_10000:n1", CONFIG, now=200.0)
    assert state.failures == (FailRecord("vip", "n1", 2, 200.0, "monitor_10000"),)
    assert state.history[-1].status is OpStatus.ERROR
    state = apply_op_fail(state, "vip:start:n2:0", CONFIG, now=300.0)
    assert len(state.failures) == 1  # success is not a failure


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope:monitor:n1", "unknown resource 'nope'"),
        ("g:monitor:n1", "'g' is a group; name one of its primitives: a"),
        ("vip:explode:n1", "unknown operation 'explode'"),
        ("vip:monitor:n9", "unknown node 'n9'"),
    ],
)
def test_op_fail_errors_name_the_culprit(spec: str, message: str) -> None:
    with pytest.raises(SimulationError, match=message):
        apply_op_fail(STATE, spec, CONFIG)


TRANSITION = Transition(
    actions=(
        Action("fence:n2", ActionKind.FENCE, "", "n2"),
        Action("vip:stop:n1", ActionKind.STOP, "vip", "n1"),
        Action("vip:start:n2", ActionKind.START, "vip", "n2", after=("vip:stop:n1", "fence:n2")),
        Action(
            "vip:monitor:n2", ActionKind.MONITOR, "vip", "n2", interval_ms=10_000, after=("vip:start:n2",)
        ),
        Action("db:0:promote:n1", ActionKind.PROMOTE, "db:0", "n1"),
    ),
    placement={"vip": {"n2": Role.STARTED}, "db:0": {"n1": Role.PROMOTED}},
    summary=("Move       vip ( n1 -> n2 )", "Fence (reboot) n2 'peer is  gone'"),
    scores=(
        ScoreTerm("vip", "n1", 100, "location loc-vip-n1"),
        ScoreTerm("vip", "n2", -INFINITY, "standby", "node n2 is in standby"),
        ScoreTerm("vip", "n1", 50, "stickiness"),
    ),
    final_scores={"vip": {"n1": 150, "n2": -INFINITY}},
)


def test_transition_to_json_shape() -> None:
    doc = transition_to_json(TRANSITION)
    assert list(doc) == ["actions", "placement", "summary", "scores"]
    assert doc["actions"][2] == {  # type: ignore[index]
        "id": "vip:start:n2",
        "action": "start",
        "resource": "vip",
        "node": "n2",
        "after": ["fence:n2", "vip:stop:n1"],
    }
    assert doc["placement"] == {"db:0": {"n1": "Promoted"}, "vip": {"n2": "Started"}}
    assert doc["summary"] == ["Move vip ( n1 -> n2 )", "Fence (reboot) n2 'peer is gone'"]
    assert doc["scores"][1] == {  # type: ignore[index]
        "resource": "vip",
        "node": "n2",
        "score": -INFINITY,
        "source": "standby",
        "detail": "node n2 is in standby",
    }


def test_explain_words_and_totals() -> None:
    assert explain(TRANSITION, "vip") == [
        "n1: +100 from location loc-vip-n1; +50 from stickiness; total 150",
        "n2: -INFINITY from standby (node n2 is in standby); total -INFINITY",
    ]
    assert explain(TRANSITION, "other") == []


def test_apply_transition_runs_the_placement() -> None:
    state = apply_transition(STATE, TRANSITION)
    n2 = state.node("n2")
    assert n2 is not None and (n2.online, n2.unclean) == (False, False)  # fenced
    assert [(r.resource, r.node, r.task, r.interval_ms, r.rc) for r in state.history] == [
        ("db:0", "n1", "start", 0, 0),
        ("db:0", "n1", "promote", 0, 0),
        ("vip", "n2", "start", 0, 0),
        ("vip", "n2", "monitor", 10_000, 0),
    ]
    assert [r.call_id for r in state.history] == [1, 2, 3, 4]
    assert state.failures == STATE.failures


def test_apply_transition_keeps_monitors_of_what_did_not_move() -> None:
    stay = Transition(placement={"vip": {"n1": Role.STARTED}})
    state = apply_transition(STATE, stay, CONFIG)
    assert [(r.task, r.interval_ms) for r in state.history] == [("start", 0), ("monitor", 10_000)]


def test_output_formatting() -> None:
    assert format_summary(["Start vip ( n1 )", "Move long-name ( n1 -> n2 )", "Fence (reboot) n3 'x'"]) == [
        "Transition Summary:",
        "  * Start      vip       ( n1 )",
        "  * Move       long-name ( n1 -> n2 )",
        "  * Fence (reboot) n3 'x'",
    ]
    assert format_summary(["Stop a ( n1 ) due to node availability"])[1] == (
        "  * Stop       a       ( n1 )  due to node availability"
    )
    assert format_placement({"b": {}, "a": {"n2": Role.UNPROMOTED, "n1": Role.PROMOTED}}) == [
        "Placement:",
        "  a: Promoted on n1, Unpromoted on n2",
        "  b: Stopped",
    ]


def test_parse_now_accepts_crm_simulate_dates() -> None:
    assert parse_now("1763719200") == 1763719200.0
    assert parse_now("2025-11-21 10:00:00Z") == 1763719200.0
    assert parse_now("2005-001") == parse_now("2005-01-01T00:00:00Z")
    with pytest.raises(ValueError):
        parse_now("soon")


@pytest.mark.parametrize("extra", [[], ["--node-fail", "n1"], ["--op-fail", "api:monitor:n1:7"], ["--json"]])
def test_examples_simulate(extra: list[str]) -> None:
    config, state = EXAMPLES / "sim-shop.yaml", EXAMPLES / "sim-shop-state.yaml"
    result = CliRunner().invoke(
        app, ["simulate", str(config), "--state", str(state), "--now", "1763719200", *extra]
    )
    assert result.exit_code == 0, result.stderr
    result = CliRunner().invoke(app, ["config", "validate", str(config)])
    assert result.exit_code == 0 and "valid (4 resources, 6 constraints)" in result.stdout
