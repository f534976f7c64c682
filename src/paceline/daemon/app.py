"""`Daemon`: `paceline run`: one node with the embedded store, in the foreground.

Start-up: take the state directory's lock (one daemon per state dir), open the SQLite-backed
store, load and validate the configuration (the file given, else the last applied version),
adopt the built-in services still running, probe every resource (so nothing already running is
started twice; the recorded history, fail counts included, is kept where the probes agree with
it), then run the controller loop and the local API on `STATE/paceline.sock`.

Signals: SIGTERM/SIGINT stop every resource in reverse order, then exit 0 (a second one during
that exits at once, leaving the resources running for the next daemon to adopt). SIGHUP reloads the
configuration file (validated first: an invalid file is rejected, the running one untouched).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..agents import AgentRunner, LocalAgentRunner, ServiceEvent, become_subreaper
from ..alerts import AlertDispatcher
from ..controller.loop import Controller
from ..controller.records import Event, EventKind
from ..controller.statedb import StateDB
from ..controller.view import effective_config
from ..model.config import Configuration
from ..model.scores import format_score
from ..node.agent import NodeAgent
from ..node.membership import Membership
from ..node.roles import LocalRole, active_on, roles_on
from ..scheduler.transition import Transition
from ..store import Clock, MemoryStore, SqlitePersistence, Store, SystemClock
from ..web.listen import ApiServers, WebOptions, instrument, serve_api
from .api import Api
from .configsrc import InvalidConfig, LoadedConfig, changed_primitives, check_text, environment_warnings
from .housekeeping import forget_previous_boot, stop_orphans
from .paths import DEFAULT_STATE_DIR, default_state_dir, socket_path
from .reload import plan_reloads

if TYPE_CHECKING:
    from ..web.metrics import Metrics

__all__ = ["DEFAULT_STATE_DIR", "Daemon", "DaemonError", "default_state_dir", "make_daemon", "socket_path"]

log = logging.getLogger("paceline.daemon")


class DaemonError(Exception):
    """The daemon cannot start; the message says why (one line)."""


def _node_name(config: Configuration, given: str | None) -> str:
    if given:
        return given
    host = socket.gethostname().split(".")[0] or "local"
    names = [n.name for n in config.nodes]
    if not names or host in names:
        return host
    if len(names) == 1:
        return names[0]
    raise DaemonError(
        f"this machine ({host}) is not one of the configured nodes ({', '.join(names)}); use --node"
    )


def make_daemon(
    state_dir: Path, config_path: Path | None, node_name: str | None, restart_backoff: bool = True
) -> Daemon:
    """The daemon for this configuration: a cluster node when it names an etcd store, else the
    single machine on the embedded store (an unreadable or invalid file is the daemon's to report)."""
    if config_path is not None:
        try:
            store = check_text(config_path.read_text(encoding="utf-8"), str(config_path)).config.store
        except (OSError, InvalidConfig):
            store = None
        if store and store.startswith("etcd://"):
            from .cluster import ClusterDaemon

            return ClusterDaemon(state_dir, config_path, node_name, restart_backoff=restart_backoff)
    return Daemon(state_dir, config_path, node_name, restart_backoff=restart_backoff)


def single_node_refusals(config: Configuration, node: str | None) -> list[str]:
    """Why the single-node daemon (embedded store) cannot run `config` ([] when it can): the same
    checks at start-up and for `config apply` (where `node` is this daemon's node name)."""
    out: list[str] = []
    if config.store not in (None, "", "embedded", "memory"):
        out.append(
            f"cluster.store {config.store} is not a store this daemon knows: use "
            "etcd://HOST:PORT,... for a cluster, or leave it out to run this machine alone"
            if not config.store.startswith("etcd://")
            else f"cluster.store {config.store}: this daemon runs on the embedded store; restart it "
            "with the new file (paceline run) to join a cluster"
        )
    if len(config.nodes) > 1:
        others = ", ".join(n.name for n in config.nodes)
        out.append(
            f"the configuration names several nodes ({others}): the embedded store serves one "
            "machine; other nodes need cluster.store: etcd://HOST:PORT,..."
        )
    elif node is not None and config.nodes and config.nodes[0].name != node:
        out.append(f"the configuration names node {config.nodes[0].name}, but this daemon runs as {node}")
    return out


class Daemon:
    def __init__(
        self,
        state_dir: Path,
        config_path: Path | None = None,
        node_name: str | None = None,
        clock: Clock | None = None,
        runner: AgentRunner | None = None,
        store: Store | None = None,
        restart_backoff: bool = True,
    ) -> None:
        self.state_dir = state_dir
        self.config_path = config_path
        self._node_given = node_name
        self.clock: Clock = clock or SystemClock()
        self._runner = runner
        self._store = store
        self.node = ""
        self.loaded: LoadedConfig | None = None
        self.alerts = AlertDispatcher()
        self._shutdown = asyncio.Event()
        self._lock_fd = -1
        self._attr_mtime = 0
        self.stopping = False
        self.restart_backoff = restart_backoff
        self.web = WebOptions()
        """The web listener (`paceline run --http`, `--http-cert/--http-key`)."""
        self.metrics: Metrics | None = None

    # -- start-up ---------------------------------------------------------------------------------
    def _take_lock(self) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.state_dir, 0o700)
            fd = os.open(self.state_dir / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise DaemonError(
                f"cannot use the state directory {self.state_dir}: {e.strerror or e} "
                "(choose another with --state-dir or PACELINE_STATE_DIR)"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DaemonError(
                f"another paceline daemon already runs with state directory {self.state_dir}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    async def _initial_config(self, db: StateDB) -> LoadedConfig:
        current = await db.current_config()
        if self.config_path is not None:
            try:
                text = self.config_path.read_text(encoding="utf-8")
            except OSError as e:
                raise DaemonError(f"cannot read {self.config_path}: {e.strerror or e}") from None
            source = str(self.config_path)
        elif current is not None:
            text, source = current.text, current.source
        else:
            raise DaemonError(
                "no configuration: give CONFIG (nothing was applied in this state directory yet)"
            )
        try:
            loaded = check_text(text, source)
        except InvalidConfig as e:
            raise DaemonError("invalid configuration:\n" + "\n".join(e.errors)) from None
        if current is None or current.text != text:
            await db.save_config(text, source)
        return loaded

    def _on_event(self, ev: Event) -> None:
        level = logging.WARNING if ev.kind in (EventKind.FAILURE, EventKind.ESCALATION) else logging.INFO
        fields = {"kind": ev.kind.value, "node": ev.node, "rsc": ev.resource or None, "seq": ev.seq}
        log.log(level, ev.message, extra={"fields": fields})
        self.alerts.submit(ev)
        if self.metrics is not None:
            self.metrics.observe_event(ev)

    def _on_transition_done(self, _t: Transition, seconds: float) -> None:
        if self.metrics is not None:
            self.metrics.observe_transition(seconds)

    def _on_transition(self, t: Transition) -> None:
        for line in t.summary:
            log.info(" ".join(line.split()), extra={"fields": {"kind": "transition"}})

    async def run(self) -> int:
        self._take_lock()
        store = self._store or MemoryStore(self.clock, SqlitePersistence(self.state_dir / "store.db"))
        db = StateDB(store, self.clock, on_event=self._on_event)
        await db.load()
        self.db = db
        try:
            loaded = await self._initial_config(db)
        except DaemonError:
            await store.close()
            raise
        refused = single_node_refusals(loaded.config, None)
        if refused:
            await store.close()
            raise DaemonError(refused[0])
        self.loaded = loaded
        self.alerts.alerts = loaded.alerts
        for w in (*loaded.warnings, *environment_warnings(loaded.config, loaded.source)):
            log.warning(w, extra={"fields": {"kind": "config"}})
        self.node = _node_name(loaded.config, self._node_given)
        self.membership = Membership(store, self.clock, self.node)
        await self.membership.join()
        if self._runner is None:
            become_subreaper()  # orphans of agents (double-forking daemons) are ours to reap
        runner = self._runner or LocalAgentRunner(self.state_dir / "agents", self.node)
        self.runner = runner
        controller: Controller | None = None

        def wake() -> None:
            if controller is not None:
                controller.wake()

        agent = NodeAgent(runner, db, self.node, self.clock, wake, self._attributes)
        if not self.restart_backoff:
            agent.flap_max_delay_s = 0.0
        self.agent = agent
        snap = await db.snapshot()
        agent.config = effective_config(loaded.config, self.node, snap)
        rebooted = False
        if isinstance(runner, LocalAgentRunner):
            rebooted = forget_previous_boot(runner, self.state_dir, self.node)
            adopted = runner.services.adopt_all()
            for rid in adopted:
                log.info(
                    "%s: service still running (pid %s): adopting it",
                    rid,
                    runner.services.pid(rid),
                    extra={"fields": {"kind": "adopt", "rsc": rid}},
                )
            runner.services.add_listener(self._service_listener)
            await stop_orphans(runner, db, self.node, loaded.config, adopted)
        await db.log_event(
            EventKind.DAEMON, self.node, f"paceline daemon starting on {self.node} (pid {os.getpid()})"
        )
        known = {p.id for p in loaded.config.primitives()}
        for rid in await db.forget_unknown(self.node, known):
            log.info(
                "%s is no longer configured: forgetting its history",
                rid,
                extra={"fields": {"kind": "config", "rsc": rid}},
            )
        # on the same boot, a service that died while no daemon watched it is a failure; after a
        # reboot, everything stopped with the machine
        await agent.probe(history=(await db.snapshot()).history, died_is_failure=not rebooted)
        controller = Controller(
            db,
            self.clock,
            self.node,
            agent,
            loaded.config,
            on_transition=self._on_transition,
            on_transition_done=self._on_transition_done,
        )
        self.controller = controller
        server = await self.serve_api(Api(self))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_shutdown)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self._reload_file()))
        ctl_task = loop.create_task(controller.run())
        attr_task = loop.create_task(self._watch_attributes())
        member_task = loop.create_task(self.membership.run())
        log.info(
            "running %d resources on %s; API on %s",
            sum(1 for _ in loaded.config.primitives()),
            self.node,
            socket_path(self.state_dir),
            extra={"fields": {"kind": "daemon"}},
        )
        try:
            await self._shutdown.wait()
        finally:
            self.stopping = True
            await db.log_event(EventKind.DAEMON, self.node, "shutting down: stopping every resource")
            ok = await controller.stop_everything()
            controller.stop()
            await asyncio.wait({ctl_task}, timeout=5)
            attr_task.cancel()
            member_task.cancel()
            await agent.close()
            left = sorted(active_on((await db.snapshot()).history, self.node))
            ok = ok and not left
            await db.log_event(
                EventKind.DAEMON,
                self.node,
                "stopped" + (f"; NOT stopped (check by hand): {', '.join(left)}" if left else ""),
            )
            await self.alerts.drain(5)
            await self.alerts.close()
            await server.close()
            if isinstance(runner, LocalAgentRunner):
                await runner.close()
            await self.membership.leave()
            await store.close()
        return 0 if ok else 1

    async def serve_api(self, api: Api) -> ApiServers:
        """The API's listeners: the Unix socket and the web listener (`web.listen`)."""
        raw = self.loaded.config.options.raw if self.loaded is not None else {}
        self.metrics = instrument(api, self.agent, self.membership)
        return await serve_api(self.state_dir, api, self.web, raw, self.metrics.render)

    def request_shutdown(self) -> None:
        """First SIGTERM/SIGINT: stop every resource, then exit. A second one while that runs:
        exit at once and leave the resources running (a later `paceline run` adopts them)."""
        if self._shutdown.is_set():
            log.warning(
                "second stop signal: exiting now; resources are left running (paceline run adopts them)",
                extra={"fields": {"kind": "daemon"}},
            )
            for h in logging.getLogger("paceline").handlers:
                h.flush()
            os._exit(130)
        self._shutdown.set()

    def _service_listener(self, ev: ServiceEvent) -> Any:
        return self.agent.on_service_event(ev)

    # -- node attributes ------------------------------------------------------------------------
    def _attributes(self) -> Mapping[str, str]:
        runner = getattr(self, "runner", None)
        if isinstance(runner, LocalAgentRunner):
            try:
                return runner.attributes.attributes(self.node)
            except (OSError, ValueError):
                return {}
        return {}

    async def _watch_attributes(self) -> None:
        """Wake the controller when an agent (health agents, shims) changed a node attribute."""
        runner = self.runner
        if not isinstance(runner, LocalAgentRunner):
            return
        path = runner.attributes.path
        while True:
            await asyncio.sleep(1.0)
            try:
                mtime = path.stat().st_mtime_ns
            except OSError:
                continue
            if mtime != self._attr_mtime:
                self._attr_mtime = mtime
                self.controller.wake()

    # -- configuration changes --------------------------------------------------------------------
    async def _reload_file(self) -> None:
        if self.config_path is None:
            log.warning("SIGHUP: no configuration file to reload", extra={"fields": {"kind": "config"}})
            return
        try:
            text = self.config_path.read_text(encoding="utf-8")
        except OSError as e:
            log.error("SIGHUP: cannot read %s: %s", self.config_path, e, extra={"fields": {"kind": "config"}})
            return
        with contextlib.suppress(InvalidConfig):
            await self.apply_text(text, str(self.config_path))

    async def apply_text(self, text: str, source: str) -> dict[str, Any]:
        """Validate and apply a configuration; raises InvalidConfig (nothing changes then)."""
        try:
            loaded = check_text(text, source)
            refused = single_node_refusals(loaded.config, self.node)
            if refused:
                raise InvalidConfig([f"{source}: {r}" for r in refused])
        except InvalidConfig as e:
            await self.db.log_event(
                EventKind.CONFIG,
                self.node,
                f"configuration from {source} rejected: {len(e.errors)} error(s)",
                desc="; ".join(e.errors[:5]),
            )
            raise
        assert self.loaded is not None
        old = self.loaded.config
        if text == self.loaded.text:
            current = await self.db.current_config()
            return {
                "applied": False,
                "version": current.version if current else 0,
                "restarted": [],
                "message": "configuration unchanged",
            }
        snap = await self.db.snapshot()
        active = {
            rid for rid, v in roles_on(snap.history, self.node).items() if v.role not in (LocalRole.STOPPED,)
        }
        new_ids = {p.id for p in loaded.config.primitives()}
        removed = {p.id for p in old.primitives() if p.id not in new_ids}
        redefined = changed_primitives(old, loaded.config)
        changed = redefined & active
        reload, restart = await plan_reloads(self.runner, old, loaded.config, changed)
        restart |= removed & active
        cv = await self.db.save_config(text, source)
        self.loaded = loaded
        self.alerts.alerts = loaded.alerts
        await self.db.log_event(
            EventKind.CONFIG,
            self.node,
            f"configuration version {cv.version} applied from {source}"
            + (f"; restarting {', '.join(sorted(restart))}" if restart else "")
            + (f"; reloading {', '.join(sorted(reload))}" if reload else ""),
        )
        for rid in sorted(redefined):
            # failures counted against the old definition say nothing about the new one (as
            # Pacemaker clears them when a resource's parameters change)
            count = await self.db.failcount(rid, self.node)
            if count and await self.db.clear_failures(rid, self.node):
                await self.db.log_event(
                    EventKind.CONFIG,
                    self.node,
                    f"fail count of {rid} on {self.node} ({format_score(count)}) cleared: "
                    "its definition changed",
                    resource=rid,
                )
        await self.controller.restart(restart, loaded.config, reload, why="its configuration changed")
        warnings = [*loaded.warnings, *environment_warnings(loaded.config, source)]
        return {
            "applied": True,
            "version": cv.version,
            "restarted": sorted(restart),
            "reloaded": sorted(reload),
            "warnings": warnings,
            "message": f"configuration version {cv.version} applied",
        }
