"""`ClusterDaemon`: `paceline run` on one node of a cluster that shares an etcd store.

Start-up: take the state directory's lock, connect to etcd (`cluster.store`, keys under
`/clusters/<name>`), store the configuration file as the cluster's current version if it differs,
start the watchdog process, join as `joining` under a fresh lease, probe every resource here
(recording what disagrees with the history), then go `online`. Every node then:
- keeps its lease alive (`node.membership`); at its deadline it fences itself (`_self_fence`:
  every service SIGKILLed, other resources stopped with a short timeout) and joins again;
- runs what the DC dispatches to it (`node.worker.ActionWorker`), its own recurring monitors,
  and publishes its transient attributes to `attrs/<node>`;
- campaigns for the DC key whenever nobody holds it. The DC re-reads what runs (a `reprobe` on
  every online node) before its first plan, then runs the controller with a `ClusterExecutor`
  and a `Fencer` until it is deposed or loses its lease.
Shutdown (SIGTERM/SIGINT): the node says `shutdown`; the DC moves or stops what runs here; when
nothing runs here (or after `shutdown_timeout_s`, then by self-fencing) it leaves the cluster.

In a cluster `stonith-enabled` is always on and `watchdog_fencing` is true (this daemon runs a
watchdog): a lost node's resources move only once it is certainly fenced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any

from ..agents import LocalAgentRunner, become_subreaper
from ..controller.dispatch import ClusterExecutor
from ..controller.fencing import Fencer
from ..controller.loop import Controller
from ..controller.records import DC_KEY, EventKind, attrs_key
from ..controller.statedb import StateDB
from ..controller.view import effective_config
from ..model.config import Configuration
from ..model.enums import NoQuorumPolicy
from ..model.fencing import fencing_plan
from ..model.heartbeats import HeartbeatPolicy
from ..model.leases import LeaseTiming
from ..model.state import ClusterState
from ..node.agent import NodeAgent
from ..node.heartbeat import Heartbeats
from ..node.membership import Membership
from ..node.roles import active_on
from ..node.watchdog import WatchdogClient
from ..node.worker import ActionWorker
from ..scheduler.transition import ActionKind
from ..store import EventType, Store, StoreError
from .api import Api
from .app import Daemon, DaemonError, socket_path
from .cluster_config import cluster_config, follow_config, restart_set
from .configsrc import InvalidConfig, LoadedConfig, check_text

__all__ = ["ClusterDaemon"]

log = logging.getLogger("paceline.daemon")


class ClusterDaemon(Daemon):
    shutdown_timeout_s = 120.0

    async def open_store(self, url: str, name: str) -> Store:
        from ..store.etcd import EtcdStore

        try:
            return await EtcdStore.open(url, namespace=f"/clusters/{name}")
        except StoreError as e:
            raise DaemonError(f"cannot reach the cluster store {url}: {e}") from None

    async def run(self) -> int:
        self._background: set[asyncio.Task[None]] = set()
        self._stop_dc = False
        self._take_lock()
        loaded = self._read_file()
        config = loaded.config
        assert config.store is not None
        self.node = node = self._cluster_node(config)
        store = self._store or await self.open_store(config.store, config.name)
        self.store = store
        db = StateDB(store, self.clock, on_event=self._on_event)
        self.db = db
        await db.load()
        current = await db.current_config()
        if current is None:
            self.config_version = (await db.save_config(loaded.text, loaded_source(self.config_path))).version
        else:
            self.config_version = current.version
            if current.text != loaded.text:
                loaded = self._adopt(current.version, current.text, current.source)
                config = loaded.config
                self.node = node = self._cluster_node(config)
        self.loaded = loaded
        self.alerts.alerts = loaded.alerts
        for w in loaded.warnings:
            log.warning(w, extra={"fields": {"kind": "config"}})
        if not config.options.stonith_enabled:
            log.warning(
                "stonith-enabled: false is ignored in a cluster: a lost node is always fenced (by a "
                "fence device, or by its lease watchdog) before its resources move",
                extra={"fields": {"kind": "config"}},
            )
        self.config = cluster_config(config)
        self.timing = LeaseTiming(ttl=config.options.lease_ttl_s)
        become_subreaper()
        runner = self._runner or LocalAgentRunner(self.state_dir / "agents", node)
        self.runner = runner
        services_dir = (
            runner.services.state_dir if isinstance(runner, LocalAgentRunner) else self.state_dir / "services"
        )
        self.watchdog = WatchdogClient(services_dir)
        self.controller: Controller | None = None  # type: ignore[assignment]
        agent = NodeAgent(runner, db, node, self.clock, self._wake_dc, self._attributes)
        if not self.restart_backoff:
            agent.flap_max_delay_s = 0.0
        self.agent = agent
        membership = Membership(store, self.clock, node, timing=self.timing, watchdog=self.watchdog)
        membership.on_lost = self._self_fence
        membership.freeze = config.options.no_quorum_policy in (NoQuorumPolicy.FREEZE, NoQuorumPolicy.IGNORE)
        membership.on_rejoined = self._come_online
        agent.may_act = membership.valid
        self.membership = membership
        if isinstance(runner, LocalAgentRunner):
            for rid in runner.services.adopt_all():
                log.info("%s: service still running: adopting it", rid, extra={"fields": {"kind": "adopt"}})
            runner.services.add_listener(self._service_listener)
        loop = asyncio.get_running_loop()
        keepalive: asyncio.Task[None] | None = None
        try:
            await membership.join("joining")
            # the lease is kept alive from now on, not only once probing is done: a probe that
            # takes longer than the lease's margin must not cost the node its lease
            keepalive = loop.create_task(membership.run())
            await db.log_event(
                EventKind.DAEMON, node, f"paceline daemon starting on {node} (pid {os.getpid()})"
            )
            await self._come_online()
        except StoreError as e:
            if keepalive is not None:
                keepalive.cancel()
            self.watchdog.close()
            raise DaemonError(f"cannot join the cluster: {e}") from None
        self.worker = ActionWorker(store, agent, node, membership.valid, self._resync)
        self.worker.before = lambda action: self._watchdog_stops(
            self.agent.history_id(action.resource)
            if action.kind in (ActionKind.START, ActionKind.PROMOTE, ActionKind.MIGRATE_FROM)
            else None
        )
        self.heartbeats = Heartbeats(
            store,
            self.clock,
            node,
            HeartbeatPolicy(config.options.heartbeat_interval_s),
            lambda: membership.lease if membership.valid() else None,
            self._on_silent,
        )
        server = await self.serve_api(self._api())
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_shutdown)
        tasks = [
            keepalive,
            loop.create_task(self.worker.run()),
            loop.create_task(self._dc_loop()),
            loop.create_task(self._publish_attributes()),
            loop.create_task(self.heartbeats.run()),
            loop.create_task(follow_config(store, self._on_config_version)),
        ]
        log.info(
            "%s joined cluster %s (lease %gs); API on %s",
            node,
            config.name,
            self.timing.ttl,
            socket_path(self.state_dir),
            extra={"fields": {"kind": "daemon"}},
        )
        try:
            await self._shutdown.wait()
        finally:
            self.stopping = True
            ok = await self._leave_cleanly()
            for t in [*tasks, *self._background]:
                t.cancel()
            for t in [*tasks, *self._background]:
                with contextlib.suppress(asyncio.CancelledError, StoreError):
                    await t
            await self.worker.close()
            await agent.close()
            await self.alerts.drain(5)
            await self.alerts.close()
            await server.close()
            if isinstance(runner, LocalAgentRunner):
                await runner.close()
            with contextlib.suppress(StoreError):
                await membership.leave()
            self.watchdog.close()
            with contextlib.suppress(StoreError):
                await store.close()
        return 0 if ok else 1

    # -- start-up helpers -------------------------------------------------------------------------
    def _read_file(self) -> LoadedConfig:
        if self.config_path is None:
            raise DaemonError("a cluster node needs its CONFIG file (it names the cluster store)")
        try:
            text = self.config_path.read_text(encoding="utf-8")
        except OSError as e:
            raise DaemonError(f"cannot read {self.config_path}: {e.strerror or e}") from None
        try:
            return check_text(text, str(self.config_path))
        except InvalidConfig as e:
            raise DaemonError("invalid configuration:\n" + "\n".join(e.errors)) from None

    def _adopt(self, version: int, text: str, source: str) -> LoadedConfig:
        """The cluster's configuration, which wins over a differing local file."""
        try:
            adopted = check_text(text, source or f"the cluster's configuration version {version}")
        except InvalidConfig as e:
            raise DaemonError(
                f"the cluster's configuration (version {version}, from {source}) cannot run here:\n"
                + "\n".join(e.errors)
            ) from None
        log.warning(
            "%s differs from the cluster's configuration version %d (applied from %s): running the "
            "cluster's; `paceline config apply FILE` changes it for every node",
            self.config_path,
            version,
            source,
            extra={"fields": {"kind": "config"}},
        )
        return adopted

    async def _on_config_version(self, version: int, text: str, source: str) -> None:
        """A new version of the cluster's configuration (`config apply` on some node): switch to
        it; the DC first stops what it redefines or removes (`restart_set`), and clears fail counts
        recorded under a definition that is gone."""
        if version <= self.config_version:
            return
        self.config_version = version
        try:
            loaded = check_text(text, source or f"version {version}")
        except InvalidConfig as e:
            log.error(
                "configuration version %d from %s cannot run here: %s", version, source, "; ".join(e.errors)
            )
            return
        old, new = self.config, cluster_config(loaded.config)
        self.loaded = loaded
        self.alerts.alerts = loaded.alerts
        ctl = self.controller
        if ctl is not None and self.membership.is_dc:
            snap = await self.db.snapshot()
            redefined, restart = restart_set(old, new, snap)
            for rid in sorted(redefined):
                for n in new.nodes:
                    if await self.db.failcount(rid, n.name) and await self.db.clear_failures(rid, n.name):
                        await self.db.log_event(
                            EventKind.CONFIG,
                            self.node,
                            f"fail count of {rid} on {n.name} cleared: its definition changed",
                            resource=rid,
                        )
            self.config = new
            await ctl.restart(restart, new, None, why="its configuration changed")
        else:
            self.config = new
        await self._resync()
        log.info(
            "running configuration version %d (from %s)",
            version,
            source,
            extra={"fields": {"kind": "config"}},
        )

    def _cluster_node(self, config: Configuration) -> str:
        names = [n.name for n in config.nodes]
        if not names:
            raise DaemonError("a cluster configuration must list its nodes (nodes: [...])")
        name = self._node_given or os.uname().nodename.split(".")[0]
        if name not in names:
            raise DaemonError(
                f"node {name!r} is not one of the configured nodes ({', '.join(names)}); use --node"
            )
        return name

    async def _come_online(self) -> None:
        """Probe everything here (record what disagrees with the history), then go online."""
        snap = await self.db.snapshot()
        self.agent.config = effective_config(self.config, self.node, snap)
        await self.agent.probe(history=snap.history)
        await self.membership.set_state("online")
        await self._resync()
        await self.membership.campaign()

    async def _resync(self) -> None:
        """Recurring monitors follow this node's history; the agent's configuration follows the
        cluster's (meta overrides included)."""
        snap = await self.db.snapshot()
        self.agent.config = effective_config(self.config, self.node, snap)
        me = next((n for n in self.config.nodes if n.name == self.node), None)
        paused = self.config.options.maintenance_mode or (
            me is not None and snap.node_flags.get(self.node, {}).get("maintenance", False)
        )
        if self.membership.valid():
            self.agent.sync_monitors(snap.history, paused)
        self._watchdog_stops()

    def _watchdog_stops(self, starting: str | None = None) -> None:
        """Tell the watchdog how to stop what runs here and is not a process (an IPaddr2 address
        outlives a SIGKILL): it runs these stops if this daemon hangs, within the lease margin,
        before the DC counts this node fenced (see `model.leases`). `starting`: a resource about
        to start here, told before its start runs."""
        runner = self.runner
        if not isinstance(runner, LocalAgentRunner):
            return
        budget_ms = int(self.timing.margin * 1000)
        stops: list[tuple[list[str], dict[str, str], float]] = []
        before: dict[int, list[tuple[list[str], dict[str, str]]]] = {}
        active = self.agent.active_here()
        if starting is not None and starting not in active:
            active.append(starting)
        for rid in active:
            req = self.agent.stop_request(rid, budget_ms)
            cmd = runner.stop_command(req) if req is not None else None
            if cmd is not None:
                demote = self.agent.demote_first(rid, budget_ms)
                first = runner.stop_command(demote) if demote is not None else None
                if first is not None:  # a promoted copy is demoted, then stopped
                    before[len(stops)] = [first]
                stops.append((cmd[0], cmd[1], self.timing.margin))
        self.watchdog.set_stops(stops, before)

    # -- self-fencing -------------------------------------------------------------------------------
    async def _self_fence(self) -> None:
        """Stop everything this node runs, at once: the lease is (or may be) gone, and the DC will
        recover these resources elsewhere once it counts this node fenced."""
        agent = self.agent
        agent.monitors.sync([])
        killed: list[str] = []
        runner = self.runner
        if isinstance(runner, LocalAgentRunner):
            killed = await runner.services.kill_all()
        active = [rid for rid in agent.active_here() if rid not in killed]

        async def stop(rid: str) -> None:
            req = agent.stop_request(rid, 2000)
            if req is None:
                return
            demote = agent.demote_first(rid, 1000)
            if demote is not None:  # a promoted copy is demoted first, whatever that answers
                await runner.run(demote)
            res = await runner.run(req)
            if not res.ok:
                log.error("self-fence: stop of %s failed: %s", rid, res.describe())

        await asyncio.gather(*(stop(r) for r in active))
        log.error(
            "self-fenced: killed %s; stopped %s",
            ", ".join(killed) or "no service",
            ", ".join(active) or "nothing else",
            extra={"fields": {"kind": "node"}},
        )

    # -- heartbeats ---------------------------------------------------------------------------------
    async def _on_silent(self, victim: str, lag: float) -> bool:
        """`victim` missed its heartbeats. Where a fence device can fence it, it is fenced now,
        without waiting for its lease: by the DC's scheduler (the node is marked unclean), or, when
        the silent node is the DC itself, by the first other live node in configuration order,
        which then revokes the DC's lease so that a new DC is elected. Without a device, silence
        changes nothing: the lease decides (`model.leases`).

        Not now (False: counted again from now) while another node is being fenced or was fenced
        less than the heartbeat grace (2 s) ago: a fencing shakes the store (the victim's etcd member may die
        with it and etcd elects a new leader), and the beats it delays are no evidence. Fencing a
        second node on such evidence could take a second etcd member and the store's quorum with
        it; a node that really is gone is fenced a moment later, or by its lease."""
        if not fencing_plan(self.config, victim) or not self.membership.valid():
            return True
        snap = await self.db.snapshot()
        if victim not in snap.members:
            return True
        policy = self.heartbeats.policy
        if any(f.get("fence_requested") for n, f in snap.node_flags.items() if n != victim) or any(
            self.clock.time() - float(f.get("time", 0)) < policy.grace for f in snap.fenced.values()
        ):
            return False
        reason = f"missed {policy.misses} heartbeats ({lag:.2f} s behind {self.node}'s)"
        if self.membership.is_dc and victim != self.node:
            log.warning("%s is silent: %s; fencing it", victim, reason, extra={"fields": {"kind": "node"}})
            await self.db.request_fencing(victim, reason)
        elif snap.dc == victim and self._silent_dc_fencer(snap.members, victim) == self.node:
            log.warning(
                "%s (the DC) is silent: %s; fencing it", victim, reason, extra={"fields": {"kind": "node"}}
            )
            self._spawn(self._fence_silent_dc(victim, snap.dc_revision, reason))
        return True

    def _silent_dc_fencer(self, members: Mapping[str, object], dc: str) -> str | None:
        """Who fences a silent DC: the first node in configuration order that is a member, is not
        the DC and is not silent itself (each node judges from its own view; two nodes fencing the
        same DC is harmless, the device's `off` is idempotent)."""
        silent = self.heartbeats.silent_now()
        for n in self.config.nodes:
            if n.name != dc and n.name in members and n.name not in silent:
                return n.name
        return None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` in the background; it is cancelled when the daemon stops."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _fence_silent_dc(self, dc: str, token: int, reason: str) -> None:
        """Fence the silent DC with a device, under its own token (the fencing is recorded only
        while that DC key still exists), retrying while the DC stays silent and in office."""
        fencer = Fencer(self.db, self.clock, self.runner, self.node, token, self.timing, lambda: self.config)
        while not self.stopping:
            kv = await self.store.get(DC_KEY)
            if kv is None or kv.create_revision != token or dc not in self.heartbeats.silent_now():
                return
            if await fencer.fence(dc, reason):
                return
            await self.clock.sleep(1.0)

    # -- the DC -------------------------------------------------------------------------------------
    def _wake_dc(self) -> None:
        if self.controller is not None:
            self.controller.wake()

    async def _dc_loop(self) -> None:
        """Campaign whenever the DC key is free; while this node is the DC, run the controller."""
        while not self.stopping:
            if self.membership.is_dc and self.membership.valid():
                await self._be_dc(self.membership.token)
                continue
            try:
                if self.membership.valid() and self.membership.state == "online":
                    # short tries: a request stuck on etcd's old leader must not hold the election
                    # up; a try that timed out but was applied is found by the next (the DC key
                    # then names this node under its lease)
                    await asyncio.wait_for(self.membership.campaign(), 0.5)
                if self.membership.is_dc:
                    continue
                await self._wait_dc_change()
            except (StoreError, TimeoutError) as e:
                log.warning("DC election: %s", e or "no answer within 0.5 s")
                await asyncio.sleep(0.05)

    async def _wait_dc_change(self) -> None:
        kv = await self.store.get(DC_KEY)
        if kv is None:
            return
        watch = self.store.watch(DC_KEY, self.store.revision)
        try:
            async with asyncio.timeout(1.0):
                async for ev in watch:
                    if ev.kv.key == DC_KEY and ev.type is EventType.DELETE:
                        return
        except TimeoutError:
            return
        finally:
            watch.close()

    async def _be_dc(self, token: int) -> None:
        fencer = Fencer(self.db, self.clock, self.runner, self.node, token, self.timing, lambda: self.config)
        executor = ClusterExecutor(self.store, token, fencer)
        executor.config = self.config
        await executor.start()
        await self.db.log_event(
            EventKind.NODE, self.node, f"{self.node} is the DC (token {token})", desc="dc"
        )
        snap = await self.db.snapshot()
        online = [m.name for m in snap.members.values() if m.state == "online"]
        # a new DC never assumes: every online node re-reads what runs before the first plan
        await asyncio.gather(*(executor.dispatch(n, {"kind": "reprobe", "token": token}) for n in online))

        def on_state(state: ClusterState) -> None:
            for n in state.nodes:
                if n.unclean:
                    fencer.seen_lost(n.name)
                elif n.online:
                    fencer.seen_back(n.name)

        ctl = Controller(
            self.db,
            self.clock,
            self.node,
            executor,
            self.config,
            on_transition=self._on_transition,
            on_state=on_state,
            on_transition_done=self._on_transition_done,
        )
        self.controller = ctl
        task = asyncio.ensure_future(ctl.run())
        try:
            while (
                self.membership.is_dc
                and self.membership.valid()
                and not executor.deposed
                and not task.done()
                and not self._stop_dc
            ):
                await asyncio.sleep(0.05)
        finally:
            ctl.stop()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), 5)
            if not task.done():
                task.cancel()
            await executor.close()
            self.controller = None
            if executor.deposed:
                self.membership.is_dc = False
            log.info("%s is no longer the DC", self.node, extra={"fields": {"kind": "node"}})

    # -- attributes -----------------------------------------------------------------------------------
    async def _publish_attributes(self) -> None:
        last: dict[str, str] | None = None
        while True:
            attrs = dict(self._attributes())
            if attrs != last and self.membership.valid():
                with contextlib.suppress(StoreError):
                    await self.store.put(attrs_key(self.node), json.dumps(attrs, sort_keys=True))
                    last = attrs
            await asyncio.sleep(1.0)

    # -- shutdown -------------------------------------------------------------------------------------
    async def _leave_cleanly(self) -> bool:
        """Say `shutdown`, let the DC move or stop what runs here, then leave."""
        await self.db.log_event(
            EventKind.DAEMON, self.node, "shutting down: moving or stopping resources here"
        )
        try:
            await self.membership.set_state("shutdown")
        except StoreError:
            await self._self_fence()
            return False
        deadline = self.clock.monotonic() + self.shutdown_timeout_s
        while self.clock.monotonic() < deadline:
            try:
                snap = await self.db.snapshot()
            except StoreError:
                break
            active = active_on(snap.history, self.node)
            if not active and not self.worker.busy():
                self._stop_dc = True
                await self.db.log_event(EventKind.DAEMON, self.node, "stopped: nothing runs here")
                return True
            await asyncio.sleep(0.1)
        log.error("resources still here at shutdown: fencing itself", extra={"fields": {"kind": "node"}})
        await self._self_fence()
        return False

    # -- the local API ----------------------------------------------------------------------------------
    def _api(self) -> Api:
        from .cluster_api import ClusterApi

        return ClusterApi(self)


def loaded_source(path: Path | None) -> str:
    return str(path) if path is not None else "paceline run"
