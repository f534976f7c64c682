"""The local API's routes (served by `http.UnixHttpServer` on `STATE/paceline.sock`).

    GET  /status                        status JSON (see `status.build_status`)
    GET  /events?since=N&limit=M        the event log (the newest M after N) and its `cursor`
    GET  /config                        the running configuration version {version, text, ...}
    GET  /config/history                every version (without text), newest last
    GET  /config/<version>              one version with its text
    POST /config/apply {text, source}   validate and apply (422 with "errors" when invalid)
    POST /config/reload                 re-read the daemon's configuration file
    POST /config/validate {text, source} check as `config validate` does (422 with "errors")
    GET  /config/diff?from=V&to=W        unified diff between two versions (default: previous,
                                        running); POST with {text}: running -> text
    GET  /explain/<rsc>                 the score terms of <rsc> on every node, in words
    POST /resource/<id>/<op> {node?}    op: restart, cleanup, ban, clear, move
    POST /node/<name>/<op>              op: standby, online, maintenance

Invariant: every answer is JSON; errors are {"error": message} with a 4xx status.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..controller.records import EventKind
from ..controller.statedb import DynamicLocation, Snapshot
from ..controller.view import cluster_state, effective_config, find_primitive
from ..model.config import Configuration
from ..model.scores import INFINITY
from ..node.roles import LocalRole, roles_on
from ..scheduler import schedule
from ..scheduler.transition import Transition
from ..simulate import explain
from .configsrc import InvalidConfig, check_text, environment_warnings
from .http import HttpError, Request
from .status import build_status

if TYPE_CHECKING:
    from .app import Daemon

__all__ = ["NODE_FLAGS", "Api", "explain_targets", "validate_text"]


NODE_FLAGS: dict[str, dict[str, bool]] = {
    "standby": {"standby": True},
    "online": {"standby": False, "maintenance": False},
    "maintenance": {"maintenance": True},
}
"""What each node command sets in the node's flags."""


