"""The built-in ``service:`` agent: runs a command as a supervised child of the node daemon.

Duties and invariants:
- The command runs as the leader of its own session (``start_new_session``), stdin /dev/null,
  stdout and stderr appended to ``STATE/logs/<resource>.log`` through a file descriptor the child
  owns (so it survives a daemon restart). The log is rotated (copy + truncate, ``log_backups``
  numbered copies) when it exceeds ``log_max_bytes``; checked every second and at start.
- Exit is seen the moment it happens: a pidfd registered on the event loop (not the next monitor).
  Every exit produces a ``ServiceExited`` event, ``expected=True`` only when a stop caused it; the
  rest of the service's session is then killed so no worker outlives its leader.
- At most one copy per resource on this node: ``start`` of a running service answers OK.
  ``STATE/services/<resource>.json`` records pid, kernel start time (/proc stat field 22), boot id
  and the definition. A new supervisor (after a daemon restart) ADOPTS a process whose recorded
  pid, start time and boot id still match: ``monitor`` answers OK and watches it via pidfd; its exit
  code is unknown (None) unless it is still our child.
- ``monitor``: OK while running and the probe (if any) has not failed ``failure_threshold`` times
  in a row; ERR_GENERIC when it has (a ``ServiceProbeFailed`` event was sent); NOT_RUNNING when no
  process runs.
- ``start`` with a probe returns only after a first successful probe (readiness), or fails when
  the child exits or the operation times out (the child is then killed).
- ``stop``: SIGTERM to the process group, SIGKILL to the whole session after ``stop_grace`` (or
  just before the operation timeout), then the state file is removed. Stopping a stopped service
  is OK.

Events are delivered to every ``subscribe()``d asyncio.Queue and every ``add_listener`` callback,
on the event loop, in the order they happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from .context import DEFAULT_TIMEOUT_MS, RunContext
from .installed import command_problem
from .metadata import AgentMetadata, parse_metadata
from .probes import ProbeResult, run_probe
from .procfs import boot_id, pids_in_session, read_stat
from .service_def import SERVICE_PATH, ServiceDefinition, ServiceDefinitionError
from .types import AgentSpec, OcfRc, OpRequest, OpResult, OpStatus

__all__ = [
    "SERVICE_ACTIONS",
    "ServiceEvent",
    "ServiceExited",
    "ServiceListener",
    "ServiceProbeFailed",
    "ServiceSupervisor",
]

SERVICE_ACTIONS = frozenset({"start", "stop", "monitor", "status", "meta-data", "validate-all"})
log = logging.getLogger(__name__)
_SAFE = str.maketrans({c: "_" for c in "/\\\0"})


@dataclass(frozen=True)
class ServiceExited:
    """The service's main process ended. ``at`` is time.monotonic() when we saw it."""

    resource_id: str
    pid: int
    exit_code: int | None
    signal: int | None
    expected: bool
    at: float
    adopted: bool = False
    output: str = ""
    """The last lines the process wrote (stdout and stderr share its log), for the exit reason."""
    log: str = ""
    """The path of its output log."""

    def describe(self) -> str:
        """`process 12 exited with code 1: <last output>; log: /path` (for exit reasons)."""
        if self.signal is not None:
            try:
                name = signal.Signals(self.signal).name
            except ValueError:
                name = "?"
            how = f"killed by signal {self.signal} ({name})"
        elif self.exit_code is not None:
            how = f"exited with code {self.exit_code}"
        else:
            how = "exited"
        return exit_text(f"process {self.pid} {how}", self.output, self.log)


def exit_text(what: str, output: str, log: str) -> str:
    """An exit reason with the output that explains it and where the rest is."""
    return what + (f": {output}" if output else "") + (f"; log: {log}" if log else "")


OUTPUT_TAIL_LINES = 3
OUTPUT_TAIL_CHARS = 300


