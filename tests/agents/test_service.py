"""The built-in service agent: supervision, instant crash events, probes, stop escalation,
adoption after a daemon restart, log capture and rotation."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from paceline.agents import (
    AgentSpec,
    LocalAgentRunner,
    OcfRc,
    OpRequest,
    OpStatus,
    ServiceDefinition,
    ServiceExited,
    ServiceProbeFailed,
)
from paceline.agents.procfs import pids_in_session, read_stat

from .conftest import arun, wait_until

Make = Callable[..., LocalAgentRunner]
SPEC = AgentSpec("service", None, "svc")


def req(action: str, d: ServiceDefinition | None = None, rid: str = "svc", **kw: int) -> OpRequest:
    return OpRequest(rid, SPEC, action, d.to_params() if d else {}, **kw)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_lifecycle_and_log(make_runner: Make) -> None:
    r = make_runner()
    d = ServiceDefinition.from_mapping(
        {"command": ["sh", "-c", "echo hello $GREETING; exec sleep 300"], "env": {"GREETING": "world"}}
    )

    async def go() -> None:
        assert (await r.run(req("monitor", d))).rc is OcfRc.NOT_RUNNING
        assert (await r.run(req("start", d))).rc is OcfRc.OK
        pid = r.services.pid("svc")
        assert pid is not None and read_stat(pid) is not None
        assert (await r.run(req("start", d))).exit_reason == "already running"
        assert r.services.pid("svc") == pid  # no second copy
        assert (await r.run(req("monitor", d, interval_ms=10000))).rc is OcfRc.OK
        assert wait_until(lambda: "hello world" in r.services.log_path("svc").read_text(), 3)
        assert r.services.state_path("svc").exists()
        res = await r.run(req("stop", d))
        assert res.rc is OcfRc.OK and res.exit_reason == ""
        assert read_stat(pid) is None and pids_in_session(pid) == []
        assert not r.services.state_path("svc").exists()
        assert (await r.run(req("monitor", d))).rc is OcfRc.NOT_RUNNING
        assert (await r.run(req("stop", d))).rc is OcfRc.OK
        await r.close()

    arun(go())


@pytest.mark.slow
def test_crash_is_seen_before_the_next_monitor(make_runner: Make) -> None:
    r = make_runner()
    d = ServiceDefinition.from_mapping({"command": ["sleep", "300"]})
    interval = 1.0

    async def go() -> tuple[float, int, int]:
        events = r.services.subscribe()
        assert (await r.run(req("start", d))).rc is OcfRc.OK
        monitors: list[float] = []

        async def recurring_monitor() -> None:
            while True:
                await r.run(req("monitor", d, interval_ms=int(interval * 1000)))
                monitors.append(time.monotonic())
                await asyncio.sleep(interval)

        mon = asyncio.create_task(recurring_monitor())
        await asyncio.sleep(0.05)
        n_before = len(monitors)
        pid = r.services.pid("svc")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        ev = await asyncio.wait_for(events.get(), interval)
        n_at_event = len(monitors)
        mon.cancel()
        assert isinstance(ev, ServiceExited)
        assert ev.resource_id == "svc" and ev.pid == pid and ev.signal == signal.SIGKILL and not ev.expected
        res = await r.run(req("monitor", d))
        assert res.rc is OcfRc.NOT_RUNNING
        assert (
            res.exit_reason
            == f"process {pid} killed by signal 9 (SIGKILL); log: {r.services.log_path('svc')}"
        )
        await r.close()
        return ev.at - killed, n_before, n_at_event

    latency, before, at_event = arun(go())
    assert before == at_event == 1  # the event came before the next monitor ran
    assert latency < 0.05, f"crash seen after {latency * 1000:.1f} ms"


@pytest.mark.slow
def test_a_service_that_exits_at_once_says_why_with_its_last_output_and_log(make_runner: Make) -> None:
    """Not just "process N exited (code 1)": the last lines it wrote (this run's only) and the log."""
    r = make_runner()
    script = 'echo "listening on 8080"; echo "bind: Address already in use" >&2; exit 1'
    old_run = ServiceDefinition.from_mapping({"command": ["sh", "-c", "echo from an earlier run; sleep 300"]})
    no_probe = ServiceDefinition.from_mapping({"command": ["sh", "-c", script]})
    probed = ServiceDefinition.from_mapping(
        {"command": ["sh", "-c", script], "probe": {"tcp": "127.0.0.1:1"}}
    )

    async def go() -> None:
        events = r.services.subscribe()
        assert (await r.run(req("start", old_run))).rc is OcfRc.OK
        assert (await r.run(req("stop", old_run))).rc is OcfRc.OK
        while not events.empty():
            events.get_nowait()
        assert (await r.run(req("start", no_probe))).rc is OcfRc.OK
        ev = await asyncio.wait_for(events.get(), 5)
        assert isinstance(ev, ServiceExited) and ev.exit_code == 1
        log = r.services.log_path("svc")
        want = "listening on 8080 | bind: Address already in use"
        assert ev.output == want  # the earlier run's output is not this run's
        res = await r.run(req("monitor", no_probe))
        assert res.rc is OcfRc.NOT_RUNNING
        assert res.exit_reason == f"process {ev.pid} exited with code 1: {want}; log: {log}"
        res = await r.run(req("start", probed, rid="p"))
        assert res.rc is OcfRc.ERR_GENERIC
        assert res.exit_reason == (f"exited during start (code 1): {want}; log: {r.services.log_path('p')}")
        await r.close()

    arun(go())


@pytest.mark.slow
def test_tcp_and_http_probes(make_runner: Make) -> None:
    r = make_runner()
    port = free_port()
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    tcp = ServiceDefinition.from_mapping(
        {"command": cmd, "probe": {"tcp": f"127.0.0.1:{port}", "interval": "200ms"}}
    )
    http = ServiceDefinition.from_mapping(
        {
            "command": cmd,
            "probe": {"http": f"http://127.0.0.1:{port}/", "expect_status": 200, "interval": 0.2},
        }
    )

    async def go() -> None:
        for d in (tcp, http):
            t0 = time.monotonic()
            res = await r.run(req("start", d, timeout_ms=10000))
            assert res.rc is OcfRc.OK, res
            # start returned only once the server answered
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            assert time.monotonic() - t0 < 10
            assert (await r.run(req("monitor", d))).rc is OcfRc.OK
            assert (await r.run(req("stop", d))).rc is OcfRc.OK
        await r.close()

    arun(go())


@pytest.mark.slow
def test_failing_exec_probe_raises_event_and_fails_monitor(make_runner: Make, tmp_path: Path) -> None:
    r = make_runner()
    flag = tmp_path / "healthy"
    flag.write_text("")
    d = ServiceDefinition.from_mapping(
        {
            "command": ["sleep", "300"],
            "probe": {"exec": ["test", "-f", str(flag)], "interval": "50ms", "failure_threshold": 3},
        }
    )

    async def go() -> None:
        events = r.services.subscribe()
        assert (await r.run(req("start", d))).rc is OcfRc.OK
        await asyncio.sleep(0.2)
        assert (await r.run(req("monitor", d))).rc is OcfRc.OK
        flag.unlink()
        ev = await asyncio.wait_for(events.get(), 3)
        assert isinstance(ev, ServiceProbeFailed) and ev.failures == 3 and "exited 1" in ev.detail
        res = await r.run(req("monitor", d))
        assert res.rc is OcfRc.ERR_GENERIC and "probe failed" in res.exit_reason
        flag.write_text("")
        await asyncio.sleep(0.3)
        assert (await r.run(req("monitor", d))).rc is OcfRc.OK
        assert (await r.run(req("stop", d))).rc is OcfRc.OK
        ev2 = await asyncio.wait_for(events.get(), 1)
        assert isinstance(ev2, ServiceExited) and ev2.expected
        await r.close()

    arun(go())


@pytest.mark.slow
def test_start_failures(make_runner: Make) -> None:
    r = make_runner()
    missing = ServiceDefinition.from_mapping({"command": ["/nonexistent/daemon"]})
    dies = ServiceDefinition.from_mapping(
        {"command": ["sh", "-c", "exit 3"], "probe": {"tcp": "127.0.0.1:1"}}
    )
    never_ready = ServiceDefinition.from_mapping(
        {"command": ["sleep", "300"], "probe": {"tcp": "127.0.0.1:1"}}
    )

    async def go() -> None:
        res = await r.run(req("start", missing, rid="a"))
        assert res.rc is OcfRc.ERR_INSTALLED and "not found" in res.exit_reason
        res = await r.run(req("start", dies, rid="b"))
        assert res.rc is OcfRc.ERR_GENERIC and "exited during start (code 3)" in res.exit_reason
        res = await r.run(req("start", never_ready, rid="c", timeout_ms=500))
        assert res.status is OpStatus.TIMEOUT and "not ready" in res.exit_reason
        assert (await r.run(req("monitor", never_ready, rid="c"))).rc is OcfRc.NOT_RUNNING
        bad = OpRequest("d", SPEC, "start", {"command": "[1, 2"})
        res = await r.run(bad)
        assert res.rc is OcfRc.ERR_INSTALLED  # not JSON: taken as a shell-like string, "[1," is no program
        res = await r.run(OpRequest("e", SPEC, "start", {"command": '["sleep", "1"]', "probe": "{not json"}))
        assert res.status is OpStatus.ERROR_FATAL and res.rc is OcfRc.ERR_CONFIGURED
        await r.close()

    arun(go())


@pytest.mark.slow
def test_stop_escalates_to_sigkill_after_grace(make_runner: Make) -> None:
    r = make_runner()
    stubborn = ServiceDefinition.from_mapping(
        {"command": ["sh", "-c", "trap '' TERM; sleep 300 & wait; sleep 300"], "stop_grace": "300ms"}
    )
    polite = ServiceDefinition.from_mapping({"command": ["sleep", "300"], "stop_grace": "5s"})

    async def go() -> None:
        assert (await r.run(req("start", stubborn, rid="s"))).rc is OcfRc.OK
        pid = r.services.pid("s")
        assert pid is not None
        await asyncio.sleep(0.1)
        t0 = time.monotonic()
        res = await r.run(req("stop", stubborn, rid="s"))
        took = time.monotonic() - t0
        assert res.rc is OcfRc.OK and "killed" in res.exit_reason
        assert 0.3 <= took < 2.0
        assert pids_in_session(pid) == []
        assert (await r.run(req("start", polite, rid="p"))).rc is OcfRc.OK
        t0 = time.monotonic()
        res = await r.run(req("stop", polite, rid="p"))
        assert res.rc is OcfRc.OK and res.exit_reason == "" and time.monotonic() - t0 < 1.0
        await r.close()

    arun(go())


@pytest.mark.slow
def test_runs_as_user(make_runner: Make) -> None:
    r = make_runner()
    d = ServiceDefinition.from_mapping({"command": ["sh", "-c", "id -u; exec sleep 300"], "user": "nobody"})

    async def go() -> None:
        assert (await r.run(req("start", d))).rc is OcfRc.OK
        assert wait_until(lambda: r.services.log_path("svc").read_text().strip() == "65534", 3)
        assert (await r.run(req("stop", d))).rc is OcfRc.OK
        await r.close()

    arun(go())


@pytest.mark.slow
def test_log_rotation(make_runner: Make) -> None:
    r = make_runner()
    d = ServiceDefinition.from_mapping(
        {
            "command": ["sh", "-c", "head -c 3000 /dev/zero | tr '\\0' x; echo; exec sleep 300"],
            "log_max_bytes": 1024,
            "log_backups": 2,
        }
    )

    async def go() -> None:
        assert (await r.run(req("start", d))).rc is OcfRc.OK
        log = r.services.log_path("svc")
        assert wait_until(lambda: log.stat().st_size > 3000, 3)
        assert r.services.rotate_log("svc", d, copytruncate=True)
        assert log.stat().st_size == 0
        assert log.with_name(log.name + ".1").stat().st_size > 3000
        assert not r.services.rotate_log("svc", d, copytruncate=True)  # small now: nothing to do
        assert (await r.run(req("stop", d))).rc is OcfRc.OK
        await r.close()

    arun(go())


DAEMON = textwrap.dedent(
    """
    import asyncio, json, sys
    from paceline.agents import LocalAgentRunner, OpRequest, AgentSpec, ServiceDefinition
    async def main():
        r = LocalAgentRunner(sys.argv[1], "n1")
        d = ServiceDefinition.from_mapping({"command": ["sleep", "300"]})
        res = await r.run(OpRequest("web", AgentSpec("service", None, "web"), "start", d.to_params()))
        print(json.dumps({"rc": int(res.rc), "pid": r.services.pid("web")}))
    asyncio.run(main())
    """
)


@pytest.mark.slow
def test_adopts_running_service_after_daemon_restart(make_runner: Make, state_dir: Path) -> None:
    r = make_runner()  # this process is a subreaper from here on: the orphan comes to us
    out = subprocess.run(
        [sys.executable, "-c", DAEMON, str(state_dir)], capture_output=True, text=True, timeout=30, check=True
    )
    info = json.loads(out.stdout)
    pid = int(info["pid"])
    assert info["rc"] == 0 and read_stat(pid) is not None  # the "old daemon" is gone, its child runs
    d = ServiceDefinition.from_mapping({"command": ["sleep", "300"]})

    async def go() -> None:
        events = r.services.subscribe()
        assert r.services.adopt_all() == ["web"]
        assert r.services.pid("web") == pid
        assert (await r.run(req("monitor", d, rid="web"))).rc is OcfRc.OK
        assert (await r.run(req("start", d, rid="web"))).exit_reason == "already running"
        assert r.services.pid("web") == pid  # no second copy
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        ev = await asyncio.wait_for(events.get(), 2)
        assert isinstance(ev, ServiceExited) and ev.adopted and not ev.expected and ev.pid == pid
        assert ev.at - killed < 0.05
        assert (await r.run(req("monitor", d, rid="web"))).rc is OcfRc.NOT_RUNNING
        assert wait_until(lambda: read_stat(pid) is None, 2)  # reaped, no zombie
        await r.close()

    arun(go())


@pytest.mark.slow
def test_stale_state_file_is_not_adopted(make_runner: Make) -> None:
    r = make_runner()
    d = ServiceDefinition.from_mapping({"command": ["sleep", "300"]})
    r.services.state_path("old").write_text(
        json.dumps(
            {
                "resource_id": "old",
                "pid": os.getpid(),
                "start_ticks": 1,
                "boot_id": "x",
                "definition": d.to_mapping(),
            }
        )
    )

    async def go() -> None:
        assert r.services.adopt_all() == []
        assert not r.services.state_path("old").exists()
        assert (await r.run(req("monitor", d, rid="old"))).rc is OcfRc.NOT_RUNNING
        await r.close()

    arun(go())


@pytest.mark.slow
def test_listeners_and_running_services(make_runner: Make) -> None:
    r = make_runner()
    d = ServiceDefinition.from_mapping({"command": ["sleep", "300"], "stop_grace": "1s"})
    got: list[ServiceExited | ServiceProbeFailed] = []

    def broken(ev: object) -> None:
        raise RuntimeError("listener bug")

    async def collect(ev: ServiceExited | ServiceProbeFailed) -> None:
        got.append(ev)

    async def go() -> None:
        r.services.add_listener(broken)
        r.services.add_listener(collect)
        assert (await r.run(req("start", d, rid="one"))).ok
        assert (await r.run(req("start", d, rid="two"))).ok
        pids = r.services.running_services()
        assert set(pids) == {"one", "two"}
        os.kill(pids["one"], signal.SIGTERM)
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.01)
        assert len(got) == 1 and isinstance(got[0], ServiceExited) and got[0].resource_id == "one"
        assert got[0].signal == signal.SIGTERM and not got[0].expected
        assert set(r.services.running_services()) == {"two"}
        assert (await r.run(req("stop", d, rid="two"))).ok
        assert r.services.running_services() == {}
        await r.close()

    arun(go())
