"""Enumerations shared by the configuration, the observed state and the scheduler."""

from __future__ import annotations

from enum import Enum

__all__ = [
    "BoolOp",
    "ExprOp",
    "HealthStrategy",
    "NoQuorumPolicy",
    "OnFail",
    "OpStatus",
    "OrderKind",
    "Requires",
    "Role",
    "ValueType",
]


class Role(Enum):
    """The role a resource instance has, or is asked to have, on a node. Ordered by "strength"."""

    UNKNOWN = "Unknown"
    STOPPED = "Stopped"
    STARTED = "Started"
    UNPROMOTED = "Unpromoted"
    PROMOTED = "Promoted"

    @classmethod
    def parse(cls, text: str) -> Role:
        """Accept Pacemaker's current and legacy names (Master/Slave) case-insensitively."""
        low = text.strip().lower()
        legacy = {"master": cls.PROMOTED, "slave": cls.UNPROMOTED}
        if low in legacy:
            return legacy[low]
        for role in cls:
            if role.value.lower() == low:
                return role
        raise ValueError(f"unknown role {text!r} (expected Stopped, Started, Unpromoted or Promoted)")

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]


_ROLE_RANK = {Role.UNKNOWN: 0, Role.STOPPED: 1, Role.STARTED: 2, Role.UNPROMOTED: 3, Role.PROMOTED: 4}


class OnFail(Enum):
    """What to do when an operation fails (the op's on-fail)."""

    IGNORE = "ignore"
    BLOCK = "block"
    STOP = "stop"
    RESTART = "restart"
    STANDBY = "standby"
    FENCE = "fence"
    DEMOTE = "demote"
    RESTART_CONTAINER = "restart-container"

    @classmethod
    def parse(cls, text: str) -> OnFail:
        low = text.strip().lower()
        if low in ("nothing",):
            return cls.IGNORE
        if low == "stonith":
            return cls.FENCE
        return cls(low)


class OrderKind(Enum):
    MANDATORY = "Mandatory"
    OPTIONAL = "Optional"
    SERIALIZE = "Serialize"

    @classmethod
    def parse(cls, text: str) -> OrderKind:
        for kind in cls:
            if kind.value.lower() == text.strip().lower():
                return kind
        raise ValueError(f"unknown order kind {text!r} (expected Mandatory, Optional or Serialize)")


class NoQuorumPolicy(Enum):
    STOP = "stop"
    FREEZE = "freeze"
    IGNORE = "ignore"
    DEMOTE = "demote"
    SUICIDE = "suicide"


class HealthStrategy(Enum):
    NONE = "none"
    MIGRATE_ON_RED = "migrate-on-red"
    ONLY_GREEN = "only-green"
    PROGRESSIVE = "progressive"
    CUSTOM = "custom"


class Requires(Enum):
    NOTHING = "nothing"
    QUORUM = "quorum"
    FENCING = "fencing"
    UNFENCING = "unfencing"


class OpStatus(Enum):
    """How an operation ended, independent of its return code (Pacemaker's op-status)."""

    PENDING = -1
    DONE = 0
    CANCELLED = 1
    TIMEOUT = 2
    NOT_SUPPORTED = 3
    ERROR = 4
    ERROR_HARD = 5
    ERROR_FATAL = 6
    NOT_INSTALLED = 7
    NOT_CONNECTED = 8
    INVALID = 9


class BoolOp(Enum):
    AND = "and"
    OR = "or"


class ExprOp(Enum):
    LT = "lt"
    GT = "gt"
    LTE = "lte"
    GTE = "gte"
    EQ = "eq"
    NE = "ne"
    DEFINED = "defined"
    NOT_DEFINED = "not_defined"


class ValueType(Enum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    VERSION = "version"
