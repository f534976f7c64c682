"""Fencing levels with real fence agents (fence_dummy): level 1 fails, level 2 (two devices, both
needed) fences; the DC's Fencer records which level did it. Plus the YAML form of levels."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from paceline.agents import LocalAgentRunner
from paceline.controller.fencing import Fencer
from paceline.controller.records import DC_KEY, FENCED
from paceline.controller.statedb import StateDB
from paceline.model.fencing import fencing_plan
from paceline.model.leases import LeaseTiming
from paceline.model.yaml_dump import dump_config
from paceline.model.yaml_loader import Severity, check_config_text
from paceline.store import SystemClock
from paceline.store.memory import MemoryStore

from .conftest import arun

CONFIG = """cluster: {{name: c, store: "etcd://127.0.0.1:2379"}}
nodes: [n1, n2]
fencing:
  devices:
    - {{id: ipmi, agent: fence_dummy, hosts: [n2], params: {{type: fail, pcmk_off_timeout: 1s}}}}
    - {{id: pdu-a, agent: fence_dummy, hosts: [n2], params: {{status_file: "{a}"}}}}
    - {{id: pdu-b, agent: fence_dummy, hosts: [n2], params: {{status_file: "{b}"}}}}
  levels:
    n2: [[ipmi], [pdu-a, pdu-b]]
resources: []
"""


@pytest.mark.slow
def test_the_second_level_fences_when_the_first_fails_and_every_device_of_it_ran(
    make_runner: Callable[..., LocalAgentRunner], tmp_path: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("on")
    b.write_text("on")
    config, problems = check_config_text(CONFIG.format(a=a, b=b), "c.yaml")
    assert config is not None, problems
    config = replace(config, options=replace(config.options, stonith_enabled=True, stonith_action="off"))
    assert [s.label for s in fencing_plan(config, "n2")] == ["level 1 (ipmi)", "level 2 (pdu-a, pdu-b)"]

    async def go() -> tuple[bool, dict[str, object]]:
        clock = SystemClock()
        store = MemoryStore(clock)
        db = StateDB(store, clock)
        await store.put(DC_KEY, json.dumps({"node": "n1"}))
        token = (await store.get(DC_KEY)).mod_revision  # type: ignore[union-attr]
        fencer = Fencer(db, clock, make_runner(), "n1", token, LeaseTiming(), lambda: config)
        ok = await fencer.fence("n2", "test")
        rec = await store.get(FENCED + "n2")
        return ok, json.loads(rec.value) if rec else {}

    ok, rec = arun(go())
    assert ok
    assert rec["method"] == "level 2 (pdu-a, pdu-b) (off)"
    assert a.read_text() == "off" and b.read_text() == "off"


def test_levels_in_yaml_are_checked_and_written_back() -> None:
    config, problems = check_config_text(CONFIG.format(a="/x", b="/y"), "c.yaml")
    assert config is not None and not [p for p in problems if p.severity is Severity.ERROR]
    assert [(lv.target, lv.index, lv.devices) for lv in config.fencing_levels] == [
        ("n2", 1, ("ipmi",)),
        ("n2", 2, ("pdu-a", "pdu-b")),
    ]
    again, _ = check_config_text(dump_config(config), "dumped.yaml")
    assert again is not None and again.fencing_levels == config.fencing_levels
    bad = CONFIG.format(a="/x", b="/y").replace("[pdu-a, pdu-b]", "[pdu-a, pdu-c]").replace("  n2:", "  n9:")
    _, problems = check_config_text(bad, "c.yaml")
    errors = [str(p) for p in problems if p.severity is Severity.ERROR]
    assert any("unknown fence device 'pdu-c'" in e and "c.yaml:9" in e for e in errors), errors
    assert any("unknown node 'n9'" in e for e in errors), errors
