"""From a configured primitive to the agent request: parameters, per-operation parameters, timeout."""

from __future__ import annotations

import textwrap

from paceline.model.yaml_loader import load_config_text
from paceline.node.requests import build_request

CONFIG = textwrap.dedent(
    """\
    nodes: [n1]
    op_defaults: {timeout: 30s}
    resources:
      - id: a
        agent: ocf:pacemaker:Dummy
        params: {fake: foo, state: /run/a.state}
        ops:
          start: {timeout: 90s, params: {fake: for-start, trace_ra: "1"}}
          monitor: {interval: 10s}
    """
)


def test_an_operation_s_own_parameters_override_the_resource_s() -> None:
    config = load_config_text(CONFIG, "c.yaml")
    start = build_request(config, "a", "start")
    assert dict(start.params) == {"fake": "for-start", "state": "/run/a.state", "trace_ra": "1"}
    assert start.timeout_ms == 90_000


def test_other_operations_keep_the_resource_s_parameters() -> None:
    config = load_config_text(CONFIG, "c.yaml")
    monitor = build_request(config, "a", "monitor", 10_000)
    assert dict(monitor.params) == {"fake": "foo", "state": "/run/a.state"}
    assert monitor.timeout_ms == 30_000
