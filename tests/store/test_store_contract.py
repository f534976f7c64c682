"""The Store contract, run unchanged against MemoryStore and EtcdStore (the `store` fixture), and
what only etcd has: namespaces, several members, a member lost under a running watch."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from etcdcluster import EtcdCluster, free_ports, require_etcd
from paceline.store import (
    Compare,
    Delete,
    EventType,
    KeyValue,
    LeaseExpired,
    Put,
    Store,
    StoreError,
    Watch,
    WatchEvent,
)
from paceline.store.etcd import EtcdStore, EtcdWatch, parse_endpoints

if TYPE_CHECKING:
    from conftest import StoreCase

Row = tuple[EventType, str, int, str]


def row(ev: WatchEvent) -> Row:
    return (ev.type, ev.kv.key, ev.revision, ev.kv.value)


class Collector:
    """Reads a watch in a task of its own (a timed-out `anext` would end the iterator)."""

    def __init__(self, w: Watch) -> None:
        self.w = w
        self.events: list[WatchEvent] = []
        self.error: BaseException | None = None
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            async for ev in self.w:
                self.events.append(ev)
        except StoreError as e:
            self.error = e

    async def wait(self, n: int, timeout: float = 5.0) -> list[WatchEvent]:
        """The first `n` events (fails on an error or a timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.events) < n and self.error is None and not self.task.done():
            assert time.monotonic() < deadline, f"only {len(self.events)} of {n} events: {self.events}"
            await asyncio.sleep(0.01)
        assert self.error is None, self.error
        return self.events[:n]

    async def wait_error(self, timeout: float = 5.0) -> BaseException:
        await asyncio.wait_for(asyncio.shield(self.task), timeout)
        assert self.error is not None, f"no error, events: {self.events}"
        return self.error

    async def close(self) -> None:
        self.w.close()
        await asyncio.wait_for(self.task, 5)


# -- the contract, on both stores ------------------------------------------------------------------
def test_revisions_and_versions(store: StoreCase) -> None:
    async def go() -> None:
        s = store.store
        assert isinstance(s, Store)
        r1 = await s.put("/a", "1")
        r2 = await s.put("/a", "2")
        r3 = await s.put("/b", "x")
        assert (r2, r3) == (r1 + 1, r1 + 2) and s.revision == r3
        kv = await s.get("/a")
        assert kv == KeyValue("/a", "2", r1, r2, 2, None)
        assert await s.get("/missing") is None
        assert await s.delete("/missing") == 0 and s.revision == r3  # nothing changed: no revision
        assert await s.delete("/", prefix=True) == 2
        assert s.revision == r3 + 1 and await s.get("/a") is None
        r5 = await s.put("/a", "again")  # a new life: version 1, a new create_revision
        assert await s.get("/a") == KeyValue("/a", "again", r5, r5, 1, None)
        assert await s.put("/text", "é ✓ {}") and (await s.get("/text")).value == "é ✓ {}"  # type: ignore[union-attr]

    store.run(go())


def test_range_is_sorted_under_the_prefix_at_one_revision(store: StoreCase) -> None:
    async def go() -> None:
        s = store.store
        for k in ("/r/b", "/r/a/2", "/r0", "/r/a/1", "/q", "/r/c"):
            await s.put(k, k)
        kvs, rev = await s.range("/r/")
        assert [kv.key for kv in kvs] == ["/r/a/1", "/r/a/2", "/r/b", "/r/c"]
        assert rev == s.revision and all(kv.value == kv.key for kv in kvs)
        again, at = await s.range("/r/", rev)  # the current revision may be asked for
        assert (again, at) == (kvs, rev)
        assert [kv.key for kv in (await s.range("/r"))[0]] == ["/r/a/1", "/r/a/2", "/r/b", "/r/c", "/r0"]
        assert (await s.range("/nothing/"))[0] == []
        with pytest.raises(StoreError):
            await s.range("/r/", rev + 100)  # the future is no snapshot

    store.run(go())


