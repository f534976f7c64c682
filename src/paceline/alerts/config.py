"""The `alerts:` section of a cluster configuration, read by the daemon itself.

The model's YAML loader rejects unknown top-level keys, so `split_alerts(text)` takes the section
out first: it returns the text with the section's lines blanked (every other line keeps its
number, so the loader's error lines stay right) and the parsed alert definitions.

Shape::

    alerts:
      - id: to-file                       # Pacemaker alert agent (same environment as Pacemaker's)
        path: /usr/share/pacemaker/alerts/alert_file.sh.sample
        recipients: [/var/log/paceline-alerts.log]   # the agent runs once per recipient
        timeout: 30s
        kinds: [failure, recovery, escalation, stop] # optional filter (default: these four + start)
        env: {KEY: value}
      - id: hook
        webhook: http://127.0.0.1:9000/paceline     # POST of the event as JSON
        timeout: 5s

Invariant: `split_alerts` never raises for a file the YAML parser rejects: it returns the text
unchanged and no alerts, and the loader reports the syntax error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..agents.durations import DurationError, parse_duration
from ..controller.records import EventKind

__all__ = ["DEFAULT_KINDS", "AlertDefinition", "AlertError", "split_alerts"]

DEFAULT_KINDS = frozenset(
    {EventKind.FAILURE, EventKind.RECOVERY, EventKind.ESCALATION, EventKind.STOP, EventKind.START}
)


class AlertError(ValueError):
    """A problem in the alerts section; the message starts with `FILE:LINE: alerts...`."""


@dataclass(frozen=True)
class AlertDefinition:
    id: str
    path: str | None = None
    webhook: str | None = None
    recipients: tuple[str, ...] = ()
    timeout_s: float = 30.0
    kinds: frozenset[EventKind] = DEFAULT_KINDS
    env: Mapping[str, str] = field(default_factory=dict)


def _parse_one(item: Any, where: str, index: int) -> AlertDefinition:
    if not isinstance(item, Mapping):
        raise AlertError(f"{where}: alerts[{index}]: expected a mapping")
    allowed = {"id", "path", "webhook", "recipients", "timeout", "kinds", "env"}
    unknown = sorted(set(item) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed))
        raise AlertError(f"{where}: alerts[{index}]: unknown key {unknown[0]!r} (known: {known})")
    ident = str(item.get("id") or f"alert{index + 1}")
    path = item.get("path")
    webhook = item.get("webhook")
    if (path is None) == (webhook is None):
        raise AlertError(
            f"{where}: alerts[{index}]: give exactly one of path (an alert agent) or webhook (a URL)"
        )
    if webhook is not None and not str(webhook).startswith(("http://", "https://")):
        raise AlertError(f"{where}: alerts[{index}].webhook: expected an http:// or https:// URL")
    recipients = item.get("recipients") or []
    if isinstance(recipients, str):
        recipients = [recipients]
    try:
        timeout = parse_duration(item.get("timeout", "30s" if path else "5s"))
    except DurationError as e:
        raise AlertError(f"{where}: alerts[{index}].timeout: {e}") from None
    kinds = DEFAULT_KINDS
    if item.get("kinds") is not None:
        try:
            kinds = frozenset(EventKind(str(k)) for k in item["kinds"])
        except ValueError as e:
            known = ", ".join(k.value for k in EventKind)
            raise AlertError(f"{where}: alerts[{index}].kinds: {e} (known: {known})") from None
    env = {str(k): str(v) for k, v in (item.get("env") or {}).items()}
    return AlertDefinition(
        ident,
        str(path) if path else None,
        str(webhook) if webhook else None,
        tuple(str(r) for r in recipients),
        timeout,
        kinds,
        env,
    )


def split_alerts(text: str, filename: str = "<config>") -> tuple[str, tuple[AlertDefinition, ...]]:
    """(the text without its alerts section, the alerts). Raises AlertError for a bad section."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return text, ()
    if not isinstance(root, yaml.MappingNode):
        return text, ()
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "alerts":
            first = key.start_mark.line
            last = value.end_mark.line if value.end_mark.column > 0 else value.end_mark.line - 1
            lines = text.splitlines(keepends=True)
            for i in range(first, min(last + 1, len(lines))):
                lines[i] = "\n"
            data = yaml.safe_load(yaml.serialize(value)) if value is not None else None
            where = f"{filename}:{first + 1}"
            if data is None:
                return "".join(lines), ()
            if not isinstance(data, list):
                raise AlertError(f"{where}: alerts: expected a list of alert definitions")
            return "".join(lines), tuple(_parse_one(item, where, i) for i, item in enumerate(data))
    return text, ()
