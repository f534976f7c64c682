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
``from_mapping`` returns is valid (non-empty command, positive intervals, one probe kind).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from .durations import DurationError, parse_duration

__all__ = ["ProbeKind", "ProbeSpec", "ServiceDefinition", "ServiceDefinitionError"]


class ServiceDefinitionError(ValueError):
    """A service definition that cannot be used; the message names the offending key."""


class ProbeKind(Enum):
    HTTP = "http"
    TCP = "tcp"
    EXEC = "exec"


def _dur(m: Mapping[str, Any], key: str, default: float, where: str) -> float:
    if key not in m or m[key] is None:
        return default
    try:
        return parse_duration(m[key])
    except DurationError as e:
        raise ServiceDefinitionError(f"{where}{key}: {e}") from None


def _argv(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        argv = tuple(shlex.split(value))
    elif isinstance(value, list | tuple) and all(isinstance(x, str | int | float) for x in value):
        argv = tuple(str(x) for x in value)
    else:
        raise ServiceDefinitionError(f"{where}: expected a list of strings")
    if not argv:
        raise ServiceDefinitionError(f"{where}: must not be empty")
    return argv


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
        if not isinstance(m, Mapping):
            raise ServiceDefinitionError("probe: expected a mapping")
        kinds = [k for k in ProbeKind if k.value in m]
        if len(kinds) != 1:
            raise ServiceDefinitionError("probe: give exactly one of http, tcp, exec")
        kind = kinds[0]
        target = ""
        argv: tuple[str, ...] = ()
        if kind is ProbeKind.EXEC:
            argv = _argv(m["exec"], "probe.exec")
        else:
            target = str(m[kind.value])
        if kind is ProbeKind.TCP:
            host, _, port = target.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ServiceDefinitionError(f"probe.tcp: expected host:port, got {target!r}")
        if kind is ProbeKind.HTTP and not target.startswith(("http://", "https://")):
            raise ServiceDefinitionError(f"probe.http: expected an http:// or https:// URL, got {target!r}")
        expect = m.get("expect_status")
        if expect is not None and (not isinstance(expect, int) or not 100 <= expect <= 599):
            raise ServiceDefinitionError(f"probe.expect_status: expected an HTTP status, got {expect!r}")
        thr = m.get("failure_threshold", 3)
        if not isinstance(thr, int) or thr < 1:
            raise ServiceDefinitionError(f"probe.failure_threshold: expected an integer >= 1, got {thr!r}")
        p = cls(
            kind,
            target,
            argv,
            _dur(m, "interval", 1.0, "probe."),
            _dur(m, "timeout", 1.0, "probe."),
            thr,
            expect,
            _dur(m, "initial_delay", 0.0, "probe."),
        )
        if p.interval_s <= 0 or p.timeout_s <= 0:
            raise ServiceDefinitionError("probe: interval and timeout must be > 0")
        return p

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
        if not isinstance(m, Mapping):
            raise ServiceDefinitionError("service: expected a mapping")
        unknown = set(m) - {
            "command",
            "env",
            "cwd",
            "user",
            "probe",
            "stop_grace",
            "log_max_bytes",
            "log_backups",
        }
        if unknown:
            raise ServiceDefinitionError(f"service: unknown key(s) {', '.join(sorted(unknown))}")
        if "command" not in m:
            raise ServiceDefinitionError("service.command is required")
        env = m.get("env") or {}
        if not isinstance(env, Mapping):
            raise ServiceDefinitionError("service.env: expected a mapping")
        probe = m.get("probe")
        maxb, backups = m.get("log_max_bytes", 10 * 1024 * 1024), m.get("log_backups", 3)
        if not isinstance(maxb, int) or maxb < 1024 or not isinstance(backups, int) or backups < 0:
            raise ServiceDefinitionError("service.log_max_bytes must be >= 1024 and log_backups >= 0")
        return cls(
            command=_argv(m["command"], "service.command"),
            env={str(k): str(v) for k, v in env.items()},
            cwd=str(m["cwd"]) if m.get("cwd") else None,
            user=str(m["user"]) if m.get("user") else None,
            probe=ProbeSpec.from_mapping(probe) if probe else None,
            stop_grace_s=_dur(m, "stop_grace", 5.0, "service."),
            log_max_bytes=maxb,
            log_backups=backups,
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
