"""`config apply` checks exactly what `run` checks and refuses before anything changes; a change
that is accepted but fails to start leaves no fail count the next good apply cannot clear."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from paceline.agents import FakeAgentRunner, OcfRc
from paceline.daemon import Daemon
from paceline.daemon.configsrc import InvalidConfig
from paceline.model.scores import INFINITY

from .fasttier import WEB


async def _until(pred: object, timeout: float = 5.0) -> None:
    assert callable(pred)
    for _ in range(int(timeout / 0.01)):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


BAD_SERVICE = WEB.replace(
    "constraints:\n",
    """\
  - id: api
    service: {command: [sleep, "100"], stop_grace: -5, probe: {htp: "http://127.0.0.1/"}}
constraints:
""",
)
TWO_NODES = WEB + "nodes: [n1, n2]\n"
OTHER_NODE = WEB + "nodes: [n9]\n"
ETCD = WEB.replace("cluster: {name: t,", "cluster: {name: t, store: 'etcd://127.0.0.1:2379',")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BAD_SERVICE, "service.probe.htp: unknown key (did you mean 'http'?)"),
        (TWO_NODES, "names several nodes"),
        (OTHER_NODE, "names node n9, but this daemon runs as n1"),
        (ETCD, "this daemon runs on the embedded store"),
    ],
    ids=["bad-service", "two-nodes", "other-node", "etcd-store"],
)
def test_apply_refuses_what_run_refuses_and_changes_nothing(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(WEB)
    fake = FakeAgentRunner()

    async def go() -> None:
        d = Daemon(tmp_path / "state", cfg, node_name="n1", runner=fake)
        task = asyncio.create_task(d.run())
        await _until(lambda: fake.running == {"web", "worker", "other"})
        await d.controller.wait_idle(5)
        calls = len(fake.calls)
        with pytest.raises(InvalidConfig) as info:
            await d.apply_text(text, "new.yaml")
        assert any(message in e for e in info.value.errors), info.value.errors
        await asyncio.sleep(0.1)
        assert len(fake.calls) == calls and fake.running == {"web", "worker", "other"}
        assert [v.version for v in await d.db.config_history()] == [1]
        assert d.loaded is not None and d.loaded.text == WEB
        d.request_shutdown()
        assert await asyncio.wait_for(task, 10) == 0

    asyncio.run(go())


def test_a_change_that_fails_to_start_is_recovered_by_the_next_good_apply(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(WEB)
    fake = FakeAgentRunner()
    changed = WEB.replace(
        "  - id: web\n    agent: ocf:heartbeat:Dummy\n",
        "  - id: web\n    agent: ocf:heartbeat:Dummy\n    params: {fake: broken}\n",
    )
    assert changed != WEB

    async def go() -> None:
        d = Daemon(tmp_path / "state", cfg, node_name="n1", runner=fake)
        task = asyncio.create_task(d.run())
        await _until(lambda: fake.running == {"web", "worker", "other"})
        fake.fail("web", "start", OcfRc.ERR_GENERIC, "port in use")
        out = await d.apply_text(changed, "changed.yaml")
        assert out["restarted"] == ["web"]
        await _until(lambda: "web" not in fake.running and bool(fake.calls_for("web", "start")))
        await d.controller.wait_idle(5)
        assert await d.db.failcount("web", "n1") == INFINITY
        assert "web" not in fake.running

        fake.script("web", "start", [OcfRc.OK])  # the good definition starts
        await d.apply_text(WEB, "good.yaml")
        await _until(lambda: fake.running == {"web", "worker", "other"})
        assert await d.db.failcount("web", "n1") == 0
        events = [e.message for e in await d.db.events(limit=1000)]
        assert any("fail count of web on n1 (INFINITY) cleared: its definition changed" in m for m in events)
        d.request_shutdown()
        assert await asyncio.wait_for(task, 10) == 0

    asyncio.run(go())
