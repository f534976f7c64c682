"""The cluster options and meta attributes a configuration may set, and their value syntax.

`CLUSTER_OPTIONS` and `META_ATTRIBUTES` map each known name to its `Validator` (the reader treats
an unknown cluster option as an error and an unknown meta attribute as a warning);
`cluster_options` turns validated raw option strings into the typed `ClusterOptions`.
"""

from __future__ import annotations

from collections.abc import Mapping

from .config import ClusterOptions
from .durations import parse_duration_ms
from .enums import HealthStrategy, NoQuorumPolicy
from .listen import parse_listen
from .scores import INFINITY
from .yaml_scalars import (
    Validator,
    _as_bool,
    _v_any,
    _v_bool,
    _v_count,
    _v_duration,
    _v_enum,
    _v_int,
    _v_int_or_inf,
    _v_role,
    _v_score,
)

__all__ = ["CLUSTER_OPTIONS", "META_ATTRIBUTES", "PACEMAKER_INTERNAL_OPTIONS", "cluster_options"]


def _v_lease_ttl(text: str) -> str | None:
    """etcd leases are whole seconds; 1 s needs an etcd election timeout of 500 ms or less."""
    try:
        ms = parse_duration_ms(text)
    except ValueError as exc:
        return str(exc)
    if ms % 1000 or not 1000 <= ms <= 60_000:
        return f"lease-ttl must be a whole number of seconds from 1s to 60s, got {text!r}"
    return None


def _v_heartbeat(text: str) -> str | None:
    try:
        ms = parse_duration_ms(text)
    except ValueError as exc:
        return str(exc)
    if not 10 <= ms <= 10_000:
        return f"heartbeat-interval must be from 10ms to 10s, got {text!r}"
    return None


def _v_listen(text: str) -> str | None:
    try:
        parse_listen(text)
    except ValueError as exc:
        return f"http-listen: {exc}"
    return None


CLUSTER_OPTIONS: Mapping[str, Validator] = {
    "http-listen": _v_listen,
    "stonith-enabled": _v_bool,
    "lease-ttl": _v_lease_ttl,
    "heartbeat-interval": _v_heartbeat,
    "symmetric-cluster": _v_bool,
    "no-quorum-policy": _v_enum(*(p.value for p in NoQuorumPolicy)),
    "start-failure-is-fatal": _v_bool,
    "maintenance-mode": _v_bool,
    "stop-all-resources": _v_bool,
    "stop-orphan-resources": _v_bool,
    "stop-orphan-actions": _v_bool,
    "node-health-strategy": _v_enum(*(h.value for h in HealthStrategy)),
    "node-health-red": _v_score,
    "node-health-yellow": _v_score,
    "node-health-green": _v_score,
    "node-health-base": _v_score,
    "placement-strategy": _v_enum("default", "utilization", "minimal", "balanced"),
    "concurrent-fencing": _v_bool,
    "stonith-action": _v_enum("reboot", "off", "poweroff"),
    "stonith-timeout": _v_duration,
    "stonith-max-attempts": _v_count,
    "stonith-watchdog-timeout": _v_any,
    "have-watchdog": _v_bool,
    "startup-fencing": _v_bool,
    "fence-reaction": _v_enum("stop", "panic"),
    "priority-fencing-delay": _v_duration,
    "shutdown-lock": _v_bool,
    "shutdown-lock-limit": _v_duration,
    "cluster-recheck-interval": _v_duration,
    "cluster-delay": _v_duration,
    "dc-deadtime": _v_duration,
    "election-timeout": _v_duration,
    "shutdown-escalation": _v_duration,
    "transition-delay": _v_duration,
    "batch-limit": _v_count,
    "migration-limit": _v_int,
    "load-threshold": _v_any,
    "node-action-limit": _v_count,
    "enable-startup-probes": _v_bool,
    "enable-acl": _v_bool,
    "cluster-name": _v_any,
    "cluster-infrastructure": _v_any,
    "dc-version": _v_any,
    "pe-error-series-max": _v_int,
    "pe-warn-series-max": _v_int,
    "pe-input-series-max": _v_int,
    "node-pending-timeout": _v_duration,
    "default-resource-stickiness": _v_score,
    "is-managed-default": _v_bool,
}
"""Known cluster options and their value syntax (an unknown option name is an error)."""

