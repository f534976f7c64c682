"""The Daemon wired up in-process with a FakeAgentRunner: shutdown accounting, status, API."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from paceline.agents import FakeAgentRunner
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
