"""Data-driven scheduler scenarios with reviewed golden transitions.

Each `tests/scenarios/**/NAME.yaml` holds
`{description, config: <cluster.yaml>, state: <state.yaml>, now: EPOCH_OR_ISO, events: [...]}` where
an event is `{node-fail: NODE}` or `{op-fail: RSC:OP:NODE[:RC]}` (applied in order, as
`paceline simulate` does), and `NAME.expected.json` beside it is the expected transition JSON.
`pytest --update-golden` rewrites the golden files instead of comparing: review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from paceline.model.config import Configuration
from paceline.model.state import ClusterState
from paceline.model.yaml_loader import ConfigError, YamlReader, config_from_node
from paceline.model.yaml_state import parse_time, state_from_node
from paceline.scheduler import schedule
from paceline.simulate import apply_node_fail, apply_op_fail, transition_to_json

HERE = Path(__file__).parent
SCENARIOS = sorted(HERE.rglob("*.yaml"))


def load_scenario(path: Path) -> tuple[Configuration, ClusterState, float]:
    """Configuration, state (events applied) and now; ConfigError with file/line for a bad file."""
    reader = YamlReader(str(path))
    root = reader.compose(path.read_text())
    if root is None:
        raise ConfigError(reader.errors)
    keys = ("description", "config", "state", "now", "events")
    fields = reader.mapping(root, "", keys, ("config", "now")) or {}
    if reader.errors:
        raise ConfigError(reader.errors)
    config = config_from_node(fields["config"], str(path))
    state_node = fields.get("state") or yaml.compose("{}", Loader=yaml.SafeLoader)
    assert state_node is not None
    state = state_from_node(state_node, str(path), config)
    now_text = reader.text(fields["now"], "now", "a time")
    if now_text is None:
        raise ConfigError(reader.errors)
    now = parse_time(now_text)
    events = reader.sequence(fields["events"], "events") if "events" in fields else []
    for i, event in enumerate(events or []):
        spec = reader.mapping(event, f"events[{i}]", ("node-fail", "op-fail"), null_ok=False) or {}
        for kind, value in spec.items():
            text = reader.text(value, f"events[{i}].{kind}")
            if text is None:
                raise ConfigError(reader.errors)
            if kind == "node-fail":
                state = apply_node_fail(state, text, config)
            else:
                state = apply_op_fail(state, text, config, now)
    if reader.errors:
        raise ConfigError(reader.errors)
    return config, state, now


def test_scenarios_exist() -> None:
    assert len(SCENARIOS) >= 12


@pytest.mark.parametrize("path", SCENARIOS, ids=[str(p.relative_to(HERE).with_suffix("")) for p in SCENARIOS])
def test_scenario(path: Path, update_golden: bool) -> None:
    config, state, now = load_scenario(path)
    got = transition_to_json(schedule(config, state, now))
    golden = path.with_suffix(".expected.json")
    if update_golden:
        golden.write_text(json.dumps(got, indent=2) + "\n")
        return
    assert golden.exists(), f"{golden} is missing: run pytest --update-golden and review it"
    expected = json.loads(golden.read_text())
    # the most telling differences first
    assert got["summary"] == expected["summary"]
    assert got["placement"] == expected["placement"]
    assert got["actions"] == expected["actions"]
    assert got["scores"] == expected["scores"]
    assert got == expected
