"""Small, dependency-free readers of Linux /proc used by the reaper and the service supervisor.

Every function tolerates processes vanishing while it reads (returns None / skips them)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcStat", "boot_id", "children_of_self", "pids_in_session", "read_stat"]


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/PID/stat we use. ``start_ticks`` (field 22) together with ``boot_id``
    identifies a process across pid reuse."""

    pid: int
    state: str
    ppid: int
    pgrp: int
    session: int
    start_ticks: int


def read_stat(pid: int) -> ProcStat | None:
    """Parse /proc/PID/stat; None if the process does not exist (any more)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    rparen = data.rfind(")")
    fields = data[rparen + 2 :].split()
    try:
        return ProcStat(pid, fields[0], int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19]))
    except (IndexError, ValueError):
        return None


def children_of_self() -> list[int]:
    """Pids whose parent is this process (any of its threads). Uses /proc/self/task/*/children
    where the kernel has it, else a full scan of /proc."""
    me = os.getpid()
    pids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{me}/task")
        for tid in tasks:
            with open(f"/proc/{me}/task/{tid}/children") as f:
                pids.extend(int(p) for p in f.read().split())
        return pids
    except FileNotFoundError:
        pass
    except OSError:
        pass
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = read_stat(int(name))
            if st is not None and st.ppid == me:
                pids.append(st.pid)
    return pids


def pids_in_session(sid: int) -> list[int]:
    """Every pid (zombies included) whose session id is ``sid``. A full /proc scan."""
    out: list[int] = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = read_stat(int(name))
            if st is not None and st.session == sid:
                out.append(st.pid)
    return out


_BOOT_ID: str | None = None


def boot_id() -> str:
    """The kernel's boot id (changes on every boot); '' where unavailable."""
    global _BOOT_ID
    if _BOOT_ID is None:
        try:
            _BOOT_ID = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        except OSError:
            _BOOT_ID = ""
    return _BOOT_ID
