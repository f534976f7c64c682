"""Alert delivery: run Pacemaker-style alert agents and POST webhooks for logged events.

Invariants:
- An alert agent gets Pacemaker's CRM_alert_* environment (kind, node, rsc, task, interval, desc,
  rc, target_rc, status, timestamp, timestamp_epoch, timestamp_usec, recipient, version,
  node_sequence, exec_time, ...); as in Pacemaker, a resource event's desc is the result in words
  ("ok", "not running", "error"); Paceline adds PACELINE_event (failure, recovery, escalation,
  stop, start), PACELINE_reason (why: "process 42 killed by signal 9", ...) and PACELINE_message
  (the whole event log line). It runs once per recipient (once with an empty recipient when
  none is given), in its own session, and is killed (whole group) at its timeout.
- A webhook gets a POST of the event as JSON (`event_json`) with the timeout.
- Delivery never blocks the caller and never raises: `submit` queues, one background task
  delivers in order; failures are logged and counted in `failed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from ..controller.records import Event, EventKind
from .config import AlertDefinition

__all__ = ["CRM_ALERT_VERSION", "AlertDispatcher", "alert_env", "event_json"]

log = logging.getLogger("paceline.alerts")

CRM_ALERT_VERSION = "2.1.5"

_STATUS_CODES = {
    "DONE": 0,
    "CANCELLED": 1,
    "TIMEOUT": 2,
    "NOT_SUPPORTED": 3,
    "ERROR": 4,
    "ERROR_HARD": 5,
    "ERROR_FATAL": 6,
    "NOT_INSTALLED": 7,
    "NOT_CONNECTED": 8,
    "INVALID": 9,
}


def _alert_kind(ev: Event) -> str:
    if ev.kind is EventKind.NODE:
        return "node"
    return "resource"


def alert_env(ev: Event, recipient: str, seq: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment Pacemaker gives an alert agent for this event."""
    ts = datetime.fromtimestamp(ev.time, UTC)
    env = {
        "CRM_alert_version": CRM_ALERT_VERSION,
        "CRM_alert_kind": _alert_kind(ev),
        "CRM_alert_recipient": recipient,
        "CRM_alert_node": ev.node,
        "CRM_alert_nodeid": "1",
        "CRM_alert_node_sequence": str(seq),
        "CRM_alert_timestamp": ts.strftime("%H:%M:%S.%f"),
        "CRM_alert_timestamp_epoch": str(int(ev.time)),
        "CRM_alert_timestamp_usec": f"{ts.microsecond:06d}",
        "CRM_alert_rsc": ev.resource,
        "CRM_alert_task": ev.task,
        "CRM_alert_interval": str(ev.interval_ms),
        "CRM_alert_desc": ev.desc or ev.message,
        "CRM_alert_status": str(_STATUS_CODES.get(ev.status, 0)) if ev.status else "0",
        "CRM_alert_rc": str(ev.rc) if ev.rc is not None else "0",
        "CRM_alert_target_rc": str(ev.target_rc) if ev.target_rc is not None else "0",
        "CRM_alert_exec_time": "0",
        "PACELINE_event": ev.kind.value,
        "PACELINE_message": ev.message,
        "PACELINE_reason": ev.extra.get("reason", ""),
    }
    if ev.kind is EventKind.NODE:
        env["CRM_alert_desc"] = ev.desc or "member"
    env.update(extra or {})
    return env


def event_json(ev: Event) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "time": ev.time,
        "kind": ev.kind.value,
        "node": ev.node,
        "resource": ev.resource,
        "task": ev.task,
        "interval_ms": ev.interval_ms,
        "rc": ev.rc,
        "target_rc": ev.target_rc,
        "status": ev.status,
        "desc": ev.desc,
        "message": ev.message,
        "extra": dict(ev.extra),
    }


class AlertDispatcher:
    def __init__(self, alerts: tuple[AlertDefinition, ...] = ()) -> None:
        self.alerts = alerts
        self.delivered = 0
        self.failed = 0
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._seq = 0
        self._client: httpx.AsyncClient | None = None

    def submit(self, ev: Event) -> None:
        if not any(ev.kind in a.kinds for a in self.alerts):
            return
        self._queue.put_nowait(ev)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until everything submitted so far was delivered (or failed)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)

    async def _run(self) -> None:
        while True:
            ev = await self._queue.get()
            try:
                self._seq += 1
                await asyncio.gather(*(self._deliver(a, ev) for a in self.alerts if ev.kind in a.kinds))
            finally:
                self._queue.task_done()

    async def _deliver(self, alert: AlertDefinition, ev: Event) -> None:
        try:
            if alert.webhook:
                await self._post(alert, ev)
            elif alert.path:
                for r in alert.recipients or ("",):
                    await self._exec(alert, ev, r)
            self.delivered += 1
        except Exception as e:  # delivery must never take the daemon down
            self.failed += 1
            log.warning("alert %s failed for event %d: %s", alert.id, ev.seq, e)

    async def _post(self, alert: AlertDefinition, ev: Event) -> None:
        assert alert.webhook
        if self._client is None:
            self._client = httpx.AsyncClient()
        r = await self._client.post(alert.webhook, json=event_json(ev), timeout=alert.timeout_s)
        if r.status_code >= 300:
            raise RuntimeError(f"webhook answered HTTP {r.status_code}")

    async def _exec(self, alert: AlertDefinition, ev: Event, recipient: str) -> None:
        assert alert.path
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        env.update(alert.env)
        env.update(alert_env(ev, recipient, self._seq))
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            alert.path,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), alert.timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            raise RuntimeError(f"{alert.path} timed out after {alert.timeout_s:g}s") from None
        if proc.returncode != 0:
            tail = out.decode(errors="replace")[-200:]
            raise RuntimeError(f"{alert.path} exited {proc.returncode}: {tail}")
        log.debug("alert %s ran in %.0f ms", alert.id, (time.monotonic() - t0) * 1000)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()
