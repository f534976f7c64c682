"""Heartbeats: when a node counts as silent (and, where a fence device can fence it, is fenced).

Every node writes a heartbeat every `interval` seconds; every node watches everyone's. Pure: the
caller passes the monotonic times at which it *received* each node's last heartbeat.

The rule is relative, not absolute: a node is silent when its last heartbeat arrived more than
`limit` seconds before the observer's *own* last heartbeat arrived (the observer's beats make the
round trip through the same store). A store that stalls delays every heartbeat alike, the
observer's own included, so a stall (an etcd leader election, a slow disk) silences nobody; only a
node whose beats stop while others' keep flowing is silent. An observer whose own beats stopped
arriving (it is cut off from the store) judges nobody: its own view is stale.

`limit` is `misses` intervals plus half an interval of slack for jitter: with the default 3
misses, the beats due at +1, +2 and +3 intervals after the last one all failed to arrive.
Silence is a reason to fence a node with a device, never to assume it is stopped: only a
confirmed fencing (or its lease's expiry plus the watchdog argument in `model.leases`) says that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["HeartbeatPolicy"]


@dataclass(frozen=True)
class HeartbeatPolicy:
    interval: float = 0.1
    misses: int = 3
    grace: float = 2.0
    """A node is not judged until its beats have flowed this long: a node that just (re)joined
    is busy starting (imports, probes) and its store member may still be catching up."""

    @property
    def limit(self) -> float:
        """How far a node's last heartbeat may lag the observer's own before it is silent."""
        return (self.misses + 0.5) * self.interval

    def silent(
        self, arrivals: Mapping[str, float], observer: str, first: Mapping[str, float] | None = None
    ) -> dict[str, float]:
        """The nodes that are silent in the observer's view, each with how long it lagged.

        `arrivals` maps each node (the observer included) to when its last heartbeat arrived,
        `first` to when the first of its current run did (since it last joined); a node with no
        heartbeat yet, or heard from for less than `grace`, is not judged, nor is anyone while
        the observer has no heartbeat of its own."""
        mine = arrivals.get(observer)
        if mine is None:
            return {}
        first = first or {}
        out = {}
        for node, at in arrivals.items():
            began = first.get(node, at - self.grace)
            if node != observer and mine - at > self.limit and at - began >= self.grace:
                out[node] = mine - at
        return out
