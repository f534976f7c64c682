"""Which changed resources can be reloaded in place instead of restarted (Pacemaker's rules).

A running primitive whose agent, service definition and operations' own parameters are unchanged
and whose changed parameters are all reloadable is reloaded:
- OCF 1.1: the agent has a `reload-agent` action and every changed parameter is `reloadable="1"`;
- legacy: the agent has a `reload` action and no changed parameter is `unique="1"`.
Anything else (or agent meta-data that cannot be read) is restarted.
"""

from __future__ import annotations

from ..agents import AgentRunner, AgentSpec
from ..controller.view import find_primitive
from ..model.config import Configuration

__all__ = ["plan_reloads"]


async def plan_reloads(
    runner: AgentRunner, old: Configuration, new: Configuration, changed: set[str]
) -> tuple[dict[str, str], set[str]]:
    """({resource: reload action}, resources to restart) for the `changed` primitives."""
    reload: dict[str, str] = {}
    restart: set[str] = set()
    for rid in sorted(changed):
        a, b = find_primitive(old, rid), find_primitive(new, rid)
        if a is None or b is None:
            restart.add(rid)
            continue
        pa, pb = a[0], b[0]
        if str(pa.agent) != str(pb.agent) or pa.service != pb.service or pa.service is not None:
            restart.add(rid)
            continue
        if {(o.name, o.interval_ms): o.params for o in pa.ops} != {
            (o.name, o.interval_ms): o.params for o in pb.ops
        }:
            restart.add(rid)  # an operation's own parameters are never reloaded (as the scheduler)
            continue
        keys = {k for k in set(pa.params) | set(pb.params) if pa.params.get(k) != pb.params.get(k)}
        try:
            md = await runner.metadata(AgentSpec.parse(str(pb.agent)))
        except Exception:
            restart.add(rid)
            continue
        infos = [md.parameter(k) for k in keys]
        if md.supports("reload-agent") and all(i is not None and i.reloadable for i in infos):
            reload[rid] = "reload-agent"
        elif md.supports("reload") and all(i is not None and not i.unique for i in infos):
            reload[rid] = "reload"
        else:
            restart.add(rid)
    return reload, restart
