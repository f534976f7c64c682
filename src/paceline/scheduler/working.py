"""The scheduler's private working set: one mutable record per resource instance and per node.

Built afresh by every `schedule()` call and never shared, so the scheduler stays a pure function of
its inputs. Invariants: `Inst.allowed` holds a score for every node the instance may be scored on
(absent = not allowed in an opt-in cluster); `Inst.assigned` is set only by placement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.config import Primitive
from ..model.enums import OnFail, Role
from ..model.scores import add_scores
from ..model.state import OpRecord
from .transition import ScoreTerm

__all__ = ["Inst", "NodeInfo", "Unit"]


@dataclass
class NodeInfo:
    name: str
    index: int
    online: bool
    unclean: bool
    standby: bool
    maintenance: bool
    shutdown: bool
    pending: bool
    attributes: dict[str, str]
    utilization: dict[str, int]
    num_assigned: int = 0
    fence_reason: str = ""
    health_score: int = 0

    @property
    def available(self) -> bool:
        """Can run resources now (Pacemaker's pcmk__node_available without score checks)."""
        return (
            self.online
            and not self.unclean
            and not self.standby
            and not self.maintenance
            and not self.shutdown
        )


@dataclass
class Inst:
    """A schedulable primitive (or one clone instance of it)."""

    id: str
    prim: Primitive
    meta: dict[str, str]
    group: str | None = None
    clone: str | None = None
    orphan: bool = False
    # observed
    current: dict[str, Role] = field(default_factory=dict)
    failed_on: set[str] = field(default_factory=set)
    on_fail: OnFail | None = None
    known_on: set[str] = field(default_factory=set)
    no_promote: bool = False
    """A ticket the Promoted role needs is not granted."""
    failure_ignored: bool = False
    """A failure was ignored (on-fail=ignore): then, as Pacemaker, migration-threshold is too."""
    demote_required: bool = False
    """A failure of the Promoted instance is answered by on-fail=demote: it demotes in place
    (promoted again if it is still the best candidate: a Re-promote)."""
    start_digest: dict[str, OpRecord] = field(default_factory=dict)
    """Per node, the parameter digest recorded by the start that is in effect there."""
    """Nodes where this instance has any recorded operation (no probe needed there)."""
    # configured intent
    managed: bool = True
    target_role: Role = Role.STARTED
    stickiness: int = 0
    migration_threshold: int = 1_000_000
    failure_timeout_s: float = 0.0
    priority: int = 0
    # placement
    allowed: dict[str, int] = field(default_factory=dict)
    terms: list[ScoreTerm] = field(default_factory=list)
    provisional: bool = True
    allocating: bool = False
    merging: bool = False
    assigned: str | None = None
    next_role: Role = Role.UNKNOWN
    blocked: bool = False

    @property
    def running_on(self) -> list[str]:
        return [n for n, r in self.current.items() if r not in (Role.STOPPED, Role.UNKNOWN)]

    @property
    def current_node(self) -> str | None:
        nodes = self.running_on
        return nodes[0] if nodes else None

    @property
    def role(self) -> Role:
        roles = [r for r in self.current.values() if r not in (Role.STOPPED, Role.UNKNOWN)]
        if not roles:
            return Role.STOPPED
        return max(roles, key=lambda r: r.rank)

    @property
    def failed(self) -> bool:
        return bool(self.failed_on)

    def add_score(self, node: str, score: int, source: str, detail: str = "") -> None:
        """Add a score term (with Pacemaker's saturating arithmetic) and remember why."""
        self.allowed[node] = add_scores(self.allowed.get(node, 0), score)
        if score != 0 or source:
            self.terms.append(ScoreTerm(self.id, node, score, source, detail))


@dataclass
class Unit:
    """A top-level thing the allocator orders: a primitive, a group or a clone."""

    id: str
    members: list[Inst]
    kind: str  # "primitive" | "group" | "clone"
    priority: int = 0
