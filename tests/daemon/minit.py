"""A tiny init for the real-daemon tests: a child subreaper that starts daemons when told and
reaps every orphan, so that processes outliving a killed daemon are reaped as under a real init
(pytest itself may have become a subreaper that never reaps, through in-process agent tests).

Protocol: each stdin line is a JSON object {"args": [...], "log": path, "env": {...}}: the daemon
is started with stdout/stderr appended to `log` and `env` (optional) added to its environment,
and {"started": pid} is printed. When a daemon exits, {"exited": pid, "code": exit code
(negative: signal)} is printed. On stdin EOF it reaps for a
moment and exits.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import threading
import time

_lock = threading.Lock()
_daemons: set[int] = set()
_done = threading.Event()


def _say(obj: dict[str, object]) -> None:
    with _lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def _reader() -> None:
    for line in sys.stdin:
        req = json.loads(line)
        with open(req["log"], "ab") as out:
            env = {**os.environ, **req.get("env", {})}
            p = subprocess.Popen(
                req["args"], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        with _lock:
            _daemons.add(p.pid)
        _say({"started": p.pid})
    _done.set()


def main() -> None:
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    threading.Thread(target=_reader, daemon=True).start()
    deadline: float | None = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid, status = 0, 0
        if pid:
            with _lock:
                mine = pid in _daemons
            if mine:
                _say({"exited": pid, "code": os.waitstatus_to_exitcode(status)})
            continue
        if _done.is_set():
            deadline = deadline or time.monotonic() + 0.5
            if time.monotonic() > deadline:
                return
        time.sleep(0.005)


if __name__ == "__main__":
    main()
