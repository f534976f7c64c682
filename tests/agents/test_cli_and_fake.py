"""``paceline agent run|list|info`` and the FakeAgentRunner other layers test against."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from paceline.agents import AgentRunner, AgentSpec, FakeAgentRunner, OcfRc, OpRequest, OpResult, OpStatus
from paceline.cli.agent_cmd import agent_app

from .conftest import arun

cli = CliRunner()


def invoke(state: Path, *args: str) -> tuple[int, str, str]:
    res = cli.invoke(agent_app, [*args, "--state-dir", str(state), "--node", "n1"])
    return res.exit_code, res.stdout, res.stderr


@pytest.mark.slow
def test_run_lifecycle_with_exit_codes(state_dir: Path) -> None:
    code, out, _ = invoke(state_dir, "run", "ocf:pacemaker:Dummy", "monitor")
    assert code == 7 and out.startswith("NOT_RUNNING")
    code, out, _ = invoke(state_dir, "run", "ocf:pacemaker:Dummy", "start", "-p", "fake=x", "--timeout", "5s")
    assert code == 0 and out.startswith("OK")
    code, out, _ = invoke(state_dir, "run", "ocf:pacemaker:Dummy", "monitor", "--json", "--interval", "10s")
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"rc", "rc_name", "duration_ms", "exit_reason", "stdout", "stderr"}
    assert data["rc"] == 0 and data["rc_name"] == "OK" and isinstance(data["duration_ms"], float)
    code, out, _ = invoke(state_dir, "run", "ocf:pacemaker:Dummy", "stop")
    assert code == 0


@pytest.mark.slow
def test_run_failure_reason_and_meta(state_dir: Path, tmp_path: Path) -> None:
    code, out, _ = invoke(state_dir, "run", "ocf:pacemaker:Dummy", "start", "-p", "nonsense=1", "--json")
    data = json.loads(out)
    assert (
        code == 6
        and data["rc_name"] == "ERR_CONFIGURED"
        and "unknown parameter nonsense" in data["exit_reason"]
    )
    code, out, _ = invoke(state_dir, "run", "ocf:pacemaker:Dummy", "meta-data")
    assert code == 0 and "<resource-agent" in out


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (("run", "ocf:Dummy", "start"), 2, "needs a provider"),
        (("run", "bogus:x", "start"), 2, "unknown agent class"),
        (("run", "ocf:heartbeat:Dummy", "start", "-p", "novalue"), 2, "-p must be key=value"),
        (("run", "ocf:heartbeat:Dummy", "start", "--timeout", "soon"), 2, "bad duration"),
        (("list", "pacemaker"), 2, "unknown agent class"),
        (("info", "ocf:heartbeat:NoSuch"), 5, "not installed"),
    ],
)
def test_errors_are_one_line(state_dir: Path, args: tuple[str, ...], code: int, text: str) -> None:
    rc, out, err = invoke(state_dir, *args)
    assert rc == code
    assert text in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err + out


@pytest.mark.slow
def test_unknown_agent_runs_to_a_result_line(state_dir: Path) -> None:
    rc, out, _ = invoke(state_dir, "run", "ocf:heartbeat:NoSuch", "start")
    assert rc == 5 and out.startswith("ERR_INSTALLED") and len(out.strip().splitlines()) == 1


def test_list_and_info(state_dir: Path) -> None:
    rc, out, _ = invoke(state_dir, "list", "ocf")
    names = out.split()
    assert rc == 0 and "ocf:heartbeat:IPaddr2" in names and "ocf:pacemaker:Stateful" in names
    rc, out, _ = invoke(state_dir, "list", "stonith")
    assert "stonith:fence_dummy" in out.split()
    rc, out, _ = invoke(state_dir, "info", "ocf:heartbeat:IPaddr2", "--json")
    data = json.loads(out)
    ipp = next(p for p in data["parameters"] if p["name"] == "ip")
    assert rc == 0 and ipp["required"] and ipp["unique"]
    rc, out, _ = invoke(state_dir, "info", "ocf:pacemaker:Dummy")
    assert rc == 0 and "op_sleep" in out


@pytest.mark.slow
def test_mounted_in_main_app(state_dir: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "paceline.cli.main",
            "agent",
            "run",
            "stonith:fence_dummy",
            "status",
            "-p",
            f"status_file={state_dir}/none",
            "--json",
            "--state-dir",
            str(state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 7, proc.stderr  # status_file missing: fence_dummy says "off"
    assert json.loads(proc.stdout)["rc_name"] == "NOT_RUNNING"


def test_fake_runner_behaves_like_an_agent_and_is_scriptable() -> None:
    fake = FakeAgentRunner()
    assert isinstance(fake, AgentRunner)
    spec = AgentSpec.parse("ocf:pacemaker:Stateful")

    async def go() -> None:
        assert (await fake.run(OpRequest("r", spec, "monitor"))).rc is OcfRc.NOT_RUNNING
        assert (await fake.run(OpRequest("r", spec, "start"))).ok
        assert (await fake.run(OpRequest("r", spec, "promote"))).ok
        assert (await fake.run(OpRequest("r", spec, "monitor"))).rc is OcfRc.RUNNING_PROMOTED
        fake.script("r", "monitor", [OcfRc.OK, OcfRc.NOT_RUNNING])
        assert (await fake.run(OpRequest("r", spec, "monitor"))).rc is OcfRc.OK
        assert (await fake.run(OpRequest("r", spec, "monitor"))).rc is OcfRc.NOT_RUNNING
        assert (await fake.run(OpRequest("r", spec, "monitor"))).rc is OcfRc.NOT_RUNNING  # last repeats
        fake.timeout("r", "stop")
        res = await fake.run(OpRequest("r", spec, "stop"))
        assert res.status is OpStatus.TIMEOUT
        fake.script("x", "start", [OpResult(OcfRc.ERR_INSTALLED, OpStatus.NOT_INSTALLED, 0.0, "nope")])
        assert (await fake.run(OpRequest("x", spec, "start"))).status is OpStatus.NOT_INSTALLED
        assert [c.action for c in fake.calls_for("r")][:3] == ["monitor", "start", "promote"]

    arun(go())
