"""The embedded store: revisions, compare-and-swap, leases on a virtual clock, watches, durability."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from paceline.store import (
    Compare,
    Delete,
    EventType,
    LeaseExpired,
    MemoryStore,
    Put,
    SqlitePersistence,
    StoreError,
    VirtualClock,
)


def test_revisions_and_versions() -> None:
    async def go() -> None:
        s = MemoryStore(VirtualClock())
        r1 = await s.put("/a", "1")
        r2 = await s.put("/a", "2")
        r3 = await s.put("/b", "x")
        assert (r1, r2, r3) == (1, 2, 3)
        kv = await s.get("/a")
        assert kv is not None and (kv.value, kv.create_revision, kv.mod_revision, kv.version) == (
            "2",
            1,
            2,
            2,
        )
        kvs, rev = await s.range("/")
        assert [k.key for k in kvs] == ["/a", "/b"] and rev == 3
        assert await s.delete("/", prefix=True) == 2
        assert s.revision == 4 and await s.get("/a") is None

    asyncio.run(go())


def test_compare_and_swap_is_all_or_nothing() -> None:
    async def go() -> None:
        s = MemoryStore(VirtualClock())
        ok = await s.txn([Compare("/leader", 0)], [Put("/leader", "n1"), Put("/term", "1")])
        assert ok.succeeded and ok.revision == 1
        lost = await s.txn([Compare("/leader", 0)], [Put("/leader", "n2")], [Delete("/term")])
        assert not lost.succeeded
        assert (await s.get("/leader")).value == "n1"  # type: ignore[union-attr]
        assert await s.get("/term") is None
        kv = await s.get("/leader")
        assert kv is not None
        assert (await s.txn([Compare("/leader", kv.mod_revision)], [Put("/leader", "n3")])).succeeded

    asyncio.run(go())


def test_lease_expiry_deletes_keys_on_the_virtual_clock() -> None:
    async def go() -> None:
        clock = VirtualClock()
        s = MemoryStore(clock)
        lease = await s.grant_lease(2.0)
        await s.put("/nodes/n1", "alive", lease)
        clock.advance(1.5)
        await s.refresh_lease(lease)
        clock.advance(1.5)
        assert await s.get("/nodes/n1") is not None
        clock.advance(0.6)
        assert await s.get("/nodes/n1") is None
        with pytest.raises(LeaseExpired):
            await s.refresh_lease(lease)
        with pytest.raises(LeaseExpired):
            await s.put("/x", "y", lease)

    asyncio.run(go())


def test_watch_from_a_revision_sees_every_change_in_order() -> None:
    async def go() -> None:
        s = MemoryStore(VirtualClock())
        await s.put("/w/a", "1")
        await s.put("/other", "z")
        await s.put("/w/b", "2")
        w = s.watch("/w/", start_revision=0)
        await s.delete("/w/a")
        seen = []
        async for ev in w:
            seen.append((ev.type, ev.kv.key, ev.revision))
            if len(seen) == 3:
                w.close()
        assert seen == [(EventType.PUT, "/w/a", 1), (EventType.PUT, "/w/b", 3), (EventType.DELETE, "/w/a", 4)]

    asyncio.run(go())


def test_durable_keys_survive_reopening_leased_keys_do_not(tmp_path: Path) -> None:
    async def go() -> None:
        s = MemoryStore(VirtualClock(), SqlitePersistence(tmp_path / "store.db"))
        await s.put("/keep", "1")
        lease = await s.grant_lease(10)
        await s.put("/ephemeral", "x", lease)
        await s.put("/gone", "1")
        await s.delete("/gone")
        await s.close()
        with pytest.raises(StoreError):
            await s.get("/keep")
        s2 = MemoryStore(VirtualClock(), SqlitePersistence(tmp_path / "store.db"))
        kvs, rev = await s2.range("/")
        assert [k.key for k in kvs] == ["/keep"] and rev == 4
        assert await s2.put("/next", "1") == 5
        await s2.close()

    asyncio.run(go())


def test_virtual_clock_sleepers_wake_in_deadline_order() -> None:
    async def go() -> None:
        clock = VirtualClock()
        order: list[str] = []

        async def sleeper(name: str, t: float) -> None:
            await clock.sleep(t)
            order.append(name)

        tasks = [asyncio.create_task(sleeper("late", 5)), asyncio.create_task(sleeper("early", 1))]
        await asyncio.sleep(0)
        clock.advance(2)
        await asyncio.sleep(0)
        assert order == ["early"]
        clock.advance(3)
        await asyncio.gather(*tasks)
        assert order == ["early", "late"]

    asyncio.run(go())
