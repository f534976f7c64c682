"""The environment of an OCF agent, exactly as Pacemaker's executor builds it.

- ``OCF_ROOT``, ``OCF_RA_VERSION_MAJOR``/``MINOR`` (1.1), ``OCF_RESOURCE_INSTANCE``,
  ``OCF_RESOURCE_TYPE``, ``OCF_RESOURCE_PROVIDER``, ``OCF_EXIT_REASON_PREFIX``.
- Every instance parameter as ``OCF_RESKEY_<name>``.
- Meta attributes as ``OCF_RESKEY_CRM_meta_<name>`` with ``-`` turned into ``_``; ``timeout`` and
  ``interval`` always set, in milliseconds, from the request (interval 0 = probe). ``on_node`` and
  ``on_node_uuid`` default to this node, ``name`` to the action (as in Pacemaker's
  transition graph). ``crm_feature_set`` is Pacemaker 2.1.5's.
- Promotion names both ways: for each pair (``promoted_max``/``master_max``,
  ``notify_promoted_resource``/``notify_master_resource``, ``..._unpromoted_...``/``..._slave_...``)
  whichever is given is also set under the other name, unless that one is given explicitly too.
- From the node context: PATH with the shim directory first, HA_SBIN_DIR, HA_RSCTMP,
  PACELINE_ATTR_STORE, PACELINE_NODE_NAME (see ``context.RunContext``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .context import EXIT_REASON_PREFIX, RunContext
from .types import OpRequest

__all__ = ["CRM_FEATURE_SET", "env_problems", "meta_env", "ocf_environment"]

CRM_FEATURE_SET = "3.16.2"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def env_problems(req: OpRequest) -> list[str]:
    """Parameter / meta names that cannot be environment variable names, and NUL bytes."""
    problems = []
    for kind, items in (("parameter", req.params.items()), ("meta attribute", req.meta.items())):
        for k, v in items:
            name = k.replace("-", "_") if kind == "meta attribute" else k
            if not _NAME.match(name):
                problems.append(f"{kind} name {k!r} is not usable as an environment variable")
            if "\0" in v:
                problems.append(f"{kind} {k} contains a NUL byte")
    return problems


_ALIASES = (
    ("promoted_max", "master_max"),
    ("promoted_node_max", "master_node_max"),
    ("notify_promoted_resource", "notify_master_resource"),
    ("notify_promoted_uname", "notify_master_uname"),
    ("notify_unpromoted_resource", "notify_slave_resource"),
    ("notify_unpromoted_uname", "notify_slave_uname"),
)


def meta_env(
    meta: Mapping[str, str], timeout_ms: int, interval_ms: int, node: str, action: str | None = None
) -> dict[str, str]:
    """``OCF_RESKEY_CRM_meta_*`` variables for the given meta attributes."""
    norm = {k.replace("-", "_"): v for k, v in meta.items()}
    for new, old in _ALIASES:
        if new in norm and old not in norm:
            norm[old] = norm[new]
        elif old in norm and new not in norm:
            norm[new] = norm[old]
    norm["timeout"] = str(timeout_ms)
    norm["interval"] = str(interval_ms)
    if action is not None:
        norm.setdefault("name", action)
    norm.setdefault("on_node", node)
    norm.setdefault("on_node_uuid", node)
    return {f"OCF_RESKEY_CRM_meta_{k}": v for k, v in norm.items()}


def ocf_environment(ctx: RunContext, req: OpRequest, timeout_ms: int) -> dict[str, str]:
    env = dict(ctx.base_env)
    env.update(
        OCF_ROOT=str(ctx.ocf_root),
        OCF_RA_VERSION_MAJOR="1",
        OCF_RA_VERSION_MINOR="1",
        OCF_RESOURCE_INSTANCE=req.resource_id,
        OCF_RESOURCE_TYPE=req.spec.type,
        OCF_EXIT_REASON_PREFIX=EXIT_REASON_PREFIX,
        OCF_RESKEY_crm_feature_set=CRM_FEATURE_SET,
    )
    if req.spec.provider:
        env["OCF_RESOURCE_PROVIDER"] = req.spec.provider
    for k, v in req.params.items():
        env[f"OCF_RESKEY_{k}"] = v
    env.update(meta_env(req.meta, timeout_ms, req.interval_ms, ctx.node_name, req.action))
    return env
