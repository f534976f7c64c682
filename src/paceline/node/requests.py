"""From a configured primitive to the agent request for one of its operations.

Invariants: parameters are the primitive's `params` with the matching op definition's own
`params` over them (for the built-in service agent: its definition in
`ServiceDefinition.to_params()` form); meta are the effective meta attributes (own >
group > clone > rsc_defaults); the timeout is the matching op definition's (name and interval),
else op_defaults' `timeout`, else None (the agent's own default).
"""

from __future__ import annotations

from ..agents import AgentSpec, OpRequest, ServiceDefinition, ServiceDefinitionError
from ..controller.view import find_primitive
from ..model.config import Configuration
from ..model.durations import parse_duration_ms
from ..scheduler.meta import effective_meta

__all__ = ["RequestError", "build_request"]


class RequestError(ValueError):
    """The primitive cannot be turned into an agent request (bad agent or service definition)."""


def build_request(config: Configuration, rsc_id: str, action: str, interval_ms: int = 0) -> OpRequest:
    found = find_primitive(config, rsc_id)
    if found is None:
        raise RequestError(f"no primitive {rsc_id!r} in the configuration")
    prim, group, clone = found
    try:
        spec = AgentSpec.parse(str(prim.agent))
    except ValueError as e:
        raise RequestError(str(e)) from None
    if prim.service is not None:
        try:
            params = ServiceDefinition.from_mapping(prim.service).to_params()
        except ServiceDefinitionError as e:
            raise RequestError(f"{rsc_id}: service: {e}") from None
    else:
        params = prim.params_for(action, interval_ms)
    meta = effective_meta(config, prim, group, clone)
    op = prim.operation(action, interval_ms)
    timeout = op.timeout_ms if op is not None and op.timeout_ms else None
    if timeout is None and "timeout" in config.op_defaults:
        timeout = parse_duration_ms(config.op_defaults["timeout"], 0, lenient=True) or None
    if interval_ms:
        meta["interval"] = str(interval_ms)
    return OpRequest(rsc_id, spec, action, params, meta, interval_ms, timeout)
