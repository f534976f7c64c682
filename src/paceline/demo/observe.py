"""Looking at the demo from inside a network namespace: one HTTP GET, or an observer that polls.

A thread of this process enters the namespace with `setns(CLONE_NEWNET)` (only that thread
moves; the process and its other threads stay where they are), so its sockets are the
namespace's: what it sees is what a client on that network sees, not what Paceline reports.

`VipObserver` polls `http://VIP/json` every `period_s` from its namespace and keeps every change
of answer (time, node, fencing token, PID); `violations` is what a client would see of two
copies at once. Times are `time.monotonic()`, comparable with any other process's on this
machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["Answer", "VipObserver", "get_json", "in_netns"]

_CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def _enter(ns: str) -> None:
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {ns}: {os.strerror(err)}")
    finally:
        os.close(fd)


def in_netns(ns: str, fn: Callable[[], T]) -> T:
    """Run `fn` in a new thread inside network namespace `ns` and return what it returns."""
    out: list[T] = []
    err: list[BaseException] = []

    def run() -> None:
        try:
            _enter(ns)
            out.append(fn())
        except BaseException as e:  # handed to the caller
            err.append(e)

    t = threading.Thread(target=run, name=f"netns-{ns}")
    t.start()
    t.join()
    if err:
        raise err[0]
    return out[0]


def get_json(url: str, timeout: float = 1.0) -> dict[str, object] | None:
    """GET `url` and decode its JSON; None when nothing (or nothing valid) answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            data = json.loads(r.read())
            return data if isinstance(data, dict) else None
    except (OSError, ValueError, urllib.error.URLError):
        return None


@dataclass(frozen=True)
class Answer:
    at: float
    node: str | None
    """None: nothing answered (timeout, refused, unreachable)."""
    token: int = 0
    pid: int = 0


@dataclass
class VipObserver:
    ns: str
    vip: str
    period_s: float = 0.01
    timeout_s: float = 0.2
    changes: list[Answer] = field(default_factory=list)
    """The first answer, then every answer that differs from the previous one (node or token)."""
    polls: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> VipObserver:
        self._thread = threading.Thread(target=self._run, name=f"vip-observer-{self.ns}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        _enter(self.ns)
        url = f"http://{self.vip}/json"
        while not self._stop.is_set():
            t0 = time.monotonic()
            data = get_json(url, self.timeout_s)
            now = time.monotonic()
            if data is None:
                ans = Answer(now, None)
            else:
                tok = data.get("token", 0)
                pid = data.get("pid", 0)
                ans = Answer(
                    now,
                    str(data.get("node")),
                    tok if isinstance(tok, int) else 0,
                    pid if isinstance(pid, int) else 0,
                )
            with self._lock:
                self.polls += 1
                last = self.changes[-1] if self.changes else None
                if last is None or (last.node, last.token, last.pid) != (ans.node, ans.token, ans.pid):
                    self.changes.append(ans)
            with contextlib.suppress(ValueError):
                self._stop.wait(max(0.0, self.period_s - (now - t0)))

    # -- what was seen ------------------------------------------------------------------------------
    def current(self) -> Answer | None:
        with self._lock:
            return self.changes[-1] if self.changes else None

    def first_answer_after(self, t: float, not_node: str | None = None) -> Answer | None:
        """The first answer (from a node other than `not_node`) seen after monotonic time `t`."""
        with self._lock:
            for a in self.changes:
                if a.at > t and a.node is not None and a.node != not_node:
                    return a
        return None

    def violations(self) -> list[str]:
        """Two copies, as a client sees them: the fencing token went down, or a copy (node and
        PID) answered again after another copy had answered (a copy that was replaced must be
        gone: a new start is a new process)."""
        out = []
        with self._lock:
            answers = [a for a in self.changes if a.node is not None]
        best = 0
        replaced: set[tuple[str | None, int]] = set()
        current: tuple[str | None, int] | None = None
        for a in answers:
            if a.token < best:
                out.append(f"token went down to {a.token} ({a.node}) after {best}, at {a.at:.3f}")
            best = max(best, a.token)
            copy = (a.node, a.pid)
            if copy in replaced:
                out.append(f"{a.node} pid {a.pid} answered again after it was replaced, at {a.at:.3f}")
            if current is not None and copy != current:
                replaced.add(current)
            current = copy
        return out

    def wait_for(self, pred: Callable[[Answer | None], bool], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self.current()):
                return True
            time.sleep(0.01)
        return False
