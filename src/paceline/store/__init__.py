"""The Store: revisions, compare-and-swap transactions, leases and prefix watches.

`MemoryStore` is the embedded store (one machine; with `SqlitePersistence` its durable keys
survive a daemon restart) and the fast test tier (with `VirtualClock`). `EtcdStore` is the same
`Store` protocol on an etcd cluster; it is imported on first use (`paceline.store.EtcdStore`, or
`paceline.store.etcd`), so importing this package does not load gRPC.
"""

from typing import TYPE_CHECKING, Any

from .clock import Clock, SystemClock, VirtualClock
from .memory import MemoryStore, MemoryWatch
from .persistence import Persistence, SqlitePersistence
from .protocol import (
    Compare,
    Delete,
    EventType,
    KeyValue,
    LeaseExpired,
    Put,
    Store,
    StoreError,
    TxnResult,
    Watch,
    WatchEvent,
)

if TYPE_CHECKING:
    from .etcd import EtcdStore, EtcdWatch, parse_endpoints

__all__ = [
    "Clock",
    "Compare",
    "Delete",
    "EtcdStore",
    "EtcdWatch",
    "EventType",
    "KeyValue",
    "LeaseExpired",
    "MemoryStore",
    "MemoryWatch",
    "Persistence",
    "Put",
    "SqlitePersistence",
    "Store",
    "StoreError",
    "SystemClock",
    "TxnResult",
    "VirtualClock",
    "Watch",
    "WatchEvent",
    "parse_endpoints",
]

_LAZY = {"EtcdStore", "EtcdWatch", "parse_endpoints"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import etcd

        return getattr(etcd, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