class Api:
    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon

    async def handle(self, req: Request) -> Any:
        parts = req.parts
        key = (req.method, parts[0] if parts else "")
        if key == ("GET", "status"):
            return await self.status()
        if key == ("GET", "events"):
            since = int(req.query.get("since", "0"))
            limit = int(req.query.get("limit", "100"))
            evs = await self.d.db.events(since, limit)
            return {"events": [asdict(e) for e in evs], "cursor": max([since, *(e.seq for e in evs)])}
        if key == ("GET", "config") and parts[1:] == ["diff"]:
            return await self.config_diff(req.query.get("from"), req.query.get("to"), None)
        if key == ("POST", "config") and parts[1:] == ["diff"]:
            return await self.config_diff(None, None, str((req.body or {}).get("text", "")))
        if key == ("GET", "config"):
            return await self.config_get(parts[1:])
        if key == ("POST", "config") and parts[1:] == ["validate"]:
            body = req.body or {}
            return validate_text(str(body.get("text", "")), str(body.get("source", "<request>")))
        if key == ("GET", "explain") and len(parts) == 2:
            return await self.explain(parts[1])
        if key == ("POST", "config") and parts[1:] == ["apply"]:
            body = req.body or {}
            return await self.apply(
                str(body.get("text", "")), str(body.get("source", "paceline config apply"))
            )
        if key == ("POST", "config") and parts[1:] == ["reload"]:
            if self.d.config_path is None:
                raise HttpError(409, "the daemon was started without a configuration file")
            return await self.apply(self.d.config_path.read_text(encoding="utf-8"), str(self.d.config_path))
        if key == ("POST", "resource") and len(parts) == 3:
            return await self.resource(parts[1], parts[2], req.body or {})
        if key == ("POST", "node") and len(parts) == 3:
            return await self.node_op(parts[1], parts[2])
        raise HttpError(404, f"no such API endpoint: {req.method} {req.path}")

    async def status(self) -> dict[str, Any]:
        ctl = self.d.controller
        snap = await self.d.db.snapshot()
        data = build_status(
            ctl.effective,
            snap,
            self.d.node,
            self.d.agent.attributes(),
            self.d.stopping,
            ctl.blocked_fences(),
        )
        data["dc"] = await self.d.membership.dc() or ""
        return data

    async def config_get(self, rest: list[str]) -> Any:
        if not rest:
            cur = await self.d.db.current_config()
            return asdict(cur) if cur else {}
        history = await self.d.db.config_history()
        if rest == ["history"]:
            return {"versions": [{k: v for k, v in asdict(c).items() if k != "text"} for c in history]}
        for c in history:
            if str(c.version) == rest[0]:
                return asdict(c)
        raise HttpError(404, f"no configuration version {rest[0]}")

    async def config_diff(self, old: str | None, new: str | None, text: str | None) -> dict[str, Any]:
        """A unified diff: from version `old` (default: the one before the running one) to `new`
        (default: the running one), or from the running version to `text`."""
        history = await self.d.db.config_history()
        if not history:
            raise HttpError(404, "no configuration version yet")
        by_version = {str(c.version): c for c in history}
        running = await self.d.db.current_config() or history[-1]
        for v in (old, new):
            if v is not None and v not in by_version:
                raise HttpError(404, f"no configuration version {v}")
        if text is not None:
            a, b = running.text, text
            la, lb = f"running (version {running.version})", "given text"
        else:
            target = by_version[new] if new is not None else running
            if old is not None:
                base = by_version[old]
            else:
                earlier = [c for c in history if c.version < target.version]
                if not earlier:
                    return {"from": None, "to": target.version, "diff": "", "message": "only one version"}
                base = earlier[-1]
            a, b = base.text, target.text
            la = f"version {base.version}"
            lb = (
                f"running (version {target.version})"
                if target.version == running.version
                else f"version {target.version}"
            )
        diff = "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), la, lb))
        return {"from": la, "to": lb, "diff": diff}

    def explain_inputs(self, snap: Snapshot) -> tuple[Configuration, str, Mapping[str, str]]:
        """What the scheduler is given here: the configuration, the deciding node and its
        attributes (the cluster node answers with the DC's view)."""
        return self.d.controller.config, self.d.node, self.d.agent.attributes()

    async def explain(self, rsc: str) -> dict[str, Any]:
        """Why `rsc` is where it is: the scheduler's score terms on each node, from the recorded
        state now (the same `schedule` the DC runs; nothing is executed)."""
        snap = await self.d.db.snapshot()
        config, node, attrs = self.explain_inputs(snap)
        if config.find(rsc) is None and find_primitive(config, rsc) is None:
            raise HttpError(404, f"no resource {rsc!r} in the configuration")
        eff = effective_config(config, node, snap)
        t = schedule(eff, cluster_state(eff, snap, node, attrs), self.d.clock.time())
        targets = explain_targets(config, t, rsc)
        return {
            "resource": rsc,
            "targets": [
                {
                    "resource": target,
                    "lines": explain(t, target),
                    "terms": [
                        {"node": s.node, "score": s.score, "source": s.source, "detail": s.detail}
                        for s in t.scores
                        if s.resource == target
                    ],
                    "final": dict(t.final_scores.get(target, {})),
                    "placement": {n: r.value for n, r in t.placement.get(target, {}).items()},
                }
                for target in targets
            ],
        }

    async def apply(self, text: str, source: str) -> dict[str, Any]:
        try:
            return await self.d.apply_text(text, source)
        except InvalidConfig as e:
            raise HttpError(
                422, "invalid configuration", {"error": "invalid configuration", "errors": e.errors}
            ) from None

    async def resource(self, rsc: str, op: str, body: dict[str, Any]) -> dict[str, Any]:
        d = self.d
        ctl = d.controller
        if not _primitive_ids(ctl.config, rsc):
            raise HttpError(404, f"no resource {rsc!r} in the configuration")
        node = str(body.get("node") or d.node)
        known = sorted(n.name for n in ctl.effective.nodes)
        if node not in known:
            raise HttpError(404, f"no node {node!r} (nodes: {', '.join(known)})")
        await d.db.log_event(
            EventKind.COMMAND, d.node, f"command: resource {op} {rsc}", resource=rsc, task=op
        )
        if op == "restart":
            prims = _primitive_ids(ctl.config, rsc)
            snap = await d.db.snapshot()
            roles = roles_on(snap.history, d.node)
            if not any(roles.get(p) and roles[p].role is not LocalRole.STOPPED for p in prims):
                raise HttpError(409, f"{rsc} is not running: nothing to restart")
            await ctl.restart(set(prims), why="resource restart requested")
            await ctl.wait_idle(60)
            return {"message": f"{rsc} restarted"}
        if op == "cleanup":
            prims = _primitive_ids(ctl.config, rsc)
            for p in prims:
                await d.db.forget_resource(p, node)
            d.agent.config = ctl.effective
            await d.agent.probe(prims)
            ctl.wake()
            await asyncio.sleep(0)
            await ctl.wait_idle(60)
            return {"message": f"cleaned up {rsc} on {node}: fail counts cleared, re-probed"}
        if op in ("ban", "move"):
            await d.db.add_location(DynamicLocation(f"cli-ban-{rsc}-on-{node}", rsc, node, -INFINITY))
            ctl.wake()
            await asyncio.sleep(0)
            await ctl.wait_idle(60)
            if op == "move":
                return {
                    "message": f"{rsc} moved away from {node}; this cluster has one node, so it is stopped "
                    f"(paceline resource clear {rsc} to bring it back)"
                }
            return {"message": f"{rsc} banned from {node} (paceline resource clear {rsc} to undo)"}
        if op == "clear":
            n = await d.db.clear_locations(rsc)
            ctl.wake()
            await asyncio.sleep(0)
            await ctl.wait_idle(60)
            return {"message": f"removed {n} ban(s)/move(s) of {rsc}"}
        raise HttpError(404, f"unknown resource operation {op!r} (restart, cleanup, ban, clear, move)")

    async def node_op(self, name: str, op: str) -> dict[str, Any]:
        d = self.d
        if name not in {n.name for n in d.controller.effective.nodes}:
            raise HttpError(404, f"no node {name!r}")
        flags = NODE_FLAGS.get(op)
        if flags is None:
            raise HttpError(404, f"unknown node operation {op!r} (standby, online, maintenance)")
        await d.db.set_node_flags(name, **flags)
        await d.db.log_event(EventKind.NODE, d.node, f"node {name} set {op}", desc=op)
        d.controller.wake()
        await asyncio.sleep(0)
        await d.controller.wait_idle(60)
        return {"message": f"node {name}: {op}"}


