"""The real Debian OCF agents, run unmodified through LocalAgentRunner, plus misbehaving agents."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from paceline.agents import AgentSpec, AttributeStore, LocalAgentRunner, OcfRc, OpRequest, OpStatus
from paceline.agents.procfs import pids_in_session, read_stat

from .conftest import arun, write_agent

DUMMY_HB = AgentSpec.parse("ocf:heartbeat:Dummy")
DUMMY_PCMK = AgentSpec.parse("ocf:pacemaker:Dummy")
STATEFUL = AgentSpec.parse("ocf:pacemaker:Stateful")
ANYTHING = AgentSpec.parse("ocf:heartbeat:anything")

Make = Callable[..., LocalAgentRunner]


@pytest.mark.slow
@pytest.mark.parametrize("spec", [DUMMY_HB, DUMMY_PCMK], ids=str)
def test_dummy_lifecycle(make_runner: Make, spec: AgentSpec) -> None:
    r = make_runner()

    async def go() -> list[OcfRc]:
        seq = [
            ("monitor", 0),
            ("start", 0),
            ("monitor", 10000),
            ("start", 0),
            ("stop", 0),
            ("monitor", 0),
            ("stop", 0),
        ]
        out = []
        for action, interval in seq:
            res = await r.run(OpRequest("d1", spec, action, interval_ms=interval))
            assert res.status is OpStatus.DONE, res
            out.append(res.rc)
        await r.close()
        return out

    ok, nr = OcfRc.OK, OcfRc.NOT_RUNNING
    assert arun(go()) == [nr, ok, ok, ok, ok, nr, ok]
    # the state file went to this node's HA_RSCTMP, not the shared /run
    assert r.ctx.rsctmp.is_dir()


@pytest.mark.slow
def test_dummy_meta_data_and_validate(make_runner: Make) -> None:
    r = make_runner()

    async def go() -> None:
        md = await r.metadata(DUMMY_PCMK)
        assert md.parameter("op_sleep") is not None
        assert md.default_timeout_ms("start") == 20000
        res = await r.run(OpRequest("d1", DUMMY_PCMK, "validate-all"))
        assert res.rc is OcfRc.OK
        res = await r.run(OpRequest("d1", DUMMY_PCMK, "meta-data"))
        assert "<resource-agent" in res.stdout
        await r.close()

    arun(go())


@pytest.mark.slow
def test_parameters_checked_before_first_start(make_runner: Make) -> None:
    r = make_runner()

    async def go() -> None:
        res = await r.run(OpRequest("d1", DUMMY_PCMK, "start", {"op_slep": "1"}))
        assert res.rc is OcfRc.ERR_CONFIGURED and res.status is OpStatus.ERROR_FATAL
        assert "unknown parameter op_slep" in res.exit_reason
        ip = AgentSpec.parse("ocf:heartbeat:IPaddr2")
        res = await r.run(OpRequest("vip", ip, "start", {"cidr_netmask": "24"}))
        assert res.rc is OcfRc.ERR_CONFIGURED and "required parameter ip is missing" in res.exit_reason
        await r.close()

    arun(go())


@pytest.mark.slow
def test_environment_is_pacemakers(make_runner: Make, tmp_path: Path) -> None:
    root = tmp_path / "ocf"
    write_agent(root / "resource.d" / "test" / "envdump", '#!/bin/sh\nenv > "$OCF_RESKEY_out"\nexit 0\n')
    r = make_runner(ocf_root=root)
    out = tmp_path / "env.txt"
    req = OpRequest(
        "web:1",
        AgentSpec.parse("ocf:test:envdump"),
        "notify",
        {"out": str(out)},
        {
            "clone-max": "2",
            "notify_type": "pre",
            "notify_operation": "promote",
            "notify_master_resource": "web:0",
        },
        interval_ms=0,
        timeout_ms=7000,
    )
    res = arun(r.run(req))
    assert res.rc is OcfRc.OK
    env = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    assert env["OCF_ROOT"] == str(root)
    assert env["OCF_RESOURCE_INSTANCE"] == "web:1"
    assert env["OCF_RESOURCE_TYPE"] == "envdump"
    assert env["OCF_RESOURCE_PROVIDER"] == "test"
    assert env["OCF_RA_VERSION_MAJOR"] == "1"
    assert env["OCF_RESKEY_CRM_meta_timeout"] == "7000"
    assert env["OCF_RESKEY_CRM_meta_interval"] == "0"
    assert env["OCF_RESKEY_CRM_meta_clone_max"] == "2"
    assert env["OCF_RESKEY_CRM_meta_notify_type"] == "pre"
    assert env["OCF_RESKEY_CRM_meta_notify_promoted_resource"] == "web:0"
    assert env["OCF_RESKEY_CRM_meta_notify_master_resource"] == "web:0"
    assert env["OCF_RESKEY_CRM_meta_on_node"] == "n1"
    assert env["OCF_RESKEY_CRM_meta_name"] == "notify"
    assert env["HA_RSCTMP"] == str(r.ctx.rsctmp)
    assert env["HA_SBIN_DIR"] == str(r.ctx.bin_dir)
    assert env["PATH"].split(":")[0] == str(r.ctx.bin_dir)
    assert env["PACELINE_ATTR_STORE"] == str(r.ctx.attr_store)


@pytest.mark.slow
def test_stateful_promotion_score_lands_in_attribute_store(make_runner: Make) -> None:
    r = make_runner()
    store = AttributeStore(r.ctx.attr_store)
    meta = {"promotable": "true", "clone-max": "1", "promoted-max": "1"}

    async def op(action: str, interval: int = 0) -> OcfRc:
        res = await r.run(OpRequest("st:0", STATEFUL, action, {}, meta, interval_ms=interval))
        assert res.status is OpStatus.DONE, res
        return res.rc

    async def go() -> None:
        assert await op("start") is OcfRc.OK
        assert store.promotion_score("st", "n1") == 5
        assert await op("promote") is OcfRc.OK
        assert store.promotion_score("st", "n1") == 10
        assert await op("monitor", 8000) is OcfRc.RUNNING_PROMOTED
        assert await op("demote") is OcfRc.OK
        assert store.promotion_score("st", "n1") == 5
        assert await op("monitor", 10000) is OcfRc.OK
        assert await op("stop") is OcfRc.OK
        assert store.promotion_score("st", "n1") is None
        assert await op("monitor") is OcfRc.NOT_RUNNING
        await r.close()

    arun(go())


@pytest.mark.slow
def test_anything_killed_daemon_is_seen_failed_at_next_monitor(make_runner: Make, tmp_path: Path) -> None:
    """ocf:heartbeat:anything double-forks `sleep`; after kill -9 the very next monitor must not say
    OK (it would while the zombie is unreaped). The agent itself answers ERR_GENERIC for a pid file
    without a process ("the process died"), NOT_RUNNING once stopped."""
    r = make_runner()
    pidfile = tmp_path / "sleep.pid"
    params = {"binfile": "/bin/sleep", "cmdline_options": "300", "pidfile": str(pidfile)}

    async def go() -> None:
        res = await r.run(OpRequest("sl", ANYTHING, "start", params))
        assert res.rc is OcfRc.OK, res
        pid = int(pidfile.read_text())
        st = read_stat(pid)
        assert st is not None and st.ppid == os.getpid()  # re-parented to us: we are the subreaper
        assert (await r.run(OpRequest("sl", ANYTHING, "monitor", params, interval_ms=1000))).rc is OcfRc.OK
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        while read_stat(pid) is not None and read_stat(pid).state != "Z":  # type: ignore[union-attr]
            await asyncio.sleep(0.001)
        res = await r.run(OpRequest("sl", ANYTHING, "monitor", params, interval_ms=1000))
        assert res.rc in (OcfRc.ERR_GENERIC, OcfRc.NOT_RUNNING), res
        assert time.monotonic() - t0 < 1.0
        assert read_stat(pid) is None  # reaped, no zombie left
        assert (await r.run(OpRequest("sl", ANYTHING, "stop", params))).rc is OcfRc.OK
        assert (await r.run(OpRequest("sl", ANYTHING, "monitor", params))).rc is OcfRc.NOT_RUNNING
        await r.close()

    arun(go())


@pytest.mark.slow
def test_hanging_agent_killed_at_timeout_with_its_whole_group(make_runner: Make, tmp_path: Path) -> None:
    root = tmp_path / "ocf"
    marker = tmp_path / "sid"
    write_agent(
        root / "resource.d" / "test" / "hang",
        f'#!/bin/sh\necho $$ > {marker}\nsleep 300 &\n(sleep 300; echo x) &\nsh -c "sleep 300" &\nwait\n',
    )
    r = make_runner(ocf_root=root)

    async def go() -> None:
        t0 = time.monotonic()
        res = await r.run(OpRequest("h", AgentSpec.parse("ocf:test:hang"), "start", timeout_ms=500))
        took = time.monotonic() - t0
        assert res.status is OpStatus.TIMEOUT and res.rc is OcfRc.ERR_GENERIC
        assert "timed out after 500 ms" in res.exit_reason
        assert 0.45 < took < 3.0
        sid = int(marker.read_text())
        assert pids_in_session(sid) == []  # no process (nor zombie) of its session left
        await r.close()

    arun(go())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "#!/bin/sh\necho 'garbage \x01\x02 <xml' \nhead -c 3000 /dev/urandom\nexit 255\n",
            "exited with 255",
        ),
        ("#!/bin/sh\necho 'ocf-exit-reason:disk on fire' >&2\nexit 77\n", "disk on fire"),
        ("#!/bin/sh\nkill -SEGV $$\n", "killed by SIGSEGV"),
        ("not a script at all", "cannot run"),
    ],
    ids=["exit255", "bad-code-with-reason", "segv", "no-shebang"],
)
def test_misbehaving_agents_give_clear_errors(
    make_runner: Make, tmp_path: Path, body: str, reason: str
) -> None:
    root = tmp_path / "ocf"
    write_agent(root / "resource.d" / "test" / "bad", body)
    r = make_runner(ocf_root=root)
    res = arun(r.run(OpRequest("b", AgentSpec.parse("ocf:test:bad"), "monitor")))
    assert res.status is OpStatus.ERROR
    assert res.rc is OcfRc.ERR_GENERIC
    assert reason in res.exit_reason


@pytest.mark.slow
def test_exit_reason_and_codes_pass_through(make_runner: Make, tmp_path: Path) -> None:
    root = tmp_path / "ocf"
    write_agent(
        root / "resource.d" / "test" / "rc",
        '#!/bin/sh\necho "ocf-exit-reason:first" >&2\necho "ocf-exit-reason:Config file missing" >&2\n'
        "exit $OCF_RESKEY_rc\n",
    )
    r = make_runner(ocf_root=root)
    spec = AgentSpec.parse("ocf:test:rc")
    for code in (0, 6, 7, 8, 9, 190, 191):
        res = arun(r.run(OpRequest("x", spec, "monitor", {"rc": str(code)})))
        assert res.status is OpStatus.DONE and res.rc == code and res.exit_code == code
        assert res.exit_reason == "Config file missing"


@pytest.mark.slow
def test_unknown_agent_and_action(make_runner: Make) -> None:
    r = make_runner()
    res = arun(r.run(OpRequest("x", AgentSpec.parse("ocf:heartbeat:NoSuchAgent"), "start")))
    assert res.status is OpStatus.NOT_INSTALLED and res.rc is OcfRc.ERR_INSTALLED
    res = arun(r.run(OpRequest("x", DUMMY_HB, "explode")))
    assert res.status is OpStatus.NOT_SUPPORTED and res.rc is OcfRc.ERR_UNIMPLEMENTED


@pytest.mark.slow
def test_concurrency_limit_and_per_resource_serialisation(make_runner: Make, tmp_path: Path) -> None:
    root = tmp_path / "ocf"
    log = tmp_path / "log"
    write_agent(
        root / "resource.d" / "test" / "slow",
        f'#!/bin/sh\necho "begin $OCF_RESOURCE_INSTANCE" >> {log}\nsleep 0.2\n'
        f'echo "end $OCF_RESOURCE_INSTANCE" >> {log}\n',
    )
    r = make_runner(ocf_root=root, max_concurrency=2)
    spec = AgentSpec.parse("ocf:test:slow")

    async def go() -> None:
        reqs = [OpRequest(rid, spec, "monitor") for rid in ("a", "a", "b", "c")]
        await asyncio.gather(*(r.run(q) for q in reqs))
        await r.close()

    arun(go())
    events = log.read_text().split("\n")[:-1]
    running: set[str] = set()
    peak = 0
    seen_a = 0
    for ev in events:
        kind, rid = ev.split()
        if kind == "begin":
            assert rid not in running or rid != "a"  # two "a" never overlap
            running.add(rid)
            seen_a += rid == "a"
            peak = max(peak, len(running))
        else:
            running.discard(rid)
    assert peak == 2 and seen_a == 2


@pytest.mark.slow
def test_ocf_tester_passes_on_dummy_with_our_environment(make_runner: Make) -> None:
    r = make_runner()
    env = r.agent_env()
    env["OCF_ROOT"] = "/usr/lib/ocf"
    proc = subprocess.run(
        ["ocf-tester", "-n", "dtest", "/usr/lib/ocf/resource.d/heartbeat/Dummy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed all tests" in proc.stdout


@pytest.mark.slow
def test_dummy_migrate_and_reload(make_runner: Make) -> None:
    r = make_runner()
    meta = {"migrate_source": "n1", "migrate_target": "n2", "record-pending": "true"}

    async def go() -> None:
        assert (await r.run(OpRequest("m", DUMMY_PCMK, "start"))).rc is OcfRc.OK
        assert (await r.run(OpRequest("m", DUMMY_PCMK, "migrate_to", {}, meta))).rc is OcfRc.OK
        assert (await r.run(OpRequest("m", DUMMY_PCMK, "migrate_from", {}, meta))).rc is OcfRc.OK
        assert (await r.run(OpRequest("m", DUMMY_PCMK, "reload-agent", {"fake": "changed"}))).rc is OcfRc.OK
        assert (await r.run(OpRequest("m", DUMMY_PCMK, "monitor", {"fake": "changed"}))).rc is OcfRc.OK
        assert (await r.run(OpRequest("m", DUMMY_PCMK, "stop"))).rc is OcfRc.OK
        await r.close()

    arun(go())


@pytest.mark.slow
def test_cancelled_operation_leaves_no_process(make_runner: Make, tmp_path: Path) -> None:
    root = tmp_path / "ocf"
    marker = tmp_path / "sid"
    write_agent(root / "resource.d" / "test" / "slow", f"#!/bin/sh\necho $$ > {marker}\nsleep 300\n")
    r = make_runner(ocf_root=root)

    async def go() -> None:
        task = asyncio.create_task(r.run(OpRequest("c", AgentSpec.parse("ocf:test:slow"), "monitor")))
        while not marker.exists() or not marker.read_text().strip():
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pids_in_session(int(marker.read_text())) == []
        await r.close()

    arun(go())


@pytest.mark.parametrize(
    ("params", "meta", "text"),
    [
        ({"bad-name": "1"}, {}, "parameter name 'bad-name'"),
        ({"x=y": "1"}, {}, "parameter name 'x=y'"),
        ({"ok": "nul\0byte"}, {}, "contains a NUL byte"),
        ({}, {"clone max": "1"}, "meta attribute name 'clone max'"),
    ],
)
def test_unusable_names_are_configuration_errors(
    make_runner: Make, params: dict[str, str], meta: dict[str, str], text: str
) -> None:
    r = make_runner()
    res = arun(r.run(OpRequest("d", DUMMY_PCMK, "monitor", params, meta)))
    assert res.status is OpStatus.ERROR_FATAL and res.rc is OcfRc.ERR_CONFIGURED and text in res.exit_reason


@pytest.mark.slow
def test_many_operations_leak_no_fd_and_no_zombie(make_runner: Make, tmp_path: Path) -> None:
    root = tmp_path / "ocf"
    write_agent(
        root / "resource.d" / "test" / "quick", '#!/bin/sh\n[ "$OCF_RESKEY_t" = 1 ] && sleep 5\nexit 7\n'
    )
    r = make_runner(ocf_root=root, max_concurrency=8)
    spec = AgentSpec.parse("ocf:test:quick")

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def go() -> list[OpStatus]:
        reqs = [
            OpRequest(f"r{i % 20}", spec, "monitor", {"t": str(int(i % 25 == 0))}, timeout_ms=300)
            for i in range(150)
        ]
        res = await asyncio.gather(*(r.run(q) for q in reqs))
        await r.close()
        return [x.status for x in res]

    before = fds()
    statuses = arun(go())
    assert statuses.count(OpStatus.TIMEOUT) == 6 and statuses.count(OpStatus.DONE) == 144
    assert fds() == before
    zombies = [
        p
        for p in os.listdir("/proc")
        if p.isdigit()
        and (st := read_stat(int(p))) is not None
        and st.ppid == os.getpid()
        and st.state == "Z"
    ]
    assert zombies == []


@pytest.mark.slow
def test_output_flood_is_truncated_not_blocking(make_runner: Make, tmp_path: Path) -> None:
    root = tmp_path / "ocf"
    write_agent(
        root / "resource.d" / "test" / "flood",
        "#!/bin/sh\nhead -c 10000000 /dev/zero | tr '\\0' a\nhead -c 5000000 /dev/zero >&2\nexit 0\n",
    )
    r = make_runner(ocf_root=root)
    res = arun(r.run(OpRequest("f", AgentSpec.parse("ocf:test:flood"), "monitor", timeout_ms=20000)))
    assert res.rc is OcfRc.OK and res.status is OpStatus.DONE
    assert res.stdout.endswith("[output truncated]\n") and len(res.stdout) < 300 * 1024


@pytest.mark.slow
def test_default_timeout_comes_from_the_agents_meta_data(make_runner: Make, tmp_path: Path) -> None:
    root = tmp_path / "ocf"
    marker = tmp_path / "pid"
    write_agent(
        root / "resource.d" / "test" / "slowstart",
        f"""#!/bin/sh
case "$1" in
meta-data) cat <<'X'
<resource-agent name="slowstart"><parameters/><actions>
<action name="start" timeout="700ms"/><action name="monitor" timeout="20s" interval="10s"/>
</actions></resource-agent>
X
exit 0;;
start) echo $$ > {marker}; echo "timeout=$OCF_RESKEY_CRM_meta_timeout" >&2; sleep 30;;
esac
exit 7
""",
    )
    r = make_runner(ocf_root=root)
    t0 = time.monotonic()
    res = arun(r.run(OpRequest("s", AgentSpec.parse("ocf:test:slowstart"), "start")))
    assert res.status is OpStatus.TIMEOUT and "timed out after 700 ms" in res.exit_reason
    assert "timeout=700" in res.stderr
    assert time.monotonic() - t0 < 5
    assert pids_in_session(int(marker.read_text())) == []
