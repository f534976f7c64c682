"""`ClusterExecutor`: the DC's side of running a transition on many nodes, through the store.

The controller hands it one action at a time (the Executor protocol, the Planner-like seam): it
writes the action under `actions/<node>/<id>` in a transaction that compares the DC key's
revision with this DC's token, so a deposed DC cannot dispatch anything, and waits for the
node's `done/<node>/<id>`.

Invariants:
- An action is dispatched only to the node it names, at most once, with this DC's token.
- `execute` returns True only when the node recorded the action as done and ok; False when it
  failed, when the node left (its member key is gone), was fenced or is to be fenced, when no
  answer came within the action's timeout plus `slack_s`, or when this DC was deposed (then
  `deposed` is set and the controller must stop).
- Fencing actions are the `Fencer`'s (they run here, on the DC, never on the victim).
- Recurring monitors and node attributes are each node's own business: `sync_monitors` does
  nothing here and `attributes` is empty (the view reads every node's from the store).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Mapping
from typing import Protocol

from ..model.config import Configuration
from ..model.state import OpRecord
from ..scheduler.transition import Action, ActionKind
from ..store import Compare, Delete, EventType, Put, Store, StoreError
from .records import DC_KEY, DONE, FENCED, MEMBERS, NODES, PREFIX, action_key, done_key

__all__ = ["ClusterExecutor", "Deposed", "NodeFencer"]

log = logging.getLogger("paceline.controller")


class Deposed(Exception):
    """This node is no longer the DC: its token no longer matches the DC key."""


class NodeFencer(Protocol):
    async def fence(self, node: str, reason: str) -> bool: ...


class ClusterExecutor:
    def __init__(self, store: Store, token: int, fencer: NodeFencer, slack_s: float = 10.0) -> None:
        self.store = store
        self.token = token
        self.fencer = fencer
        self.slack_s = slack_s
        self.config = Configuration()
        self.deposed = False
        self._ids = itertools.count(1)
        self._waiting: dict[tuple[str, str], asyncio.Future[bool]] = {}
        self._watch_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start following answers and departures (from the current revision on)."""
        _, rev = await self.store.range(DONE)
        self._watch_task = asyncio.ensure_future(self._follow(rev))

    async def close(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, StoreError):
                await self._watch_task
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_result(False)

    async def _follow(self, rev: int) -> None:
        watch = self.store.watch(PREFIX, rev)
        try:
            async for ev in watch:
                key = ev.kv.key
                if key.startswith(DONE) and ev.type is EventType.PUT:
                    node, _, aid = key[len(DONE) :].partition("/")
                    fut = self._waiting.get((node, aid))
                    if fut is not None and not fut.done():
                        fut.set_result(bool(json.loads(ev.kv.value).get("ok")))
                elif key.startswith(MEMBERS) and ev.type is EventType.DELETE:
                    self._abandon(key[len(MEMBERS) :])
                elif key.startswith(FENCED) and ev.type is EventType.PUT:
                    self._abandon(key[len(FENCED) :])
                elif key.startswith(NODES) and ev.type is EventType.PUT:
                    if json.loads(ev.kv.value).get("fence_requested"):
                        self._abandon(key[len(NODES) :])
                elif key == DC_KEY and ev.type is EventType.DELETE:
                    self.deposed = True
                    for fut in self._waiting.values():
                        if not fut.done():
                            fut.set_result(False)
        finally:
            watch.close()

    def _abandon(self, gone: str) -> None:
        """`gone` left, was fenced or is to be fenced: no answer from it is awaited any more."""
        for (node, _), fut in self._waiting.items():
            if node == gone and not fut.done():
                fut.set_result(False)

    # -- the Executor protocol -------------------------------------------------------------------
    async def execute(self, action: Action) -> bool:
        if action.kind is ActionKind.FENCE:
            return await self.fencer.fence(action.node, action.reason or "unclean")
        return await self.dispatch(action.node, _body(action, self.token))

    async def dispatch(self, node: str, body: dict[str, object], timeout_s: float | None = None) -> bool:
        """Ask `node` to do `body` (an action, or a `reprobe`); True when it answered ok."""
        if self.deposed:
            return False
        aid = f"{self.token}-{next(self._ids):06d}"
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting[(node, aid)] = fut
        try:
            res = await self.store.txn(
                [Compare(DC_KEY, self.token)], [Put(action_key(node, aid), json.dumps(body, sort_keys=True))]
            )
            if not res.succeeded:
                self.deposed = True
                log.warning("no longer the DC (token %d is stale): dispatching nothing", self.token)
                return False
            wait = timeout_s if timeout_s is not None else _timeout_s(self.config, body) + self.slack_s
            try:
                return await asyncio.wait_for(fut, wait)
            except TimeoutError:
                log.warning("%s did not answer %s within %gs", node, body.get("kind"), wait)
                return False
        finally:
            self._waiting.pop((node, aid), None)
            with contextlib.suppress(StoreError):
                await self.store.txn([], [Delete(done_key(node, aid)), Delete(action_key(node, aid))])

    def sync_monitors(self, history: tuple[OpRecord, ...], paused: bool = False) -> None:
        """Each node runs its own recurring monitors."""

    def cannot_run(self, action: Action) -> str | None:
        """Everything is tried (the Fencer decides about fencing)."""
        return None

    def attributes(self) -> Mapping[str, str]:
        return {}

    async def reload(self, rsc: str, action: str) -> bool:
        raise NotImplementedError("reloads in a cluster are planned by the scheduler (restart)")


def _body(action: Action, token: int) -> dict[str, object]:
    return {
        "kind": action.kind.value,
        "resource": action.resource,
        "interval_ms": action.interval_ms,
        "reason": action.reason,
        "token": token,
        "id": action.id,
    }


def _timeout_s(config: Configuration, body: Mapping[str, object]) -> float:
    """The action's own timeout (seconds), else 20 s; a reprobe gets 60 s."""
    if body.get("kind") == "reprobe":
        return 60.0
    rsc = str(body.get("resource", ""))
    base = rsc.rsplit(":", 1)[0] if rsc.rsplit(":", 1)[-1].isdigit() else rsc
    for prim in config.primitives():
        if prim.id == base:
            interval = body.get("interval_ms", 0)
            op = prim.operation(str(body.get("kind")), interval if isinstance(interval, int) else 0)
            if op is not None and op.timeout_ms:
                return op.timeout_ms / 1000
    return 20.0
