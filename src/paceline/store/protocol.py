"""The Store protocol: a small etcd-shaped key-value store that every Paceline component talks to.

Invariants (every implementation):
- One cluster-wide `revision` increases by one with every committed write (put, delete or a
  successful transaction, whatever it contains); a key's `mod_revision` is the revision of its
  last write, `create_revision` of its creation, `version` counts its writes since creation.
- `txn` is atomic: all compares are checked and then either every `success` or every `failure`
  operation is applied, at one revision.
- A key attached to a lease is deleted when the lease expires or is revoked.
- `watch(prefix, start_revision)` yields every change to keys under `prefix` in revision order,
  starting after `start_revision` (or from now when None), without gaps or duplicates.
Values are text (JSON in practice).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

__all__ = [
    "Compare",
    "Delete",
    "EventType",
    "KeyValue",
    "LeaseExpired",
    "Put",
    "Store",
    "StoreError",
    "TxnResult",
    "Watch",
    "WatchEvent",
]


class StoreError(Exception):
    """The store could not do what was asked (closed, unknown lease, ...)."""


class LeaseExpired(StoreError):
    """The lease is gone (expired or revoked)."""


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: str
    create_revision: int
    mod_revision: int
    version: int
    lease: int | None = None


class EventType(Enum):
    PUT = "put"
    DELETE = "delete"


@dataclass(frozen=True)
class WatchEvent:
    """A change; for DELETE, `kv.value` is empty and `kv.mod_revision` is the deletion revision."""

    type: EventType
    kv: KeyValue

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


@dataclass(frozen=True)
class Compare:
    """Holds when `key`'s mod_revision equals `mod_revision` (0: the key does not exist)."""

    key: str
    mod_revision: int


@dataclass(frozen=True)
class Put:
    key: str
    value: str
    lease: int | None = None


@dataclass(frozen=True)
class Delete:
    """Delete `key`, or every key starting with it when `prefix`."""

    key: str
    prefix: bool = False


@dataclass(frozen=True)
class TxnResult:
    succeeded: bool
    revision: int


@runtime_checkable
class Watch(Protocol):
    def __aiter__(self) -> AsyncIterator[WatchEvent]: ...

    def close(self) -> None: ...


@runtime_checkable
class Store(Protocol):
    @property
    def revision(self) -> int: ...

    async def get(self, key: str) -> KeyValue | None: ...

    async def range(self, prefix: str, revision: int | None = None) -> tuple[list[KeyValue], int]:
        """Every key under `prefix`, sorted by key, and the revision they were read at: the
        latest, or `revision` (several ranges at one revision are one consistent snapshot; a
        revision the store no longer has raises StoreError)."""
        ...

    async def put(self, key: str, value: str, lease: int | None = None) -> int: ...

    async def delete(self, key: str, prefix: bool = False) -> int:
        """The number of keys deleted."""
        ...

    async def txn(
        self, compares: list[Compare], success: list[Put | Delete], failure: list[Put | Delete] | None = None
    ) -> TxnResult: ...

    async def grant_lease(self, ttl_s: float) -> int: ...

    async def refresh_lease(self, lease: int) -> None:
        """Raises LeaseExpired when the lease is gone."""
        ...

    async def revoke_lease(self, lease: int) -> None: ...

    def watch(self, prefix: str, start_revision: int | None = None) -> Watch: ...

    async def close(self) -> None: ...