PACEMAKER_INTERNAL_OPTIONS = ("last-lrm-refresh",)
"""Properties Pacemaker itself writes into every live cluster's CIB (not for people to set): a
configuration imported from a CIB may carry them; they are kept, with a warning that Paceline
ignores them."""

META_ATTRIBUTES: Mapping[str, Validator] = {
    "target-role": _v_role,
    "is-managed": _v_bool,
    "maintenance": _v_bool,
    "resource-stickiness": _v_score,
    "migration-threshold": _v_int_or_inf,
    "failure-timeout": _v_duration,
    "priority": _v_int,
    "multiple-active": _v_enum("block", "stop_only", "stop_start", "stop_unexpected"),
    "requires": _v_enum("nothing", "quorum", "fencing", "unfencing"),
    "allow-migrate": _v_bool,
    "allow-unhealthy-nodes": _v_bool,
    "critical": _v_bool,
    "restart-type": _v_enum("ignore", "restart"),
    "container-attribute-target": _v_any,
    "remote-node": _v_any,
    "remote-port": _v_int,
    "remote-addr": _v_any,
    "remote-connect-timeout": _v_duration,
    "description": _v_any,
    "clone-max": _v_count,
    "clone-node-max": _v_count,
    "clone-min": _v_count,
    "promoted-max": _v_count,
    "promoted-node-max": _v_count,
    "master-max": _v_count,
    "master-node-max": _v_count,
    "notify": _v_bool,
    "globally-unique": _v_bool,
    "ordered": _v_bool,
    "interleave": _v_bool,
    "promotable": _v_bool,
    "timeout": _v_duration,
    "interval": _v_duration,
    "record-pending": _v_bool,
    "start-delay": _v_duration,
    "on-fail": _v_any,
}
"""Known meta attributes and their value syntax (an unknown name is a warning)."""


def cluster_options(raw: Mapping[str, str]) -> ClusterOptions:
    """Typed cluster options from validated raw strings (Pacemaker's defaults for the rest)."""

    def flag(name: str, default: bool) -> bool:
        return _as_bool(raw[name]) if name in raw else default

    def score(name: str, default: int) -> int:
        if name not in raw:
            return default
        low = raw[name].lower().lstrip("+")
        if low in ("infinity", "inf"):
            return INFINITY
        if low in ("-infinity", "-inf"):
            return -INFINITY
        return int(raw[name])

    defaults = ClusterOptions()
    return ClusterOptions(
        stonith_enabled=flag("stonith-enabled", defaults.stonith_enabled),
        lease_ttl_s=parse_duration_ms(raw["lease-ttl"]) / 1000
        if "lease-ttl" in raw
        else defaults.lease_ttl_s,
        heartbeat_interval_s=parse_duration_ms(raw["heartbeat-interval"]) / 1000
        if "heartbeat-interval" in raw
        else defaults.heartbeat_interval_s,
        symmetric_cluster=flag("symmetric-cluster", defaults.symmetric_cluster),
        no_quorum_policy=NoQuorumPolicy(raw["no-quorum-policy"].lower())
        if "no-quorum-policy" in raw
        else defaults.no_quorum_policy,
        start_failure_is_fatal=flag("start-failure-is-fatal", defaults.start_failure_is_fatal),
        maintenance_mode=flag("maintenance-mode", defaults.maintenance_mode),
        stop_all_resources=flag("stop-all-resources", defaults.stop_all_resources),
        stop_orphan_resources=flag("stop-orphan-resources", defaults.stop_orphan_resources),
        node_health_strategy=HealthStrategy(raw["node-health-strategy"].lower())
        if "node-health-strategy" in raw
        else defaults.node_health_strategy,
        node_health_red=score("node-health-red", defaults.node_health_red),
        node_health_yellow=score("node-health-yellow", defaults.node_health_yellow),
        node_health_green=score("node-health-green", defaults.node_health_green),
        node_health_base=score("node-health-base", defaults.node_health_base),
        placement_strategy=raw.get("placement-strategy", defaults.placement_strategy).lower(),
        concurrent_fencing=flag("concurrent-fencing", defaults.concurrent_fencing),
        stonith_action=raw.get("stonith-action", defaults.stonith_action).lower(),
        shutdown_lock=flag("shutdown-lock", defaults.shutdown_lock),
        raw=dict(raw),
    )
