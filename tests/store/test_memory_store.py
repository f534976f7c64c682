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


def test_a_leased_put_over_a_durable_key_does_not_come_back_after_a_restart(tmp_path: Path) -> None:
    async def go() -> None:
        s = MemoryStore(VirtualClock(), SqlitePersistence(tmp_path / "store.db"))
        await s.put("/dc", "durable")
        lease = await s.grant_lease(10)
        await s.put("/dc", "leased", lease)  # now ephemeral: the durable copy must go
        await s.put("/keep", "1")
        await s.close()
        s2 = MemoryStore(VirtualClock(), SqlitePersistence(tmp_path / "store.db"))
        assert await s2.get("/dc") is None and (await s2.get("/keep")) is not None
        await s2.close()

    asyncio.run(go())


def test_a_watch_from_before_the_kept_history_raises() -> None:
    async def go() -> None:
        s = MemoryStore(VirtualClock(), history_limit=4)
        for i in range(3):
            await s.put(f"/k/{i}", "x")
        await s.txn([], [Put("/k/a", "1"), Put("/k/b", "2")])  # revision 4: two events
        assert s.history_floor == 1  # 5 events, 4 kept: revision 1's is gone
        w = s.watch("/k/", 1)
        evs: list[int] = []
        async for ev in w:
            evs.append(ev.revision)
            if len(evs) == 4:
                w.close()
        assert evs == [2, 3, 4, 4]
        for i in range(3):
            await s.put("/k/c", str(i))  # revisions 5-7 push out 2, 3 and one of 4's events
        assert s.history_floor == 4  # a watch from 3 would miss half of revision 4
        with pytest.raises(StoreError, match="compacted"):
            async for _ in s.watch("/k/", 3):
                pass
        w = s.watch("/k/", 4)
        evs.clear()
        async for ev in w:
            evs.append(ev.revision)
            if len(evs) == 3:
                w.close()
        assert evs == [5, 6, 7]

    asyncio.run(go())


def test_a_reopened_store_has_no_history_to_watch_from(tmp_path: Path) -> None:
    async def go() -> None:
        s = MemoryStore(VirtualClock(), SqlitePersistence(tmp_path / "store.db"))
        for i in range(3):
            await s.put(f"/k/{i}", "x")
        await s.close()
        s2 = MemoryStore(VirtualClock(), SqlitePersistence(tmp_path / "store.db"))
        assert s2.revision == 3 and s2.history_floor == 3
        old = s2.watch("/k/", 1)  # what happened before the restart is gone: an error, not silence
        with pytest.raises(StoreError, match="compacted"):
            async for _ in old:
                pass
        assert [ev async for ev in old] == []  # iterating again just ends
        new = s2.watch("/k/", 3)
        await s2.put("/k/3", "y")
        async for ev in new:
            assert (ev.kv.key, ev.revision) == ("/k/3", 4)
            new.close()
        await s2.close()

    asyncio.run(go())