def test_txn_is_all_or_nothing_at_one_revision(store: StoreCase) -> None:
    async def go() -> None:
        s = store.store
        ok = await s.txn([Compare("/leader", 0)], [Put("/leader", "n1"), Put("/term", "1")])
        assert ok.succeeded and ok.revision == s.revision
        leader, term = await s.get("/leader"), await s.get("/term")
        assert leader is not None and term is not None
        assert leader.mod_revision == term.mod_revision == ok.revision  # one revision for the txn
        lost = await s.txn([Compare("/leader", 0)], [Put("/leader", "n2")], [Delete("/term")])
        assert not lost.succeeded and lost.revision == ok.revision + 1
        assert (await s.get("/leader")) == leader and await s.get("/term") is None
        # a failed compare with nothing to do changes nothing
        none = await s.txn([Compare("/leader", leader.mod_revision + 7)], [Delete("/leader")])
        assert not none.succeeded and none.revision == lost.revision == s.revision
        # every compare must hold
        mod = leader.mod_revision
        both = await s.txn([Compare("/leader", mod), Compare("/term", 1)], [Delete("/leader")])
        assert not both.succeeded and await s.get("/leader") is not None
        won = await s.txn([Compare("/leader", mod), Compare("/term", 0)], [Put("/leader", "n3")])
        assert won.succeeded and (await s.get("/leader")).value == "n3"  # type: ignore[union-attr]
        # prefix deletes inside a txn, and a compare on a key that never existed is 0
        await s.put("/g/1", "x")
        await s.put("/g/2", "y")
        gone = await s.txn([Compare("/never", 0)], [Delete("/g/", prefix=True), Put("/g-done", "1")])
        assert gone.succeeded and (await s.range("/g/"))[0] == []
        assert not (await s.txn([Compare("/never", 1)], [Put("/x", "1")])).succeeded
        # one key written twice in a branch (either branch) is refused, as etcd refuses it
        for bad in ([Put("/d", "1"), Put("/d", "2")], [Delete("/g", prefix=True), Put("/g/1", "x")]):
            with pytest.raises(StoreError, match="duplicate key"):
                await s.txn([Compare("/never", 1)], [Put("/ok", "1")], bad)
        assert await s.get("/ok") is None

    store.run(go())


def test_leases_keep_keys_while_refreshed_and_delete_them_on_expiry(store: StoreCase) -> None:
    async def go() -> None:
        s = store.store
        lease = await s.grant_lease(1)  # etcd's lease TTLs are whole seconds
        await s.put("/nodes/n1", "alive", lease)
        assert (await s.txn([Compare("/dc", 0)], [Put("/dc", "n1", lease)])).succeeded
        await s.put("/durable", "1")
        kv = await s.get("/nodes/n1")
        assert kv is not None and kv.lease == lease and (await s.get("/durable")).lease is None  # type: ignore[union-attr]
        for _ in range(3):  # 1.5 s in all, more than the TTL
            await store.sleep(0.5)
            await s.refresh_lease(lease)
        assert await s.get("/nodes/n1") is not None and await s.get("/dc") is not None

        async def gone() -> bool:
            return await s.get("/nodes/n1") is None and await s.get("/dc") is None

        waited = await store.eventually(gone, within=3.0)
        assert waited >= 0.9
        assert await s.get("/durable") is not None
        with pytest.raises(LeaseExpired):
            await s.refresh_lease(lease)
        with pytest.raises(LeaseExpired):
            await s.put("/x", "y", lease)
        with pytest.raises(LeaseExpired):
            await s.txn([], [Put("/x", "y", lease)])
        assert await s.get("/x") is None

    store.run(go())


def test_revoking_a_lease_deletes_its_keys_at_once(store: StoreCase) -> None:
    async def go() -> None:
        s = store.store
        lease = await s.grant_lease(30)
        await s.put("/e/1", "a", lease)
        await s.put("/e/2", "b", lease)
        w = Collector(s.watch("/e/", s.revision))
        await s.revoke_lease(lease)
        assert (await s.range("/e/"))[0] == []
        evs = await w.wait(2)
        assert [(e.type, e.kv.key, e.kv.lease) for e in evs] == [
            (EventType.DELETE, "/e/1", lease),
            (EventType.DELETE, "/e/2", lease),
        ]
        assert evs[0].revision == evs[1].revision == s.revision
        await s.revoke_lease(lease)  # already gone: no error
        with pytest.raises(LeaseExpired):
            await s.refresh_lease(lease)
        await w.close()

    store.run(go())


