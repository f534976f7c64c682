"""Value types shared by every agent runner: specs, requests, results and exit codes.

Invariants:
- ``OcfRc`` holds exactly the OCF exit codes Pacemaker knows (0-9, 190, 191). An agent exit code
  outside that set is never passed through as-is: it becomes ``ERR_GENERIC`` with
  ``OpStatus.ERROR`` and the raw code is kept in ``OpResult.exit_code``.
- ``OpStatus`` says whether the agent ran to completion (``DONE``); only then is ``rc`` the agent's
  own answer. Every other status carries ``rc=ERR_GENERIC`` (or a more precise OCF code) and an
  ``exit_reason`` a person can read.
- All value types are frozen; mappings handed in are copied into read-only mappings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from types import MappingProxyType

__all__ = [
    "AgentSpec",
    "AgentSpecError",
    "OcfRc",
    "OpRequest",
    "OpResult",
    "OpStatus",
    "Standard",
]


class OcfRc(IntEnum):
    """OCF exit codes, with Pacemaker's names (old master names kept as aliases)."""

    OK = 0
    ERR_GENERIC = 1
    ERR_ARGS = 2
    ERR_UNIMPLEMENTED = 3
    ERR_PERM = 4
    ERR_INSTALLED = 5
    ERR_CONFIGURED = 6
    NOT_RUNNING = 7
    RUNNING_PROMOTED = 8
    FAILED_PROMOTED = 9
    DEGRADED = 190
    DEGRADED_PROMOTED = 191

    @classmethod
    def from_exit_code(cls, code: int) -> OcfRc | None:
        """The OCF code for a process exit code, or None if it is not one."""
        try:
            return cls(code)
        except ValueError:
            return None


class OpStatus(Enum):
    """How an operation ended, independent of the agent's exit code."""

    DONE = "done"  # the agent ran and exited; rc is its answer
    TIMEOUT = "timeout"  # killed (whole process group) at the operation timeout
    ERROR = "error"  # could not run, killed by a signal, or an exit code outside OCF's
    ERROR_FATAL = "error_fatal"  # the request itself is wrong (bad parameters); retrying won't help
    NOT_INSTALLED = "not_installed"  # no such agent on this node
    NOT_SUPPORTED = "not_supported"  # the agent class does not have this action
    CANCELLED = "cancelled"  # the caller cancelled the operation


class Standard(Enum):
    """Resource agent classes ("standards" in Pacemaker's words)."""

    OCF = "ocf"
    LSB = "lsb"
    SYSTEMD = "systemd"
    SERVICE = "service"  # Paceline's built-in supervised command
    STONITH = "stonith"


class AgentSpecError(ValueError):
    """A resource agent spec string that cannot be parsed."""


_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+\-]*$")


@dataclass(frozen=True)
class AgentSpec:
    """An agent name: ``ocf:PROVIDER:TYPE``, ``lsb:NAME``, ``systemd:UNIT``, ``service:NAME``,
    ``stonith:fence_xxx``. ``provider`` is set exactly when ``standard`` is ``ocf``. Names never
    contain ``/`` (so a spec can never point outside the agent directories)."""

    standard: str
    provider: str | None
    type: str

    def __post_init__(self) -> None:
        try:
            std = Standard(self.standard)
        except ValueError:
            known = ", ".join(s.value for s in Standard)
            raise AgentSpecError(f"unknown agent class {self.standard!r} (known: {known})") from None
        if std is Standard.OCF:
            if not self.provider or not _NAME_RE.match(self.provider):
                raise AgentSpecError(f"ocf agent needs a provider: ocf:PROVIDER:TYPE, got {self}")
        elif self.provider is not None:
            raise AgentSpecError(f"only ocf agents have a provider, got {self}")
        if not _NAME_RE.match(self.type):
            raise AgentSpecError(f"bad agent name {self.type!r}")

    @property
    def std(self) -> Standard:
        return Standard(self.standard)

    @classmethod
    def parse(cls, text: str) -> AgentSpec:
        """Parse ``class:[provider:]type``. A bare ``fence_x`` means ``stonith:fence_x``."""
        parts = text.strip().split(":")
        if len(parts) == 1 and parts[0].startswith("fence_"):
            return cls("stonith", None, parts[0])
        if len(parts) == 3:
            return cls(parts[0], parts[1], parts[2])
        if len(parts) == 2:
            if parts[0] == "ocf":
                raise AgentSpecError(f"ocf agent needs a provider: ocf:PROVIDER:TYPE, got {text!r}")
            return cls(parts[0], None, parts[1])
        raise AgentSpecError(
            f"bad agent spec {text!r}: expected class:[provider:]type, e.g. ocf:heartbeat:Dummy"
        )

    def __str__(self) -> str:
        if self.provider is not None:
            return f"{self.standard}:{self.provider}:{self.type}"
        return f"{self.standard}:{self.type}"


def _frozen(m: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(m))


@dataclass(frozen=True)
class OpRequest:
    """One operation on one resource.

    ``params`` are instance attributes (OCF_RESKEY_<name>); ``meta`` are meta attributes as the
    configuration spells them (``clone-max``, ``notify_type`` ...), passed as
    OCF_RESKEY_CRM_meta_<name with - turned into _>. ``interval_ms`` 0 on a monitor is a probe.
    ``timeout_ms`` None means: the agent's own default for this action from its meta-data, else 20 s.
    """

    resource_id: str
    spec: AgentSpec
    action: str
    params: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, str] = field(default_factory=dict)
    interval_ms: int = 0
    timeout_ms: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))
        object.__setattr__(self, "meta", _frozen(self.meta))
        if self.interval_ms < 0:
            raise ValueError("interval_ms must be >= 0")
        if self.timeout_ms is not None and self.timeout_ms <= 0:
            raise ValueError("timeout_ms must be > 0")


@dataclass(frozen=True)
class OpResult:
    """The outcome of one operation. ``rc`` is meaningful as the agent's answer only when
    ``status`` is DONE. ``exit_code`` is the raw process exit code (None if it did not exit by
    itself). ``exit_reason`` is the agent's ``ocf-exit-reason:`` text, or ours for failures."""

    rc: OcfRc
    status: OpStatus
    duration_ms: float
    exit_reason: str = ""
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is OpStatus.DONE and self.rc is OcfRc.OK

    def describe(self) -> str:
        """One line for people: ``OK``, ``NOT_RUNNING``, ``ERR_GENERIC (timeout: ...)``."""
        text = self.rc.name if self.status is OpStatus.DONE else f"{self.rc.name} [{self.status.name}]"
        return f"{text}: {self.exit_reason}" if self.exit_reason else text
