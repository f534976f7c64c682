"""The cluster configuration: nodes, resources, constraints and options.

Every class is frozen; collections are tuples or read-only mappings. Names follow Pacemaker's so
that a CIB maps one-to-one. Meta attributes stay as strings (as in the CIB) and are interpreted by
`paceline.model.meta`, which resolves inheritance (own > parent > rsc_defaults).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .enums import HealthStrategy, NoQuorumPolicy, OnFail, OrderKind, Role
from .rules import Rule
from .scores import INFINITY

__all__ = [
    "AgentRef",
    "Clone",
    "ClusterOptions",
    "Colocation",
    "Configuration",
    "FencingLevel",
    "Group",
    "Location",
    "Node",
    "Op",
    "Order",
    "Primitive",
    "Resource",
    "TicketConstraint",
]


@dataclass(frozen=True)
class AgentRef:
    """Which agent runs a primitive: `ocf:heartbeat:IPaddr2`, `systemd:nginx`, `service`,
    `stonith:fence_apc`."""

    standard: str
    type: str
    provider: str | None = None

    def __str__(self) -> str:
        if self.provider:
            return f"{self.standard}:{self.provider}:{self.type}"
        return f"{self.standard}:{self.type}"

    @classmethod
    def parse(cls, text: str) -> AgentRef:
        parts = text.split(":")
        if len(parts) == 3 and all(parts):
            return cls(parts[0], parts[2], parts[1])
        if len(parts) == 2 and all(parts):
            return cls(parts[0], parts[1])
        if text == "service":
            return cls("service", "service")
        raise ValueError(f"agent {text!r} is not CLASS:PROVIDER:TYPE or CLASS:TYPE")


@dataclass(frozen=True)
class Op:
    """An operation definition (monitor interval, timeouts, on-fail, role)."""

    name: str
    interval_ms: int = 0
    timeout_ms: int | None = None
    role: Role | None = None
    on_fail: OnFail | None = None
    enabled: bool = True
    id: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    """Agent parameters for this operation only, over the resource's (Pacemaker's op
    instance_attributes): part of the operation's digest, so changing them restarts."""


@dataclass(frozen=True)
class Primitive:
    id: str
    agent: AgentRef
    params: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, str] = field(default_factory=dict)
    ops: tuple[Op, ...] = ()
    utilization: Mapping[str, int] = field(default_factory=dict)
    service: Mapping[str, object] | None = None
    """The built-in service agent's definition (command, probe, ...), when agent is `service`."""

    def primitives(self) -> Iterator[Primitive]:
        yield self

    def operation(self, name: str, interval_ms: int = 0) -> Op | None:
        """The definition of an operation: a monitor by name and interval, any other by name."""
        for op in self.ops:
            if op.name == name and (op.interval_ms == interval_ms or name != "monitor"):
                return op
        return None

    def params_for(self, name: str, interval_ms: int = 0) -> dict[str, str]:
        """The agent parameters an operation runs with: the resource's, the operation's own over them."""
        op = self.operation(name, interval_ms)
        return {**self.params, **(op.params if op is not None else {})}


@dataclass(frozen=True)
class Group:
    """Members start in order and run together on one node."""

    id: str
    members: tuple[Primitive, ...]
    meta: Mapping[str, str] = field(default_factory=dict)

    def primitives(self) -> Iterator[Primitive]:
        yield from self.members


@dataclass(frozen=True)
class Clone:
    """Copies of a primitive or group across nodes; `promotable` adds Promoted/Unpromoted roles."""

    id: str
    child: Primitive | Group
    meta: Mapping[str, str] = field(default_factory=dict)
    promotable: bool = False

    def primitives(self) -> Iterator[Primitive]:
        yield from self.child.primitives()


Resource = Primitive | Group | Clone


@dataclass(frozen=True)
class Node:
    name: str
    id: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)
    utilization: Mapping[str, int] = field(default_factory=dict)
    type: str = "member"
    address: str | None = None
    score: int = 0
    """The node's own preference score (Pacemaker's node `score`, rarely used)."""


@dataclass(frozen=True)
class Location:
    """A preference (or ban) for where a resource runs: a fixed node score or scored rules."""

    id: str
    resource: str | None
    node: str | None = None
    score: int = 0
    rules: tuple[Rule, ...] = ()
    role: Role | None = None
    resource_pattern: str | None = None
    """A regular expression found anywhere in top-level resource ids; a leading "!" inverts it."""
    resource_discovery: str = "always"


@dataclass(frozen=True)
class Colocation:
    """`resource` is placed relative to `with_resource` (the one placed first)."""

    id: str
    resource: str
    with_resource: str
    score: int = INFINITY
    resource_role: Role | None = None
    with_role: Role | None = None
    node_attribute: str = "#uname"
    influence: bool = True


@dataclass(frozen=True)
class Order:
    id: str
    first: str
    then: str
    first_action: str = "start"
    then_action: str = "start"
    kind: OrderKind = OrderKind.MANDATORY
    symmetrical: bool = True
    require_all: bool = True
    first_min: int = 0
    """For a cloned `first`: how many of its copies must be able to act before `then` may (0:
    the clone's clone-min, else one). A CIB's deprecated require-all="false" on a plain order is 1."""


