"""Observed cluster state: node membership and attributes, per-resource operation history.

The scheduler derives each resource's current role from the history (the last relevant operation
per resource and node), as Pacemaker's status unpacking does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .enums import OpStatus

__all__ = ["ClusterState", "FailRecord", "NodeStatus", "OpRecord", "Ticket"]


@dataclass(frozen=True)
class NodeStatus:
    """A node as seen now. `unclean` means it must be fenced before its resources move."""

    name: str
    online: bool = True
    unclean: bool = False
    standby: bool = False
    maintenance: bool = False
    shutdown: bool = False
    pending: bool = False
    unclean_reason: str = ""
    status_position: int = 0
    """Where this node stands in the status section it was read from (a CIB's node_state order,
    which Pacemaker uses to number anonymous clone copies); 0 when unknown, then names decide."""
    attributes: Mapping[str, str] = field(default_factory=dict)
    """Transient attributes (#health-*, pingd, ...); permanent ones live in the configuration."""


@dataclass(frozen=True)
class OpRecord:
    """One recorded operation result of a resource on a node."""

    resource: str
    node: str
    task: str
    interval_ms: int = 0
    rc: int = 0
    status: OpStatus = OpStatus.DONE
    call_id: int = 0
    last_rc_change: float | None = None
    exit_reason: str = ""
    op_digest: str | None = None
    restart_digest: str | None = None
    secure_digest: str | None = None
    """For fence devices: the digest of the parameters without the secret ones."""
    secure_params: tuple[str, ...] = ()
    force_restart: tuple[str, ...] = ()
    """Parameters whose change needs a restart (the rest can be reloaded); `restart_digest` covers them."""
    migrate_source: str | None = None
    migrate_target: str | None = None
    on_node_of_id: str | None = None
    expected_rc: int | None = None
    transition: int | None = None
    """The number of the transition that asked for it (a CIB's transition-key), if known: it dates a
    pending operation against completed ones."""
    agent: str = ""
    """The agent the node ran this with (`class[:provider]:type`); empty when not recorded. When it
    differs from the configured agent, the resource is restarted with the new one."""


@dataclass(frozen=True)
class FailRecord:
    """A fail count for a resource's operation on a node, and when the last failure happened."""

    resource: str
    node: str
    count: int
    last_failure: float | None = None
    operation: str = ""


@dataclass(frozen=True)
class Ticket:
    id: str
    granted: bool = False
    standby: bool = False


@dataclass(frozen=True)
class ClusterState:
    nodes: tuple[NodeStatus, ...] = ()
    history: tuple[OpRecord, ...] = ()
    failures: tuple[FailRecord, ...] = ()
    have_quorum: bool = True
    dc: str | None = None
    tickets: tuple[Ticket, ...] = ()
    resource_attributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def node(self, name: str) -> NodeStatus | None:
        for n in self.nodes:
            if n.name == name:
                return n
        return None
