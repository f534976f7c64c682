"""`ActionWorker`: this node's side of the cluster protocol: it runs what the DC dispatched to it.

It lists, then watches, `actions/<node>/` and for each action:
- refuses it (answers not ok, runs nothing) when its token is lower than the highest token this
  node has seen: a deposed DC's leftovers never run;
- ignores it while this node's lease is not valid (`may_act()` false): a node past its
  self-fence deadline runs nothing; the DC sees the node gone and gives up on the action;
- otherwise runs it through the `NodeAgent` (which records the result in the store), then writes
  `done/<node>/<id>` and deletes the action in one transaction, and re-syncs its recurring
  monitors from the history.
Kinds: the scheduler's action kinds, and `reprobe` (a new DC asks every node to re-read what
runs: probes whose answer disagrees with the history are recorded).
Actions on different resources run concurrently; the agent runner serialises one resource's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

from ..controller.records import ACTIONS, action_key, done_key
from ..scheduler.transition import Action, ActionKind
from ..store import Delete, EventType, Put, Store, StoreError
from .agent import NodeAgent

__all__ = ["ActionWorker"]

log = logging.getLogger("paceline.node")


class ActionWorker:
    def __init__(
        self,
        store: Store,
        agent: NodeAgent,
        node: str,
        may_act: Callable[[], bool],
        resync: Callable[[], object],
    ) -> None:
        self.store = store
        self.agent = agent
        self.node = node
        self.may_act = may_act
        self.resync = resync
        self.highest_token = 0
        self._seen: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.before: Callable[[Action], None] | None = None
        """Called just before an action runs (the daemon tells its watchdog how to stop what
        is starting: a node that hangs in the middle of a start must not leave it running)."""

    def busy(self) -> bool:
        """Whether an action the DC dispatched here is still running."""
        return any(not t.done() for t in self._tasks)

    async def run(self) -> None:
        prefix = f"{ACTIONS}{self.node}/"
        while True:
            try:
                kvs, rev = await self.store.range(prefix)
                for kv in kvs:
                    self._take(kv.key, kv.value)
                watch = self.store.watch(prefix, rev)
                try:
                    async for ev in watch:
                        if ev.type is EventType.PUT:
                            self._take(ev.kv.key, ev.kv.value)
                finally:
                    watch.close()
            except StoreError as e:
                log.warning("action watch failed (%s): listing again", e)
                await asyncio.sleep(0.2)

    def _take(self, key: str, value: str) -> None:
        aid = key.rsplit("/", 1)[1]
        if aid in self._seen:
            return
        self._seen.add(aid)
        task = asyncio.ensure_future(self._one(aid, json.loads(value)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _one(self, aid: str, body: dict[str, object]) -> None:
        token = int(str(body.get("token", 0)))
        if token < self.highest_token:
            log.warning(
                "refusing action %s from a deposed DC (token %d < %d)", aid, token, self.highest_token
            )
            await self._done(aid, False, "stale token")
            return
        if not self.may_act():
            log.warning("not running action %s: this node's lease is not valid", aid)
            return
        self.highest_token = token
        self.agent.token = token
        kind = str(body.get("kind"))
        try:
            if kind == "reprobe":
                snap_history = await self.agent.db.snapshot()
                await self.agent.probe(history=snap_history.history)
                ok = True
            else:
                action = Action(
                    id=str(body.get("id", aid)),
                    kind=ActionKind(kind),
                    resource=str(body.get("resource")),
                    node=self.node,
                    interval_ms=int(str(body.get("interval_ms", 0))),
                    reason=str(body.get("reason", "")),
                )
                if self.before is not None:
                    self.before(action)
                ok = await self.agent.execute(action)
        except Exception:
            log.exception("action %s (%s) failed with an internal error", aid, kind)
            ok = False
        await self._done(aid, ok, "")
        res = self.resync()
        if asyncio.iscoroutine(res):
            await res

    async def _done(self, aid: str, ok: bool, why: str) -> None:
        body = json.dumps({"ok": ok, "why": why})
        with contextlib.suppress(StoreError):
            await self.store.txn(
                [], [Put(done_key(self.node, aid), body), Delete(action_key(self.node, aid))]
            )

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await t
