"""`paceline run` with real processes: recovery, escalation with alerts, adoption, shutdown, reload."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .realdaemon import RealDaemon, free_port, http_ok, no_daemon, wait_for, web_yaml

pytestmark = pytest.mark.slow


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def daemon(tmp_path: Path, port: int) -> Iterator[RealDaemon]:
    cfg = tmp_path / "web.yaml"
    cfg.write_text(web_yaml(port))
    d = RealDaemon(tmp_path / "state", cfg)
    try:
        yield d
    finally:
        d.cleanup()


def _started(d: RealDaemon) -> None:
    d.start()
    assert wait_for(lambda: d.resource("worker")["role"] == "Started", 15)


def test_kill9_of_a_service_is_recovered_with_failcount_1(daemon: RealDaemon, port: int) -> None:
    _started(daemon)
    assert http_ok(port)
    pid = daemon.service_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: daemon.service_pid() not in (None, pid) and http_ok(port), 10)
    assert wait_for(lambda: daemon.resource("worker")["role"] == "Started", 10)
    out = daemon.cli("status", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"cluster", "dc", "nodes", "resources"}
    web = next(r for r in data["resources"] if r["id"] == "web")
    assert set(web) == {"id", "agent", "role", "node", "failcount", "last_failure", "reason"}
    assert (web["role"], web["failcount"]) == ("Started", 1)
    assert web["last_failure"] and "signal 9" in web["reason"]
    assert data["nodes"][0]["state"] == "online"
    kinds = [e["kind"] for e in daemon.events()]
    assert "failure" in kinds and "recovery" in kinds
    assert daemon.terminate() == 0


def test_sigterm_stops_everything_in_reverse_order_and_exits(daemon: RealDaemon, port: int) -> None:
    _started(daemon)
    pid = daemon.service_pid()
    assert pid is not None
    assert daemon.terminate() == 0
    assert not os.path.exists(f"/proc/{pid}") or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    assert not http_ok(port)
    assert not (daemon.state_dir / "agents" / "rsctmp").exists() or not any(
        p.name.startswith("Dummy-worker") for p in (daemon.state_dir / "agents" / "rsctmp").rglob("*")
    )
    assert not (daemon.state_dir / "paceline.sock").exists()
    log = daemon.log.read_text()
    assert log.index("stop worker") < log.index("stop web")
    out = daemon.cli("status")
    assert out.returncode == 3 and "no paceline daemon" in out.stderr and "Traceback" not in out.stderr


def test_daemon_killed_and_restarted_adopts_running_services(daemon: RealDaemon, port: int) -> None:
    _started(daemon)
    first = daemon.service_pid()
    assert first is not None
    os.kill(first, signal.SIGKILL)  # one failure and recovery first: it must survive the restart
    assert wait_for(lambda: daemon.service_pid() not in (None, first) and http_ok(port), 10)
    assert wait_for(lambda: daemon.resource("worker")["role"] == "Started", 10)
    before = daemon.resource("web")
    pid = daemon.service_pid()
    daemon.kill9()
    assert http_ok(port), "the service must outlive the daemon"
    daemon.start()
    assert wait_for(lambda: daemon.resource("worker")["role"] == "Started", 10)
    assert daemon.resource("web")["role"] == "Started"
    assert daemon.service_pid() == pid
    after = daemon.resource("web")
    assert (after["failcount"], after["last_failure"], after["reason"]) == (
        before["failcount"],
        before["last_failure"],
        before["reason"],
    )
    assert after["failcount"] == 1 and "signal 9" in after["reason"]
    events = daemon.events()
    restart = max(i for i, e in enumerate(events) if e["kind"] == "daemon" and "starting" in e["message"])
    assert {e["resource"] for e in events[restart:] if e["kind"] == "adopt"} == {"web", "worker"}
    assert [e for e in events[restart:] if e["kind"] in ("start", "stop", "recovery")] == []
    assert daemon.terminate() == 0


def test_a_service_that_died_while_the_daemon_was_down_is_a_failure(daemon: RealDaemon, port: int) -> None:
    _started(daemon)
    pid = daemon.service_pid()
    assert pid is not None
    daemon.kill9()
    os.kill(pid, signal.SIGKILL)  # dies while nothing watches it
    daemon.start()
    assert wait_for(lambda: http_ok(port) and daemon.service_pid() not in (None, pid), 15)
    assert wait_for(lambda: daemon.resource("web")["role"] == "Started", 10)
    assert daemon.resource("web")["failcount"] == 1
    events = daemon.events()
    restart = max(i for i, e in enumerate(events) if e["kind"] == "daemon" and "starting" in e["message"])
    failures = [e["message"] for e in events[restart:] if e["kind"] == "failure" and e["resource"] == "web"]
    assert len(failures) == 1 and "stopped while no daemon was running here" in failures[0], failures
    assert "worker" not in {e["resource"] for e in events[restart:] if e["kind"] == "failure"}
    assert daemon.terminate() == 0


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_beyond_migration_threshold_stopped_and_reported_to_alert_agent_and_webhook(
    tmp_path: Path, port: int
) -> None:
    hook = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    script = tmp_path / "alert.sh"
    out = tmp_path / "alerts.log"
    script.write_text(
        "#!/bin/sh\n"
        'echo "$CRM_alert_kind|$CRM_alert_node|$CRM_alert_rsc|$CRM_alert_task|$CRM_alert_rc|'
        "$CRM_alert_target_rc|$CRM_alert_status|$CRM_alert_desc|$CRM_alert_recipient|$CRM_alert_version|"
        '$CRM_alert_timestamp|$PACELINE_reason|$PACELINE_event" >> "$CRM_alert_recipient"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    alerts = (
        f"alerts:\n  - id: script\n    path: {script}\n    recipients: [{out}]\n"
        f"  - id: hook\n    webhook: http://127.0.0.1:{hook.server_port}/paceline\n    timeout: 2s\n"
    )
    cfg = tmp_path / "web.yaml"
    cfg.write_text(web_yaml(port, extra=alerts))
    d = RealDaemon(tmp_path / "state", cfg)
    try:
        _started(d)
        for i in range(3):
            pid = d.service_pid()
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            if i < 2:
                assert wait_for(lambda p=pid: d.service_pid() not in (None, p) and http_ok(port), 10)
                assert wait_for(lambda: d.resource("worker")["role"] == "Started", 10)
        assert wait_for(lambda: d.resource("web")["role"] == "Stopped", 10)
        assert wait_for(lambda: d.resource("worker")["role"] == "Stopped", 10)
        web = d.resource("web")
        assert web["failcount"] == 3 and "migration-threshold 3" in web["reason"]
        assert d.resource("worker")["reason"] == "needs web, which is stopped"
        assert not http_ok(port)
        assert wait_for(lambda: "escalation" in out.read_text(), 5)
        assert wait_for(lambda: any(e["kind"] == "escalation" for e in _Hook.received), 5)
        lines = [ln.split("|") for ln in out.read_text().splitlines()]
        failures = [ln for ln in lines if ln[-1] == "failure"]
        assert len(failures) == 3
        kind, node, rsc, task, rc, target, status, desc, recipient, version, ts, reason, _ = failures[0]
        assert (kind, node, rsc, task, rc, target, status) == (
            "resource",
            d.status()["dc"],
            "web",
            "monitor",
            "7",
            "0",
            "0",
        )
        assert desc == "not running" and "signal 9" in reason  # Pacemaker's desc; our reason beside it
        assert recipient == str(out) and version and ts
        esc = next(ln for ln in lines if ln[-1] == "escalation")
        assert esc[2] == "web" and esc[3] == "stop" and "migration-threshold" in esc[7]
        assert {"recovery", "stop"} <= {ln[-1] for ln in lines}
        hooked = next(e for e in _Hook.received if e["kind"] == "escalation")
        assert hooked["resource"] == "web" and "worker" in hooked["message"]
        # the operator repaired it: cleanup forgets the failures and everything starts again
        out = d.cli("resource", "cleanup", "web")
        assert out.returncode == 0 and "cleaned up web" in out.stdout, out.stderr
        assert wait_for(lambda: d.resource("worker")["role"] == "Started" and http_ok(port), 10)
        assert d.resource("web")["failcount"] == 0
        assert d.terminate() == 0
    finally:
        d.cleanup()
        hook.shutdown()


def test_invalid_config_on_reload_is_rejected_and_services_untouched(daemon: RealDaemon, port: int) -> None:
    _started(daemon)
    pid = daemon.service_pid()
    bad = daemon.state_dir.parent / "bad.yaml"
    bad.write_text(web_yaml(port).replace("agent: ocf:heartbeat:Dummy", "agnet: ocf:heartbeat:Dummy"))
    out = daemon.cli("config", "apply", str(bad))
    assert out.returncode == 1 and "invalid configuration" in out.stderr and "agnet" in out.stderr
    assert "Traceback" not in out.stderr
    # SIGHUP with a broken file: rejected as well
    assert daemon.config is not None
    daemon.config.write_text(bad.read_text())
    daemon.signal(signal.SIGHUP)
    assert wait_for(
        lambda: sum(e["kind"] == "config" and "rejected" in e["message"] for e in daemon.events()) == 2
    )
    assert daemon.service_pid() == pid and http_ok(port)
    assert daemon.resource("worker")["role"] == "Started"
    hist = daemon.cli("config", "history")
    assert hist.returncode == 0 and len(hist.stdout.strip().splitlines()) == 1
    # fixed and changed on disk, SIGHUP again: applied (Dummy's `fake` is reloaded in place)
    daemon.config.write_text(
        web_yaml(port).replace(
            "ops: {monitor: {interval: 10s}}", "params: {fake: x}\n    ops: {monitor: {interval: 10s}}"
        )
    )
    daemon.signal(signal.SIGHUP)
    assert wait_for(lambda: len(daemon.cli("config", "history").stdout.strip().splitlines()) == 2)
    assert wait_for(lambda: any(e["task"] == "reload" for e in daemon.events()))
    assert daemon.service_pid() == pid
    assert daemon.terminate() == 0


def test_config_apply_reloads_or_restarts_only_changed_resources(daemon: RealDaemon, port: int) -> None:
    _started(daemon)
    pid = daemon.service_pid()
    new = daemon.state_dir.parent / "new.yaml"
    text = web_yaml(port).replace(
        "ops: {monitor: {interval: 10s}}", "params: {fake: changed}\n    ops: {monitor: {interval: 10s}}"
    )
    new.write_text(text)
    diff = daemon.cli("config", "diff", str(new))
    assert "+    params: {fake: changed}" in diff.stdout
    # Dummy's `fake` is not unique and Dummy has a reload action: reloaded in place
    out = daemon.cli("config", "apply", str(new))
    assert out.returncode == 0, out.stderr
    assert "version 2" in out.stdout and "reloaded: worker" in out.stdout and "restarted" not in out.stdout
    assert daemon.service_pid() == pid
    assert any(e["task"] == "reload" and e["resource"] == "worker" for e in daemon.events())
    assert not any(e["kind"] == "stop" for e in daemon.events())
    assert "fake: changed" in daemon.cli("config", "show").stdout
    # the service's definition changes: web restarts, and worker (which needs it) with it
    new.write_text(text.replace("stop_grace: 2s", "stop_grace: 3s"))
    out = daemon.cli("config", "apply", str(new))
    assert out.returncode == 0 and "restarted: web" in out.stdout, out.stdout
    assert wait_for(lambda: daemon.resource("worker")["role"] == "Started" and http_ok(port), 10)
    assert daemon.service_pid() not in (None, pid)
    stops = [e["resource"] for e in daemon.events() if e["kind"] == "stop"]
    assert stops == ["worker", "web"]
    assert len(daemon.cli("config", "history").stdout.strip().splitlines()) == 3
    same = daemon.cli("config", "apply", str(new))
    assert same.returncode == 0 and "unchanged" in same.stdout
    assert daemon.terminate() == 0


def test_resource_and_node_commands(daemon: RealDaemon, port: int) -> None:
    _started(daemon)
    out = daemon.cli("resource", "ban", "worker")
    assert out.returncode == 0 and "banned" in out.stdout
    assert daemon.resource("worker")["role"] == "Stopped" and "banned" in daemon.resource("worker")["reason"]
    assert daemon.cli("resource", "clear", "worker").returncode == 0
    assert wait_for(lambda: daemon.resource("worker")["role"] == "Started", 10)
    pid = daemon.service_pid()
    assert daemon.cli("resource", "restart", "web").returncode == 0
    assert wait_for(lambda: daemon.service_pid() not in (None, pid) and http_ok(port), 10)
    assert daemon.cli("node", "standby").returncode == 0
    assert daemon.status()["nodes"][0]["state"] == "standby"
    assert wait_for(lambda: not http_ok(port), 5)
    assert daemon.cli("node", "online").returncode == 0
    assert wait_for(lambda: http_ok(port), 10)
    bad = daemon.cli("resource", "restart", "nosuch")
    assert bad.returncode == 1 and "no resource" in bad.stderr
    assert daemon.terminate() == 0


def test_no_daemon_gives_one_clear_line(tmp_path: Path) -> None:
    d = RealDaemon(tmp_path / "nothing", None)
    for args in (
        ("status",),
        ("resource", "cleanup", "web"),
        ("node", "standby", "x"),
        ("config", "history"),
        ("events",),
    ):
        out = d.cli(*args)
        assert out.returncode == 3, (args, out.stderr)
        assert out.stderr.count("\n") == 1 and "no paceline daemon" in out.stderr
    assert no_daemon(d)


def test_hung_service_fails_its_probe_and_is_replaced(daemon: RealDaemon, port: int) -> None:
    _started(daemon)
    pid = daemon.service_pid()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # alive but not answering
    try:
        assert wait_for(lambda: daemon.service_pid() not in (None, pid) and http_ok(port), 15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    web = daemon.resource("web")
    assert web["failcount"] == 1 and "probe failed" in web["reason"]
    assert daemon.terminate() == 0


def test_api_socket_is_owner_only_and_events_are_listed(daemon: RealDaemon) -> None:
    _started(daemon)
    sock = daemon.state_dir / "paceline.sock"
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(daemon.state_dir.stat().st_mode) == 0o700
    out = daemon.cli("events")
    assert out.returncode == 0 and "start web" in out.stdout and "start worker" in out.stdout
    js = daemon.cli("events", "--json", "-n", "1")
    assert js.returncode == 0 and len(js.stdout.splitlines()) == 1 and json.loads(js.stdout)["kind"]
    assert daemon.terminate() == 0


def test_a_service_removed_from_the_configuration_while_down_is_stopped_at_start(
    daemon: RealDaemon, port: int
) -> None:
    _started(daemon)
    pid = daemon.service_pid()
    daemon.kill9()
    assert daemon.config is not None
    daemon.config.write_text(
        "cluster: {name: test, options: {stonith-enabled: false}}\n"
        "resources:\n  - id: worker\n    agent: ocf:heartbeat:Dummy\n    ops: {monitor: {interval: 10s}}\n"
    )
    daemon.start()
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10)
    assert not http_ok(port)
    assert [r["id"] for r in daemon.status()["resources"]] == ["worker"]
    assert daemon.resource("worker")["role"] == "Started"
    assert any(e["kind"] == "stop" and "no longer configured" in e["message"] for e in daemon.events())
    assert daemon.terminate() == 0


def test_start_failure_is_reported_and_run_refuses_bad_input(tmp_path: Path, port: int) -> None:
    import socket as _socket
    import subprocess
    import sys

    blocker = _socket.socket()
    blocker.bind(("127.0.0.1", port))
    blocker.listen()
    cfg = tmp_path / "web.yaml"
    cfg.write_text(web_yaml(port))
    d = RealDaemon(tmp_path / "state", cfg)
    try:
        d.start()
        assert wait_for(lambda: d.resource("web")["failcount"] == 1_000_000, 15)
        assert wait_for(lambda: d.resource("web")["role"] == "Stopped", 10)
        web = d.resource("web")
        assert "a start failed" in web["reason"] and "exited during start" in web["reason"], web
        # the cause, from the service's own output, and where the rest of it is
        assert "Address already in use" in web["reason"] and "log: " in web["reason"], web
        failures = [e["message"] for e in d.events() if e["kind"] == "failure"]
        assert any("Address already in use" in m for m in failures), failures
        assert d.resource("worker")["role"] == "Stopped"
        assert any(e["kind"] == "escalation" and "cannot run" in e["message"] for e in d.events())
        # a second daemon on the same state directory is refused
        second = subprocess.run(
            [sys.executable, "-m", "paceline.cli.main", "run", str(cfg), "--state-dir", str(d.state_dir)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1 and "already runs" in second.stderr
        assert d.terminate() == 0
    finally:
        d.cleanup()
        blocker.close()
    bad = tmp_path / "bad.yaml"
    bad.write_text("resources:\n  - {id: x, agnet: ocf:heartbeat:Dummy}\n")
    out = subprocess.run(
        [sys.executable, "-m", "paceline.cli.main", "run", str(bad), "--state-dir", str(tmp_path / "s2")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 1 and "invalid configuration" in out.stderr and "bad.yaml:2" in out.stderr
    assert "Traceback" not in out.stderr


def test_after_a_reboot_agents_temporary_state_is_forgotten(daemon: RealDaemon) -> None:
    _started(daemon)
    daemon.kill9()
    (daemon.state_dir / "boot_id").write_text("a-previous-boot\n")  # as if the machine rebooted
    daemon.start()
    assert wait_for(lambda: daemon.resource("worker")["role"] == "Started", 10)
    events = daemon.events()
    second = events[
        max(i for i, e in enumerate(events) if e["kind"] == "daemon" and "starting" in e["message"]) :
    ]
    assert {e["resource"] for e in second if e["kind"] == "adopt"} == {"web"}  # its process still runs
    assert [e["resource"] for e in second if e["kind"] == "start"] == [
        "worker"
    ]  # Dummy's state file was gone
    assert daemon.terminate() == 0


def test_log_json_is_one_object_per_line(tmp_path: Path, port: int) -> None:
    cfg = tmp_path / "web.yaml"
    cfg.write_text(web_yaml(port))
    d = RealDaemon(tmp_path / "state", cfg, ("--log-json",))
    try:
        _started(d)
        pid = d.service_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert wait_for(
            lambda: d.resource("worker")["role"] == "Started" and d.resource("web")["failcount"] == 1
        )
        assert d.terminate() == 0
    finally:
        d.cleanup()
    lines = [json.loads(ln) for ln in d.log.read_text().splitlines()]
    assert all({"ts", "level", "msg"} <= set(obj) for obj in lines)
    failure = next(obj for obj in lines if obj.get("kind") == "failure")
    assert failure["rsc"] == "web" and failure["level"] == "warning" and "signal 9" in failure["msg"]
    assert {"start", "stop", "recovery", "transition", "daemon"} <= {obj.get("kind") for obj in lines}
