"""`Controller`: the level-triggered reconcile loop.

    snapshot -> schedule(config, state, now) -> run the ready actions -> record results -> again

Invariants:
- The loop wakes on a store watch (a new fail count, node flags, CLI constraints, meta overrides)
  as well as on direct `wake()` calls; successful results of its own actions do not wake it
  (a failed one does: it is news).
- Exactly one pass runs at a time (`_lock`); a pass runs its transition's actions in parallel
  where the ordering edges allow (the scheduler's `after` plus order constraints and groups, see
  `ordering`), each action only after every action it depends on succeeded.
- A wake-up (failure, configuration change, command) during a pass stops new actions from being
  launched; the actions in flight run to completion and are recorded, then the loop plans again.
  An action is never abandoned half-way.
- Recurring monitors follow the history after every pass (none in maintenance); recurring
  monitor actions in a transition are left to them. Probes (monitor, interval 0) run as actions;
  one that finds the resource running ends the transition (it was planned as stopped).
- Fail counts whose failure-timeout has passed are cleared at the start of a pass (an `expiry`
  event each), and the loop wakes by itself when the next one is due.
- A stop because a resource reached its migration-threshold is reported as an `escalation` event
  before it runs ("give up on this node").
- An exception inside a pass or an action (a bug) is logged; the action counts as failed and
  the loop carries on (after a 1 s pause for a failed pass).
- If the same non-empty set of actions is planned more than `max_repeats` times in a row
  the loop pauses up to `repeat_backoff_s` before each further attempt (a plan that does not
  converge must not spin a core); news or `stop()` cut the pause short.
- An action the executor says it can never carry out (`Executor.cannot_run`, e.g. a fence no
  device can carry out) is not run, nor is anything that depends on it: it is reported once (a
  `node` event, and `blocked` for status) for as long as the plans keep wanting it, and a pass
  with nothing else to run is idle (no re-planning until news or the recheck interval).
- `stop_everything` (shutdown) plans with this node marked `shutdown`, as Pacemaker does: what
  runs here is demoted and stopped in reverse order. It ends when a pass has nothing it can run,
  or when the same actions failed twice in a row: a stop signal ends the daemon within the stop
  timeouts, and what did not stop is reported by the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Protocol

from ..model.config import Configuration
from ..model.scores import INFINITY, format_score
from ..model.state import ClusterState, OpRecord
from ..scheduler import schedule
from ..scheduler.meta import effective_meta, meta_score
from ..scheduler.transition import Action, ActionKind, Transition
from ..store import Clock, EventType
from .ordering import complete_edges
from .records import PREFIX, EventKind
from .statedb import Snapshot, StateDB
from .view import cluster_state, effective_config, failure_timeout_s, find_primitive

__all__ = ["Controller", "Executor"]

log = logging.getLogger("paceline.controller")


class Executor(Protocol):
    """The node side as the controller sees it (NodeAgent). `config` is set to the effective
    configuration before every pass's actions run."""

    config: Configuration

    async def execute(self, action: Action) -> bool: ...

    def sync_monitors(self, history: tuple[OpRecord, ...], paused: bool = False) -> None: ...

    def attributes(self) -> Mapping[str, str]: ...

    async def reload(self, rsc: str, action: str) -> bool: ...

    def cannot_run(self, action: Action) -> str | None:
        """Why `action` can never be carried out here (None: it can be tried), e.g. a fence no
        device can carry out. Such an action is reported, not run: see `Controller`."""
        ...


