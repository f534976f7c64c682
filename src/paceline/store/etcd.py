"""`EtcdStore`: the Store protocol on an etcd v3 cluster (through aetcd's gRPC channel and stubs).

Invariants beyond the protocol's:
- Every key written is `namespace + key`; every key read or watched has the namespace stripped, and
  no operation reaches outside the namespace: in a namespace (trailing "/" dropped), keys must start
  with "/" and the prefix "" means `namespace + "/"`, so "/clusters/a" never sees "/clusters/ab/...".
  Values are UTF-8 text (bytes that are not UTF-8 are decoded with replacement characters).
- `revision` is the highest revision seen in any response header (reads, writes, watches): it never
  goes backwards.
- Every call has a deadline of `call_timeout` seconds in total. Reads (get, range), put, delete,
  lease grant/refresh/revoke are retried within that deadline (at most `MAX_ATTEMPTS` tries, each
  at most half the deadline, exponential backoff from 50 ms) when etcd or the connection is
  unavailable or a try times out (a request stuck on a member whose leader died). A transaction is
  retried only when the error proves it never reached a member's apply path (no member reachable,
  or the member refused it for having no leader); otherwise the StoreError says it may have been
  applied, and the caller decides (re-read and compare).
- Nothing but StoreError (LeaseExpired for a lease etcd no longer knows) leaves a method: gRPC and
  aetcd errors are translated, with the operation and etcd's own message.
- Every request carries etcd's "require leader" metadata: a member cut off from its cluster refuses
  at once ("no leader") instead of hanging until the deadline, and cancels its watch streams.
- The endpoints are one gRPC channel with round-robin over every member: a dead member is skipped,
  a restarted one is used again (reconnect backoff at most 1 s). Host names are resolved once, at
  `connect()`. When some (not all) members are on this machine, those come first and the channel
  picks the first that answers instead (`pick_first`): a node talks to its own member, which
  fails fast when it dies, rather than sending a share of its calls to a distant member that
  went silent (a black hole holds a call until its deadline).
- A watch is one gRPC stream of its own. When the stream fails (member killed, member without a
  leader, connection lost), it is re-created from the revision after the last event delivered: no
  gap, no duplicate. It gives up, raising StoreError from the iterator, when no member has accepted
  it again for `watch_reconnect_timeout` seconds, or when etcd has compacted a revision it still
  needs (a compacted start revision always raises, from the iterator, never yields nothing).
- DELETE events carry value "", version 0, mod_revision = the deletion revision, and the deleted
  key's create_revision and lease (from etcd's prev_kv; 0/None if etcd no longer has it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import math
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aetcd import Client as _AetcdClient
from aetcd import rpc as _rpc

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

__all__ = ["EndpointError", "EtcdStore", "EtcdWatch", "parse_endpoints"]

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_PORT = 2379
MAX_ATTEMPTS = 5
RANGE_PAGE = 1000
# "require leader": the member answers "etcdserver: no leader" instead of waiting for one.
_METADATA = (("hasleader", "true"),)
_CHANNEL_OPTIONS: dict[str, Any] = {
    "grpc.lb_policy_name": "round_robin",
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.min_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1000,
    # find a silently dead member under an idle watch; etcd accepts pings every 5 s or more
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_timeout_ms": 5_000,
    "grpc.keepalive_permit_without_calls": 0,
    "grpc.http2.max_pings_without_data": 0,
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
}
# UNAVAILABLE details proving that a request was never applied: no member could be reached, or
# the member refused it before proposing it (etcd's "require leader" interceptor, or overload).
_UNSENT = (
    "connections to all backends failing",
    "failed to connect to all addresses",
    "etcdserver: no leader",
    "etcdserver: too many requests",
    "etcdserver: not capable",
)


class EndpointError(StoreError, ValueError):
    """A malformed etcd endpoint list."""


def parse_endpoints(url: str) -> list[tuple[str, int]]:
    """`"h1:p1,h2:p2"`, `"etcd://h1:p1,h2:p2"` or `"http://h1:p1,http://h2:p2"` -> [(h1, p1), ...].

    A missing port is 2379; IPv6 literals are written in brackets (`[::1]:2379`) and returned
    without them. Raises EndpointError (a StoreError and a ValueError) for an empty list or a
    malformed entry."""
    rest = url.strip()
    for scheme in ("etcd://", "etcds://"):
        if rest.startswith(scheme):
            rest = rest[len(scheme) :]
    out: list[tuple[str, int]] = []
    for raw in rest.split(","):
        item = raw.strip().rstrip("/")
        if not item:
            continue
        if "://" not in item:
            item = "//" + item
        try:
            parts = urlsplit(item)
            host, port = parts.hostname, parts.port
        except ValueError as e:
            raise EndpointError(f"bad etcd endpoint {raw.strip()!r} in {url!r}: {e}") from None
        if not host or (parts.path not in ("", "/")):
            raise EndpointError(f"bad etcd endpoint {raw.strip()!r} in {url!r}")
        out.append((host, port or DEFAULT_PORT))
    if not out:
        raise EndpointError(f"no etcd endpoint in {url!r}")
    return out


def _is_local(host: str) -> bool:
    """Whether `host` (an address) is one of this machine's (of this network namespace's)."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    family = socket.AF_INET if addr.version == 4 else socket.AF_INET6
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.bind((str(addr), 0))
        except OSError:
            return False
    return True


