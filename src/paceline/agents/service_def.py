"""The definition of a built-in ``service:`` resource: a command Paceline runs and supervises.

The configuration (YAML) shape accepted by ``ServiceDefinition.from_mapping``::

    command: [python3, -m, http.server, "8080"]   # argv list (a string is split with shlex)
    env: {KEY: value}                             # added to a clean environment
    cwd: /srv/app                                 # default /
    user: www-data                                # default: the daemon's user
    stop_grace: 5s                                # SIGTERM, then SIGKILL after this long
    log_max_bytes: 10485760                       # rotate the output log beyond this size
    log_backups: 3
    probe:                                        # optional; exactly one of http, tcp, exec
      http: http://127.0.0.1:8080/                # GET, healthy if status == expect_status
      tcp: 127.0.0.1:8080                         # healthy if a TCP connect succeeds
      exec: [curl, -fs, http://127.0.0.1:8080/]   # healthy if it exits 0
      interval: 1s
      timeout: 1s
      failure_threshold: 3                        # consecutive failures before "failed"
      expect_status: 200                          # http only; default: any 2xx or 3xx
      initial_delay: 0s

Durations are "500ms", "2s", "5min" or numbers of seconds. Over ``OpRequest.params`` (which are
strings) the definition travels as ``to_params()``: ``command``, ``env`` and ``probe`` JSON-encoded,
the rest as plain strings; ``from_params`` is its inverse. Invariant: a definition that
``from_mapping`` returns is valid: it passes ``paceline.model.service_schema.check_service``,
the same checks ``config validate``, ``run`` and ``config apply`` make (non-empty command,
positive intervals, one probe kind, no unknown keys).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from ..model.service_schema import ServiceIssue, check_service, format_path
from .durations import parse_duration

__all__ = [
    "SERVICE_PATH",
    "ProbeKind",
    "ProbeSpec",
    "ServiceDefinition",
    "ServiceDefinitionError",
]

SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""A service's PATH unless its `env` gives one (it starts in a clean environment)."""


class ServiceDefinitionError(ValueError):
    """A service definition that cannot be used; the message names the offending key."""


class ProbeKind(Enum):
    HTTP = "http"
    TCP = "tcp"
    EXEC = "exec"


def _raise_issues(issues: list[ServiceIssue]) -> None:
    if issues:
        raise ServiceDefinitionError(
            "; ".join(format_path(i.path, "service") + f": {i.message}" for i in issues)
        )


def _dur(m: Mapping[str, Any], key: str, default: float) -> float:
    """A duration the schema has checked."""
    if key not in m or m[key] is None:
        return default
    return parse_duration(m[key])


def _argv(value: Any) -> tuple[str, ...]:
    """A command the schema has checked (a list, or a string split as a shell would)."""
    if isinstance(value, str):
        return tuple(shlex.split(value))
    return tuple(str(x) for x in value)


@dataclass(frozen=True)
class ProbeSpec:
    kind: ProbeKind
    target: str = ""  # URL for http, host:port for tcp
    argv: tuple[str, ...] = ()  # for exec
    interval_s: float = 1.0
    timeout_s: float = 1.0
    failure_threshold: int = 3
    expect_status: int | None = None
    initial_delay_s: float = 0.0

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.target.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> ProbeSpec:
        """A probe from its definition; every problem raised at once (the service schema)."""
        _raise_issues([i for i in check_service({"command": ["-"], "probe": m}) if i.path[:1] == ("probe",)])
        kind = next(k for k in ProbeKind if k.value in m)
        target = ""
        argv: tuple[str, ...] = ()
        if kind is ProbeKind.EXEC:
            argv = _argv(m["exec"])
        else:
            target = str(m[kind.value])
        return cls(
            kind,
            target,
            argv,
            _dur(m, "interval", 1.0),
            _dur(m, "timeout", 1.0),
            m.get("failure_threshold", 3),
            m.get("expect_status"),
            _dur(m, "initial_delay", 0.0),
        )

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            self.kind.value: list(self.argv) if self.kind is ProbeKind.EXEC else self.target,
            "interval": self.interval_s,
            "timeout": self.timeout_s,
            "failure_threshold": self.failure_threshold,
            "initial_delay": self.initial_delay_s,
        }
        if self.expect_status is not None:
            out["expect_status"] = self.expect_status
        return out


@dataclass(frozen=True)
class ServiceDefinition:
    command: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    user: str | None = None
    probe: ProbeSpec | None = None
    stop_grace_s: float = 5.0
    log_max_bytes: int = 10 * 1024 * 1024
    log_backups: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> ServiceDefinition:
        """A definition from its plain form; raises ServiceDefinitionError naming every problem
        (`paceline.model.service_schema`, the same checks the configuration loader makes)."""
        _raise_issues(check_service(m))
        env = m.get("env") or {}
        probe = m.get("probe")
        return cls(
            command=_argv(m["command"]),
            env={str(k): str(v) for k, v in env.items()},
            cwd=str(m["cwd"]) if m.get("cwd") else None,
            user=str(m["user"]) if m.get("user") else None,
            probe=ProbeSpec.from_mapping(probe) if probe else None,
            stop_grace_s=_dur(m, "stop_grace", 5.0),
            log_max_bytes=m.get("log_max_bytes", 10 * 1024 * 1024),
            log_backups=m.get("log_backups", 3),
        )

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "command": list(self.command),
            "env": dict(self.env),
            "stop_grace": self.stop_grace_s,
            "log_max_bytes": self.log_max_bytes,
            "log_backups": self.log_backups,
        }
        if self.cwd:
            out["cwd"] = self.cwd
        if self.user:
            out["user"] = self.user
        if self.probe:
            out["probe"] = self.probe.to_mapping()
        return out

    def to_params(self) -> dict[str, str]:
        """Encode as ``OpRequest.params`` (all values strings)."""
        out: dict[str, str] = {}
        for k, v in self.to_mapping().items():
            out[k] = json.dumps(v) if isinstance(v, list | dict) else str(v)
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ServiceDefinition:
        """Inverse of ``to_params``; also accepts ``command`` as a plain shell-like string."""
        m: dict[str, Any] = {}
        for k, v in params.items():
            if k in ("command", "env", "probe"):
                try:
                    m[k] = json.loads(v)
                except ValueError:
                    if k != "command":
                        raise ServiceDefinitionError(f"service.{k}: not valid JSON") from None
                    m[k] = v
            elif k in ("log_max_bytes", "log_backups"):
                try:
                    m[k] = int(v)
                except ValueError:
                    raise ServiceDefinitionError(f"service.{k}: not an integer") from None
            else:
                m[k] = v
        return cls.from_mapping(m)
