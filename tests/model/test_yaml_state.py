"""The human state format: running/failed/failcounts/history -> op records the scheduler reads."""

from __future__ import annotations

import textwrap

import pytest

from paceline.model.enums import OpStatus
from paceline.model.state import FailRecord, OpRecord
from paceline.model.yaml_loader import ConfigError, load_config_text
from paceline.model.yaml_state import load_state_text, parse_time

CONFIG = load_config_text(
    textwrap.dedent(
        """\
        nodes: [n1, n2, n3]
        resources:
          - {id: vip, agent: ocf:heartbeat:IPaddr2, ops: {monitor: {interval: 10s}}}
          - group: app
            resources: [{id: fs, agent: lsb:fs}, {id: web, agent: lsb:web, ops: {monitor: {interval: 5s}}}]
          - clone: ngc
            resource: {id: nginx, agent: systemd:nginx}
          - promotable: dbc
            resource:
              id: db
              agent: ocf:pacemaker:Stateful
              ops: {monitor: [{interval: 10s, role: Promoted}, {interval: 11s, role: Unpromoted}]}
        """
    ),
    "cluster.yaml",
)


def tasks(records: tuple[OpRecord, ...]) -> list[tuple[str, str, str, int, int]]:
    return [(r.resource, r.node, r.task, r.interval_ms, r.rc) for r in records]


def test_running_becomes_start_and_configured_monitors() -> None:
    state = load_state_text(
        "running: {vip: n1, app: n2, ngc: [n1, n3], dbc: {n2: Promoted, n3: Unpromoted}}", "s.yaml", CONFIG
    )
    assert tasks(state.history) == [
        ("vip", "n1", "start", 0, 0),
        ("vip", "n1", "monitor", 10_000, 0),
        ("fs", "n2", "start", 0, 0),
        ("web", "n2", "start", 0, 0),
        ("web", "n2", "monitor", 5_000, 0),
        ("nginx", "n1", "start", 0, 0),
        ("nginx", "n3", "start", 0, 0),
        ("db", "n2", "start", 0, 0),
        ("db", "n2", "promote", 0, 0),
        ("db", "n2", "monitor", 10_000, 8),
        ("db", "n3", "start", 0, 0),
        ("db", "n3", "monitor", 11_000, 0),
    ]
    assert [r.call_id for r in state.history] == list(range(1, 13))
    assert all(r.status is OpStatus.DONE for r in state.history)


def test_nodes_default_to_the_configuration_and_online() -> None:
    state = load_state_text(
        "quorum: false\n"
        "nodes: [{name: n2, standby: true, attributes: {pingd: '1'}}, {name: n3, unclean: true}]",
        "s.yaml",
        CONFIG,
    )
    assert state.have_quorum is False
    assert [(n.name, n.online, n.unclean, n.standby) for n in state.nodes] == [
        ("n1", True, False, False),
        ("n2", True, False, True),
        ("n3", False, True, False),
    ]
    assert state.nodes[1].attributes == {"pingd": "1"}


def test_failed_appends_a_failed_record_after_running_and_counts() -> None:
    state = load_state_text(
        textwrap.dedent(
            """\
            running: {vip: n1}
            failed:
              - {resource: vip, node: n1, op: monitor, rc: 7, count: 2, last_failure: 2026-11-21T10:00:00Z}
              - {resource: db, node: n2, op: start}
            failcounts:
              - {resource: vip, node: n1, count: 1, last_failure: 1763718000}
            """
        ),
        "s.yaml",
        CONFIG,
    )
    assert tasks(state.history)[-2:] == [("vip", "n1", "monitor", 10_000, 7), ("db", "n2", "start", 0, 1)]
    assert state.history[-1].status is OpStatus.ERROR
    assert state.history[-2].last_rc_change == parse_time("2026-11-21T10:00:00Z")
    assert state.failures == (
        FailRecord("vip", "n1", 3, parse_time("2026-11-21T10:00:00Z"), "monitor_10000"),
        FailRecord("db", "n2", 1, None, "start_0"),
    )


def test_raw_history_keeps_explicit_call_ids() -> None:
    state = load_state_text(
        "history:\n  - {resource: vip, node: n1, task: stop, rc: 0, call_id: 40}\n"
        "  - {resource: vip, node: n2, task: start, rc: 1, status: error}",
        "s.yaml",
        CONFIG,
    )
    assert [(r.call_id, r.status) for r in state.history] == [(40, OpStatus.DONE), (41, OpStatus.ERROR)]


def test_history_names_the_agent_it_ran_with() -> None:
    state = load_state_text(
        "history:\n  - {resource: vip, node: n1, task: start, agent: 'lsb:vip'}", "s.yaml", CONFIG
    )
    assert state.history[0].agent == "lsb:vip"
    with pytest.raises(ConfigError) as info:
        load_state_text("history:\n  - {resource: vip, node: n1, task: start, agent: vip}", "s.yaml", CONFIG)
    assert [str(e) for e in info.value.errors] == [
        "s.yaml:2: history[0].agent: agent 'vip' is not CLASS:PROVIDER:TYPE or CLASS:TYPE"
    ]


def test_parse_time_accepts_epoch_and_iso() -> None:
    assert parse_time("1763719200") == 1763719200.0
    assert parse_time("2025-11-21T10:00:00Z") == 1763719200.0
    assert parse_time("2025-11-21 10:00:00") == 1763719200.0
    assert parse_time("2025-11-21T11:00:00+01:00") == 1763719200.0
    with pytest.raises(ValueError, match="epoch seconds or an ISO 8601"):
        parse_time("yesterday")


def test_every_state_problem_is_reported_with_lines() -> None:
    text = textwrap.dedent(
        """\
        nodes: [n1, n4]
        running:
          vipp: n1
          vip: n9
          web: {n1: Promoted}
        failed:
          - {resource: vip, node: n1, op: monitr}
        quorum: maybe
        """
    )
    with pytest.raises(ConfigError) as info:
        load_state_text(text, "s.yaml", CONFIG)
    assert [str(e) for e in info.value.errors] == [
        "s.yaml:1: nodes[1]: node 'n4' is not in the configuration",
        "s.yaml:3: running.vipp: unknown resource 'vipp' (did you mean 'vip'?)",
        "s.yaml:4: running.vip: unknown node 'n9'",
        "s.yaml:5: running.web: 'web' is not in a promotable clone, so it cannot be Promoted",
        "s.yaml:7: failed[0].op: unknown operation 'monitr' (did you mean 'monitor'?)",
        "s.yaml:8: quorum: expected true or false, got 'maybe'",
    ]


def test_without_a_configuration_names_are_taken_as_given() -> None:
    state = load_state_text("nodes: [a, b]\nrunning: {x: a, y: [a, b]}", "s.yaml")
    assert tasks(state.history) == [
        ("x", "a", "start", 0, 0),
        ("y", "a", "start", 0, 0),
        ("y", "b", "start", 0, 0),
    ]
