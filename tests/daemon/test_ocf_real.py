"""OCF resources (ocf:heartbeat:anything, ocf:heartbeat:Dummy) through the daemon's same paths:
monitor-detected failure and recovery, adoption after a daemon kill -9, shutdown."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .realdaemon import RealDaemon, free_port, http_ok, wait_for

pytestmark = pytest.mark.slow

ANYTHING = Path("/usr/lib/ocf/resource.d/heartbeat/anything")


def _yaml(port: int, pidfile: Path) -> str:
    return f"""
cluster: {{name: ocf, options: {{stonith-enabled: false}}}}
resources:
  - id: app
    agent: ocf:heartbeat:anything
    params:
      binfile: {sys.executable}
      cmdline_options: "-m http.server {port} --bind 127.0.0.1 --directory /tmp"
      pidfile: {pidfile}
    meta: {{migration-threshold: 3}}
    ops: {{monitor: {{interval: 1s, timeout: 10s}}}}
  - id: flag
    agent: ocf:heartbeat:Dummy
    ops: {{monitor: {{interval: 1s}}}}
constraints:
  - order: {{first: app, then: flag}}
"""


@pytest.fixture
def ocf_daemon(tmp_path: Path) -> Iterator[tuple[RealDaemon, int, Path]]:
    if not ANYTHING.exists():
        pytest.skip("resource-agents is not installed")
    port = free_port()
    pidfile = tmp_path / "app.pid"
    cfg = tmp_path / "ocf.yaml"
    cfg.write_text(_yaml(port, pidfile))
    d = RealDaemon(tmp_path / "state", cfg)
    try:
        yield d, port, pidfile
    finally:
        d.cleanup()
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)


def _pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def test_ocf_anything_killed_is_recovered_and_adopted_after_daemon_restart(
    ocf_daemon: tuple[RealDaemon, int, Path],
) -> None:
    d, port, pidfile = ocf_daemon
    d.start()
    assert wait_for(lambda: d.resource("flag")["role"] == "Started" and http_ok(port), 15)
    pid = _pid(pidfile)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: _pid(pidfile) not in (None, pid) and http_ok(port), 15)
    assert wait_for(lambda: d.resource("flag")["role"] == "Started", 10)
    app = d.resource("app")
    assert (app["role"], app["failcount"], app["agent"]) == ("Started", 1, "ocf:heartbeat:anything")
    # the daemon dies; the OCF resources keep running and are adopted, not started again
    pid2 = _pid(pidfile)
    d.kill9()
    assert http_ok(port)
    d.start()
    assert wait_for(lambda: d.resource("flag")["role"] == "Started", 10)
    assert _pid(pidfile) == pid2
    adopted = {e["resource"] for e in d.events() if e["kind"] == "adopt"}
    assert adopted == {"app", "flag"}
    assert d.resource("app")["failcount"] == 1, "fail counts survive a daemon restart"
    assert d.terminate() == 0
    assert not http_ok(port)
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid2}"), 5)


def test_health_agent_attributes_reach_node_status(tmp_path: Path) -> None:
    if not Path("/usr/lib/ocf/resource.d/pacemaker/HealthCPU").exists():
        pytest.skip("pacemaker-resource-agents is not installed")
    cfg = tmp_path / "health.yaml"
    cfg.write_text(
        "cluster: {name: h, options: {stonith-enabled: false}}\n"
        "resources:\n  - id: health\n    agent: ocf:pacemaker:HealthCPU\n    ops: {monitor: {interval: 1s}}\n"
    )
    d = RealDaemon(tmp_path / "state", cfg)
    try:
        d.start()
        assert wait_for(lambda: "#health-cpu" in d.status()["nodes"][0]["attributes"], 10)
        assert d.status()["nodes"][0]["attributes"]["#health-cpu"] in ("green", "yellow", "red")
        assert d.terminate() == 0
    finally:
        d.cleanup()


def test_promotable_stateful_is_promoted_reported_and_stopped(tmp_path: Path) -> None:
    if not Path("/usr/lib/ocf/resource.d/pacemaker/Stateful").exists():
        pytest.skip("pacemaker-resource-agents is not installed")
    rid = f"pltest{os.getpid()}"
    state_file = tmp_path / "stateful.state"
    cfg = tmp_path / "prom.yaml"
    cfg.write_text(
        "cluster: {name: p, options: {stonith-enabled: false}}\nresources:\n"
        f"  - promotable: {rid}-clone\n    resource:\n      id: {rid}\n      agent: ocf:pacemaker:Stateful\n"
        f"      params: {{state: {state_file}}}\n"
        "      ops:\n        monitor: [{interval: 1s, role: Promoted}, {interval: 2s, role: Unpromoted}]\n"
    )
    d = RealDaemon(tmp_path / "state", cfg)
    try:
        d.start()
        assert wait_for(lambda: d.resource(rid)["role"] == "Promoted", 15)
        assert d.status()["nodes"][0]["attributes"].get(f"master-{rid}")
        assert state_file.read_text().strip().lower() in ("master", "promoted")
        assert d.terminate() == 0
        assert not state_file.exists()
    finally:
        d.cleanup()
