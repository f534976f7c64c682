"""`no-quorum-policy` freeze/ignore in a cluster needs a fence device for every node."""

from __future__ import annotations

from paceline.model.yaml_loader import Severity, check_config_text

BASE = """cluster:
  name: c
  store: etcd://127.0.0.1:2379
  options:
    no-quorum-policy: {policy}
nodes: [n1, n2]
{fencing}resources: []
"""
ALL = """fencing:
  devices:
    - {id: pdu, agent: fence_dummy, hosts: [n1, n2]}
"""
ONE = """fencing:
  devices:
    - {id: pdu, agent: fence_dummy, hosts: [n1]}
"""


def _errors(policy: str, fencing: str) -> list[str]:
    _, problems = check_config_text(BASE.format(policy=policy, fencing=fencing), "c.yaml")
    return [str(p) for p in problems if p.severity is Severity.ERROR]


def test_freeze_with_a_node_no_device_can_fence_is_refused_at_the_policy_line() -> None:
    errors = _errors("freeze", ONE)
    assert len(errors) == 1
    assert errors[0].startswith("c.yaml:5:") and "n2 has none" in errors[0], errors
    assert "no-quorum-policy" in errors[0]
    assert any("n1, n2 has none" in e for e in _errors("ignore", ""))


def test_freeze_with_devices_for_every_node_and_stop_without_any_are_accepted() -> None:
    assert _errors("freeze", ALL) == []
    assert _errors("stop", "") == []
    # a single machine (no etcd store) has no one else to fence it: the policy is the scheduler's
    assert (
        check_config_text(
            BASE.format(policy="freeze", fencing="").replace("  store: etcd://127.0.0.1:2379\n", ""), "c.yaml"
        )[0]
        is not None
    )
