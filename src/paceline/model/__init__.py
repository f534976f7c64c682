"""The typed model of a cluster: configuration, observed state, scores and rules.

Names are imported on first use (PEP 562): importing one light module of this package (`scores`,
`durations`, `enums`) does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import (
        AgentRef,
        Clone,
        ClusterOptions,
        Colocation,
        Configuration,
        Group,
        HandsOff,
        Location,
        Node,
        Op,
        Order,
        Primitive,
        Resource,
        TicketConstraint,
    )
    from .enums import (
        BoolOp,
        ExprOp,
        HealthStrategy,
        NoQuorumPolicy,
        OnFail,
        OpStatus,
        OrderKind,
        Requires,
        Role,
        ValueType,
    )
    from .rules import AttrExpr, DateExpr, DateSpec, Rule, RuleContext, evaluate_rule
    from .scores import INFINITY, add_scores, format_score, parse_score
    from .state import ClusterState, FailRecord, NodeStatus, OpRecord, Ticket

__all__ = [
    "INFINITY",
    "AgentRef",
    "AttrExpr",
    "BoolOp",
    "Clone",
    "ClusterOptions",
    "ClusterState",
    "Colocation",
    "Configuration",
    "DateExpr",
    "DateSpec",
    "ExprOp",
    "FailRecord",
    "Group",
    "HandsOff",
    "HealthStrategy",
    "Location",
    "NoQuorumPolicy",
    "Node",
    "NodeStatus",
    "OnFail",
    "Op",
    "OpRecord",
    "OpStatus",
    "Order",
    "OrderKind",
    "Primitive",
    "Requires",
    "Resource",
    "Role",
    "Rule",
    "RuleContext",
    "Ticket",
    "TicketConstraint",
    "ValueType",
    "add_scores",
    "evaluate_rule",
    "format_score",
    "parse_score",
]

_WHERE = {
    "AgentRef": "config",
    "AttrExpr": "rules",
    "BoolOp": "enums",
    "Clone": "config",
    "ClusterOptions": "config",
    "ClusterState": "state",
    "Colocation": "config",
    "Configuration": "config",
    "DateExpr": "rules",
    "DateSpec": "rules",
    "ExprOp": "enums",
    "FailRecord": "state",
    "Group": "config",
    "HandsOff": "config",
    "HealthStrategy": "enums",
    "INFINITY": "scores",
    "Location": "config",
    "NoQuorumPolicy": "enums",
    "Node": "config",
    "NodeStatus": "state",
    "OnFail": "enums",
    "Op": "config",
    "OpRecord": "state",
    "OpStatus": "enums",
    "Order": "config",
    "OrderKind": "enums",
    "Primitive": "config",
    "Requires": "enums",
    "Resource": "config",
    "Role": "enums",
    "Rule": "rules",
    "RuleContext": "rules",
    "Ticket": "state",
    "TicketConstraint": "config",
    "ValueType": "enums",
    "add_scores": "scores",
    "evaluate_rule": "rules",
    "format_score": "scores",
    "parse_score": "scores",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
