"""Membership on the embedded store: lease keep-alive, one DC by compare-and-swap, rejoin after a stall."""

from __future__ import annotations

import asyncio

from paceline.node.membership import Membership
from paceline.store import MemoryStore, VirtualClock


async def _turns(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_members_keep_their_lease_and_only_one_is_dc() -> None:
    async def go() -> None:
        clock = VirtualClock()
        store = MemoryStore(clock)
        a, b = Membership(store, clock, "n1"), Membership(store, clock, "n2")
        await a.join()
        await b.join()
        assert (a.is_dc, b.is_dc) == (True, False)
        tasks = [asyncio.create_task(m.run()) for m in (a, b)]
        for _ in range(40):  # 10 s in small steps: every refresh gets its turn
            clock.advance(0.25)
            await _turns()
        assert await a.members() == ["n1", "n2"] and await a.dc() == "n1"
        await a.leave()
        assert await b.members() == ["n2"] and await b.dc() is None
        for t in tasks:
            t.cancel()

    asyncio.run(go())


def test_a_stall_longer_than_the_ttl_loses_the_lease_and_rejoins() -> None:
    async def go() -> None:
        clock = VirtualClock()
        store = MemoryStore(clock)
        lost: list[bool] = []
        m = Membership(store, clock, "n1", ttl_s=2.0, on_lost=lambda: lost.append(True))
        task = asyncio.create_task(m.run())
        await _turns()
        clock.advance(3.0)  # the process was stopped for 3 s
        store.sweep_leases()
        assert await m.members() == []
        await _turns()
        assert lost == [True] and m.rejoins == 1
        assert await m.members() == ["n1"] and await m.dc() == "n1"
        task.cancel()

    asyncio.run(go())
