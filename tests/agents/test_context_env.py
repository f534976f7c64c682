"""What of the daemon's environment reaches agents (`RunContext.base_env`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paceline.agents.context import RunContext


def test_ha_varrun_is_passed_on_other_cluster_variables_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HA_VARRUN", str(tmp_path / "run"))
    monkeypatch.setenv("HA_RSCTMP", "/elsewhere")
    monkeypatch.setenv("OCF_RESKEY_x", "1")
    monkeypatch.setenv("PACELINE_TOKEN", "7")
    env = RunContext.create(tmp_path / "state", "n1").base_env
    assert env["HA_VARRUN"] == str(tmp_path / "run")  # nodes sharing one machine's /run
    assert env["HA_RSCTMP"] == str(tmp_path / "state" / "rsctmp")  # always the node's own
    assert "OCF_RESKEY_x" not in env and "PACELINE_TOKEN" not in env


def test_without_ha_varrun_agents_use_their_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HA_VARRUN", raising=False)
    assert "HA_VARRUN" not in RunContext.create(tmp_path / "state", "n1").base_env
