"""An in-process single-node daemon (FakeAgentRunner) with its web listener on a free port, and
the CLI as a real subprocess against its Unix socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paceline.agents import FakeAgentRunner
from paceline.daemon import Daemon
from paceline.daemon.api import Api
from paceline.daemon.http import Request
from paceline.web.listen import WebOptions, http_info_path

WEB = """
cluster: {name: t, options: {stonith-enabled: false}}
resources:
  - id: web
    agent: ocf:heartbeat:Dummy
    meta: {migration-threshold: 3, failure-timeout: 60s}
    ops: {monitor: {interval: 5s}}
  - id: worker
    agent: ocf:heartbeat:Dummy
    ops: {monitor: {interval: 10s}}
  - id: other
    agent: ocf:heartbeat:Dummy
constraints:
  - order: {first: web, then: worker}
  - colocation: {resource: worker, with: web, score: INFINITY}
  - location: {resource: other, node: n1, score: 50}
"""
ALL = {"web", "worker", "other"}


async def until(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


@dataclass
class Running:
    daemon: Daemon
    fake: FakeAgentRunner
    url: str
    state_dir: Path

    async def daemon_api_handle(self, req: Request) -> Any:
        """The Unix socket's handler (the same `Api` object type the daemon serves)."""
        return await Api(self.daemon).handle(req)

    async def cli(self, *args: str, state: bool = True) -> tuple[int, str, str]:
        """`paceline ARGS --state-dir STATE` (`state`: with --state-dir) in a subprocess:
        (exit code, stdout, stderr)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "paceline.cli.main",
            *args,
            *(["--state-dir", str(self.state_dir)] if state else []),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(), err.decode()


@contextlib.asynccontextmanager
async def running_daemon(
    tmp: Path, name: str = "d", text: str = WEB, web: WebOptions | None = None
) -> AsyncIterator[Running]:
    cfg = tmp / f"{name}.yaml"
    cfg.write_text(text)
    fake = FakeAgentRunner()
    state = tmp / name
    d = Daemon(state, cfg, node_name="n1", runner=fake)
    d.web = web or WebOptions("127.0.0.1:0")
    task = asyncio.create_task(d.run())
    try:
        await until(lambda: fake.running == ALL and http_info_path(state).exists())
        url = json.loads(http_info_path(state).read_text())["url"]
        yield Running(d, fake, url, state)
    finally:
        if not task.done():
            d.request_shutdown()
        assert await asyncio.wait_for(task, 20) == 0
