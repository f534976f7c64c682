"""The reaper: no agent process is ever left as a zombie or an orphan we lost track of.

Duties:
- ``become_subreaper()`` marks this process PR_SET_CHILD_SUBREAPER (Linux, via ctypes prctl), so
  processes that an agent double-forks away (ocf:heartbeat:anything) are re-parented to us, not to
  init, and stay in the agent's session where we can find and kill them.
- Every agent runs as the leader of a new session; the runner registers that session id here.
  ``reap_orphans()`` waits for zombie children that belong to a registered session and that no
  one else is waiting for (pids registered as ``managed`` are waited for by their owner). Zombies
  of other sessions are never touched, so other code in this process keeps its exit statuses.
- ``kill_session()`` kills a whole session (process group first, then any member that moved to
  another group) and reaps what it can.

Invariant: all methods are called from the event loop thread (no locking needed).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

from .procfs import children_of_self, pids_in_session, read_stat

__all__ = ["Reaper", "become_subreaper", "stop_being_subreaper"]

_PR_SET_CHILD_SUBREAPER = 36
_subreaper_on = False


def _prctl_subreaper(on: bool) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Make this process a child subreaper; True on success (idempotent)."""
    global _subreaper_on
    if not _subreaper_on:
        _subreaper_on = _prctl_subreaper(True)
    return _subreaper_on


def stop_being_subreaper() -> None:
    """Undo ``become_subreaper`` (for test processes that host other code after the agents:
    orphans of their processes should go to init again, not linger here as zombies)."""
    global _subreaper_on
    if _subreaper_on and _prctl_subreaper(False):
        _subreaper_on = False


class Reaper:
    """Tracks agent sessions and reaps their orphaned zombies (see module docstring)."""

    def __init__(self) -> None:
        self._sessions: set[int] = set()
        self._managed: set[int] = set()
        self.orphans_reaped = 0
        self.subreaper = become_subreaper()

    def add_session(self, sid: int) -> None:
        self._sessions.add(sid)

    def manage(self, pid: int) -> None:
        """``pid`` is waited for by its owner; never reap it here."""
        self._managed.add(pid)

    def release(self, pid: int) -> None:
        self._managed.discard(pid)

    @property
    def sessions(self) -> frozenset[int]:
        return frozenset(self._sessions)

    def reap_orphans(self) -> int:
        """Reap zombie children of registered sessions; returns how many were reaped."""
        if not self._sessions:
            return 0
        n = 0
        for pid in children_of_self():
            if pid in self._managed:
                continue
            st = read_stat(pid)
            if st is None or st.state != "Z" or st.session not in self._sessions:
                continue
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if done:
                n += 1
        self.orphans_reaped += n
        return n

    def prune(self) -> None:
        """Forget sessions that have no process left (keeps the set small)."""
        for sid in list(self._sessions):
            try:
                os.killpg(sid, 0)
            except ProcessLookupError:
                if not pids_in_session(sid):
                    self._sessions.discard(sid)
            except PermissionError:
                pass

    def forget_if_empty(self, sid: int) -> None:
        """Cheap check after an operation: drop the session if its process group is gone."""
        try:
            os.killpg(sid, 0)
        except ProcessLookupError:
            self._sessions.discard(sid)
        except PermissionError:
            pass

    def kill_session(self, sid: int, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to every process of session ``sid`` (its group and strays)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(sid, sig)
        for pid in pids_in_session(sid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
