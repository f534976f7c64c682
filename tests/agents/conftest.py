"""Shared fixtures for the agent tests: a runner per test in a temporary state dir, helpers that
run coroutines and check that no process of an agent session is left behind."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from paceline.agents import LocalAgentRunner
from paceline.agents.procfs import pids_in_session

T = TypeVar("T")


def arun(coro: Awaitable[T]) -> T:
    async def wrap() -> T:
        return await coro

    return asyncio.run(wrap())


def session_alive(sid: int) -> list[int]:
    return pids_in_session(sid)


def wait_until(pred: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def write_agent(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture(scope="package", autouse=True)
def _subreaper_only_for_agent_tests() -> Iterator[None]:
    """Runners make this pytest process a child subreaper; other packages' tests that run later
    in the same process must not inherit that (their orphans would linger here as zombies)."""
    yield
    from paceline.agents.reaper import stop_being_subreaper

    stop_being_subreaper()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    d = tmp_path / "state"
    d.mkdir()
    return d


@pytest.fixture
def make_runner(state_dir: Path) -> Iterator[Callable[..., LocalAgentRunner]]:
    """Factory: LocalAgentRunner(state_dir, "n1", **kw) (``state_dir=`` overrides). Processes of
    every agent session its runners started are killed, and waited for, after the test."""
    made: list[LocalAgentRunner] = []

    def make(**kw: object) -> LocalAgentRunner:
        kw.setdefault("node_name", "n1")
        sd = kw.pop("state_dir", state_dir)
        r = LocalAgentRunner(sd, **kw)  # type: ignore[arg-type]
        made.append(r)
        return r

    yield make
    for r in made:
        sids = [sid for sid in r.reaper.sessions if sid != os.getsid(0)]
        for sid in sids:
            r.reaper.kill_session(sid)

        def gone(r: LocalAgentRunner = r, sids: list[int] = sids) -> bool:
            r.reaper.reap_orphans()
            return all(not pids_in_session(s) for s in sids)

        assert wait_until(gone, 5.0), "processes of agent sessions survived the test"
