"""The schema of a built-in `service:` definition, checked in one place for every reader.

`check_service(value)` takes the definition as plain data (what YAML gives, or what
`ServiceDefinition.from_params` decodes) and returns every problem at once, each with its key path
relative to the `service:` block (`("probe", "interval")`). The configuration loader turns those
paths into file, line and full key path; `paceline.agents.ServiceDefinition.from_mapping` raises
them. So `config validate`, `run`, `config apply` and the agent that starts the service agree on
what a valid definition is: a definition this function accepts is one the agent can start
(whether its command exists on the machine is checked by the environment checks, not here).

Checked: unknown keys (with "did you mean"), types, durations (`500ms`, `2s`, `5min`, seconds),
ranges, exactly one probe kind and its target's syntax.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from .durations import DurationError, parse_duration_ms
from .yaml_scalars import _suggest

__all__ = [
    "PROBE_KEYS",
    "PROBE_KINDS",
    "SERVICE_KEYS",
    "PathPart",
    "ServiceIssue",
    "check_service",
    "format_path",
]

SERVICE_KEYS = ("command", "env", "cwd", "user", "probe", "stop_grace", "log_max_bytes", "log_backups")
PROBE_KINDS = ("http", "tcp", "exec")
PROBE_KEYS = (*PROBE_KINDS, "interval", "timeout", "failure_threshold", "expect_status", "initial_delay")
MIN_LOG_BYTES = 1024

PathPart = str | int


@dataclass(frozen=True)
class ServiceIssue:
    """One problem: where inside the `service:` block (key path) and what; `at_key` when the
    problem is the key itself (unknown), not its value."""

    path: tuple[PathPart, ...]
    message: str
    at_key: bool = False

    def __str__(self) -> str:
        where = format_path(self.path)
        return f"{where}: {self.message}" if where else self.message


def format_path(path: tuple[PathPart, ...], prefix: str = "") -> str:
    out = prefix
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else part
    return out


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


class _Checker:
    def __init__(self) -> None:
        self.issues: list[ServiceIssue] = []

    def add(self, path: tuple[PathPart, ...], message: str, at_key: bool = False) -> None:
        self.issues.append(ServiceIssue(path, message, at_key))

    def keys(self, m: Mapping[object, object], path: tuple[PathPart, ...], allowed: tuple[str, ...]) -> None:
        for key in m:
            if str(key) not in allowed:
                hint = _suggest(str(key), allowed)
                if not hint and not path:  # a probe key one level too high
                    hint = _suggest(str(key), PROBE_KEYS).replace("'", "'probe.", 1)
                self.add((*path, str(key)), "unknown key" + hint, at_key=True)

    def argv(self, value: object, path: tuple[PathPart, ...]) -> None:
        if isinstance(value, str):
            try:
                parts = shlex.split(value)
            except ValueError as e:
                self.add(path, f"cannot split the command line: {e}")
                return
            if not parts:
                self.add(path, "the command is empty")
        elif isinstance(value, list | tuple):
            if not value:
                self.add(path, "the command is empty")
            for i, part in enumerate(value):
                if not _is_scalar(part):
                    self.add((*path, i), f"expected a string, got {_describe(part)}")
        else:
            self.add(path, f"expected a command (a list or a string), got {_describe(value)}")

    def duration(self, value: object, path: tuple[PathPart, ...], positive: bool = False) -> None:
        if value is None:
            return
        if not _is_scalar(value):
            self.add(path, f"expected a duration (500ms, 2s, 5min), got {_describe(value)}")
            return
        try:
            ms = parse_duration_ms(value, lenient=False)  # type: ignore[arg-type]
        except DurationError:
            self.add(path, f"expected a duration (500ms, 2s, 5min; not negative), got {value!r}")
            return
        if isinstance(value, str) and not value.strip():
            self.add(path, "expected a duration (500ms, 2s, 5min), got ''")
        elif positive and ms <= 0:
            self.add(path, f"must be longer than 0, got {value!r}")

    def integer(self, value: object, path: tuple[PathPart, ...], low: int, high: int | None = None) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"expected an integer, got {_describe(value)}")
        elif value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"from {low} to {high}"
            self.add(path, f"expected an integer {bound}, got {value}")

    def text(self, value: object, path: tuple[PathPart, ...], what: str = "a string") -> None:
        if not _is_scalar(value) or (isinstance(value, str) and not value):
            self.add(path, f"expected {what}, got {_describe(value)}")

    def service(self, m: object) -> None:
        if not isinstance(m, Mapping):
            self.add((), f"expected a mapping, got {_describe(m)}")
            return
        self.keys(m, (), SERVICE_KEYS)
        if "command" not in m:
            self.add((), "missing required key 'command'")
        else:
            self.argv(m["command"], ("command",))
        env = m.get("env")
        if env is not None:
            if not isinstance(env, Mapping):
                self.add(("env",), f"expected a mapping, got {_describe(env)}")
            else:
                for k, v in env.items():
                    name = str(k)
                    if not name or "=" in name or "\x00" in name:  # what execve cannot pass
                        self.add(("env", name), f"{name!r} is not a variable name (no '=')", at_key=True)
                    if not _is_scalar(v) and not isinstance(v, bool):
                        self.add(("env", name), f"expected a string, got {_describe(v)}")
                    elif "\x00" in str(v):
                        self.add(("env", name), "a NUL character cannot be passed in the environment")
        for key in ("cwd", "user"):
            if m.get(key) is not None:
                self.text(m[key], (key,))
        if isinstance(m.get("cwd"), str) and m["cwd"] and not m["cwd"].startswith("/"):
            self.add(("cwd",), f"expected an absolute path, got {m['cwd']!r}")
        self.duration(m.get("stop_grace"), ("stop_grace",))
        if m.get("log_max_bytes") is not None:
            self.integer(m["log_max_bytes"], ("log_max_bytes",), MIN_LOG_BYTES)
        if m.get("log_backups") is not None:
            self.integer(m["log_backups"], ("log_backups",), 0)
        if m.get("probe") is not None:
            self.probe(m["probe"])

    def probe(self, m: object) -> None:
        path: tuple[PathPart, ...] = ("probe",)
        if not isinstance(m, Mapping):
            self.add(path, f"expected a mapping, got {_describe(m)}")
            return
        self.keys(m, path, PROBE_KEYS)
        kinds = [k for k in PROBE_KINDS if k in m]
        if len(kinds) != 1:
            got = f" (got {', '.join(kinds)})" if kinds else ""
            self.add(path, f"give exactly one of http, tcp, exec{got}")
        for kind in kinds:
            value = m[kind]
            kpath = (*path, kind)
            if kind == "exec":
                self.argv(value, kpath)
            elif not isinstance(value, str):
                self.add(kpath, f"expected a string, got {_describe(value)}")
            elif kind == "http" and not value.startswith(("http://", "https://")):
                self.add(kpath, f"expected an http:// or https:// URL, got {value!r}")
            elif kind == "tcp":
                host, _, port = value.rpartition(":")
                if not host or not port.isdigit() or not 0 < int(port) < 65536:
                    self.add(kpath, f"expected host:port, got {value!r}")
        self.duration(m.get("interval"), (*path, "interval"), positive=True)
        self.duration(m.get("timeout"), (*path, "timeout"), positive=True)
        self.duration(m.get("initial_delay"), (*path, "initial_delay"))
        if m.get("failure_threshold") is not None:
            self.integer(m["failure_threshold"], (*path, "failure_threshold"), 1)
        if m.get("expect_status") is not None:
            self.integer(m["expect_status"], (*path, "expect_status"), 100, 599)
            if kinds and "http" not in kinds:
                self.add((*path, "expect_status"), "applies to an http probe only")


def check_service(value: object) -> list[ServiceIssue]:
    """Every problem of a `service:` definition given as plain data ([] when it is valid)."""
    checker = _Checker()
    checker.service(value)
    return checker.issues
