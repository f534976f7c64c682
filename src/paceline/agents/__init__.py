"""Resource and fence agents: run real OCF, LSB, systemd, fence-agents and Paceline's built-in
supervised service, safely (own session, timeouts that kill the whole group, a reaper).

Typical use by the node daemon::

    runner = LocalAgentRunner("/var/lib/paceline/node", node_name="n1")
    runner.services.adopt_all()                   # after a restart: keep still-running services
    events = runner.services.subscribe()          # ServiceExited / ServiceProbeFailed, instantly
    res = await runner.run(OpRequest("db", AgentSpec.parse("ocf:heartbeat:Dummy"), "start"))

Other layers test against ``FakeAgentRunner``. Shims that agents call (crm_attribute, ...) write
node attributes into ``AttributeStore(runner.ctx.attr_store)``.
"""

from .attrstore import ATTR_STORE_ENV, AttributeStore, Lifetime, promotion_attribute
from .catalog import list_agents
from .durations import DurationError, parse_duration, parse_duration_ms
from .fake import FakeAgentRunner
from .metadata import ActionInfo, AgentMetadata, MetadataError, ParameterInfo, check_params, parse_metadata
from .reaper import Reaper, become_subreaper
from .runner import AgentRunner, LocalAgentRunner
from .service import ServiceEvent, ServiceExited, ServiceListener, ServiceProbeFailed, ServiceSupervisor
from .service_def import ProbeKind, ProbeSpec, ServiceDefinition, ServiceDefinitionError
from .types import AgentSpec, AgentSpecError, OcfRc, OpRequest, OpResult, OpStatus, Standard

__all__ = [
    "ATTR_STORE_ENV",
    "ActionInfo",
    "AgentMetadata",
    "AgentRunner",
    "AgentSpec",
    "AgentSpecError",
    "AttributeStore",
    "DurationError",
    "FakeAgentRunner",
    "Lifetime",
    "LocalAgentRunner",
    "MetadataError",
    "OcfRc",
    "OpRequest",
    "OpResult",
    "OpStatus",
    "ParameterInfo",
    "ProbeKind",
    "ProbeSpec",
    "Reaper",
    "ServiceDefinition",
    "ServiceDefinitionError",
    "ServiceEvent",
    "ServiceExited",
    "ServiceListener",
    "ServiceProbeFailed",
    "ServiceSupervisor",
    "Standard",
    "become_subreaper",
    "check_params",
    "list_agents",
    "parse_duration",
    "parse_duration_ms",
    "parse_metadata",
    "promotion_attribute",
]