def test_watch_from_a_revision_yields_every_change_once_in_order(store: StoreCase) -> None:
    async def go() -> None:
        s = store.store
        r1 = await s.put("/w/a", "1")
        await s.put("/other", "z")
        r3 = await s.put("/w/b", "2")
        w = Collector(s.watch("/w/", start_revision=r1 - 1))
        now = Collector(s.watch("/w/"))  # from now: only what follows
        late = Collector(s.watch("/w/", start_revision=r3))  # from the last revision: nothing old
        await asyncio.sleep(0.2)  # etcd creates its watches in the background
        r4 = await s.put("/w/a", "3")
        t = await s.txn([], [Delete("/w/a"), Delete("/w/b"), Put("/w/c", "4")])
        expected: list[Row] = [
            (EventType.PUT, "/w/a", r1, "1"),
            (EventType.PUT, "/w/b", r3, "2"),
            (EventType.PUT, "/w/a", r4, "3"),
            (EventType.DELETE, "/w/a", t.revision, ""),
            (EventType.DELETE, "/w/b", t.revision, ""),
            (EventType.PUT, "/w/c", t.revision, "4"),
        ]
        assert [row(e) for e in await w.wait(6)] == expected
        assert [row(e) for e in await now.wait(4)] == expected[2:]
        assert [row(e) for e in await late.wait(4)] == expected[2:]
        deleted = w.events[3].kv
        assert (deleted.create_revision, deleted.version) == (r1, 0)  # the deleted key's life
        await asyncio.sleep(0.3)
        assert len(w.events) == 6 and len(now.events) == 4 and len(late.events) == 4  # no duplicate
        for c in (w, now, late):
            await c.close()
        assert c.task.done() and c.error is None  # close() ends the iteration

    store.run(go())


def test_watch_from_a_compacted_revision_raises(store: StoreCase) -> None:
    async def go() -> None:
        s = store.store
        r1 = await s.put("/c/k", "1")
        r2 = await s.put("/c/k", "2")
        r3 = await s.put("/c/k", "3")
        await store.compact(r3)
        old = Collector(s.watch("/c/", r1))
        err = await old.wait_error()
        assert "compacted" in str(err) and old.events == []
        with pytest.raises(StoreError):
            await s.range("/c/", r2)
        kept = Collector(s.watch("/c/", r2))  # the history from the compaction revision on is kept
        assert [row(e) for e in await kept.wait(1)] == [(EventType.PUT, "/c/k", r3, "3")]
        await kept.close()

    store.run(go())


def test_a_closed_store_refuses_everything(store: StoreCase) -> None:
    async def go() -> None:
        s = store.store
        await s.put("/k", "v")
        w = Collector(s.watch("/", s.revision))
        await s.close()
        await asyncio.wait_for(w.task, 5)  # its watches end
        with pytest.raises(StoreError):
            await s.get("/k")
        with pytest.raises(StoreError):
            s.watch("/")

    store.run(go())


# -- etcd only ------------------------------------------------------------------------------------
def test_parse_endpoints() -> None:
    assert parse_endpoints("127.0.0.1:2379,127.0.0.1:22379") == [("127.0.0.1", 2379), ("127.0.0.1", 22379)]
    assert parse_endpoints("etcd://h1:1,h2, [::1]:3/") == [("h1", 1), ("h2", 2379), ("::1", 3)]
    assert parse_endpoints("http://a:5,http://b:6") == [("a", 5), ("b", 6)]
    for bad in ("", "etcd://", "h:notaport", "h:1/path"):
        with pytest.raises(StoreError):
            parse_endpoints(bad)
        with pytest.raises(ValueError):
            parse_endpoints(bad)


