"""Alerts: Pacemaker-compatible alert agents (CRM_alert_* environment) and JSON webhooks."""

from .config import DEFAULT_KINDS, AlertDefinition, AlertError, split_alerts
from .dispatch import CRM_ALERT_VERSION, AlertDispatcher, alert_env, event_json

__all__ = [
    "CRM_ALERT_VERSION",
    "DEFAULT_KINDS",
    "AlertDefinition",
    "AlertDispatcher",
    "AlertError",
    "alert_env",
    "event_json",
    "split_alerts",
]
