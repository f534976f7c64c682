"""`EtcdStore`: the `Store` protocol on a real etcd cluster (v3 API, via aetcd's gRPC stubs).

Invariants beyond the protocol's:
- Several endpoints (`etcd://h1:p1,h2:p2,...`): one gRPC channel over all of them; a lost
  member is left for another.
- Every call has a timeout (`call_timeout`); reads, puts, deletes and lease calls are retried
  with backoff (3 tries) on an unavailable member. A transaction is never retried blindly (it
  may have been applied): a connection error there raises StoreError and the caller decides.
- No raw gRPC error escapes: StoreError, or LeaseExpired for a lease etcd does not know.
- `namespace` is prepended to every key sent and stripped from every key received.
- A watch lists nothing itself: it starts after `start_revision` (or now), and on any stream
  error it is re-created from the last revision it delivered + 1, so it never skips nor repeats
  an event. A compacted start revision raises StoreError from the iterator, never an empty watch.
- `revision` is the highest revision seen in any response header.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from .protocol import (
    Compare,
    Delete,
    EventType,
    KeyValue,
    LeaseExpired,
    Put,
    StoreError,
    TxnResult,
    WatchEvent,
)

__all__ = ["EtcdStore", "EtcdWatch", "parse_endpoints"]

T = TypeVar("T")


def parse_endpoints(url: str) -> list[tuple[str, int]]:
    """`etcd://h1:p1,h2:p2` or `h1:p1,h2:p2` -> [(h1, p1), (h2, p2)] (port 2379 by default)."""
    rest = url.removeprefix("etcd://").strip().rstrip("/")
    out: list[tuple[str, int]] = []
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        host, _, port = part.rpartition(":")
        if not host:
            host, port = port, "2379"
        try:
            out.append((host, int(port)))
        except ValueError:
            raise StoreError(f"bad etcd endpoint {part!r} in {url!r}") from None
    if not out:
        raise StoreError(f"no etcd endpoint in {url!r}")
    return out


def _prefix_end(key: bytes) -> bytes:
    b = bytearray(key)
    for i in range(len(b) - 1, -1, -1):
        if b[i] < 0xFF:
            b[i] += 1
            return bytes(b[: i + 1])
    return b"\0"


class EtcdStore:
    def __init__(self, endpoints: str, namespace: str = "", call_timeout: float = 2.0) -> None:
        self.endpoints = parse_endpoints(endpoints)
        self.namespace = namespace.rstrip("/")
        self.call_timeout = call_timeout
        self._revision = 0
        self._channel: Any = None
        self._kv: Any = None
        self._lease: Any = None
        self._watch_stub: Any = None
        self._rpc: Any = None
        self._closed = False
        self._watches: set[EtcdWatch] = set()

    @classmethod
    async def open(cls, url: str, namespace: str = "", call_timeout: float = 2.0) -> EtcdStore:
        store = cls(url, namespace, call_timeout)
        await store.connect()
        return store

    async def connect(self) -> None:
        from aetcd import rpc

        self._rpc = rpc
        target = "ipv4:" + ",".join(f"{h}:{p}" for h, p in self.endpoints)
        opts = [("grpc.initial_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 500)]
        self._channel = rpc.insecure_channel(target, options=opts)
        self._kv = rpc.KVStub(self._channel)
        self._lease = rpc.LeaseStub(self._channel)
        self._watch_stub = rpc.WatchStub(self._channel)
        await self._call(lambda: self._kv.Range(rpc.RangeRequest(key=self._k("/"), limit=1), timeout=self.call_timeout))

    # -- helpers -----------------------------------------------------------------------------
    def _k(self, key: str) -> bytes:
        return (self.namespace + key).encode()

    def _unk(self, key: bytes) -> str:
        return key.decode()[len(self.namespace) :]

    def _seen(self, header: Any) -> None:
        self._revision = max(self._revision, int(header.revision))

    def _kv_of(self, kv: Any) -> KeyValue:
        return KeyValue(
            self._unk(kv.key),
            kv.value.decode(),
            int(kv.create_revision),
            int(kv.mod_revision),
            int(kv.version),
            int(kv.lease) or None,
        )

    async def _call(self, fn: Callable[[], Awaitable[T]], retry: bool = True) -> T:
        if self._closed:
            raise StoreError("store is closed")
        tries = 3 if retry else 1
        delay = 0.05
        last: Exception | None = None
        for i in range(tries):
            try:
                return await fn()
            except Exception as e:
                code = getattr(e, "code", None)
                name = code().name if callable(code) else ""
                details = e.details() if hasattr(e, "details") and callable(e.details) else str(e)
                if "lease not found" in str(details):
                    raise LeaseExpired(str(details)) from None
                if "compacted" in str(details):
                    raise StoreError(f"etcd: {details}") from None
                last = StoreError(f"etcd {name or type(e).__name__}: {details}")
                if name not in ("UNAVAILABLE", "DEADLINE_EXCEEDED", "UNKNOWN", "") or i == tries - 1:
                    break
                await asyncio.sleep(delay)
                delay *= 2
        assert last is not None
        raise last

    # -- the protocol ----------------------------------------------------------------------------
    @property
    def revision(self) -> int:
        return self._revision

    async def get(self, key: str) -> KeyValue | None:
        rpc = self._rpc
        resp = await self._call(lambda: self._kv.Range(rpc.RangeRequest(key=self._k(key)), timeout=self.call_timeout))
        self._seen(resp.header)
        return self._kv_of(resp.kvs[0]) if resp.kvs else None

    async def range(self, prefix: str, revision: int | None = None) -> tuple[list[KeyValue], int]:
        rpc = self._rpc
        key = self._k(prefix)
        req = rpc.RangeRequest(key=key, range_end=_prefix_end(key), revision=revision or 0)
        resp = await self._call(lambda: self._kv.Range(req, timeout=self.call_timeout))
        self._seen(resp.header)
        kvs = sorted((self._kv_of(kv) for kv in resp.kvs), key=lambda kv: kv.key)
        return kvs, revision or int(resp.header.revision)

    def _op(self, op: Put | Delete) -> Any:
        rpc = self._rpc
        if isinstance(op, Put):
            return rpc.RequestOp(
                request_put=rpc.PutRequest(key=self._k(op.key), value=op.value.encode(), lease=op.lease or 0)
            )
        key = self._k(op.key)
        req = rpc.DeleteRangeRequest(key=key, range_end=_prefix_end(key) if op.prefix else b"")
        return rpc.RequestOp(request_delete_range=req)

    async def put(self, key: str, value: str, lease: int | None = None) -> int:
        rpc = self._rpc
        req = rpc.PutRequest(key=self._k(key), value=value.encode(), lease=lease or 0)
        resp = await self._call(lambda: self._kv.Put(req, timeout=self.call_timeout))
        self._seen(resp.header)
        return int(resp.header.revision)

    async def delete(self, key: str, prefix: bool = False) -> int:
        rpc = self._rpc
        k = self._k(key)
        req = rpc.DeleteRangeRequest(key=k, range_end=_prefix_end(k) if prefix else b"")
        resp = await self._call(lambda: self._kv.DeleteRange(req, timeout=self.call_timeout))
        self._seen(resp.header)
        return int(resp.deleted)

    async def txn(
        self, compares: list[Compare], success: list[Put | Delete], failure: list[Put | Delete] | None = None
    ) -> TxnResult:
        rpc = self._rpc
        cmp = [
            rpc.Compare(
                key=self._k(c.key),
                result=rpc.Compare.CompareResult.EQUAL,
                target=rpc.Compare.CompareTarget.MOD,
                mod_revision=c.mod_revision,
            )
            for c in compares
        ]
        req = rpc.TxnRequest(
            compare=cmp, success=[self._op(o) for o in success], failure=[self._op(o) for o in failure or []]
        )
        resp = await self._call(lambda: self._kv.Txn(req, timeout=self.call_timeout), retry=False)
        self._seen(resp.header)
        return TxnResult(bool(resp.succeeded), int(resp.header.revision))

    async def grant_lease(self, ttl_s: float) -> int:
        rpc = self._rpc
        req = rpc.LeaseGrantRequest(TTL=max(1, math.ceil(ttl_s)))
        resp = await self._call(lambda: self._lease.LeaseGrant(req, timeout=self.call_timeout))
        if resp.error:
            raise StoreError(f"etcd refused a lease: {resp.error}")
        return int(resp.ID)

    async def refresh_lease(self, lease: int) -> None:
        rpc = self._rpc

        async def once() -> Any:
            call = self._lease.LeaseKeepAlive(iter([rpc.LeaseKeepAliveRequest(ID=lease)]), timeout=self.call_timeout)
            async for reply in call:
                return reply
            return None

        reply = await self._call(once)
        if reply is None or int(reply.TTL) <= 0:
            raise LeaseExpired(f"lease {lease} has expired or was revoked")

    async def revoke_lease(self, lease: int) -> None:
        rpc = self._rpc
        with contextlib.suppress(LeaseExpired):
            await self._call(lambda: self._lease.LeaseRevoke(rpc.LeaseRevokeRequest(ID=lease), timeout=self.call_timeout))

    def watch(self, prefix: str, start_revision: int | None = None) -> EtcdWatch:
        if self._closed:
            raise StoreError("store is closed")
        w = EtcdWatch(self, prefix, start_revision)
        self._watches.add(w)
        return w

    async def compact(self, revision: int) -> None:
        """Compact the history up to `revision` (tests; operators use etcdctl)."""
        rpc = self._rpc
        await self._call(
            lambda: self._kv.Compact(rpc.CompactionRequest(revision=revision, physical=True), timeout=10)
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for w in list(self._watches):
            w.close()
        if self._channel is not None:
            await self._channel.close()


class EtcdWatch:
    """An async iterator of WatchEvents under a prefix, resumed after errors; `close()` ends it."""

    def __init__(self, store: EtcdStore, prefix: str, start_revision: int | None) -> None:
        self._store = store
        self.prefix = prefix
        self._next = (start_revision + 1) if start_revision is not None else None
        self._closed = asyncio.Event()
        self._call: Any = None

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[WatchEvent]:
        s = self._store
        rpc = s._rpc
        key = s._k(self.prefix)
        delay = 0.05
        while not self._closed.is_set():
            if self._next is None:
                _, rev = await s.range(self.prefix)  # "from now": after the current revision
                self._next = rev + 1
            create = rpc.WatchCreateRequest(key=key, range_end=_prefix_end(key), start_revision=self._next)
            queue: asyncio.Queue[Any] = asyncio.Queue()

            async def requests(q: asyncio.Queue[Any] = queue, c: Any = create) -> AsyncIterator[Any]:
                yield rpc.WatchRequest(create_request=c)
                await self._closed.wait()

            try:
                self._call = s._watch_stub.Watch(requests())
                async for resp in self._call:
                    delay = 0.05
                    if resp.compact_revision:
                        raise StoreError(
                            f"revision {self._next - 1} is compacted (etcd keeps from {resp.compact_revision})"
                        )
                    if resp.canceled:
                        raise StoreError(f"etcd cancelled the watch: {resp.cancel_reason}")
                    s._seen(resp.header)
                    for ev in resp.events:
                        kv = s._kv_of(ev.kv)
                        if kv.mod_revision < self._next:
                            continue  # already delivered before a resume
                        if ev.type == rpc.Event.EventType.DELETE:
                            out = WatchEvent(EventType.DELETE, KeyValue(kv.key, "", 0, kv.mod_revision, 0, None))
                        else:
                            out = WatchEvent(EventType.PUT, kv)
                        yield out
                        self._next = kv.mod_revision  # the next event may share this revision
                    if resp.events:
                        self._next = int(resp.events[-1].kv.mod_revision) + 1
            except StoreError:
                raise
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._closed.is_set():
                    return
                await asyncio.sleep(delay)
                delay = min(1.0, delay * 2)
            finally:
                if self._call is not None:
                    self._call.cancel()
                    self._call = None

    def close(self) -> None:
        self._closed.set()
        if self._call is not None:
            self._call.cancel()
        self._store._watches.discard(self)