@pytest.mark.slow
def test_etcd_namespaces_are_isolated(etcd_store: StoreCase, etcd_namespace: str) -> None:
    async def go() -> None:
        a = etcd_store.s
        assert isinstance(a, EtcdStore)
        url = ",".join(f"{h}:{p}" for h, p in a.endpoints)
        ab = await EtcdStore.open(url, namespace=etcd_namespace + "b")
        raw = await EtcdStore.open(url)
        try:
            wa = Collector(a.watch("", a.revision))
            await a.put("/k", "a")
            await ab.put("/k", "ab")
            await ab.put("/k2", "ab")
            assert [(kv.key, kv.value) for kv in (await a.range(""))[0]] == [("/k", "a")]
            assert [kv.key for kv in (await ab.range("/"))[0]] == ["/k", "/k2"]
            assert (await raw.get(etcd_namespace + "/k")).value == "a"  # type: ignore[union-attr]
            assert await a.delete("", prefix=True) == 1
            assert len((await ab.range(""))[0]) == 2
            assert [row(e)[:2] for e in await wa.wait(2)] == [(EventType.PUT, "/k"), (EventType.DELETE, "/k")]
            await asyncio.sleep(0.2)
            assert len(wa.events) == 2  # nothing of the other namespace
            with pytest.raises(StoreError):
                await a.put("no-slash", "x")  # would reach into a namespace "<ns>no-slash"
            await wa.close()
        finally:
            await ab.close()
            await raw.close()

    etcd_store.run(go())


@pytest.mark.slow
def test_etcd_unreachable_is_a_store_error_within_the_call_timeout() -> None:
    async def go() -> None:
        dead = ",".join(f"127.0.0.1:{p}" for p in free_ports(2))
        t0 = time.monotonic()
        with pytest.raises(StoreError, match="connect"):
            await EtcdStore.open(dead, call_timeout=0.5)
        assert time.monotonic() - t0 < 1.5

    asyncio.run(go())


@pytest.mark.slow
def test_etcd_losing_a_member_under_a_running_watch() -> None:
    """3 members; the one serving the watch is killed (whether it leads or not) while a writer
    keeps writing: put/get/txn keep working, the watch resumes on another member with exactly the
    store's history (no gap, no duplicate), and the member comes back with restart()."""
    require_etcd()

    async def go(c: EtcdCluster) -> None:
        s = await EtcdStore.open(c.url, namespace="/kill", call_timeout=2.0)
        try:
            start = await s.put("/w/0", "0")
            w = s.watch("/w/", start)
            assert isinstance(w, EtcdWatch)
            got = Collector(w)
            written: list[int] = []
            stop = asyncio.Event()

            async def writer() -> None:
                i = 1
                while not stop.is_set():
                    written.append(await s.put(f"/w/{i % 7}", str(i)))
                    i += 1
                    await asyncio.sleep(0.01)

            wt = asyncio.ensure_future(writer())
            await got.wait(10)
            ids = {c.member_id(i): i for i in range(3)}
            victim = ids[w.member_id]
            c.kill(victim)
            n = len(written)
            deadline = time.monotonic() + 10
            while len(written) < n + 30:
                assert time.monotonic() < deadline and not wt.done(), f"writes stopped: {wt}"
                await asyncio.sleep(0.05)
            stop.set()
            await wt
            assert (await s.get("/w/1")) is not None
            assert (await s.txn([Compare("/new", 0)], [Put("/new", "1")])).succeeded
            await got.wait(len(written), timeout=10)
            assert w.streams >= 2 and ids[w.member_id] != victim  # resumed elsewhere
            truth = Collector(s.watch("/w/", start))
            want = await truth.wait(len(written))
            await asyncio.sleep(0.2)
            assert [row(e) for e in got.events] == [row(e) for e in want]
            assert [e.revision for e in got.events] == written  # every write once, in order
            await truth.close()
            await got.close()
            c.restart(victim)
            assert c.healthy(victim)
            assert await s.put("/after", "1") > written[-1]
        finally:
            await s.close()

    with EtcdCluster(3) as cluster:
        asyncio.run(go(cluster))