@dataclass(frozen=True)
class TicketConstraint:
    """`resource` may run (in `role`) only while `ticket` is granted and not in standby.

    loss_policy when the ticket is revoked: stop, demote (Promoted role only), fence (the nodes
    running it) or freeze (what runs keeps running, nothing new starts)."""

    id: str
    resource: str
    ticket: str
    loss_policy: str = "stop"
    role: Role | None = None


@dataclass(frozen=True)
class ClusterOptions:
    """Cluster-wide options with Pacemaker's defaults; `raw` keeps every option as given."""

    stonith_enabled: bool = True
    symmetric_cluster: bool = True
    no_quorum_policy: NoQuorumPolicy = NoQuorumPolicy.STOP
    start_failure_is_fatal: bool = True
    maintenance_mode: bool = False
    stop_all_resources: bool = False
    stop_orphan_resources: bool = True
    node_health_strategy: HealthStrategy = HealthStrategy.NONE
    node_health_red: int = -INFINITY
    node_health_yellow: int = 0
    node_health_green: int = 0
    node_health_base: int = 0
    placement_strategy: str = "default"
    concurrent_fencing: bool = False
    stonith_action: str = "reboot"
    shutdown_lock: bool = False
    watchdog_fencing: bool = False
    """Nodes fence themselves when they lose their lease: true only where a watchdog really runs
    (every node of a Paceline cluster on etcd runs one; the cluster daemon sets it), so a cluster
    without a fence device can still recover safely. A CIB says so with a non-zero
    stonith-watchdog-timeout; without either, Pacemaker leaves every resource alone."""
    lease_ttl_s: float = 2.0
    """`lease-ttl`: each node's etcd lease (whole seconds)."""
    heartbeat_interval_s: float = 0.1
    """`heartbeat-interval`: how often nodes tell each other they live."""
    raw: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FencingLevel:
    """Pacemaker's fencing topology: to fence `target`, its levels are tried in `index` order,
    and a level fences only when every one of its `devices` succeeds (in order)."""

    target: str
    index: int
    devices: tuple[str, ...]


@dataclass(frozen=True)
class HandsOff:
    """What a configuration uses that Paceline does not schedule (a CIB's bundles, remote and guest
    nodes). Unknown means hands off: those resources, and whatever depends on them through a
    colocation or an order, are left exactly as they are (unmanaged) and reported, never started,
    stopped or moved."""

    resources: tuple[str, ...] = ()
    """Resource ids (a clone's copies by the id before ':')."""
    prefixes: tuple[str, ...] = ()
    """Id prefixes: a bundle's implicit resources (`web-bundle-docker-0`, `web-bundle-0`, ...)."""
    nodes: tuple[str, ...] = ()
    """Remote and guest nodes: whatever is seen running there."""
    why: Mapping[str, str] = field(default_factory=dict)
    """Resource id or prefix -> what it uses that Paceline does not support."""

    def covers(self, rsc_id: str) -> str | None:
        """Why `rsc_id` is hands off, or None."""
        base = rsc_id.split(":", 1)[0]
        if base in self.resources:
            return self.why.get(base, "an unsupported feature")
        for prefix in self.prefixes:
            if rsc_id.startswith(prefix):
                return self.why.get(prefix, "an unsupported feature")
        return None

    def __bool__(self) -> bool:
        return bool(self.resources or self.prefixes or self.nodes)


@dataclass(frozen=True)
class Configuration:
    """A whole cluster's configuration. Resource ids are unique across primitives, groups and clones."""

    name: str = "cluster"
    options: ClusterOptions = field(default_factory=ClusterOptions)
    nodes: tuple[Node, ...] = ()
    resources: tuple[Resource, ...] = ()
    locations: tuple[Location, ...] = ()
    colocations: tuple[Colocation, ...] = ()
    orders: tuple[Order, ...] = ()
    tickets: tuple[TicketConstraint, ...] = ()
    rsc_defaults: Mapping[str, str] = field(default_factory=dict)
    op_defaults: Mapping[str, str] = field(default_factory=dict)
    store: str | None = None
    fencing_levels: tuple[FencingLevel, ...] = ()
    hands_off: HandsOff = field(default_factory=HandsOff)
    """What Paceline leaves alone because it uses something unsupported (from a CIB)."""

    def primitives(self) -> Iterator[Primitive]:
        for rsc in self.resources:
            yield from rsc.primitives()

    def find(self, rsc_id: str) -> Resource | None:
        """The resource (primitive, group or clone) with this id, wherever it is nested."""
        for rsc in self.resources:
            if rsc.id == rsc_id:
                return rsc
            if isinstance(rsc, Group):
                for m in rsc.members:
                    if m.id == rsc_id:
                        return m
            if isinstance(rsc, Clone):
                if rsc.child.id == rsc_id:
                    return rsc.child
                if isinstance(rsc.child, Group):
                    for m in rsc.child.members:
                        if m.id == rsc_id:
                            return m
        return None
