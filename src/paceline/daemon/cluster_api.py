"""The local API of a cluster node (same routes as `api.Api`), answered from the shared store, so
every node gives the same answer. Commands write to the store and the DC acts on them.

`GET /status` shape: `status.build_status`'s keys, with `dc` the DC's name, `config_version` the
version of the cluster's configuration this node runs, every node's `state`
(online, joining, shutdown, standby, maintenance, unclean, offline; `fenced` is added when the
node was fenced: {"time", "method"}), and one entry per (resource, node) where it runs, or one
entry with `node` null when it runs nowhere. `config apply` stores the next version of the
cluster's configuration (see `cluster_config`); `resource restart` stops the resource everywhere
(target-role Stopped) and lets it start again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..controller.records import EventKind
from ..controller.statedb import DynamicLocation, Snapshot
from ..controller.view import effective_config
from ..model.config import Configuration
from ..model.scores import INFINITY
from ..node.roles import active_anywhere, active_on
from ..store import StoreError
from .api import NODE_FLAGS, Api, _primitive_ids
from .cluster_config import cluster_config, cluster_refusals, primitive_of, restart_set
from .configsrc import InvalidConfig, check_text
from .http import HttpError
from .status import build_status, iso

if TYPE_CHECKING:
    from .cluster import ClusterDaemon

__all__ = ["ClusterApi", "cluster_status"]


def cluster_status(d: ClusterDaemon, snap: Snapshot) -> dict[str, Any]:
    eff = effective_config(d.config, d.node, snap)
    per_node = {n.name: build_status(eff, snap, n.name, snap.attributes.get(n.name, {})) for n in eff.nodes}
    nodes = []
    for n in eff.nodes:
        flags = snap.node_flags.get(n.name, {})
        member = snap.members.get(n.name)
        active = bool(active_on(snap.history, n.name))
        if member is None:
            state = "unclean" if active else "offline"
        elif member.state != "online":
            state = member.state
        elif flags.get("maintenance"):
            state = "maintenance"
        elif flags.get("standby"):
            state = "standby"
        else:
            state = "online"
        attrs = {**n.attributes, **snap.attributes.get(n.name, {})}
        entry: dict[str, Any] = {"name": n.name, "state": state, "attributes": attrs}
        if n.name in snap.fenced:
            f = snap.fenced[n.name]
            entry["fenced"] = {"time": iso(float(f.get("time", 0))), "method": f.get("method", "")}
        nodes.append(entry)
    resources: list[dict[str, Any]] = []
    order: list[str] = []
    running: dict[str, list[dict[str, Any]]] = {}
    stopped: dict[str, dict[str, Any]] = {}
    for name, data in per_node.items():
        for r in data["resources"]:
            if r["id"] not in order:
                order.append(r["id"])
            if r["node"] == name:
                running.setdefault(r["id"], []).append(r)
            elif r["id"] not in stopped or (r["reason"] and not stopped[r["id"]]["reason"]):
                stopped[r["id"]] = r
    for rid in order:
        resources.extend(running.get(rid) or [stopped[rid]])
    return {
        "cluster": eff.name,
        "dc": snap.dc or "",
        "config_version": d.config_version,
        "nodes": nodes,
        "resources": resources,
    }


class ClusterApi(Api):
    def __init__(self, daemon: ClusterDaemon) -> None:
        super().__init__(daemon)
        self.c = daemon

    async def status(self) -> dict[str, Any]:
        return cluster_status(self.c, await self.c.db.snapshot())

    def explain_inputs(self, snap: Snapshot) -> tuple[Configuration, str, Mapping[str, str]]:
        """The DC's view (its name decides nothing in the scheduler but whose attributes are
        local); every node's transient attributes are in the store."""
        return self.c.config, snap.dc or self.c.node, {}

    async def apply(self, text: str, source: str) -> dict[str, Any]:
        """Check `text` as `run` does and as a running cluster needs, then store it as the next
        version (compare-and-swap on the version this node runs): every node follows it, and the
        DC restarts what it redefines (see `cluster_config`)."""
        d = self.c
        snap = await d.db.snapshot()
        try:
            loaded = check_text(text, source)
            refused = cluster_refusals(loaded.config, d.config, d.node, snap.members)
            if refused:
                raise InvalidConfig([f"{source}: {r}" for r in refused])
        except InvalidConfig as e:
            await d.db.log_event(
                EventKind.CONFIG, d.node, f"configuration from {source} rejected: {len(e.errors)} error(s)"
            )
            raise HttpError(
                422, "invalid configuration", {"error": "invalid configuration", "errors": e.errors}
            ) from None
        assert d.loaded is not None
        if text == d.loaded.text:
            return {
                "applied": False,
                "version": d.config_version,
                "restarted": [],
                "message": "configuration unchanged",
            }
        _, restart = restart_set(d.config, cluster_config(loaded.config), snap)
        try:
            cv = await d.db.save_config(text, source, expect=d.config_version)
        except StoreError as e:
            raise HttpError(409, f"{e}: apply again") from None
        await d.db.log_event(
            EventKind.CONFIG,
            d.node,
            f"configuration version {cv.version} applied from {source} on {d.node}"
            + (f"; the DC restarts {', '.join(sorted(restart))}" if restart else ""),
        )
        return {
            "applied": True,
            "version": cv.version,
            "restarted": sorted(restart),
            "warnings": list(loaded.warnings),
            "message": f"configuration version {cv.version} stored; every node follows it",
        }

    async def resource(self, rsc: str, op: str, body: dict[str, Any]) -> dict[str, Any]:
        d = self.c
        if not _primitive_ids(d.config, rsc):
            raise HttpError(404, f"no resource {rsc!r} in the configuration")
        node = str(body.get("node") or d.node)
        await d.db.log_event(
            EventKind.COMMAND, d.node, f"command: resource {op} {rsc}", resource=rsc, task=op
        )
        if op == "cleanup":
            for p in _primitive_ids(d.config, rsc):
                await d.db.forget_resource(p, node)
            return {"message": f"cleaned up {rsc} on {node}: fail counts cleared, the DC probes it again"}
        if op in ("ban", "move"):
            await d.db.add_location(DynamicLocation(f"cli-ban-{rsc}-on-{node}", rsc, node, -INFINITY))
            return {"message": f"{rsc} banned from {node} (paceline resource clear {rsc} to undo)"}
        if op == "clear":
            n = await d.db.clear_locations(rsc)
            return {"message": f"removed {n} ban(s)/move(s) of {rsc}"}
        if op == "restart":
            return await self._restart(rsc)
        raise HttpError(404, f"unknown resource operation {op!r} (cleanup, ban, clear, move)")

    async def _restart(self, rsc: str, timeout_s: float = 120.0) -> dict[str, Any]:
        """Pacemaker's `crm_resource --restart`: target-role Stopped until `rsc` runs nowhere,
        then the previous target-role back. Whichever node is the DC does the work."""
        d = self.c
        prims = _primitive_ids(d.config, rsc)
        previous = (await d.db.snapshot()).meta.get(rsc, {}).get("target-role")
        await d.db.set_meta(rsc, "target-role", "Stopped")
        end = d.clock.monotonic() + timeout_s
        stopped = False
        try:
            while d.clock.monotonic() < end:
                snap = await d.db.snapshot()
                running = [
                    n
                    for n, rids in active_anywhere(snap.history).items()
                    if any(primitive_of(rid) in prims for rid in rids)
                ]
                if not running:
                    stopped = True
                    break
                await d.clock.sleep(0.1)
        finally:
            await d.db.set_meta(rsc, "target-role", previous)
        if not stopped:
            raise HttpError(504, f"{rsc} did not stop within {timeout_s:g}s; it may start again now")
        return {"message": f"{rsc} stopped everywhere and is starting again", "restarted": [rsc]}

    async def node_op(self, name: str, op: str) -> dict[str, Any]:
        d = self.c
        if name not in {n.name for n in d.config.nodes}:
            raise HttpError(404, f"no node {name!r}")
        if op == "fence":
            return await self.fence(name)
        flags = NODE_FLAGS.get(op)
        if flags is None:
            raise HttpError(404, f"unknown node operation {op!r} (standby, online, maintenance, fence)")
        await d.db.set_node_flags(name, **flags)
        await d.db.log_event(EventKind.NODE, d.node, f"node {name} set {op}", desc=op)
        return {"message": f"node {name}: {op}"}

    async def fence(self, name: str) -> dict[str, Any]:
        """Ask the DC to fence `name`: its member key is marked for fencing; the DC's scheduler
        sees it unclean and fences it before anything moves."""
        d = self.c
        await d.db.set_node_flags(name, fence_requested=True)
        await d.db.log_event(EventKind.COMMAND, d.node, f"command: node fence {name}", desc="fence")
        return {"message": f"fencing of {name} requested; see paceline events"}
