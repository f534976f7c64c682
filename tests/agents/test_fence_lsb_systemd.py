"""fence-agents (fence_dummy, stdin protocol), LSB init scripts and systemd units."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from paceline.agents import AgentSpec, LocalAgentRunner, OcfRc, OpRequest, OpStatus
from paceline.agents.fence import fence_stdin

from .conftest import arun, write_agent

Make = Callable[..., LocalAgentRunner]
FENCE_DUMMY = AgentSpec.parse("stonith:fence_dummy")


def test_fence_stdin_protocol() -> None:
    assert fence_stdin({"plug": "n2", "action": "ignored"}, "off") == b"plug=n2\naction=off\n"


@pytest.mark.slow
def test_fence_dummy_off_on_status(make_runner: Make, tmp_path: Path) -> None:
    r = make_runner()
    status_file = tmp_path / "n2.status"
    status_file.write_text("on")
    params = {"status_file": str(status_file), "plug": "n2"}

    def op(action: str) -> OcfRc:
        res = arun(r.run(OpRequest("fence-n2", FENCE_DUMMY, action, params, timeout_ms=20000)))
        assert res.status is OpStatus.DONE, res
        return res.rc

    assert op("status") is OcfRc.OK
    assert op("off") is OcfRc.OK
    assert status_file.read_text() == "off"
    assert op("status") is OcfRc.NOT_RUNNING
    assert op("on") is OcfRc.OK
    assert op("status") is OcfRc.OK
    # as a resource the device runs where it was started (registered), not wherever it answers
    assert op("monitor") is OcfRc.NOT_RUNNING
    assert op("start") is OcfRc.OK
    assert op("monitor") is OcfRc.OK
    status_file.write_text("broken")  # fence_dummy's monitor now fails: a failed device
    assert op("monitor") is OcfRc.ERR_GENERIC
    status_file.write_text("on")
    assert op("stop") is OcfRc.OK
    assert op("monitor") is OcfRc.NOT_RUNNING
    md = arun(r.metadata(FENCE_DUMMY))
    assert md.parameter("status_file") is not None


@pytest.mark.slow
def test_fence_failures(make_runner: Make, tmp_path: Path) -> None:
    fdir = tmp_path / "sbin"
    write_agent(
        fdir / "fence_broken", "#!/bin/sh\ncat >/dev/null\necho 'ERROR: Unable to connect' >&2\nexit 1\n"
    )
    write_agent(fdir / "fence_dummy", Path("/usr/sbin/fence_dummy").read_text())
    r = make_runner(fence_dir=fdir)
    res = arun(r.run(OpRequest("f", AgentSpec.parse("stonith:fence_broken"), "status", {"plug": "n2"})))
    assert res.status is OpStatus.DONE and res.rc is OcfRc.ERR_GENERIC
    assert res.exit_reason == "ERROR: Unable to connect"
    res = arun(r.run(OpRequest("f", AgentSpec.parse("stonith:fence_broken"), "off", {"plug": "n2"})))
    assert res.rc is OcfRc.ERR_GENERIC
    res = arun(r.run(OpRequest("f", FENCE_DUMMY, "off", {"plug": "x\naction=on"})))
    assert res.status is OpStatus.ERROR_FATAL
    res = arun(r.run(OpRequest("f", AgentSpec.parse("stonith:fence_nonexistent"), "off")))
    assert res.status is OpStatus.NOT_INSTALLED
    res = arun(r.run(OpRequest("f", FENCE_DUMMY, "explode")))
    assert res.status is OpStatus.NOT_SUPPORTED


@pytest.mark.slow
def test_fence_agent_timeout(make_runner: Make, tmp_path: Path) -> None:
    fdir = tmp_path / "sbin"
    write_agent(fdir / "fence_hang", "#!/bin/sh\ncat >/dev/null\nsleep 300\n")
    r = make_runner(fence_dir=fdir)
    res = arun(
        r.run(OpRequest("f", AgentSpec.parse("stonith:fence_hang"), "reboot", {"plug": "n1"}, timeout_ms=300))
    )
    assert res.status is OpStatus.TIMEOUT


LSB_SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          demo
# Short-Description: demo service
### END INIT INFO
S={state}
case "$1" in
  start) touch $S; exit 0;;
  stop) rm -f $S; exit 0;;
  status) if [ -f $S ]; then exit 0; elif [ -f $S.dead ]; then exit 1; else exit 3; fi;;
  *) exit 3;;
esac
"""


@pytest.mark.slow
def test_lsb_init_script(make_runner: Make, tmp_path: Path) -> None:
    state = tmp_path / "demo.state"
    initd = tmp_path / "init.d"
    write_agent(initd / "demo", LSB_SCRIPT.format(state=state))
    r = make_runner(lsb_dir=initd)
    spec = AgentSpec.parse("lsb:demo")

    def op(action: str) -> OcfRc:
        res = arun(r.run(OpRequest("demo", spec, action)))
        assert res.status is OpStatus.DONE, res
        return res.rc

    assert op("monitor") is OcfRc.NOT_RUNNING  # status 3
    assert op("start") is OcfRc.OK
    assert op("monitor") is OcfRc.OK
    assert op("stop") is OcfRc.OK
    (tmp_path / "demo.state.dead").write_text("")
    assert op("status") is OcfRc.NOT_RUNNING  # status 1: dead, pid file exists
    assert arun(r.metadata(spec)).shortdesc == "demo service"
    assert arun(r.run(OpRequest("x", AgentSpec.parse("lsb:nope"), "start"))).status is OpStatus.NOT_INSTALLED


def test_systemd_not_running_is_a_clear_error(make_runner: Make, tmp_path: Path) -> None:
    r = make_runner(systemd_marker=tmp_path / "no-systemd-here")
    res = arun(r.run(OpRequest("web", AgentSpec.parse("systemd:nginx"), "start")))
    assert res.status is OpStatus.NOT_INSTALLED and res.rc is OcfRc.ERR_INSTALLED
    assert "systemd is not running" in res.exit_reason


@pytest.mark.slow
def test_systemd_through_systemctl(make_runner: Make, tmp_path: Path) -> None:
    """With a stand-in systemctl (no systemd in this container): the right commands, mapped codes."""
    marker = tmp_path / "run-systemd-system"
    marker.mkdir()
    calls = tmp_path / "calls"
    state = tmp_path / "active"
    ctl = write_agent(
        tmp_path / "systemctl",
        f"""#!/bin/sh
echo "$*" >> {calls}
case "$1" in
  show) if [ "$5" = "ghost.service" ]; then echo not-found; else echo loaded; fi;;
  start) touch {state};;
  stop) rm -f {state};;
  is-active) if [ -f {state} ]; then echo active; exit 0; else echo inactive; exit 3; fi;;
esac
""",
    )
    r = make_runner(systemctl=str(ctl), systemd_marker=marker)
    spec = AgentSpec.parse("systemd:nginx")

    def op(action: str, s: AgentSpec = spec) -> OcfRc:
        return arun(r.run(OpRequest("web", s, action))).rc

    assert op("monitor") is OcfRc.NOT_RUNNING
    assert op("start") is OcfRc.OK
    assert op("monitor") is OcfRc.OK
    assert op("stop") is OcfRc.OK
    assert op("start", AgentSpec.parse("systemd:ghost")) is OcfRc.ERR_INSTALLED
    assert "start nginx.service" in calls.read_text()
