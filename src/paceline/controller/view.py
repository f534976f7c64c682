"""From recorded data to the scheduler's inputs: the effective Configuration and the ClusterState.

Invariants:
- `effective_config` is the configuration as loaded, plus: this machine as the only node when the
  configuration names none; every CLI ban/move as a location constraint; every meta override
  (target-role from `resource restart`, ...) on its resource. Nothing else changes.
- `cluster_state` says exactly what the scheduler consumes: the recorded history (call ids, rc,
  last_rc_change), fail counts, and per node: online (this node only: the embedded store has one
  member), standby/maintenance flags, transient attributes (read from the agents' attribute store).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace

from ..model.config import Clone, Configuration, Group, Location, Node, Primitive, Resource
from ..model.state import ClusterState, NodeStatus
from ..scheduler.meta import duration_seconds, effective_meta
from .statedb import Snapshot

__all__ = ["cluster_state", "effective_config", "failure_timeout_s", "find_primitive", "walk_primitives"]


def walk_primitives(config: Configuration) -> Iterator[tuple[Primitive, Group | None, Clone | None]]:
    """Every primitive with its parent group and clone, in configuration order."""
    for rsc in config.resources:
        if isinstance(rsc, Primitive):
            yield rsc, None, None
        elif isinstance(rsc, Group):
            for m in rsc.members:
                yield m, rsc, None
        else:
            child = rsc.child
            if isinstance(child, Primitive):
                yield child, None, rsc
            else:
                for m in child.members:
                    yield m, child, rsc


def find_primitive(config: Configuration, rsc_id: str) -> tuple[Primitive, Group | None, Clone | None] | None:
    """The primitive named `rsc_id` (or a clone instance `rsc:N`) with its parents."""
    base = rsc_id.rsplit(":", 1)[0] if ":" in rsc_id and rsc_id.rsplit(":", 1)[1].isdigit() else rsc_id
    for prim, group, clone in walk_primitives(config):
        if prim.id == base:
            return prim, group, clone
    return None


def failure_timeout_s(config: Configuration, rsc_id: str) -> float:
    found = find_primitive(config, rsc_id)
    if found is None:
        return 0.0
    return duration_seconds(effective_meta(config, *found).get("failure-timeout"))


def _with_meta(rsc: Resource, meta: Mapping[str, Mapping[str, str]]) -> Resource:
    def upd(m: Mapping[str, str], rid: str) -> dict[str, str]:
        out = dict(m)
        out.update(meta.get(rid, {}))
        return out

    if isinstance(rsc, Primitive):
        return replace(rsc, meta=upd(rsc.meta, rsc.id)) if rsc.id in meta else rsc
    if isinstance(rsc, Group):
        members = tuple(replace(m, meta=upd(m.meta, m.id)) if m.id in meta else m for m in rsc.members)
        return replace(rsc, members=members, meta=upd(rsc.meta, rsc.id))
    child = _with_meta(rsc.child, meta)
    assert isinstance(child, Primitive | Group)
    return replace(rsc, child=child, meta=upd(rsc.meta, rsc.id))


def effective_config(config: Configuration, node_name: str, snap: Snapshot) -> Configuration:
    nodes = config.nodes or (Node(node_name),)
    locations = config.locations + tuple(
        Location(loc.id, loc.resource, loc.node, loc.score) for loc in snap.locations
    )
    resources = tuple(_with_meta(r, snap.meta) for r in config.resources) if snap.meta else config.resources
    return replace(config, nodes=nodes, locations=locations, resources=resources)


def cluster_state(
    config: Configuration,
    snap: Snapshot,
    node_name: str,
    attributes: Mapping[str, str],
) -> ClusterState:
    """`config` is the effective configuration (it names every node). With members recorded (a
    cluster), a node is online when its member key says so (joining: online but pending, as it is
    still probing), and a node without a member key whose history says something runs there is
    unclean (its lease expired with resources on it: it must be fenced before they move). With no
    member recorded (the embedded store's fast tier), this node is the one online node."""
    nodes = []
    for n in config.nodes:
        flags = snap.node_flags.get(n.name, {})
        member = snap.members.get(n.name)
        if snap.members:
            online = member is not None
            pending = member is not None and member.state == "joining"
            shutdown = member is not None and member.state == "shutdown"
        else:
            online, pending, shutdown = n.name == node_name, False, False
        unclean = (not online and _active(snap, n.name)) or flags.get("fence_requested", False)
        attrs = dict(snap.attributes.get(n.name, {}))
        if n.name == node_name:
            attrs.update(attributes)
        nodes.append(
            NodeStatus(
                n.name,
                online=online,
                unclean=unclean,
                unclean_reason=(
                    snap.fence_reasons.get(n.name, "fencing requested")
                    if flags.get("fence_requested")
                    else "its lease expired while resources ran there"
                    if unclean
                    else ""
                ),
                pending=pending,
                shutdown=shutdown,
                standby=flags.get("standby", False),
                maintenance=flags.get("maintenance", False),
                attributes=attrs,
            )
        )
    return ClusterState(
        nodes=tuple(nodes),
        history=snap.history,
        failures=snap.failures,
        have_quorum=True,
        dc=snap.dc or node_name,
    )


def _active(snap: Snapshot, node: str) -> bool:
    """Whether the recorded history says anything runs (or may run: failed, blocked) on `node`."""
    from ..node.roles import active_on

    return bool(active_on(snap.history, node))
