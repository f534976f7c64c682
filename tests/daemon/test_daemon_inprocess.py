"""The Daemon wired up in-process with a FakeAgentRunner: shutdown accounting, status, API."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from paceline.agents import FakeAgentRunner, OcfRc
from paceline.daemon import Daemon
from paceline.daemon.http import Request

from .fasttier import WEB


async def _until(pred: object, timeout: float = 5.0) -> None:
    assert callable(pred)
    for _ in range(int(timeout / 0.01)):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_shutdown_reports_what_did_not_stop_and_exits_1(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="paceline")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(WEB)
    fake = FakeAgentRunner()

    async def go() -> int:
        d = Daemon(tmp_path / "state", cfg, node_name="n1", runner=fake)
        task = asyncio.create_task(d.run())
        await _until(lambda: fake.running == {"web", "worker", "other"})
        fake.fail("worker", "stop", reason="stuck")
        d.request_shutdown()
        return await asyncio.wait_for(task, 10)

    assert asyncio.run(go()) == 1
    assert "other" not in fake.running and "worker" in fake.running
    last = caplog.records[-1].getMessage()
    assert "NOT stopped" in last and "worker" in last


def test_status_and_commands_through_the_api_handler(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(WEB)
    fake = FakeAgentRunner()

    async def go() -> None:
        d = Daemon(tmp_path / "state", cfg, node_name="n1", runner=fake)
        task = asyncio.create_task(d.run())
        await _until(lambda: fake.running == {"web", "worker", "other"})
        from paceline.daemon.api import Api

        api = Api(d)
        status = await api.handle(Request("GET", "/status"))
        assert [(r["id"], r["role"]) for r in status["resources"]] == [
            ("web", "Started"),
            ("worker", "Started"),
            ("other", "Started"),
        ]
        out = await api.handle(Request("POST", "/resource/other/move", body={}))
        assert "one node" in out["message"] and "other" not in fake.running
        await api.handle(Request("POST", "/resource/other/clear", body={}))
        assert "other" in fake.running
        await api.handle(Request("POST", "/node/n1/standby"))
        assert fake.running == set()
        await api.handle(Request("POST", "/node/n1/online"))
        assert fake.running == {"web", "worker", "other"}
        hist = await api.handle(Request("GET", "/config/history"))
        assert [v["version"] for v in hist["versions"]] == [1]
        d.request_shutdown()
        assert await asyncio.wait_for(task, 10) == 0
        assert fake.running == set()

    asyncio.run(go())


def test_an_unfencable_node_is_unclean_in_status_and_a_stop_signal_still_ends_the_daemon(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="paceline")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        WEB.replace("stonith-enabled: false", "stonith-enabled: true")
        + "nodes: [n1]\nfencing: {devices: [{id: f, agent: fence_dummy, hosts: [n1]}]}\n"
    )
    fake = FakeAgentRunner()

    async def go() -> int:
        from paceline.daemon.api import Api

        d = Daemon(tmp_path / "state", cfg, node_name="n1", runner=fake)
        task = asyncio.create_task(d.run())
        await _until(lambda: {"web", "worker", "other"} <= fake.running)
        fake.fail("web", "stop", reason="stuck")
        fake.fail("web", "monitor", rc=OcfRc.NOT_RUNNING)
        d.controller.wake()
        api = Api(d)

        async def unclean() -> bool:
            status = await api.handle(Request("GET", "/status"))
            return bool(status["nodes"][0]["state"] == "unclean")

        for _ in range(500):
            if await unclean():
                break
            await asyncio.sleep(0.01)
        status = await api.handle(Request("GET", "/status"))
        assert status["nodes"][0]["reason"].startswith("needs fencing (web failed there); no fence device")
        passes = d.controller.passes
        await asyncio.sleep(1.5)
        assert d.controller.passes - passes <= 2  # not re-planned in a loop
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        d.request_shutdown()
        rc = await asyncio.wait_for(task, 10)
        assert loop.time() - t0 < 3
        return rc

    assert asyncio.run(go()) == 1
    last = caplog.records[-1].getMessage()
    assert "NOT stopped" in last and "web" in last


def test_a_resource_command_naming_an_unknown_node_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(WEB)
    fake = FakeAgentRunner()

    async def go() -> None:
        from paceline.daemon.api import Api
        from paceline.daemon.http import HttpError

        d = Daemon(tmp_path / "state", cfg, node_name="n1", runner=fake)
        task = asyncio.create_task(d.run())
        await _until(lambda: fake.running == {"web", "worker", "other"})
        api = Api(d)
        for op in ("ban", "move", "cleanup"):
            with pytest.raises(HttpError) as info:
                await api.handle(Request("POST", f"/resource/web/{op}", body={"node": "nosuch"}))
            assert info.value.status == 404 and "no node 'nosuch' (nodes: n1)" in str(info.value)
        assert not (await d.db.snapshot()).locations
        d.request_shutdown()
        assert await asyncio.wait_for(task, 10) == 0

    asyncio.run(go())


def test_status_says_why_in_standby_and_marks_maintenance_unmanaged(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(WEB)
    fake = FakeAgentRunner()

    async def go() -> None:
        from paceline.daemon.api import Api

        d = Daemon(tmp_path / "state", cfg, node_name="n1", runner=fake)
        task = asyncio.create_task(d.run())
        await _until(lambda: fake.running == {"web", "worker", "other"})
        api = Api(d)
        await api.handle(Request("POST", "/node/n1/standby"))
        status = await api.handle(Request("GET", "/status"))
        assert {(r["id"], r["role"], r["reason"]) for r in status["resources"]} == {
            (rid, "Stopped", "n1 is in standby (paceline node online n1 to end it)")
            for rid in ("web", "worker", "other")
        }
        await api.handle(Request("POST", "/node/n1/online"))
        await api.handle(Request("POST", "/node/n1/maintenance"))
        status = await api.handle(Request("GET", "/status"))
        assert {(r["role"], r["reason"]) for r in status["resources"]} == {
            ("Started", "unmanaged (n1 in maintenance): not monitored, left as it is")
        }
        d.request_shutdown()
        await asyncio.wait_for(task, 10)

    asyncio.run(go())


def test_a_service_exit_in_maintenance_is_not_recorded_as_a_failure(tmp_path: Path) -> None:
    from paceline.agents import ServiceExited

    from .fasttier import Harness

    h = Harness()

    async def go() -> None:
        await h.start()
        await h.db.set_node_flags("n1", maintenance=True)
        h.ctl.wake()
        await h.settle()
        await h.agent.on_service_event(ServiceExited("web", 123, 1, None, False, 0.0))
        assert await h.failcount("web") == 0
        await h.db.set_node_flags("n1", maintenance=False)
        h.ctl.wake()
        await h.settle()
        await h.agent.on_service_event(ServiceExited("web", 123, 1, None, False, 0.0))
        assert await h.failcount("web") == 1
        await h.stop()

    asyncio.run(go())