class Controller:
    def __init__(
        self,
        db: StateDB,
        clock: Clock,
        node: str,
        executor: Executor,
        config: Configuration,
        recheck_s: float = 60.0,
        on_transition: Callable[[Transition], None] | None = None,
        on_state: Callable[[ClusterState], None] | None = None,
        on_transition_done: Callable[[Transition, float], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.node = node
        self.executor = executor
        self.config = config
        self.recheck_s = recheck_s
        self.on_transition = on_transition
        self.on_state = on_state
        self.on_transition_done = on_transition_done
        """Called after a transition's actions ran, with how long they took (seconds)."""
        self.max_repeats = 20
        self.repeat_backoff_s = 1.0
        self.last_transition = Transition()
        self.last_state = ClusterState()
        self.effective = config
        self.passes = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stopping = False
        self._stop_all = False
        self._forced_stop: set[str] = set()
        self._forced_reason = ""
        self._repeat: tuple[tuple[str, ...], int] = ((), 0)
        self._last_ok = True
        self.blocked: dict[str, str] = {}
        """{action id: why it cannot be carried out} for the actions the last plan wanted but the
        executor can never run (reported once each, while planned)."""

    # -- control -------------------------------------------------------------------------------------
    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Until a pass found nothing to do and nothing woke the loop since (tests, commands)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    # -- the loop ------------------------------------------------------------------------------------
    async def run(self) -> None:
        watcher = asyncio.ensure_future(self._watch_store())
        try:
            await self._run()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _watch_store(self) -> None:
        """Wake on what changes a plan: a new failure, node flags, CLI constraints, meta overrides
        (whoever wrote them: this node, the CLI, or later another node through etcd)."""
        watch = self.db.store.watch(PREFIX)
        try:
            async for ev in watch:
                rest = ev.kv.key[len(PREFIX) :]
                if rest.startswith(("nodes/", "constraints/", "meta/", "members/", "attrs/", "fenced/")) or (
                    rest.startswith("fail/") and ev.type is EventType.PUT
                ):
                    self.wake()
        finally:
            watch.close()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                async with self._lock:
                    acted = await self._pass()
            except Exception:  # a bug must not end the loop: report it and try again shortly
                log.exception("reconcile pass failed")
                acted = False
                self._wake.clear()
                await self.clock.sleep(1.0)
                continue
            if acted:
                continue
            self._idle.set()
            await self._sleep_until_woken(self._next_due())

    async def _sleep_until_woken(self, timeout: float) -> None:
        if self._wake.is_set():
            return
        waker = asyncio.ensure_future(self._wake.wait())
        sleeper = asyncio.ensure_future(self.clock.sleep(timeout))
        try:
            await asyncio.wait({waker, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (waker, sleeper):
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t

    def _next_due(self) -> float:
        """Seconds until the next fail count expires (or the recheck interval)."""
        now = self.clock.time()
        due = self.recheck_s
        for f in self.last_state.failures:
            timeout = failure_timeout_s(self.config, f.resource)
            if timeout > 0 and f.last_failure is not None:
                due = min(due, max(0.0, f.last_failure + timeout - now) + 0.001)
        return due

    async def plan(self) -> tuple[Configuration, Snapshot, Transition]:
        """Snapshot and schedule, without running anything."""
        snap = await self.db.snapshot()
        eff = effective_config(self.config, self.node, snap)
        if self._forced_stop:
            meta = {rid: {"target-role": "Stopped"} for rid in self._forced_stop}
            eff = effective_config(self.config, self.node, replace(snap, meta={**snap.meta, **meta}))
        state = cluster_state(eff, snap, self.node, self.executor.attributes())
        if self._stop_all:  # this node shuts down: the scheduler stops what runs here, in order
            nodes = tuple(replace(n, shutdown=True) if n.name == self.node else n for n in state.nodes)
            state = replace(state, nodes=nodes)
        self.effective, self.last_state = eff, state
        if self.on_state is not None:
            self.on_state(state)
        t = schedule(eff, state, self.clock.time())
        if self._forced_stop and self._forced_reason:  # say why, not "node availability"
            actions = tuple(
                replace(a, reason=self._forced_reason)
                if a.kind is ActionKind.STOP and a.resource in self._forced_stop
                else a
                for a in t.actions
            )
            t = replace(t, actions=actions)
        return eff, snap, t

    async def _pass(self) -> bool:
        """One reconcile pass; True when it ran actions (plan again at once)."""
        self.passes += 1
        await self._expire_failures()
        eff, snap, t = await self.plan()
        self.last_transition = t
        self.executor.config = eff
        self.executor.sync_monitors(snap.history, self._monitors_paused())
        # recurring monitors are the node's own business; probes (interval 0) are run as actions
        actions = [a for a in t.actions if a.kind is not ActionKind.MONITOR or a.interval_ms == 0]
        actions = await self._drop_blocked(eff, actions)
        if not actions:
            self._repeat = ((), 0)
            return False
        ids = tuple(sorted(a.id for a in actions))
        if self._stop_all and not self._last_ok and self._repeat[0] == ids:
            log.warning("shutting down: the same %d actions failed again; giving up on them", len(ids))
            return False
        count = self._repeat[1] + 1 if self._repeat[0] == ids else 1
        self._repeat = (ids, count)
        if count > self.max_repeats:
            if count % self.max_repeats == 1:
                log.warning(
                    "the same %d actions were planned %d times in a row; slowing down",
                    len(ids),
                    count,
                )
            await self._sleep_until_woken(self.repeat_backoff_s)  # news (or stop()) cut it short
            if self._stopping:
                return False
        if self.on_transition is not None:
            self.on_transition(t)
        started = self.clock.monotonic()
        await self._report_escalations(eff, snap, actions)
        self._last_ok = await self._execute(eff, actions)
        if self.on_transition_done is not None:
            self.on_transition_done(t, self.clock.monotonic() - started)
        snap = await self.db.snapshot()
        self.executor.sync_monitors(snap.history, self._monitors_paused())
        return True

    async def _drop_blocked(self, eff: Configuration, actions: list[Action]) -> list[Action]:
        """The actions that can be tried: without those the executor can never carry out and
        without everything that depends on them; the former are reported (once each)."""
        cannot = {a.id: why for a in actions if (why := self.executor.cannot_run(a)) is not None}
        for aid in sorted(set(self.blocked) - set(cannot)):
            del self.blocked[aid]
        if not cannot:
            return actions
        by_id = {a.id: a for a in actions}
        for aid, why in sorted(cannot.items()):
            if self.blocked.get(aid) == why:
                continue
            self.blocked[aid] = why
            a = by_id[aid]
            what = (
                f"{a.node} needs fencing ({a.reason or 'unclean'})"
                if a.kind is ActionKind.FENCE
                else f"{a.kind.value} {a.resource} on {a.node} is needed"
            )
            await self.db.log_event(
                EventKind.NODE,
                a.node,
                f"{what}; {why}: resolve it by hand (make sure what failed is stopped, then "
                "paceline resource cleanup)",
                resource=a.resource or None,
                desc=why,
            )
        deps = complete_edges(eff, actions)
        out_ids = set(cannot)
        changed = True
        while changed:
            changed = False
            for a in actions:
                if a.id not in out_ids and deps[a.id] & out_ids:
                    out_ids.add(a.id)
                    changed = True
        return [a for a in actions if a.id not in out_ids]

    def blocked_fences(self) -> dict[str, str]:
        """{node: why} for the nodes the last plan wants fenced that no device can fence."""
        return {
            a.node: f"needs fencing ({a.reason or 'unclean'}); {self.blocked[a.id]}"
            for a in self.last_transition.actions
            if a.kind is ActionKind.FENCE and a.id in self.blocked
        }

    def _monitors_paused(self) -> bool:
        """Maintenance (of the cluster or of this node): resources are left alone, unmonitored."""
        me = self.last_state.node(self.node)
        return self.effective.options.maintenance_mode or (me is not None and me.maintenance)

    async def _execute(self, eff: Configuration, actions: list[Action]) -> bool:
        deps = complete_edges(eff, actions)
        by_id = {a.id: a for a in actions}
        done: set[str] = set()
        launched: set[str] = set()
        running: dict[asyncio.Task[bool], str] = {}
        failed = False
        while True:
            if not failed and not self._wake.is_set():
                for aid, a in by_id.items():
                    if aid not in launched and deps[aid] <= done:
                        launched.add(aid)
                        running[asyncio.ensure_future(self._run_action(a))] = aid
            if not running:
                break
            finished, _ = await asyncio.wait(set(running), return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                aid = running.pop(task)
                if task.result():
                    done.add(aid)
                else:
                    failed = True
        return not failed and len(done) == len(actions)

    async def _run_action(self, action: Action) -> bool:
        try:
            return await self.executor.execute(action)
        except Exception:
            log.exception("action %s failed with an internal error", action.id)
            return False

    # -- failures: expiry and escalation -----------------------------------------------------------
    async def _expire_failures(self) -> None:
        snap = await self.db.snapshot()
        now = self.clock.time()
        for f in snap.failures:
            timeout = failure_timeout_s(self.config, f.resource)
            if timeout <= 0 or f.last_failure is None or f.last_failure + timeout > now:
                continue
            await self.db.drop_failure(f)
            left = [g for g in snap.failures if g.resource == f.resource and g.node == f.node and g != f]
            if not left:
                await self.db.clear_failures(f.resource, f.node)
            await self.db.log_event(
                EventKind.EXPIRY,
                f.node,
                f"fail count of {f.resource} on {f.node} ({format_score(f.count)} x {f.operation}) "
                f"expired after failure-timeout {timeout:g}s",
                resource=f.resource,
                task=f.operation,
            )

    async def _report_escalations(self, eff: Configuration, snap: Snapshot, actions: list[Action]) -> None:
        stops = [a for a in actions if a.kind is ActionKind.STOP]
        starts = {(a.resource, a.node) for a in actions if a.kind is ActionKind.START}
        for a in stops:
            if (a.resource, a.node) in starts:
                continue
            count = sum(f.count for f in snap.failures if f.resource == a.resource and f.node == a.node)
            found = find_primitive(eff, a.resource)
            if found is None or count <= 0:
                continue
            threshold = meta_score(effective_meta(eff, *found), "migration-threshold", INFINITY)
            if threshold <= 0 or count < threshold:
                continue
            elsewhere = [n.name for n in eff.nodes if n.name != a.node]
            where = "no other node can run it: stopping it" if not elsewhere else "moving it away"
            dependants = sorted(
                b.resource for b in stops if b.resource != a.resource and (b.resource, b.node) not in starts
            )
            extra = f"; stopping dependants: {', '.join(dependants)}" if dependants else ""
            if count >= INFINITY:
                what = f"{a.resource} cannot run on {a.node} (a start failed, or fail count INFINITY)"
            else:
                what = (
                    f"{a.resource} failed {format_score(count)} times on {a.node} "
                    f"(migration-threshold {format_score(threshold)})"
                )
            await self.db.log_event(
                EventKind.ESCALATION,
                a.node,
                f"{what}: giving up on {a.node}, {where}{extra}",
                resource=a.resource,
                task="stop",
                rc=None,
                target_rc=0,
                status="DONE",
                desc=f"migration-threshold {format_score(threshold)} reached" if count < INFINITY else what,
                extra={"failcount": str(count), "dependants": ",".join(dependants), "reason": "escalation"},
            )

    # -- commands that need exclusive passes ---------------------------------------------------------
    async def converge(self, max_passes: int = 50) -> bool:
        """Run passes until one has nothing to do (the lock must be held)."""
        for _ in range(max_passes):
            self._wake.clear()  # a wake-up that arrived before this pass is answered by it
            if not await self._pass():
                return True
        return False

    async def stop_everything(self) -> bool:
        """Shutdown: stop every resource (in reverse order) and return when nothing runs. The
        node is marked `shutdown` in the state the scheduler gets, as Pacemaker's shutdown does."""
        async with self._lock:
            self._stop_all = True
            return await self.converge()

    async def restart(
        self,
        rsc_ids: set[str],
        new_config: Configuration | None = None,
        reload: Mapping[str, str] | None = None,
        why: str = "restart requested",
    ) -> bool:
        """Stop `rsc_ids` (and what depends on them) under the current configuration, then switch to
        `new_config` (if given), reload the resources in `reload` ({id: reload action}) with their
        new parameters, and let the next pass start everything again. A failed reload becomes a
        restart. `why` is the stops' reason (in their events)."""
        async with self._lock:
            ok = True
            if rsc_ids:
                self._forced_stop, self._forced_reason = set(rsc_ids), why
                try:
                    ok = await self.converge()
                finally:
                    self._forced_stop, self._forced_reason = set(), ""
            if new_config is not None:
                self.config = new_config
            if reload:
                await self.plan()
                self.executor.config = self.effective
                failed = {
                    rid
                    for rid, action in sorted(reload.items())
                    if not await self.executor.reload(rid, action)
                }
                if failed:
                    self._forced_stop = failed
                    try:
                        ok = await self.converge() and ok
                    finally:
                        self._forced_stop = set()
        self.wake()
        return ok
