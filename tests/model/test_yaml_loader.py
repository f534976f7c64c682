"""YAML configuration loading: the format, every problem at once with file/line/path, round trip."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from paceline.model.config import AgentRef, Clone, Group, Primitive
from paceline.model.enums import BoolOp, NoQuorumPolicy, OnFail, OrderKind, Role
from paceline.model.scores import INFINITY
from paceline.model.yaml_loader import (
    ConfigError,
    Severity,
    check_config_text,
    dump_config,
    load_config,
    load_config_text,
)

R = "resources: [{id: a, agent: lsb:x}]\n"

FULL = textwrap.dedent(
    """\
    cluster:
      name: shop
      store: etcd://10.0.0.11:2379,10.0.0.12:2379
      options: {stonith-enabled: true, no-quorum-policy: freeze, node-health-strategy: migrate-on-red}
    nodes:
      - {name: n1, address: 10.0.0.11, attributes: {rack: a}, utilization: {cpu: 8}}
      - {name: n2, address: 10.0.0.12}
      - n3
    fencing:
      devices:
        - id: pdu
          agent: fence_apc
          params: {ip: 10.0.0.5, password: {env: PDU_PASSWORD}}
          hosts: [n1, n2, n3]
    resources:
      - group: app
        resources:
          - {id: vip, agent: ocf:heartbeat:IPaddr2, params: {ip: 10.0.0.100, cidr_netmask: 24}}
          - id: api
            service: {command: [python3, -m, http.server, "8080"], probe: {http: "http://127.0.0.1:8080/"}}
            meta: {migration-threshold: 3, failure-timeout: 5min}
            ops: {monitor: {interval: 2s, timeout: 5s, on-fail: restart}}
      - clone: web
        max: 3
        resource: {id: nginx, agent: systemd:nginx, utilization: {cpu: 1}}
      - promotable: dbc
        meta: {promoted-max: 1}
        resource:
          id: db
          agent: ocf:pacemaker:Stateful
          ops:
            monitor: [{interval: 10s, role: Promoted}, {interval: 11s, role: Unpromoted}]
    constraints:
      - location: {resource: app, node: n1, score: 100}
      - location: {resource: app, rule: "#health-disk eq red", score: -INFINITY}
      - location:
          {id: ping, resource: web, rules: [{rule: "pingd lt 1 or not_defined pingd", score: -INFINITY}]}
      - colocation: {resource: app, with: dbc, with-role: Promoted}
      - order: {first: dbc, first-action: promote, then: app, then-action: start, kind: Optional}
    rsc_defaults: {resource-stickiness: 100}
    op_defaults: {timeout: 20s}
    """
)


def test_full_example_loads() -> None:
    c = load_config_text(FULL, "cluster.yaml")
    assert c.name == "shop"
    assert c.store == "etcd://10.0.0.11:2379,10.0.0.12:2379"
    assert c.options.stonith_enabled is True
    assert c.options.no_quorum_policy is NoQuorumPolicy.FREEZE
    assert [n.name for n in c.nodes] == ["n1", "n2", "n3"]
    assert c.nodes[0].attributes == {"rack": "a"} and c.nodes[0].utilization == {"cpu": 8}
    pdu, app, web, dbc = c.resources
    assert isinstance(pdu, Primitive) and pdu.agent == AgentRef("stonith", "fence_apc")
    assert pdu.params == {"ip": "10.0.0.5", "password": "${env:PDU_PASSWORD}", "pcmk_host_list": "n1 n2 n3"}
    assert isinstance(app, Group) and [m.id for m in app.members] == ["vip", "api"]
    vip, api = app.members
    assert vip.agent == AgentRef("ocf", "IPaddr2", "heartbeat") and vip.params["cidr_netmask"] == "24"
    assert api.agent == AgentRef("service", "service")
    assert api.service == {
        "command": ["python3", "-m", "http.server", "8080"],
        "probe": {"http": "http://127.0.0.1:8080/"},
    }
    assert api.meta == {"migration-threshold": "3", "failure-timeout": "5min"}
    (mon,) = api.ops
    assert (mon.name, mon.interval_ms, mon.timeout_ms, mon.on_fail) == ("monitor", 2000, 5000, OnFail.RESTART)
    assert isinstance(web, Clone) and not web.promotable and web.meta == {"clone-max": "3"}
    assert (
        isinstance(dbc, Clone)
        and dbc.promotable
        and [o.role for o in dbc.child.ops] == [Role.PROMOTED, Role.UNPROMOTED]
    )
    loc_n1, loc_health, loc_ping = c.locations
    assert (loc_n1.id, loc_n1.resource, loc_n1.node, loc_n1.score) == ("loc-app-n1", "app", "n1", 100)
    assert loc_health.node is None and loc_health.rules[0].score == -INFINITY
    assert loc_health.rules[0].id == f"{loc_health.id}-rule"
    assert (
        loc_ping.id == "ping"
        and loc_ping.rules[0].boolean_op is BoolOp.OR
        and loc_ping.rules[0].id == "ping-rule-1"
    )
    (col,) = c.colocations
    assert (col.resource, col.with_resource, col.score, col.with_role) == (
        "app",
        "dbc",
        INFINITY,
        Role.PROMOTED,
    )
    (order,) = c.orders
    assert (order.first, order.first_action, order.then, order.kind) == (
        "dbc",
        "promote",
        "app",
        OrderKind.OPTIONAL,
    )
    assert c.rsc_defaults == {"resource-stickiness": "100"} and c.op_defaults == {"timeout": "20s"}


def test_round_trip_load_dump_load_is_equal() -> None:
    c = load_config_text(FULL, "cluster.yaml")
    text = dump_config(c)
    assert load_config_text(text, "dumped.yaml") == c
    assert dump_config(load_config_text(text, "dumped.yaml")) == text


def test_round_trip_of_odd_values() -> None:
    c = load_config_text(
        textwrap.dedent(
            """\
            nodes: [n1]
            resources:
              - {id: a, agent: "ocf:x:y", params: {version: 1.10, flag: no, empty: ""},
                 ops: {monitor: {interval: 500ms},
                       start: {timeout: 90, enabled: false, params: {trace_ra: 1}}}}
            constraints:
              - location: {resource: a, node: n1, score: -INFINITY, role: Promoted, resource-discovery: never}
              - location: {resource-pattern: "^a", rules: [{rule: "x eq 1", score-attribute: x}]}
            """
        )
    )
    prim = c.resources[0]
    assert isinstance(prim, Primitive)
    assert prim.params == {"version": "1.10", "flag": "no", "empty": ""}
    assert [(o.name, o.interval_ms, o.timeout_ms, o.enabled) for o in prim.ops] == [
        ("monitor", 500, None, True),
        ("start", 0, 90_000, False),
    ]
    assert prim.ops[1].params == {"trace_ra": "1"}
    assert load_config_text(dump_config(c)) == c


def test_every_problem_is_reported_at_once_with_line_and_path() -> None:
    text = textwrap.dedent(
        """\
        cluster:
          name: shop
          options: {stonith-enable: true}
        nodes: [n1, n2]
        resources:
          - {id: vip, agent: ocf:heartbeat:IPaddr2}
          - group: app
            resources:
              - id: db
                agent: ocf:heartbeat:pgsql
                meta:
                  failure-timeout: 1min
                  resource-stickiness: 10
                  migration-threshold: three
                ops: {monitor: {interval: 2 s}}
        constraints:
          - location: {resource: ap, node: n1, score: 100}
          - colocation: {resource: app, with: vip, score: lots}
        """
    )
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "cluster.yaml")
    lines = [str(e) for e in info.value.errors]
    assert lines == [
        "cluster.yaml:3: cluster.options.stonith-enable: "
        "unknown cluster option (did you mean 'stonith-enabled'?)",
        "cluster.yaml:14: resources[1].resources[0].meta.migration-threshold: "
        "expected an integer or INFINITY, got 'three'",
        "cluster.yaml:17: constraints[0].location.resource: unknown resource 'ap' (did you mean 'app'?)",
        "cluster.yaml:18: constraints[1].colocation.score: "
        "expected a score (an integer, INFINITY or -INFINITY), got 'lots'",
    ]
    assert str(info.value) == "\n".join(lines)


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "resources: [{id: a, agnet: ocf:x:y}]",
            "1: resources[0].agnet: unknown key (did you mean 'agent'?)",
        ),
        ("resources: [{id: a}]", "1: resources[0]: missing required key 'agent' (or 'service')"),
        ("resources: [{id: 1a, agent: ocf:x:y}]", "1: resources[0].id: '1a' is not a valid id"),
        ("resources: [{id: a, agent: ocf:y}]", "1: resources[0].agent: an ocf agent needs a provider"),
        (
            "resources: [{id: a, agent: osf:x:y}]",
            "1: resources[0].agent: unknown agent class 'osf' (did you mean 'ocf'?)",
        ),
        (
            "resources: [{id: a, agent: lsb:x, ops: {monitr: {interval: 1s}}}]",
            "unknown operation (did you mean 'monitor'?)",
        ),
        ("resources: [{id: a, agent: lsb:x, ops: {monitor: {}}}]", "a monitor needs an interval"),
        ("resources: [{id: a, agent: lsb:x, ops: {monitor: {interval: 5s, on-fail: panic}}}]", "got 'panic'"),
        (
            "resources: [{id: a, agent: lsb:x, ops: {monitor: [{interval: 5s}, {interval: 5000ms}]}}]",
            "a second monitor with interval 5s",
        ),
        ("resources: [{id: a, agent: lsb:x, meta: {target-role: Sleeping}}]", "unknown role 'Sleeping'"),
        (
            "resources: [{id: a, agent: lsb:x, meta: {is-managed: maybe}}]",
            "expected true or false, got 'maybe'",
        ),
        (
            "resources: [{group: g, resources: [{clone: c, resource: {id: a, agent: lsb:x}}]}]",
            "a group holds only primitives, not a clone",
        ),
        (
            "resources: [{id: a, agent: lsb:x}, {id: a, agent: lsb:y}]",
            "1: resources[1].id: duplicate id 'a' (first used on line 1)",
        ),
        ("nodes: [n1, n1]", "duplicate node 'n1'"),
        (
            "nodes: [n1]\nconstraints: [{location: {resource: a, node: n2, score: 1}}]\n" + R,
            "2: constraints[0].location.node: unknown node 'n2'",
        ),
        (
            R + "constraints: [{location: {resource: a, score: 1}}]",
            "give exactly one of node, rule or rules",
        ),
        (
            R + "constraints: [{location: {resource: a, rule: 'x eq', score: 1}}]",
            "2: constraints[0].location.rule: expected a value after x eq",
        ),
        (
            R + "constraints: [{order: {first: a, then: a}}]",
            "ordered after itself",
        ),
        (
            R + "constraints: [{colocation: {resource: a, with: a}}]",
            "colocated with itself",
        ),
        (
            R + "constraints: [{order: {first: a, then: b, then-action: begin}}]",
            "expected one of start, stop, promote, demote, got 'begin'",
        ),
        (
            R + "constraints: [{location: {}, order: {}}]",
            "expected exactly one of location, colocation or order",
        ),
        (
            "fencing: {devices: [{id: f, agent: fence_x, hosts: [n9]}]}\nnodes: [n1]",
            "1: fencing.devices[0].hosts[0]: unknown node 'n9'",
        ),
        (
            "cluster: {options: {no-quorum-policy: sleep}}",
            "expected one of stop, freeze, ignore, demote, suicide",
        ),
        ("resources: [{id: a, agent: lsb:x, meta: {failure-timeout: soon}}]", "expected a duration"),
        (
            "resources: [{clone: c, max: -1, resource: {id: a, agent: lsb:x}}]",
            "expected a non-negative integer, got '-1'",
        ),
        ("resources: [{id: a, service: {probe: {}}}]", "missing required key 'command'"),
        ("resources: [{id: a, agent: lsb:x, params: {pw: {env: 1X}}}]", "'1X' is not a variable name"),
        (
            "resources: [{id: a, agent: lsb:x, ops: {start: {params: [trace_ra]}}}]",
            "1: resources[0].ops.start.params: expected a mapping",
        ),
        ("resources: {id: a}", "1: resources: expected a list, got a mapping"),
        ("- a\n- b", "1: expected a mapping, got a list"),
        ("key: value\nkey: again", "2: key: unknown key"),
        ("cluster: {name: a, name: b}", "1: cluster.name: duplicate key"),
        ("", "1: the file is empty"),
        ("resources: [{id: a, agent: lsb:x}\n", "YAML syntax error"),
    ],
)
def test_single_problem_messages(yaml_text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(yaml_text, "c.yaml")
    assert any(expected in str(e) for e in info.value.errors), [str(e) for e in info.value.errors]
    assert all(str(e).startswith("c.yaml") for e in info.value.errors)


def test_unknown_meta_attribute_is_a_warning_not_an_error() -> None:
    config, problems = check_config_text(
        "resources: [{id: a, agent: lsb:x, meta: {stickiness: 5}}]", "c.yaml"
    )
    assert config is not None
    assert [p.severity for p in problems] == [Severity.WARNING]
    assert "did you mean 'resource-stickiness'" in str(problems[0]) and "warning:" in str(problems[0])


def test_generated_constraint_ids_are_unique() -> None:
    c = load_config_text(
        textwrap.dedent(
            """\
            nodes: [n1]
            resources: [{id: a, agent: lsb:x}, {id: b, agent: lsb:x}]
            constraints:
              - location: {resource: a, node: n1, score: 1}
              - location: {resource: a, node: n1, score: 2}
              - location: {id: loc-a-n1-3, resource: a, node: n1, score: 3}
              - colocation: {resource: a, with: b}
              - colocation: {resource: a, with: b, score: 5}
            """
        )
    )
    assert [loc.id for loc in c.locations] == ["loc-a-n1", "loc-a-n1-2", "loc-a-n1-3"]
    assert [col.id for col in c.colocations] == ["col-a-b", "col-a-b-2"]


def test_explicit_duplicate_constraint_id_is_an_error() -> None:
    text = R + "constraints: [{location: {id: a, resource: a, rule: 'x eq 1', score: 1}}]"
    with pytest.raises(ConfigError, match="duplicate id 'a'"):
        load_config_text(text)


def test_load_config_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text("nodes: [n1]\nresources: [{id: a, agent: lsb:x, meta: {priority: high}}]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:2: resources[0].meta.priority: expected an integer, got 'high'"
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_anchors_merge_keys_and_x_extensions() -> None:
    text = textwrap.dedent(
        """\
        x-dummy: &dummy
          {agent: "ocf:pacemaker:Dummy", meta: {resource-stickiness: 5}, ops: {monitor: {interval: 10s}}}
        resources:
          - {<<: *dummy, id: a}
          - {<<: *dummy, id: b, meta: {priority: 3}}
        """
    )
    a, b = load_config_text(text).resources
    assert isinstance(a, Primitive) and isinstance(b, Primitive)
    assert a.agent == b.agent == AgentRef("ocf", "Dummy", "pacemaker")
    assert a.meta == {"resource-stickiness": "5"} and b.meta == {"priority": "3"}  # own keys win
    assert [op.interval_ms for op in b.ops] == [10_000]
    with pytest.raises(
        ConfigError, match=r"c.yaml:1: resources\[0\].agnet: unknown key"
    ):  # where it is written
        load_config_text("x-a: &a {agnet: lsb:x}\nresources: [{<<: *a, id: a}]", "c.yaml")
