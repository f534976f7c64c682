"""`NodeAgent`: this node's side of the daemon: runs the controller's actions, probes, recurring
monitors, event-driven service failures and node attributes, recording every result.

Invariants:
- Every operation result is recorded in the StateDB (with a call id) before `execute`/`probe`
  return; every failure is recorded with its fail count and logged as a `failure` event, and
  wakes the controller through `on_change`.
- A resource's recurring monitors are cancelled before any other operation on it runs, and are
  started again (by `sync_monitors`) only while the history says it runs here successfully.
- Service exits and probe failures reported by the built-in service agent are failures of the
  resource's first recurring monitor (10 s when none is configured; rc NOT_RUNNING, or
  ERR_GENERIC for a failing probe), unless an operation on that resource is in flight (its own
  result decides) or it is not running per the history. They are recorded once: the resource's
  monitors are cancelled at the same moment.
- Anonymous clone instances (`db:0`) run and are recorded under their primitive's id (`db`).
- A resource that failed more than `flap_free` times within `flap_window_s` waits before each
  further start (0.5 s, doubling, at most `flap_max_delay_s`): a crash loop is slowed, not hidden.
- Reloads are not recorded in the history (they do not change the role); they are logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace

from ..agents import AgentRunner, OcfRc, OpRequest, OpResult, ServiceEvent, ServiceExited
from ..agents import OpStatus as AgentStatus
from ..controller.records import EventKind
from ..controller.statedb import StateDB
from ..controller.view import find_primitive, walk_primitives
from ..model.config import Configuration
from ..model.enums import OpStatus, Role
from ..model.scores import format_score
from ..model.state import OpRecord
from ..model.yaml_state import monitor_ops_for_role
from ..scheduler.meta import effective_meta, is_true
from ..scheduler.transition import Action, ActionKind
from ..store import Clock
from .monitors import MonitorManager, MonitorSpec
from .requests import RequestError, build_request
from .roles import LocalRole, RoleView, active_on, roles_on

__all__ = ["NodeAgent", "model_status"]

log = logging.getLogger("paceline.node")

_STATUS = {
    AgentStatus.DONE: OpStatus.DONE,
    AgentStatus.TIMEOUT: OpStatus.TIMEOUT,
    AgentStatus.ERROR: OpStatus.ERROR,
    AgentStatus.ERROR_FATAL: OpStatus.ERROR_FATAL,
    AgentStatus.NOT_INSTALLED: OpStatus.NOT_INSTALLED,
    AgentStatus.NOT_SUPPORTED: OpStatus.NOT_SUPPORTED,
    AgentStatus.CANCELLED: OpStatus.CANCELLED,
}

_RC_TEXT = {
    0: "ok",
    1: "error",
    2: "invalid parameter",
    3: "unimplemented feature",
    4: "insufficient privileges",
    5: "not installed",
    6: "not configured",
    7: "not running",
    8: "promoted",
    9: "promoted (failed)",
}


def model_status(status: AgentStatus) -> OpStatus:
    return _STATUS[status]


def rc_text(rc: int) -> str:
    return _RC_TEXT.get(rc, f"rc {rc}")


class NodeAgent:
    def __init__(
        self,
        runner: AgentRunner,
        db: StateDB,
        node: str,
        clock: Clock,
        on_change: Callable[[], None],
        attributes: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.runner = runner
        self.db = db
        self.node = node
        self.clock = clock
        self.on_change = on_change
        self._attributes = attributes
        self.config = Configuration()
        self.busy: set[str] = set()
        self.monitors = MonitorManager(runner, clock, self._on_monitor)
        self._history: tuple[OpRecord, ...] = ()
        self._recent_failures: dict[str, deque[float]] = {}
        self._failed_since_start: set[str] = set()
        self._paused = False  # maintenance: nothing is monitored, a service's exit is not news
        """Resources that failed here since they last started here: their next start is a
        recovery (a start after a daemon restart, a `resource restart` or a move is not)."""
        self.token = 0
        """The fencing token of the DC whose actions this node runs (0: the embedded store)."""
        self.may_act: Callable[[], bool] = lambda: True
        """False while this node must run nothing (its lease is not valid): failures it sees then
        are its own self-fencing, not news."""
        self.flap_window_s = 30.0
        self.flap_free = 3
        self.flap_max_delay_s = 5.0

    def _request(self, rsc: str, action: str, interval_ms: int = 0) -> OpRequest:
        """The agent request, with the DC's fencing token as meta `paceline_token` (OCF agents get
        OCF_RESKEY_CRM_meta_paceline_token, built-in services PACELINE_TOKEN)."""
        req = build_request(self.config, rsc, action, interval_ms)
        if not self.token:
            return req
        return replace(req, meta={**req.meta, "paceline_token": str(self.token)})

    def active_here(self) -> list[str]:
        """The resources this node's recorded history says run here (or may: failed, blocked)."""
        return active_on(self._history, self.node)

    def stop_request(self, rsc: str, timeout_ms: int) -> OpRequest | None:
        """A stop of `rsc` with `timeout_ms` (self-fencing's short stop); None when the resource
        is not in the configuration any more."""
        try:
            return replace(self._request(rsc, "stop"), timeout_ms=timeout_ms)
        except RequestError:
            return None

    def demote_first(self, rsc: str, timeout_ms: int) -> OpRequest | None:
        """The demote to run before a self-fencing stop of `rsc` (with `timeout_ms`), when this
        node's history says it is promoted here: a stop is never asked of a promoted copy (some
        agents refuse it, ocf:pacemaker:Stateful among them), as Pacemaker always demotes first.
        None when it is not promoted here (or not configured any more)."""
        view = roles_on(self._history, self.node).get(rsc)
        if view is None or view.role is not LocalRole.PROMOTED:
            return None
        try:
            return replace(self._request(rsc, "demote"), timeout_ms=timeout_ms)
        except RequestError:
            return None

    def attributes(self) -> Mapping[str, str]:
        """This node's transient attributes (health agents and shims write them)."""
        return self._attributes() if self._attributes is not None else {}

    def history_id(self, rsc: str) -> str:
        """The id a resource's operations run and are recorded under on this node: an anonymous
        clone's instance (`db:0`) is its primitive (`db`), as Pacemaker records anonymous clones
        (instances are interchangeable; the scheduler maps the history back to an instance)."""
        found = find_primitive(self.config, rsc)
        if found is None or found[2] is None:
            return rsc
        if is_true(found[2].meta.get("globally-unique")):
            return rsc
        return found[0].id

    # -- recording -------------------------------------------------------------------------------
    async def _record(
        self, rsc: str, task: str, interval_ms: int, res: OpResult, expected_rc: int = 0, reason: str = ""
    ) -> bool:
        """Record a result; log it; True when it is not a failure."""
        status = model_status(res.status)
        rc = int(res.rc)
        why = reason or res.exit_reason
        found = find_primitive(self.config, rsc)
        _, failed = await self.db.record(
            rsc,
            self.node,
            task,
            interval_ms,
            rc,
            status,
            expected_rc,
            why,
            start_failure_is_fatal=self.config.options.start_failure_is_fatal,
            agent=str(found[0].agent) if found is not None else "",
        )
        if failed:
            self._failed_since_start.add(rsc)
            recent = self._recent_failures.setdefault(rsc, deque(maxlen=32))
            recent.append(self.clock.monotonic())
            what = f"{task}" + (f" ({interval_ms} ms)" if interval_ms else "")
            desc = rc_text(rc) if status is OpStatus.DONE else status.name.lower().replace("_", " ")
            await self.db.log_event(
                EventKind.FAILURE,
                self.node,
                f"{rsc} {what} failed on {self.node}: {desc}" + (f" ({why})" if why else ""),
                resource=rsc,
                task=task,
                interval_ms=interval_ms,
                rc=rc,
                target_rc=expected_rc,
                status=status.name,
                desc=desc,
                extra={"reason": why} if why else {},
            )
            self.on_change()
        return not failed

    # -- actions ---------------------------------------------------------------------------------
    def cannot_run(self, action: Action) -> str | None:
        """A single node fences nothing: not itself (it would have to survive its own reboot to
        report it), and it has no other nodes."""
        if action.kind is ActionKind.FENCE:
            return f"no fence device can fence {action.node} (the single-node daemon does not fence)"
        return None

    async def execute(self, action: Action) -> bool:
        """Run one action of a transition on this node; True when it succeeded."""
        if action.kind is ActionKind.MONITOR:
            if action.interval_ms > 0:
                return True  # recurring monitors are the MonitorManager's
            # a probe the scheduler asked for (a resource it knows nothing about here): finding
            # it already running is "unexpected" and ends the transition, so that nothing planned
            # on the assumption that it was stopped (its start) runs; the next plan knows better
            found = await self.probe([self.history_id(action.resource)])
            return not found
        if action.kind is ActionKind.FENCE:
            return False  # cannot_run says why; the controller reports it and does not ask
        rsc, task = self.history_id(action.resource), action.kind.value
        if task == "start":
            await self._flap_delay(rsc)
        self.monitors.cancel(rsc)
        self.busy.add(rsc)
        try:
            try:
                req = self._request(rsc, task)
            except RequestError as e:
                res = OpResult(OcfRc.ERR_CONFIGURED, AgentStatus.ERROR_FATAL, 0.0, str(e))
            else:
                res = await self.runner.run(req)
            expected = 0  # every action but a monitor of a promoted instance succeeds with 0
            ok = await self._record(rsc, task, 0, res, expected)
        finally:
            self.busy.discard(rsc)
        if ok:
            recovering = task == "start" and rsc in self._failed_since_start
            if task == "start":
                self._failed_since_start.discard(rsc)
            if recovering:
                count = await self._fail_count(rsc)
                await self.db.log_event(
                    EventKind.RECOVERY,
                    self.node,
                    f"{rsc} recovered on {self.node} (fail count {format_score(count)})",
                    resource=rsc,
                    task=task,
                    rc=0,
                    target_rc=0,
                    status="DONE",
                    desc="ok",
                    extra={"reason": "recovered"},
                )
            elif task in ("start", "stop", "promote", "demote", "migrate_to", "migrate_from"):
                kind = {"start": EventKind.START, "stop": EventKind.STOP}.get(task, EventKind.OPERATION)
                why = f" ({action.reason})" if action.reason else ""
                await self.db.log_event(
                    kind,
                    self.node,
                    f"{task} {rsc} on {self.node}: ok{why}",
                    resource=rsc,
                    task=task,
                    rc=0,
                    target_rc=0,
                    status="DONE",
                    desc="ok",
                    extra={"reason": action.reason} if action.reason else {},
                )
        return ok

    def flap_delay_s(self, rsc: str) -> float:
        """Back-off before starting a resource that keeps failing: none for the first
        `flap_free` failures within `flap_window_s`, then 0.5 s doubling per failure, at most
        `flap_max_delay_s` (a crash loop must not spin a core or flood the log)."""
        now = self.clock.monotonic()
        recent = [t for t in self._recent_failures.get(rsc, ()) if now - t <= self.flap_window_s]
        extra = len(recent) - self.flap_free
        return 0.0 if extra <= 0 else min(self.flap_max_delay_s, 0.5 * 2 ** (extra - 1))

    async def _flap_delay(self, rsc: str) -> None:
        delay = self.flap_delay_s(rsc)
        if delay > 0:
            log.info(
                "%s failed %d times in %gs: waiting %gs before starting it again",
                rsc,
                len(self._recent_failures.get(rsc, ())),
                self.flap_window_s,
                delay,
                extra={"fields": {"kind": "backoff", "rsc": rsc}},
            )
            await self.clock.sleep(delay)

    async def reload(self, rsc: str, action: str) -> bool:
        """Reload a running resource with its new parameters (`reload` or `reload-agent`).
        The history is left alone (a reload does not change the role); the result is logged."""
        rsc = self.history_id(rsc)
        self.monitors.cancel(rsc)
        self.busy.add(rsc)
        try:
            try:
                res = await self.runner.run(self._request(rsc, action))
            except RequestError as e:
                res = OpResult(OcfRc.ERR_CONFIGURED, AgentStatus.ERROR_FATAL, 0.0, str(e))
        finally:
            self.busy.discard(rsc)
        await self.db.log_event(
            EventKind.OPERATION,
            self.node,
            f"{action} {rsc} on {self.node}: "
            + ("ok" if res.ok else f"failed ({res.describe()}): restarting it"),
            resource=rsc,
            task=action,
            rc=int(res.rc),
            target_rc=0,
            status=model_status(res.status).name,
            desc="ok" if res.ok else rc_text(int(res.rc)),
            extra={} if res.ok else {"reason": res.describe()},
        )
        return res.ok

    async def _fail_count(self, rsc: str) -> int:
        return await self.db.failcount(rsc, self.node)

    async def probe(
        self,
        rsc_ids: list[str] | None = None,
        history: tuple[OpRecord, ...] | None = None,
        died_is_failure: bool = False,
    ) -> list[str]:
        """Probe (monitor, interval 0) resources to learn what already runs here: at start-up
        (adopt, never start a second copy), after a cleanup, and when the scheduler asks.
        Returns the ids found running (adopted).

        With `history` (at start-up), a probe that agrees with what the history says (running in
        the recorded role, or stopped) is not recorded, so the history survives a daemon restart
        unchanged; one that disagrees is recorded as the resource's latest operation and its
        recurring monitor records (now stale) are dropped. With `died_is_failure` (a daemon restart
        on the same boot), a resource the history has running here that the probe finds stopped
        died while no daemon watched it: that is recorded as a failure of its monitor (fail
        count, `failure` event), as it would have been had the daemon been running."""
        ids = rsc_ids if rsc_ids is not None else [p.id for p, _, _ in walk_primitives(self.config)]
        roles = roles_on(history, self.node) if history is not None else None
        found: list[str] = []

        async def one(rid: str) -> None:
            try:
                req = self._request(rid, "monitor", 0)
            except RequestError as e:
                res = OpResult(OcfRc.ERR_CONFIGURED, AgentStatus.ERROR_FATAL, 0.0, str(e))
            else:
                res = await self.runner.run(req)
            rc = int(res.rc)
            view = roles.get(rid) if roles is not None else None
            if (
                died_is_failure
                and view is not None
                and view.role in (LocalRole.STARTED, LocalRole.PROMOTED)
                and res.status is AgentStatus.DONE
                and rc == int(OcfRc.NOT_RUNNING)
            ):
                await self.db.drop_monitor_records(rid, self.node)
                found_prim = find_primitive(self.config, rid)
                intervals = (
                    monitor_ops_for_role(self.config, found_prim[0], Role.STARTED) if found_prim else []
                )
                why = "stopped while no daemon was running here" + (
                    f" ({res.exit_reason})" if res.exit_reason else ""
                )
                await self._record(rid, "monitor", intervals[0][0] if intervals else 10_000, res, 0, why)
                return
            if roles is None or not _agrees(view, res):
                if roles is not None:
                    await self.db.drop_monitor_records(rid, self.node)
                await self._record(rid, "monitor", 0, res, 7)
            if res.status is AgentStatus.DONE and rc in (0, 8):
                found.append(rid)
                await self.db.log_event(
                    EventKind.ADOPT,
                    self.node,
                    f"{rid} already runs on {self.node}: adopted",
                    resource=rid,
                    task="probe",
                    rc=rc,
                    target_rc=7,
                    status="DONE",
                    desc=rc_text(rc),
                    extra={"reason": "already running: adopted"},
                )

        await asyncio.gather(*(one(r) for r in ids))
        return sorted(found)

    # -- recurring monitors ------------------------------------------------------------------------
    def sync_monitors(self, history: tuple[OpRecord, ...], paused: bool = False) -> None:
        """Run exactly the recurring monitors of what the history says runs here, healthy
        (clone instances by their instance id, `db:0`); none at all when `paused` (maintenance)."""
        self._history = history
        self._paused = paused
        roles = roles_on(history, self.node) if not paused else {}
        wanted: list[MonitorSpec] = []
        for rid, view in sorted(roles.items()):
            found = find_primitive(self.config, rid)
            if found is None or rid in self.busy:
                continue
            prim, group, clone = found
            role = {
                LocalRole.STARTED: Role.STARTED,
                LocalRole.PROMOTED: Role.PROMOTED,
                LocalRole.UNPROMOTED: Role.UNPROMOTED,
            }.get(view.role)
            if role is None:
                continue
            meta = effective_meta(self.config, prim, group, clone)
            if not is_true(meta.get("is-managed"), True) or self.config.options.maintenance_mode:
                continue
            for interval, expected in monitor_ops_for_role(self.config, prim, role):
                try:
                    req = self._request(rid, "monitor", interval)
                except RequestError:
                    continue
                wanted.append(MonitorSpec(rid, interval, expected, req))
        self.monitors.sync(wanted)

    async def _on_monitor(self, spec: MonitorSpec, res: OpResult) -> bool:
        if spec.resource in self.busy or not self.may_act():
            return True
        return await self._record(spec.resource, "monitor", spec.interval_ms, res, spec.expected_rc)

    # -- service events ----------------------------------------------------------------------------
    async def on_service_event(self, ev: ServiceEvent) -> None:
        rsc = ev.resource_id
        if (isinstance(ev, ServiceExited) and ev.expected) or not self.may_act() or self._paused:
            return
        if rsc in self.busy:
            return
        view = roles_on(self._history, self.node).get(rsc)
        if view is None or view.role not in (LocalRole.STARTED, LocalRole.PROMOTED):
            return
        found = find_primitive(self.config, rsc)
        if found is None:
            return
        self.monitors.cancel(rsc)
        intervals = monitor_ops_for_role(self.config, found[0], Role.STARTED)
        interval = intervals[0][0] if intervals else 0
        if isinstance(ev, ServiceExited):
            reason = ev.describe()
            res = OpResult(OcfRc.NOT_RUNNING, AgentStatus.DONE, 0.0, reason)
        else:
            reason = f"probe failed {ev.failures} times: {ev.detail}"
            res = OpResult(OcfRc.ERR_GENERIC, AgentStatus.DONE, 0.0, reason)
        log.debug("service event %s", ev)
        # recorded as a failure of the resource's first recurring monitor (without one: of the
        # service agent's default 10 s monitor), as a monitor would have found it
        await self._record(rsc, "monitor", interval or 10_000, res, 0, reason)

    async def close(self) -> None:
        await self.monitors.close()


def _agrees(view: RoleView | None, res: OpResult) -> bool:
    """Whether a probe result says what the recorded history says."""
    if res.status is not AgentStatus.DONE:
        return False
    rc = int(res.rc)
    if view is None or view.role is LocalRole.STOPPED:
        return rc == 7
    if view.role is LocalRole.PROMOTED:
        return rc == 8
    if view.role in (LocalRole.STARTED, LocalRole.UNPROMOTED):
        return rc == 0
    return False  # FAILED or BLOCKED: the probe's answer is news
