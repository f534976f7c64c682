"""The cluster's configuration: one version in the store (`config/current`), followed by every node.

Invariants:
- The store's current version is the cluster's configuration. A node that starts with a file
  that differs runs the store's version (and says so); its file only seeds a cluster that has none.
- `config apply` on any node checks the file as `run` does (`check_text`) plus what a running
  cluster cannot take (`cluster_refusals`), then stores it as the next version in one
  compare-and-swap transaction; nothing else changes at that moment.
- Every node follows `config/current` (`follow_config`) and switches to each new version; the DC
  stops what the change redefines or removes (`restart_set`), switches its controller to the new
  version, and the next pass starts what should run.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace

from ..controller.records import PREFIX
from ..controller.statedb import Snapshot
from ..controller.view import walk_primitives
from ..model.config import Configuration
from ..node.roles import active_anywhere
from ..store import EventType, Store, StoreError
from .configsrc import changed_primitives

__all__ = ["CONFIG_KEY", "cluster_config", "cluster_refusals", "follow_config", "primitive_of", "restart_set"]

log = logging.getLogger("paceline.daemon")

CONFIG_KEY = PREFIX + "config/current"


def cluster_config(config: Configuration) -> Configuration:
    """The configuration as a cluster runs it: fencing on, the lease watchdog counted as fencing."""
    opts = replace(config.options, stonith_enabled=True, watchdog_fencing=True)
    return replace(config, options=opts)


def cluster_refusals(
    new: Configuration, running: Configuration, node: str, members: Iterable[str]
) -> list[str]:
    """Why a running cluster cannot switch to `new` ([] when it can)."""
    out = []
    if not (new.store or "").startswith("etcd"):
        out.append(
            "a cluster's configuration needs its cluster.store (etcd://...): without it every node "
            "would have to be restarted alone"
        )
    elif new.store != running.store or new.name != running.name:
        out.append(
            f"cluster.name and cluster.store cannot change in a running cluster ({running.name} on "
            f"{running.store}): restart every node with the new file instead"
        )
    names = {n.name for n in new.nodes}
    gone = sorted(m for m in members if m not in names)
    if gone:
        out.append(f"nodes {', '.join(gone)} are members of the cluster: stop them before removing them")
    if node not in names and node not in gone:
        out.append(f"this node ({node}) is not among the configuration's nodes")
    timing = ("lease_ttl_s", "heartbeat_interval_s")
    if any(getattr(new.options, t) != getattr(running.options, t) for t in timing):
        out.append("lease-ttl and heartbeat-interval cannot change in a running cluster: restart every node")
    return out


def primitive_of(rid: str) -> str:
    """The primitive id of a history resource id (`db:1`, a clone instance -> `db`)."""
    head, _, tail = rid.rpartition(":")
    return head if head and tail.isdigit() else rid


def restart_set(old: Configuration, new: Configuration, snap: Snapshot) -> tuple[set[str], set[str]]:
    """(redefined, to restart): primitives whose definition changed, and of those plus the
    removed ones, what runs somewhere now (by primitive id)."""
    redefined = changed_primitives(old, new)
    new_ids = {p.id for p, _, _ in walk_primitives(new)}
    removed = {p.id for p, _, _ in walk_primitives(old) if p.id not in new_ids}
    active = {primitive_of(rid) for rids in active_anywhere(snap.history).values() for rid in rids}
    return redefined, (redefined | removed) & active


async def follow_config(store: Store, on_version: Callable[[int, str, str], Awaitable[None]]) -> None:
    """Call `on_version(version, text, source)` with the current version, then with every new
    one (a watch resumed after store errors, from a fresh read: no version is missed for good)."""
    while True:
        try:
            kv = await store.get(CONFIG_KEY)
            rev = store.revision
            if kv is not None:
                await _deliver(kv.value, on_version)
            watch = store.watch(CONFIG_KEY, rev + 1)
            try:
                async for ev in watch:
                    if ev.type is EventType.PUT and ev.kv.key == CONFIG_KEY:
                        await _deliver(ev.kv.value, on_version)
            finally:
                watch.close()
        except StoreError as e:
            log.debug("configuration watch: %s", e)
            await asyncio.sleep(0.5)


async def _deliver(value: str, on_version: Callable[[int, str, str], Awaitable[None]]) -> None:
    body = json.loads(value)
    await on_version(int(body["version"]), str(body["text"]), str(body.get("source", "")))