def output_tail(path: Path, since: int = 0) -> str:
    """The last few non-empty lines written to `path` after byte `since` (the whole tail when the
    log was rotated since), joined with " | " and cut to `OUTPUT_TAIL_CHARS`."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = since if 0 <= since <= size else 0
            start = max(start, size - 8192)
            f.seek(start)
            data = f.read()
    except OSError:
        return ""
    lines = [ln.strip() for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    text = " | ".join(lines[-OUTPUT_TAIL_LINES:])
    return text if len(text) <= OUTPUT_TAIL_CHARS else "..." + text[-OUTPUT_TAIL_CHARS:]


@dataclass(frozen=True)
class ServiceProbeFailed:
    """The probe failed ``failures`` times in a row (the threshold); the process still runs."""

    resource_id: str
    pid: int
    failures: int
    detail: str
    at: float


ServiceEvent = ServiceExited | ServiceProbeFailed
ServiceListener = Callable[[ServiceEvent], Awaitable[None] | None]


@dataclass
class _Instance:
    resource_id: str
    definition: ServiceDefinition
    pid: int
    start_ticks: int
    popen: subprocess.Popen[bytes] | None  # None when adopted
    pidfd: int = -1
    stopping: bool = False
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    exit_code: int | None = None
    exit_signal: int | None = None
    failures: int = 0
    last_probe: ProbeResult | None = None
    ready: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    log_offset: int = -1  # the log's size when this instance started (-1: unknown, adopted)


def _ms(t0: float) -> float:
    return (time.monotonic() - t0) * 1000


class ServiceSupervisor:
    """Runs ``service:`` operations; one per node (see module docstring)."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.state_dir = ctx.state_dir / "services"
        self.log_dir = ctx.state_dir / "logs"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._instances: dict[str, _Instance] = {}
        self._last_exit: dict[str, ServiceExited] = {}
        self._queues: list[asyncio.Queue[ServiceEvent]] = []
        self._listeners: list[ServiceListener] = []
        self._bg: set[asyncio.Task[None]] = set()

    # -- event API ---------------------------------------------------------------------------
    def subscribe(self, maxsize: int = 0) -> asyncio.Queue[ServiceEvent]:
        q: asyncio.Queue[ServiceEvent] = asyncio.Queue(maxsize)
        self._queues.append(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[ServiceEvent]) -> None:
        with contextlib.suppress(ValueError):
            self._queues.remove(q)

    def add_listener(self, cb: ServiceListener) -> None:
        self._listeners.append(cb)

    def remove_listener(self, cb: ServiceListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(cb)

    def _emit(self, ev: ServiceEvent) -> None:
        for q in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(ev)
        for cb in list(self._listeners):
            try:
                r = cb(ev)
            except Exception:  # a listener's bug must not stop supervision
                log.exception("service event listener %r failed on %s", cb, ev)
                continue
            if r is not None:
                t = asyncio.ensure_future(r)
                self._bg.add(t)
                t.add_done_callback(self._bg.discard)

    # -- paths and state files -----------------------------------------------------------------
    def _key(self, rid: str) -> str:
        return rid.translate(_SAFE)

    def state_path(self, rid: str) -> Path:
        return self.state_dir / f"{self._key(rid)}.json"

    def log_path(self, rid: str) -> Path:
        return self.log_dir / f"{self._key(rid)}.log"

    def _write_state(self, inst: _Instance) -> None:
        data = {
            "resource_id": inst.resource_id,
            "pid": inst.pid,
            "start_ticks": inst.start_ticks,
            "boot_id": boot_id(),
            "definition": inst.definition.to_mapping(),
            "started_at": time.time(),
        }
        p = self.state_path(inst.resource_id)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, p)

    def _read_state(self, rid: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self.state_path(rid).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _remove_state(self, rid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.state_path(rid).unlink()

    # -- queries ---------------------------------------------------------------------------------
    def running(self, rid: str) -> bool:
        inst = self._instances.get(rid)
        return inst is not None and not inst.exited.is_set()

    def pid(self, rid: str) -> int | None:
        inst = self._instances.get(rid)
        return inst.pid if inst is not None and not inst.exited.is_set() else None

    def running_services(self) -> dict[str, int]:
        """Resource id -> pid of every service this supervisor watches and that still runs."""
        return {rid: i.pid for rid, i in self._instances.items() if not i.exited.is_set()}

    def last_exit(self, rid: str) -> ServiceExited | None:
        return self._last_exit.get(rid)

    def adopt_all(self) -> list[str]:
        """Adopt every recorded service whose process still runs; drop stale records.
        Returns the adopted resource ids. The node daemon calls this once at start-up."""
        adopted = []
        for p in sorted(self.state_dir.glob("*.json")):
            data = self._read_state_file(p)
            rid = str(data.get("resource_id", "")) if data else ""
            if not rid:
                with contextlib.suppress(OSError):
                    p.unlink()
                continue
            if self._try_adopt(rid):
                adopted.append(rid)
        return adopted

    @staticmethod
    def _read_state_file(p: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _try_adopt(self, rid: str) -> bool:
        if self.running(rid):
            return True
        data = self._read_state(rid)
        if data is None:
            return False
        try:
            pid, ticks = int(data["pid"]), int(data["start_ticks"])
            definition = ServiceDefinition.from_mapping(data["definition"])
        except (KeyError, TypeError, ValueError):
            self._remove_state(rid)
            return False
        st = read_stat(pid)
        if st is None or st.start_ticks != ticks or data.get("boot_id") != boot_id() or st.state == "Z":
            if st is not None and st.state == "Z" and st.start_ticks == ticks:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
            self._remove_state(rid)
            return False
        inst = _Instance(rid, definition, pid, ticks, None, ready=True)
        self.ctx.reaper.add_session(st.session)
        self.ctx.reaper.manage(pid)
        if not self._watch(inst):
            self._remove_state(rid)
            return False
        self._instances[rid] = inst
        self._start_background(inst)
        return True

    # -- exit watching -----------------------------------------------------------------------------
    def _watch(self, inst: _Instance) -> bool:
        loop = asyncio.get_running_loop()
        try:
            inst.pidfd = os.pidfd_open(inst.pid)
        except ProcessLookupError:
            return False
        except OSError:
            inst.pidfd = -1
        if inst.pidfd >= 0:
            loop.add_reader(inst.pidfd, self._on_exit, inst)
        else:  # no pidfd: poll /proc
            inst.tasks.append(loop.create_task(self._poll_exit(inst)))
        return True

    async def _poll_exit(self, inst: _Instance) -> None:
        while not inst.exited.is_set():
            st = read_stat(inst.pid)
            if st is None or st.start_ticks != inst.start_ticks or st.state == "Z":
                self._on_exit(inst)
                return
            await asyncio.sleep(0.02)

    def _on_exit(self, inst: _Instance) -> None:
        if inst.exited.is_set():
            return
        at = time.monotonic()
        loop = asyncio.get_running_loop()
        if inst.pidfd >= 0:
            loop.remove_reader(inst.pidfd)
            os.close(inst.pidfd)
            inst.pidfd = -1
        code: int | None = None
        sig: int | None = None
        # Kill what is left of the session while the leader's zombie still holds the session id
        # (once reaped, the id could belong to a new session).
        self.ctx.reaper.kill_session(inst.pid)
        if inst.popen is not None:
            rc = inst.popen.poll()
            if rc is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    rc = inst.popen.wait(0.5)
            if rc is not None:
                code, sig = (rc, None) if rc >= 0 else (None, -rc)
            self.ctx.reaper.release(inst.pid)
        else:
            try:
                done, status = os.waitpid(inst.pid, os.WNOHANG)
                if done:
                    raw = os.waitstatus_to_exitcode(status)
                    code, sig = (raw, None) if raw >= 0 else (None, -raw)
            except ChildProcessError:
                pass
            self.ctx.reaper.release(inst.pid)
        inst.exit_code, inst.exit_signal = code, sig
        inst.exited.set()
        self.ctx.reaper.reap_orphans()
        for t in inst.tasks:
            if t is not asyncio.current_task():
                t.cancel()
        self._remove_state(inst.resource_id)
        log_path = self.log_path(inst.resource_id)
        output = "" if inst.stopping else output_tail(log_path, max(0, inst.log_offset))
        ev = ServiceExited(
            inst.resource_id,
            inst.pid,
            code,
            sig,
            inst.stopping,
            at,
            inst.popen is None,
            output,
            str(log_path),
        )
        self._last_exit[inst.resource_id] = ev
        self._emit(ev)

    # -- background: probes and log rotation --------------------------------------------------------
    def _start_background(self, inst: _Instance) -> None:
        loop = asyncio.get_running_loop()
        inst.tasks.append(loop.create_task(self._rotate_loop(inst)))
        if inst.definition.probe is not None:
            inst.tasks.append(loop.create_task(self._probe_loop(inst)))

    def _service_env(self, d: ServiceDefinition, rid: str, token: str = "") -> dict[str, str]:
        """The service's environment; `PACELINE_TOKEN` is the fencing token of the DC that
        started it (a service that writes to shared storage can refuse older tokens)."""
        env = {
            "PATH": SERVICE_PATH,
            "LANG": "C.UTF-8",
            "PACELINE_RESOURCE_ID": rid,
            "PACELINE_NODE_NAME": self.ctx.node_name,
        }
        if token:
            env["PACELINE_TOKEN"] = token
        if d.user:
            with contextlib.suppress(KeyError):
                pw = pwd.getpwnam(d.user)
                env.update(HOME=pw.pw_dir, USER=pw.pw_name, LOGNAME=pw.pw_name)
        else:
            env["HOME"] = os.environ.get("HOME", "/")
        env.update(d.env)
        return env

    async def _probe_once(self, inst: _Instance) -> ProbeResult:
        probe = inst.definition.probe
        assert probe is not None
        return await run_probe(
            probe,
            self.ctx.reaper,
            self._service_env(inst.definition, inst.resource_id),
            inst.definition.cwd or "/",
        )

    async def _probe_loop(self, inst: _Instance) -> None:
        probe = inst.definition.probe
        assert probe is not None
        reported = False
        while not inst.exited.is_set():
            await asyncio.sleep(probe.interval_s)
            if inst.exited.is_set() or inst.stopping:
                return
            res = await self._probe_once(inst)
            inst.last_probe = res
            if res.ok:
                inst.failures, reported = 0, False
                continue
            inst.failures += 1
            if inst.failures >= probe.failure_threshold and not reported and not inst.exited.is_set():
                reported = True
                self._emit(
                    ServiceProbeFailed(
                        inst.resource_id, inst.pid, inst.failures, res.detail, time.monotonic()
                    )
                )

    async def _rotate_loop(self, inst: _Instance) -> None:
        while not inst.exited.is_set():
            await asyncio.sleep(1.0)
            self.rotate_log(inst.resource_id, inst.definition, copytruncate=True)

    def rotate_log(self, rid: str, d: ServiceDefinition, copytruncate: bool) -> bool:
        """Rotate the log if it exceeds ``d.log_max_bytes``; True if it did."""
        p = self.log_path(rid)
        try:
            if p.stat().st_size <= d.log_max_bytes:
                return False
        except FileNotFoundError:
            return False
        for i in range(d.log_backups - 1, 0, -1):
            src = p.with_name(f"{p.name}.{i}")
            if src.exists():
                os.replace(src, p.with_name(f"{p.name}.{i + 1}"))
        if d.log_backups > 0:
            if copytruncate:
                shutil.copyfile(p, p.with_name(p.name + ".1"))
            else:
                os.replace(p, p.with_name(p.name + ".1"))
                return True
        with open(p, "r+b") as f:
            f.truncate(0)
        return True

    # -- operations --------------------------------------------------------------------------------
    async def metadata(self, spec: AgentSpec) -> AgentMetadata:
        params = "".join(
            f'<parameter name="{n}" required="{int(n == "command")}">'
            f'<shortdesc lang="en">{escape(d)}</shortdesc>'
            f'<content type="{t}"/></parameter>'
            for n, t, d in (
                ("command", "string", "argv as a JSON list (or a shell-like string)"),
                ("env", "string", "environment as a JSON object"),
                ("cwd", "string", "working directory"),
                ("user", "string", "run as this user"),
                (
                    "probe",
                    "string",
                    "health probe as a JSON object (http, tcp or exec; interval, timeout, ...)",
                ),
                ("stop_grace", "time", "time between SIGTERM and SIGKILL on stop"),
                ("log_max_bytes", "integer", "rotate the output log beyond this size"),
                ("log_backups", "integer", "rotated logs kept"),
            )
        )
        return parse_metadata(
            f'<resource-agent name="{escape(spec.type)}"><version>1.0</version>'
            '<longdesc lang="en">Paceline built-in supervised command</longdesc>'
            '<shortdesc lang="en">Supervised command</shortdesc>'
            f'<parameters>{params}</parameters><actions><action name="start" timeout="20s"/>'
            '<action name="stop" timeout="20s"/><action name="monitor" timeout="20s" interval="10s"/>'
            '<action name="meta-data" timeout="5s"/></actions></resource-agent>'
        )

    def exists(self, spec: AgentSpec) -> bool:
        return True

    async def run(self, req: OpRequest) -> OpResult:
        t0 = time.monotonic()
        if req.action not in SERVICE_ACTIONS:
            return OpResult(
                OcfRc.ERR_UNIMPLEMENTED,
                OpStatus.NOT_SUPPORTED,
                0.0,
                f"{req.action} is not an action of built-in services",
            )
        rid = req.resource_id
        timeout_s = (req.timeout_ms or DEFAULT_TIMEOUT_MS) / 1000
        if req.action == "meta-data":
            return OpResult(OcfRc.OK, OpStatus.DONE, _ms(t0), stdout="(built-in service agent)")
        if req.action in ("monitor", "status"):
            return self._monitor(rid, t0)
        if req.action == "stop":
            return await self._stop(rid, req, timeout_s, t0)
        try:
            d = ServiceDefinition.from_params(req.params)
        except ServiceDefinitionError as e:
            return OpResult(OcfRc.ERR_CONFIGURED, OpStatus.ERROR_FATAL, _ms(t0), str(e))
        if req.action == "validate-all":
            return OpResult(OcfRc.OK, OpStatus.DONE, _ms(t0))
        return await self._start(rid, d, timeout_s, t0, req.meta.get("paceline_token", ""))

    def _monitor(self, rid: str, t0: float) -> OpResult:
        inst = self._instances.get(rid)
        if inst is not None and not inst.exited.is_set():  # safety net behind the pidfd: /proc
            st = read_stat(inst.pid)
            if st is None or st.start_ticks != inst.start_ticks or st.state == "Z":
                self._on_exit(inst)
        if inst is None or inst.exited.is_set():
            if self._try_adopt(rid):
                return OpResult(OcfRc.OK, OpStatus.DONE, _ms(t0), "adopted running process")
            last = self._last_exit.get(rid)
            why = last.describe() if last is not None and not last.expected else ""
            return OpResult(OcfRc.NOT_RUNNING, OpStatus.DONE, _ms(t0), why)
        probe = inst.definition.probe
        if probe is not None and inst.failures >= probe.failure_threshold:
            detail = inst.last_probe.detail if inst.last_probe else "probe failing"
            return OpResult(
                OcfRc.ERR_GENERIC,
                OpStatus.DONE,
                _ms(t0),
                f"probe failed {inst.failures} times in a row: {detail}",
            )
        return OpResult(OcfRc.OK, OpStatus.DONE, _ms(t0))

    def _spawn(self, rid: str, d: ServiceDefinition, token: str = "") -> _Instance:
        self.rotate_log(rid, d, copytruncate=False)
        logfd = os.open(self.log_path(rid), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        offset = os.fstat(logfd).st_size
        try:
            kwargs: dict[str, Any] = {}
            if d.user:
                pw = pwd.getpwnam(d.user)
                kwargs = {
                    "user": pw.pw_uid,
                    "group": pw.pw_gid,
                    "extra_groups": os.getgrouplist(pw.pw_name, pw.pw_gid),
                }
            popen = subprocess.Popen(
                list(d.command),
                stdin=subprocess.DEVNULL,
                stdout=logfd,
                stderr=logfd,
                env=self._service_env(d, rid, token),
                cwd=d.cwd or "/",
                start_new_session=True,
                close_fds=True,
                **kwargs,
            )
        finally:
            os.close(logfd)
        self.ctx.reaper.manage(popen.pid)
        self.ctx.reaper.add_session(popen.pid)
        st = read_stat(popen.pid)
        inst = _Instance(rid, d, popen.pid, st.start_ticks if st else 0, popen, log_offset=offset)
        self._instances[rid] = inst
        self._write_state(inst)
        if not self._watch(inst):
            self._on_exit(inst)
        return inst

    async def _start(
        self, rid: str, d: ServiceDefinition, timeout_s: float, t0: float, token: str = ""
    ) -> OpResult:
        if self.running(rid) or self._try_adopt(rid):
            return OpResult(OcfRc.OK, OpStatus.DONE, _ms(t0), "already running")
        try:
            inst = self._spawn(rid, d, token)
        except KeyError:
            return OpResult(OcfRc.ERR_CONFIGURED, OpStatus.ERROR_FATAL, _ms(t0), f"no such user {d.user!r}")
        except FileNotFoundError as e:
            if d.cwd and e.filename == d.cwd:
                why = f"working directory {d.cwd} not found"
            else:
                why = command_problem(d.command[0], d.env.get("PATH", SERVICE_PATH), d.cwd) or (
                    f"command {d.command[0]} not found"
                )
            return OpResult(OcfRc.ERR_INSTALLED, OpStatus.DONE, _ms(t0), f"cannot start: {why}")
        except OSError as e:
            return OpResult(
                OcfRc.ERR_GENERIC, OpStatus.ERROR, _ms(t0), f"cannot run {d.command[0]}: {e.strerror or e}"
            )
        except ValueError as e:  # e.g. a NUL byte or '=' in an environment variable
            return OpResult(
                OcfRc.ERR_CONFIGURED, OpStatus.ERROR_FATAL, _ms(t0), f"cannot run {d.command[0]}: {e}"
            )
        if d.probe is None:
            inst.ready = True
            self._start_background(inst)
            return OpResult(OcfRc.OK, OpStatus.DONE, _ms(t0))
        deadline = t0 + timeout_s
        with contextlib.suppress(TimeoutError):  # the initial delay, unless the child dies first
            await asyncio.wait_for(
                inst.exited.wait(), max(0.0, min(d.probe.initial_delay_s, deadline - time.monotonic()))
            )
        last = ProbeResult(False, "no probe ran")
        while time.monotonic() < deadline and not inst.exited.is_set():
            last = await self._probe_once(inst)
            if last.ok:
                inst.ready, inst.last_probe = True, last
                self._start_background(inst)
                return OpResult(OcfRc.OK, OpStatus.DONE, _ms(t0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(inst.exited.wait(), min(d.probe.interval_s, 0.1))
        if inst.exited.is_set():
            how = f"signal {inst.exit_signal}" if inst.exit_signal else f"code {inst.exit_code}"
            output = output_tail(self.log_path(rid), max(0, inst.log_offset))
            return OpResult(
                OcfRc.ERR_GENERIC,
                OpStatus.DONE,
                _ms(t0),
                exit_text(f"exited during start ({how})", output, str(self.log_path(rid))),
            )
        await self._terminate(inst, 0.0, 5.0)
        return OpResult(
            OcfRc.ERR_GENERIC,
            OpStatus.TIMEOUT,
            _ms(t0),
            f"not ready within {timeout_s:g}s (last probe: {last.detail}); killed",
        )

    async def _terminate(self, inst: _Instance, grace_s: float, hard_s: float) -> bool:
        """SIGTERM the group, SIGKILL the session after ``grace_s``; True if SIGKILL was needed."""
        inst.stopping = True
        for t in inst.tasks:
            t.cancel()
        killed = False
        if grace_s > 0:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(inst.pid, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(inst.exited.wait(), grace_s)
        if not inst.exited.is_set():
            killed = True
            self.ctx.reaper.kill_session(inst.pid)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(inst.exited.wait(), hard_s)
        if not inst.exited.is_set():  # no pidfd event (e.g. polling fallback stuck): check /proc
            self._on_exit(inst)
        await self._wait_session_gone(inst.pid, hard_s)
        return killed

    async def kill_all(self) -> list[str]:
        """Self-fencing: SIGKILL every service's whole session at once (no grace), forget them;
        the ids killed."""
        insts = list(self._instances.values())
        for inst in insts:
            inst.stopping = True
            self.ctx.reaper.kill_session(inst.pid)
        await asyncio.gather(*(self._terminate(inst, 0.0, 1.0) for inst in insts))
        for inst in insts:
            self._remove_state(inst.resource_id)
            self._instances.pop(inst.resource_id, None)
        return sorted(inst.resource_id for inst in insts)

    async def _wait_session_gone(self, sid: int, limit_s: float) -> None:
        """A stop is done only when nothing of the service's session is left: killed workers may
        take a moment to die (and be reaped by us, the subreaper)."""
        deadline = time.monotonic() + max(0.5, limit_s)
        while pids_in_session(sid) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def _stop(self, rid: str, req: OpRequest, timeout_s: float, t0: float) -> OpResult:
        inst = self._instances.get(rid)
        if inst is None or inst.exited.is_set():
            if not self._try_adopt(rid):
                self._instances.pop(rid, None)
                return OpResult(OcfRc.OK, OpStatus.DONE, _ms(t0))
            inst = self._instances[rid]
        grace = inst.definition.stop_grace_s
        if "stop_grace" in req.params:
            with contextlib.suppress(ServiceDefinitionError):
                grace = ServiceDefinition.from_params(req.params).stop_grace_s
        grace = max(0.0, min(grace, timeout_s - 1.0)) if timeout_s > 1.0 else 0.0
        killed = await self._terminate(inst, grace, max(1.0, timeout_s - grace))
        self._instances.pop(rid, None)
        self._remove_state(rid)
        return OpResult(
            OcfRc.OK,
            OpStatus.DONE,
            _ms(t0),
            f"did not stop within {grace:g}s of SIGTERM: killed" if killed else "",
        )

    async def close(self) -> None:
        """Stop watching (the services keep running, to be adopted by the next supervisor)."""
        for inst in self._instances.values():
            for t in inst.tasks:
                t.cancel()
            if inst.pidfd >= 0:
                with contextlib.suppress(Exception):
                    asyncio.get_running_loop().remove_reader(inst.pidfd)
                os.close(inst.pidfd)
                inst.pidfd = -1
            if inst.popen is not None:
                self.ctx.reaper.release(inst.pid)
                inst.popen.returncode = 0  # its exit is no longer ours to collect here
        self._instances.clear()
