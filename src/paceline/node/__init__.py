"""The node side of the daemon: runs the controller's actions through an AgentRunner, probes,
recurring monitors, event-driven failures of built-in services, node attributes."""

from .agent import NodeAgent
from .monitors import MonitorManager, MonitorSpec
from .roles import LocalRole, roles_on

__all__ = ["LocalRole", "MonitorManager", "MonitorSpec", "NodeAgent", "roles_on"]