def validate_text(text: str, source: str) -> dict[str, Any]:
    """`paceline config validate` on a text: the same errors (422) and warnings."""
    try:
        loaded = check_text(text, source)
    except InvalidConfig as e:
        raise HttpError(
            422, "invalid configuration", {"error": "invalid configuration", "errors": e.errors}
        ) from None
    config = loaded.config
    constraints = len(config.locations) + len(config.colocations) + len(config.orders)
    nr = len(config.resources)
    return {
        "valid": True,
        "warnings": [*loaded.warnings, *environment_warnings(config, source)],
        "message": f"{source}: valid ({nr} resource{'' if nr == 1 else 's'}, "
        f"{constraints} constraint{'' if constraints == 1 else 's'})",
    }


def explain_targets(config: Configuration, transition: Transition, rsc: str) -> list[str]:
    """What to explain for `rsc`: itself when it has scores, else its primitives or instances."""
    known = set(transition.final_scores) | {t.resource for t in transition.scores}
    if rsc in known:
        return [rsc]
    found = config.find(rsc)
    targets: list[str] = []
    for prim in found.primitives() if found is not None else []:
        if prim.id in known:
            targets.append(prim.id)
        else:
            targets += sorted(k for k in known if k.rpartition(":")[0] == prim.id)
    return targets or [rsc]


def _primitive_ids(config: Configuration, rsc: str) -> list[str]:
    """The primitives a command on `rsc` acts on: a group's or clone's members, a primitive (or
    clone instance `db:0`) itself; empty when it does not exist."""
    found = config.find(rsc)
    if found is not None:
        return [p.id for p in found.primitives()]
    return [rsc] if find_primitive(config, rsc) is not None else []