def _range_end(prefix: bytes) -> bytes:
    """etcd's range_end for "every key starting with prefix" (b"\\0": to the end of the keyspace)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return b"\0"
    return stripped[:-1] + bytes([stripped[-1] + 1])


def _code(e: BaseException) -> str:
    code = getattr(e, "code", None)
    if callable(code):
        with contextlib.suppress(Exception):
            return str(code().name)
    return type(e).__name__


def _details(e: BaseException) -> str:
    details = getattr(e, "details", None)
    if callable(details):
        with contextlib.suppress(Exception):
            return str(details() or "")
    return str(e)


def _is_rpc_error(e: BaseException) -> bool:
    return isinstance(e, _rpc.AioRpcError)


def _transient(e: BaseException) -> bool:
    """The member or the connection is unavailable (the request may or may not have been applied)."""
    if isinstance(e, _Transient | TimeoutError):
        return True
    return _is_rpc_error(e) and _code(e) in ("UNAVAILABLE", "DEADLINE_EXCEEDED")


_REFUSED = (
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "OUT_OF_RANGE",
    "FAILED_PRECONDITION",
    "RESOURCE_EXHAUSTED",
    "PERMISSION_DENIED",
    "UNAUTHENTICATED",
    "ALREADY_EXISTS",
    "UNIMPLEMENTED",
)


def _maybe_applied(e: BaseException) -> bool:
    """A write that failed with `e` may have been applied (etcd did not refuse it outright)."""
    return not _unsent(e) and not (_is_rpc_error(e) and _code(e) in _REFUSED)


def _unsent(e: BaseException) -> bool:
    """The error proves the request was never applied."""
    return _is_rpc_error(e) and _code(e) == "UNAVAILABLE" and any(s in _details(e) for s in _UNSENT)


async def _finish(call: Any) -> None:
    """Cancel a streaming call and wait for gRPC to report it ended (even in a cancelled task):
    a call left to finish after its event loop closed makes gRPC log "Event loop is closed"."""
    call.cancel()
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(asyncio.shield(call.code()), 1.0)


class _Transient(Exception):
    """A stream ended without a status (the member went away)."""


class EtcdWatch:
    """Events under a prefix, from one etcd watch stream that is re-created after every failure.

    `__aiter__` yields WatchEvents in revision order; it raises StoreError when the watch cannot
    continue without a gap (compacted revision, cluster unreachable for too long). `close()` ends
    the iteration (an `async for` over it returns)."""

    def __init__(self, store: EtcdStore, prefix: str, start_revision: int | None) -> None:
        self._store = store
        self.prefix = prefix
        self._key = store._k(prefix, prefix=True)
        # the etcd start revision (inclusive) of the next stream; None: "now", until a stream exists
        self._next: int | None = None if start_revision is None else start_revision + 1
        self._queue: asyncio.Queue[WatchEvent | StoreError | None] = asyncio.Queue()
        self._closed = False
        self._established = False  # the current stream was created (reset the backoff on failure)
        self.streams = 0  # streams created so far (more than one: the watch was resumed)
        self.member_id = 0  # the etcd member serving the current stream (from its header)
        self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def next_revision(self) -> int | None:
        """The first revision not yet delivered (None: a watch from now that has not started)."""
        return self._next

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[WatchEvent]:
        while True:
            item = await self._queue.get()
            if item is None:
                self._queue.put_nowait(None)  # every later iteration ends too
                return
            if isinstance(item, StoreError):
                self._queue.put_nowait(None)
                raise item
            yield item

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._task.cancel()
        self._store._watches.discard(self)
        self._queue.put_nowait(None)

    async def _wait_closed(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def _fail(self, message: str) -> None:
        if not self._closed:
            self._queue.put_nowait(StoreError(message))
        self._closed = True
        self._store._watches.discard(self)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        attempt = 0
        failing_since: float | None = None
        try:
            while True:
                try:
                    await self._stream()
                except _Compacted as e:
                    self._fail(str(e))
                    return
                except (_Transient, TimeoutError, _rpc.AioRpcError, StoreError) as e:
                    # StoreError: connect() found no member (or the store was closed)
                    if self._store._closed:
                        self._fail(f"etcd watch of {self.prefix!r}: the store is closed")
                        return
                    if self._established:
                        self._established = False
                        failing_since, attempt = loop.time(), 0
                    elif failing_since is None:
                        failing_since = loop.time()
                    waited = loop.time() - failing_since
                    limit = self._store.watch_reconnect_timeout
                    log.debug("watch %r: %s: %s (re-creating it)", self.prefix, _code(e), _details(e))
                    if waited >= limit:
                        self._fail(
                            f"etcd watch of {self.prefix!r} lost: not re-established within {limit:g} s"
                            f" from revision {self._next} ({_code(e)}: {_details(e)})"
                        )
                        return
                    await asyncio.sleep(min(0.05 * 2**attempt, 1.0, max(0.0, limit - waited)))
                    attempt += 1
        except asyncio.CancelledError:
            raise
        except Exception as e:  # never a raw exception out of the iterator
            self._fail(f"etcd watch of {self.prefix!r} failed: {e!r}")

    async def _stream(self) -> None:
        store = self._store
        stub = await store._watch_stub()
        key = self._key
        create = _rpc.WatchCreateRequest(
            key=key or b"\0",
            range_end=_range_end(key),
            start_revision=self._next or 0,
            prev_kv=True,
        )
        call = stub.Watch(metadata=_METADATA)
        try:
            await call.write(_rpc.WatchRequest(create_request=create))
            resp = await asyncio.wait_for(call.read(), store.call_timeout)
            if not isinstance(resp, _rpc.WatchResponse) or not resp.created:
                raise _Transient("the watch stream ended before the watch was created")
            store._seen(resp.header)
            self._check(resp)
            if self._next is None:
                self._next = int(resp.header.revision) + 1
            self._established = True
            self.streams += 1
            self.member_id = int(resp.header.member_id)
            while True:
                resp = await call.read()
                if not isinstance(resp, _rpc.WatchResponse):
                    raise _Transient("the watch stream ended")
                store._seen(resp.header)
                self._check(resp)
                if resp.events:
                    events = [store._event(ev) for ev in resp.events]
                    for ev in events:
                        self._queue.put_nowait(ev)
                    # etcd never splits one revision's events over two responses (fragment off)
                    self._next = events[-1].revision + 1
        finally:
            await _finish(call)

    def _check(self, resp: Any) -> None:
        if resp.compact_revision:
            raise _Compacted(
                f"etcd watch of {self.prefix!r}: revision {(self._next or 1) - 1} is compacted"
                f" (etcd keeps history from revision {resp.compact_revision})"
            )
        if resp.canceled:
            raise _Transient(f"etcd canceled the watch: {resp.cancel_reason or 'no reason given'}")


class _Compacted(Exception):
    pass


class EtcdStore:
    """The Store protocol on etcd; `store = await EtcdStore.open("etcd://h1:p1,h2:p2", namespace=...)`.

    `namespace` (e.g. "/clusters/<name>") is prepended to every key; callers use their own keys."""

    def __init__(
        self,
        endpoints: str,
        namespace: str = "",
        call_timeout: float = 2.0,
        *,
        watch_reconnect_timeout: float | None = None,
    ) -> None:
        self.endpoints = parse_endpoints(endpoints)
        self.namespace = namespace.rstrip("/")
        self._ns = self.namespace.encode()
        self.call_timeout = call_timeout
        self.watch_reconnect_timeout = (
            5 * call_timeout if watch_reconnect_timeout is None else watch_reconnect_timeout
        )
        self._client: Any = None
        self._connect_lock = asyncio.Lock()
        self._revision = 0
        self._watches: set[EtcdWatch] = set()
        self._closed = False

    @classmethod
    async def open(cls, endpoints: str, namespace: str = "", call_timeout: float = 2.0) -> EtcdStore:
        """A connected store (raises StoreError when no member answers within `call_timeout`)."""
        store = cls(endpoints, namespace, call_timeout)
        await store.connect()
        return store

    def __repr__(self) -> str:
        eps = ",".join(f"{h}:{p}" for h, p in self.endpoints)
        return f"EtcdStore(etcd://{eps}, namespace={self.namespace!r})"

    # -- connection ------------------------------------------------------------------------------
    async def _target(self) -> tuple[str, int]:
        """aetcd joins host and port as f"{host}:{port}": a gRPC ipv4:/ipv6: list of every member."""
        loop = asyncio.get_running_loop()
        v4: list[tuple[str, int]] = []
        v6: list[tuple[str, int]] = []
        for host, port in self.endpoints:
            try:
                addrs = [ipaddress.ip_address(host)]
            except ValueError:
                try:
                    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                except OSError as e:
                    raise StoreError(f"etcd endpoint {host}:{port}: {e}") from None
                addrs = [ipaddress.ip_address(info[4][0]) for info in infos]
            for a in dict.fromkeys(addrs):
                (v4 if a.version == 4 else v6).append((str(a), port))
        # the members on this machine first (stable sort): with `pick_first` (see `connect`) a node
        # talks to its own member, and a distant member that went silent cannot hold its calls
        v4.sort(key=lambda hp: not _is_local(hp[0]))
        v6.sort(key=lambda hp: not _is_local(hp[0]))
        if v4:
            hosts = [f"{h}:{p}" for h, p in v4]
            scheme = "ipv4"
        else:
            hosts = [f"[{h}]:{p}" for h, p in v6]
            scheme = "ipv6"
        last = hosts[-1].rpartition(":")
        return f"{scheme}:{','.join([*hosts[:-1], last[0]])}", int(last[2])

    async def connect(self) -> None:
        """Open the channel and check that the cluster answers (one read, which sets `revision`)."""
        async with self._connect_lock:
            if self._closed:
                raise StoreError("store is closed")
            if self._client is not None:
                return
            host, port = await self._target()
            options = dict(_CHANNEL_OPTIONS)
            local = [_is_local(h) for h, _ in self.endpoints]
            if any(local) and not all(local):
                options["grpc.lb_policy_name"] = "pick_first"
            client = _AetcdClient(host=host, port=port, options=options)
            try:
                await client.connect()
            except Exception as e:
                raise StoreError(f"etcd at {self.endpoints}: cannot open a channel: {e!r}") from None
            self._client = client
        try:
            probe = self._k("/", prefix=True) if self._ns else b"\0"
            await self._call("connect", lambda t: self._range_page(probe, b"", 1, 0, t))
        except StoreError:
            await self._drop_client()
            raise

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()

    async def _stubs(self) -> Any:
        if self._closed:
            raise StoreError("store is closed")
        if self._client is None:
            await self.connect()
        return self._client

    async def _watch_stub(self) -> Any:
        client = await self._stubs()
        return _rpc.WatchStub(client.channel)

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def revision(self) -> int:
        return self._revision

    def _seen(self, header: Any) -> None:
        rev = int(header.revision)
        if rev > self._revision:
            self._revision = rev

    def _k(self, key: str, prefix: bool = False) -> bytes:
        """The etcd key of `key` (of the prefix `key` when `prefix`)."""
        if not self._ns:
            return key.encode()
        if prefix and not key:
            return self._ns + b"/"
        if not key.startswith("/"):
            raise StoreError(f"key {key!r} does not start with '/' (namespace {self.namespace!r})")
        return self._ns + key.encode()

    def _unk(self, key: bytes) -> str:
        return key[len(self._ns) :].decode("utf-8", "replace")

    def _kv(self, kv: Any) -> KeyValue:
        return KeyValue(
            self._unk(kv.key),
            bytes(kv.value).decode("utf-8", "replace"),
            int(kv.create_revision),
            int(kv.mod_revision),
            int(kv.version),
            int(kv.lease) or None,
        )

    def _event(self, ev: Any) -> WatchEvent:
        if ev.type == _rpc.Event.DELETE:
            prev = ev.prev_kv if ev.HasField("prev_kv") else None
            kv = KeyValue(
                self._unk(ev.kv.key),
                "",
                int(prev.create_revision) if prev is not None else 0,
                int(ev.kv.mod_revision),
                0,
                (int(prev.lease) or None) if prev is not None else None,
            )
            return WatchEvent(EventType.DELETE, kv)
        return WatchEvent(EventType.PUT, self._kv(ev.kv))

    def _error(self, what: str, e: BaseException, maybe_applied: bool = False) -> StoreError:
        details = _details(e)
        if "lease not found" in details:
            return LeaseExpired(f"etcd {what}: the lease has expired or was revoked ({details})")
        if "revision has been compacted" in details:
            return StoreError(f"etcd {what}: the revision is compacted ({details})")
        tail = " (it may or may not have been applied)" if maybe_applied else ""
        return StoreError(f"etcd {what} failed{tail}: {_code(e)}: {details or e!r}")

    async def _call(
        self, what: str, attempt: Callable[[float], Awaitable[T]], *, idempotent: bool = True
    ) -> T:
        """Run `attempt(timeout)` within `call_timeout` in total, retrying what may be retried."""
        await self._stubs()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.call_timeout
        # a retried call's first tries get half the budget: a request stuck on a member that lost
        # its leader (etcd does not re-propose it) leaves time to retry once a new one is elected
        per_try = self.call_timeout / 2 if idempotent else self.call_timeout
        tries = 0
        while True:
            tries += 1
            try:
                return await attempt(max(0.01, min(per_try, deadline - loop.time())))
            except asyncio.CancelledError:
                raise
            except StoreError:
                raise
            except Exception as e:
                retry = _unsent(e) or (idempotent and _transient(e))
                delay = 0.05 * 2 ** (tries - 1)
                if self._closed or not retry or tries >= MAX_ATTEMPTS or loop.time() + delay >= deadline:
                    raise self._error(what, e, maybe_applied=not idempotent and _maybe_applied(e)) from None
                log.debug("etcd %s: %s: %s (try %d)", what, _code(e), _details(e), tries + 1)
                await asyncio.sleep(delay)

    async def _range_page(self, key: bytes, end: bytes, limit: int, revision: int, timeout: float) -> Any:
        req = _rpc.RangeRequest(
            key=key,
            range_end=end,
            limit=limit,
            revision=revision,
            sort_order=_rpc.RangeRequest.ASCEND,
            sort_target=_rpc.RangeRequest.KEY,
        )
        resp = await self._client.kvstub.Range(req, timeout=timeout, metadata=_METADATA)
        self._seen(resp.header)
        return resp

    def _op(self, op: Put | Delete) -> Any:
        if isinstance(op, Put):
            return _rpc.RequestOp(
                request_put=_rpc.PutRequest(key=self._k(op.key), value=op.value.encode(), lease=op.lease or 0)
            )
        key = self._k(op.key, op.prefix)
        if op.prefix:
            req = _rpc.DeleteRangeRequest(key=key or b"\0", range_end=_range_end(key))
        else:
            req = _rpc.DeleteRangeRequest(key=key)
        return _rpc.RequestOp(request_delete_range=req)

    # -- the protocol ----------------------------------------------------------------------------
    async def get(self, key: str) -> KeyValue | None:
        k = self._k(key)
        resp = await self._call(f"get {key!r}", lambda t: self._range_page(k, b"", 0, 0, t))
        return self._kv(resp.kvs[0]) if resp.kvs else None

    async def range(self, prefix: str, revision: int | None = None) -> tuple[list[KeyValue], int]:
        """Every key under `prefix` (sorted), read in pages of RANGE_PAGE keys at one revision."""
        start = self._k(prefix, prefix=True)
        end = _range_end(start)
        key = start or b"\0"
        at = revision or 0
        out: list[KeyValue] = []
        while True:
            resp = await self._call(
                f"range {prefix!r}",
                functools.partial(self._range_page, key, end, RANGE_PAGE, at),
            )
            if at == 0:
                at = int(resp.header.revision)
            out.extend(self._kv(kv) for kv in resp.kvs)
            if not resp.more or not resp.kvs:
                return out, at
            key = bytes(resp.kvs[-1].key) + b"\0"

    async def put(self, key: str, value: str, lease: int | None = None) -> int:
        req = _rpc.PutRequest(key=self._k(key), value=value.encode(), lease=lease or 0)

        async def attempt(timeout: float) -> int:
            resp = await self._client.kvstub.Put(req, timeout=timeout, metadata=_METADATA)
            self._seen(resp.header)
            return int(resp.header.revision)

        return await self._call(f"put {key!r}", attempt)

    async def delete(self, key: str, prefix: bool = False) -> int:
        req = self._op(Delete(key, prefix)).request_delete_range

        async def attempt(timeout: float) -> int:
            resp = await self._client.kvstub.DeleteRange(req, timeout=timeout, metadata=_METADATA)
            self._seen(resp.header)
            return int(resp.deleted)

        return await self._call(f"delete {key!r}", attempt)

    async def txn(
        self, compares: list[Compare], success: list[Put | Delete], failure: list[Put | Delete] | None = None
    ) -> TxnResult:
        """Compare(key, n): the key's mod_revision == n (etcd compares a missing key's as 0).

        Not retried unless the request provably never reached etcd's apply path."""
        req = _rpc.TxnRequest(
            compare=[
                _rpc.Compare(
                    result=_rpc.Compare.EQUAL,
                    target=_rpc.Compare.MOD,
                    key=self._k(c.key),
                    mod_revision=c.mod_revision,
                )
                for c in compares
            ],
            success=[self._op(op) for op in success],
            failure=[self._op(op) for op in failure or []],
        )

        async def attempt(timeout: float) -> TxnResult:
            resp = await self._client.kvstub.Txn(req, timeout=timeout, metadata=_METADATA)
            self._seen(resp.header)
            return TxnResult(bool(resp.succeeded), int(resp.header.revision))

        return await self._call("txn", attempt, idempotent=False)

    async def grant_lease(self, ttl_s: float) -> int:
        """A lease of ceil(ttl_s) seconds (at least 1; etcd may raise it to its minimum TTL).

        Retried: a lost answer leaves at worst an unused lease that expires by itself."""
        req = _rpc.LeaseGrantRequest(TTL=max(1, math.ceil(ttl_s)))

        async def attempt(timeout: float) -> int:
            resp = await self._client.leasestub.LeaseGrant(req, timeout=timeout, metadata=_METADATA)
            self._seen(resp.header)
            if resp.error:
                raise StoreError(f"etcd grant lease: {resp.error}")
            return int(resp.ID)

        return await self._call("grant lease", attempt)

    async def refresh_lease(self, lease: int) -> None:
        """One keep-alive round trip; LeaseExpired when etcd answers TTL <= 0 (lease gone)."""

        async def attempt(timeout: float) -> int:
            call = self._client.leasestub.LeaseKeepAlive(timeout=timeout, metadata=_METADATA)
            try:
                await call.write(_rpc.LeaseKeepAliveRequest(ID=lease))
                resp = await call.read()
            finally:
                await _finish(call)
            if not isinstance(resp, _rpc.LeaseKeepAliveResponse):
                raise _Transient("the keep-alive stream ended without an answer")
            self._seen(resp.header)
            return int(resp.TTL)

        ttl = await self._call(f"refresh lease {lease}", attempt)
        if ttl <= 0:
            raise LeaseExpired(f"lease {lease} has expired or was revoked")

    async def revoke_lease(self, lease: int) -> None:
        """Revoke the lease (deleting its keys); a lease that is already gone is no error."""
        req = _rpc.LeaseRevokeRequest(ID=lease)

        async def attempt(timeout: float) -> None:
            try:
                resp = await self._client.leasestub.LeaseRevoke(req, timeout=timeout, metadata=_METADATA)
            except _rpc.AioRpcError as e:
                if "lease not found" in _details(e):
                    return
                raise
            self._seen(resp.header)

        await self._call(f"revoke lease {lease}", attempt)

    def watch(self, prefix: str, start_revision: int | None = None) -> EtcdWatch:
        """Events under `prefix` after `start_revision` (None: from when etcd creates the watch,
        which starts at once in the background). Must be called with a running event loop."""
        if self._closed:
            raise StoreError("store is closed")
        w = EtcdWatch(self, prefix, start_revision)
        self._watches.add(w)
        return w

    async def compact(self, revision: int) -> None:
        """Drop the history before `revision` (cluster-wide: every namespace of this etcd).

        Watches and ranges from an older revision then raise StoreError."""

        async def attempt(timeout: float) -> None:
            req = _rpc.CompactionRequest(revision=revision, physical=True)
            resp = await self._client.kvstub.Compact(req, timeout=timeout, metadata=_METADATA)
            self._seen(resp.header)

        await self._call(f"compact {revision}", attempt)

    async def close(self) -> None:
        """Close every watch and the channel; later calls raise StoreError."""
        if self._closed:
            return
        self._closed = True
        watches = list(self._watches)
        for w in watches:
            w.close()
        await asyncio.gather(*(w._wait_closed() for w in watches))
        await self._drop_client()
        # let gRPC deliver the last completions of cancelled streams to this loop (a loop closed
        # with some pending makes gRPC log "Event loop is closed" from the next loop using it)
        await asyncio.sleep(0.02)
