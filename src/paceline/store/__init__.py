"""The Store: revisions, compare-and-swap transactions, leases and prefix watches.

`MemoryStore` is the embedded store (one machine; with `SqlitePersistence` its durable keys
survive a daemon restart) and the fast test tier (with `VirtualClock`). An etcd implementation
of the same `Store` protocol is a later issue.
"""

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

__all__ = [
    "Clock",
    "Compare",
    "Delete",
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
]
