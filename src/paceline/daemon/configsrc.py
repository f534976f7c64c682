"""Loading and checking a configuration for the daemon (the model's loader plus `alerts:`).

Invariant: `check_text` either returns a `LoadedConfig` (valid configuration, alerts, original
text) or raises `InvalidConfig` carrying every error message; warnings are returned, not raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..alerts import AlertDefinition, AlertError, split_alerts
from ..controller.view import walk_primitives
from ..model.config import Configuration, Primitive
from ..model.yaml_loader import Severity, check_config_text

__all__ = ["InvalidConfig", "LoadedConfig", "changed_primitives", "check_text", "environment_warnings"]


class InvalidConfig(ValueError):
    """`errors`: every error; `report`: every problem, warnings too, in file order."""

    def __init__(self, errors: list[str], report: list[str] | None = None) -> None:
        self.errors = errors
        self.report = report if report is not None else errors
        super().__init__("\n".join(errors))


@dataclass(frozen=True)
class LoadedConfig:
    config: Configuration
    alerts: tuple[AlertDefinition, ...]
    text: str
    warnings: tuple[str, ...] = field(default_factory=tuple)
    source: str = ""


def check_text(text: str, filename: str) -> LoadedConfig:
    try:
        rest, alerts = split_alerts(text, filename)
    except AlertError as e:
        raise InvalidConfig([str(e)]) from None
    config, problems = check_config_text(rest, filename)
    errors = [str(p) for p in problems if p.severity is Severity.ERROR]
    if errors or config is None:
        raise InvalidConfig(errors or [f"{filename}: no configuration"], [str(p) for p in problems] or None)
    warnings = tuple(str(p) for p in problems if p.severity is Severity.WARNING)
    return LoadedConfig(config, alerts, text, warnings, filename)


def environment_warnings(config: Configuration, source: str) -> tuple[str, ...]:
    """What this machine lacks for `config` (agents, service commands, users), as warnings: the
    file may be meant for another machine; starting such a resource fails with the same words."""
    from ..agents.installed import missing_here

    return tuple(f"{source}: resource {m.resource}: warning: {m.message}" for m in missing_here(config))


def _signature(p: Primitive) -> tuple[object, ...]:
    return (str(p.agent), sorted(p.params.items()), repr(p.service))


def changed_primitives(old: Configuration, new: Configuration) -> set[str]:
    """Primitives in both whose agent, parameters or service definition differ (restart them)."""
    before = {p.id: _signature(p) for p, _, _ in walk_primitives(old)}
    return {p.id for p, _, _ in walk_primitives(new) if p.id in before and before[p.id] != _signature(p)}
