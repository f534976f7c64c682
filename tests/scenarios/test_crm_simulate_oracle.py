"""Differential check of the golden files: crm_simulate (Pacemaker 2.1.5) must print the same
Transition Summary for each scenario, written as a CIB. A disagreement means a golden file (or the
CIB writing here) is wrong, whatever our scheduler says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cib_oracle import crm_simulate_available, crm_simulate_summary, to_cib
from test_scenarios import HERE, SCENARIOS, load_scenario

pytestmark = pytest.mark.skipif(not crm_simulate_available(), reason="crm_simulate is not installed")


@pytest.mark.parametrize("path", SCENARIOS, ids=[str(p.relative_to(HERE).with_suffix("")) for p in SCENARIOS])
def test_golden_summary_agrees_with_crm_simulate(path: Path, tmp_path: Path) -> None:
    golden = path.with_suffix(".expected.json")
    if not golden.exists():
        pytest.skip("no golden file yet")
    config, state, now = load_scenario(path)
    expected = json.loads(golden.read_text())["summary"]
    assert crm_simulate_summary(to_cib(config, state, now), now, tmp_path) == expected
