"""The `store` fixture: one contract suite, run unchanged against `MemoryStore` and `EtcdStore`.

A test gets a `StoreCase`: `case.s` is an open Store (its own event loop: `case.run(coro)` runs a
coroutine on it), `case.sleep(s)` lets store time pass (the memory store runs on a VirtualClock:
instant; etcd: real seconds), `case.eventually(pred, within)` polls a predicate in store time,
and `case.compact(rev)` compacts the store's history. The etcd stores share one single-member
cluster per session (election 500 ms: 1 s leases), each test in a namespace of its own.

When `etcd` is not on PATH the etcd tests FAIL (they never skip): CI installs it with
scripts/setup.sh.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from etcdcluster import EtcdCluster, require_etcd
from paceline.store import MemoryStore, Store, VirtualClock
from paceline.store.etcd import EtcdStore

T = TypeVar("T")


class StoreCase:
    """One store under test (see the module docstring)."""

    def __init__(self, kind: str, runner: asyncio.Runner, s: MemoryStore | EtcdStore) -> None:
        self.kind = kind
        self.runner = runner
        self.s = s
        self.store: Store = s

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    async def sleep(self, seconds: float) -> None:
        if isinstance(self.s, MemoryStore):
            clock = self.s.clock
            assert isinstance(clock, VirtualClock)
            clock.advance(seconds)
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(seconds)

    async def eventually(
        self, pred: Callable[[], Awaitable[bool]], within: float, step: float = 0.05
    ) -> float:
        """Store time (s) until `pred()` held; AssertionError if it did not within `within` s."""
        waited = 0.0
        while not await pred():
            if waited >= within:
                raise AssertionError(f"not true within {within} s of {self.kind} store time")
            await self.sleep(step)
            waited += step
        return waited

    async def compact(self, revision: int) -> None:
        await self.s.compact(revision)


@pytest.fixture(scope="session")
def etcd_cluster() -> Iterator[EtcdCluster]:
    require_etcd()
    with EtcdCluster(1) as cluster:
        yield cluster


def _open_etcd(cluster: EtcdCluster, runner: asyncio.Runner, namespace: str) -> EtcdStore:
    return runner.run(EtcdStore.open(cluster.url, namespace=namespace, call_timeout=2.0))


@pytest.fixture
def etcd_namespace() -> str:
    return f"/test/{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["memory", pytest.param("etcd", marks=pytest.mark.slow)])
def store(request: pytest.FixtureRequest, etcd_namespace: str) -> Iterator[StoreCase]:
    with asyncio.Runner() as runner:
        s: MemoryStore | EtcdStore
        if request.param == "memory":
            s = MemoryStore(VirtualClock())
        else:
            cluster: EtcdCluster = request.getfixturevalue("etcd_cluster")
            s = _open_etcd(cluster, runner, etcd_namespace)
        case = StoreCase(str(request.param), runner, s)
        try:
            yield case
        finally:
            runner.run(s.close())


@pytest.fixture
def etcd_store(etcd_cluster: EtcdCluster, etcd_namespace: str) -> Iterator[StoreCase]:
    """An EtcdStore alone (etcd-only tests)."""
    with asyncio.Runner() as runner:
        s = _open_etcd(etcd_cluster, runner, etcd_namespace)
        try:
            yield StoreCase("etcd", runner, s)
        finally:
            runner.run(s.close())
