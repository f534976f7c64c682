"""Running one agent process: new session, captured output, timeout that kills the whole group.

Duties and invariants of ``run_process``:
- The child is the leader of a new session (its pid is its session and group id), registered with
  the reaper before anything else can happen to it.
- Exit is detected through a pidfd (Linux >= 5.3) on the event loop, with a polling fallback; the
  operation ends when the *leader* exits, not when its pipes close (daemons an agent starts may
  keep them open). Output already written is drained without blocking.
- On timeout or cancellation the whole session is SIGKILLed and every zombie of it reaped before
  returning (or re-raising CancelledError): no process of the operation is left behind.
- Output beyond ``output_limit`` bytes per stream is read and discarded. Pipes are 1 MiB and
  watched from 20 ms after the start (a short operation costs one loop wake-up); a child that
  writes more than that in its first 20 ms waits at most until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .procfs import pids_in_session
from .reaper import Reaper

__all__ = ["ProcessOutcome", "run_process"]

OUTPUT_LIMIT = 256 * 1024
PIPE_SIZE = 1024 * 1024  # the child rarely blocks on a full pipe before we start reading
PIPE_WATCH_DELAY_S = 0.02
_F_SETPIPE_SZ = 1031


@dataclass(frozen=True)
class ProcessOutcome:
    """What happened to one process. Exactly one of: ``spawn_error`` set; ``timed_out``;
    ``exit_code`` set (normal exit); ``signal`` set (killed by a signal)."""

    exit_code: int | None
    signal: int | None
    timed_out: bool
    stdout: str
    stderr: str
    duration_ms: float
    spawn_error: str | None = None


class _Collector:
    def __init__(self, fd: int, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        self.fd = fd
        self.loop = loop
        self.watching = False
        self.buf = bytearray()
        self.limit = limit
        self.truncated = False
        self.eof = False

    def watch(self) -> None:
        self.read_available()  # what was written before we started watching (may hit EOF)
        if self.eof:
            return
        self.loop.add_reader(self.fd, self.read_available)
        self.watching = True

    def unwatch(self) -> None:
        if self.watching:
            self.loop.remove_reader(self.fd)
            self.watching = False

    def read_available(self) -> None:
        """Read what is there without blocking; stop watching at EOF (an fd at EOF is always
        readable: left registered, it would spin the loop)."""
        while not self.eof:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
                self.unwatch()
                return
            room = self.limit - len(self.buf)
            if room > 0:
                self.buf += chunk[:room]
            if len(chunk) > room:
                self.truncated = True

    def text(self) -> str:
        s = self.buf.decode("utf-8", "replace")
        return s + "\n[output truncated]\n" if self.truncated else s


async def _wait_exit(pid: int, timeout_s: float) -> bool:
    """True once ``pid`` (our child) has exited (not reaped), False after ``timeout_s``.
    A bare future with a reader and a timer: no task per operation (this is the hot path)."""
    loop = asyncio.get_running_loop()
    try:
        pidfd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        pidfd = -1
    if pidfd >= 0:
        fut: asyncio.Future[bool] = loop.create_future()

        def done(exited: bool) -> None:
            if not fut.done():
                fut.set_result(exited)

        loop.add_reader(pidfd, done, True)
        timer = loop.call_later(timeout_s, done, False)
        try:
            return await fut
        finally:
            timer.cancel()
            loop.remove_reader(pidfd)
            os.close(pidfd)
    delay = 0.001
    deadline = loop.time() + timeout_s
    while True:  # fallback: peek without reaping
        try:
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        if info is not None:
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


async def _kill_and_reap(proc: subprocess.Popen[bytes], reaper: Reaper) -> None:
    sid = proc.pid
    reaper.kill_session(sid)
    await _wait_exit(proc.pid, 5.0)
    with contextlib.suppress(subprocess.TimeoutExpired, ChildProcessError):
        proc.wait(timeout=1.0)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        reaper.reap_orphans()
        left = pids_in_session(sid)
        if not left:
            break
        reaper.kill_session(sid)
        await asyncio.sleep(0.005)


async def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout_s: float,
    reaper: Reaper,
    cwd: str | None = None,
    stdin_data: bytes | None = None,
    output_limit: int = OUTPUT_LIMIT,
) -> ProcessOutcome:
    """Run ``argv`` as described in the module docstring."""
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as e:
        return ProcessOutcome(
            None,
            None,
            False,
            "",
            "",
            (time.monotonic() - t0) * 1000,
            f"cannot run {argv[0]}: {e.strerror or e}",
        )
    reaper.manage(proc.pid)
    reaper.add_session(proc.pid)
    assert proc.stdout is not None and proc.stderr is not None
    outs = [
        _Collector(proc.stdout.fileno(), output_limit, loop),
        _Collector(proc.stderr.fileno(), output_limit, loop),
    ]
    for c in outs:
        os.set_blocking(c.fd, False)
        with contextlib.suppress(OSError):
            fcntl.fcntl(c.fd, _F_SETPIPE_SZ, PIPE_SIZE)

    # Most agents finish within a few ms: watch the pipes only if they run longer, so that a
    # short operation costs one event-loop wake-up (the pidfd), not three.
    def watch_pipes() -> None:
        for c in outs:
            if not c.eof:
                c.watch()

    watch_timer = loop.call_later(PIPE_WATCH_DELAY_S, watch_pipes)
    timed_out = False
    try:
        if stdin_data is not None and proc.stdin is not None:
            await _feed_stdin(proc.stdin, stdin_data, t0 + timeout_s)
        if not await _wait_exit(proc.pid, timeout_s - (time.monotonic() - t0)):
            timed_out = True
            await _kill_and_reap(proc, reaper)
        returncode = proc.wait()
    except BaseException:
        await asyncio.shield(_kill_and_reap(proc, reaper))
        raise
    finally:
        watch_timer.cancel()
        for c in outs:
            c.unwatch()
            c.read_available()
        proc.stdout.close()
        proc.stderr.close()
        reaper.release(proc.pid)
        reaper.forget_if_empty(proc.pid)  # first: when the group is gone there is nothing to scan
        reaper.reap_orphans()
    duration = (time.monotonic() - t0) * 1000
    stdout, stderr = outs[0].text(), outs[1].text()
    if timed_out:
        return ProcessOutcome(None, None, True, stdout, stderr, duration)
    if returncode < 0:
        return ProcessOutcome(None, -returncode, False, stdout, stderr, duration)
    return ProcessOutcome(returncode, None, False, stdout, stderr, duration)


async def _feed_stdin(pipe: object, data: bytes, deadline: float) -> None:
    """Write ``data`` to the child's stdin without blocking the loop, then close it; gives up
    at ``deadline`` (monotonic) if the child does not read."""
    import io

    assert isinstance(pipe, io.BufferedWriter)
    fd = pipe.fileno()
    os.set_blocking(fd, False)
    view = memoryview(data)
    try:
        while view and time.monotonic() < deadline:
            try:
                n = os.write(fd, view)
                view = view[n:]
            except BlockingIOError:
                await asyncio.sleep(0.001)
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        with contextlib.suppress(OSError):
            pipe.close()
