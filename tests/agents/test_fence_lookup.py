"""Where the fence runner finds ``fence_*`` agents: fence_dir (/usr/sbin) first, then the Python
environment's scripts directory (pip's console scripts, e.g. fence_paceline_netns), then PATH."""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

import paceline
from paceline.agents import AgentSpec, LocalAgentRunner, OcfRc, OpRequest, OpStatus, list_agents
from paceline.agents.fence import fence_agent_dirs, find_fence_agent
from paceline.agents.types import Standard

from .conftest import arun, write_agent

Make = Callable[..., LocalAgentRunner]
AGENT = "#!/bin/sh\ncat >/dev/null\necho {where}\n"


def test_lookup_order(tmp_path: Path) -> None:
    fence_dir, scripts, on_path = tmp_path / "sbin", tmp_path / "scripts", tmp_path / "path"
    for d, names in (
        (fence_dir, ["fence_a"]),
        (scripts, ["fence_a", "fence_b"]),
        (on_path, ["fence_b", "fence_c"]),
    ):
        for n in names:
            write_agent(d / n, AGENT.format(where=d.name))
    (on_path / "fence_d").write_text("#!/bin/sh\n")  # not executable: not an agent
    write_agent(on_path / "notfence_e", "#!/bin/sh\n")
    dirs = fence_agent_dirs(fence_dir, scripts_dir=str(scripts), path=f"{on_path}:{fence_dir}::")
    assert dirs == [fence_dir, scripts, on_path]
    assert find_fence_agent("fence_a", dirs) == fence_dir / "fence_a"
    assert find_fence_agent("fence_b", dirs) == scripts / "fence_b"
    assert find_fence_agent("fence_c", dirs) == on_path / "fence_c"
    assert find_fence_agent("fence_d", dirs) is None
    assert find_fence_agent("notfence_e", dirs) is None
    assert find_fence_agent("fence_x/../fence_a", dirs) is None
    default = fence_agent_dirs(fence_dir, path="")
    assert default == [fence_dir, Path(sysconfig.get_path("scripts"))]


@pytest.mark.slow
def test_runner_finds_an_agent_on_path(
    make_runner: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fence_paceline_netns as a console script would be, here a wrapper on PATH; fence_dir empty."""
    bin_dir = tmp_path / "bin"
    src = Path(paceline.__file__).resolve().parents[1]
    write_agent(
        bin_dir / "fence_paceline_netns",
        f"#!/bin/sh\nPYTHONPATH={src} exec {sys.executable} -m paceline.demo.fence_netns\n",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    empty = tmp_path / "sbin"
    empty.mkdir()
    r = make_runner(fence_dir=empty)
    spec = AgentSpec.parse("stonith:fence_paceline_netns")
    md = arun(r.metadata(spec))
    assert md.name == "fence_paceline_netns" and md.parameter("netns_prefix") is not None
    assert "stonith:fence_paceline_netns" in list_agents(r.ctx, Standard.STONITH)
    if os.geteuid() == 0:
        res = arun(r.run(OpRequest("fence", spec, "start", {"netns_prefix": "pl-"}, timeout_ms=20000)))
        assert res.status is OpStatus.DONE and res.rc is OcfRc.OK, res
    res = arun(r.run(OpRequest("f", AgentSpec.parse("stonith:fence_nowhere"), "status")))
    assert res.status is OpStatus.NOT_INSTALLED and str(bin_dir) in res.exit_reason
