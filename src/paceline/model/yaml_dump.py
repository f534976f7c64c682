"""Writing a configuration as YAML: `dump_config`, which the loader reads back equal.

`load_config_text(dump_config(c)) == c`. Scores of +/-INFINITY are written as `INFINITY`,
durations in their shortest exact spelling, a `${env:NAME}` parameter as `{env: NAME}`, and the
leading stonith primitives as `fencing.devices` (with `hosts` for their `pcmk_host_list`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import yaml

from .config import Colocation, Configuration, Group, Location, Op, Order, Primitive, Resource
from .rules import Rule
from .scores import INFINITY, format_score
from .yaml_rules import format_rule
from .yaml_scalars import _ENV_RE, format_duration

__all__ = ["dump_config"]


def _score_out(score: int) -> int | str:
    return format_score(score) if abs(score) >= INFINITY else score


def _params_out(params: Mapping[str, str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in params.items():
        m = _ENV_RE.match(value)
        out[key] = {"env": m.group(1)} if m else value
    return out


def _ops_out(ops: Sequence[Op]) -> dict[str, object]:
    by_name: dict[str, list[dict[str, object]]] = {}
    for op in ops:
        item: dict[str, object] = {}
        if op.interval_ms or op.name == "monitor":
            item["interval"] = format_duration(op.interval_ms)
        if op.timeout_ms is not None:
            item["timeout"] = format_duration(op.timeout_ms)
        if op.on_fail is not None:
            item["on-fail"] = op.on_fail.value
        if op.role is not None:
            item["role"] = op.role.value
        if not op.enabled:
            item["enabled"] = False
        if op.id:
            item["id"] = op.id
        if op.meta:
            item["meta"] = dict(op.meta)
        if op.params:
            item["params"] = dict(op.params)
        by_name.setdefault(op.name, []).append(item)
    return {name: items[0] if len(items) == 1 else items for name, items in by_name.items()}


def _primitive_out(prim: Primitive) -> dict[str, object]:
    out: dict[str, object] = {"id": prim.id}
    if prim.service is not None:
        out["service"] = dict(prim.service)
    else:
        out["agent"] = str(prim.agent)
    if prim.params:
        out["params"] = _params_out(prim.params)
    if prim.meta:
        out["meta"] = dict(prim.meta)
    if prim.ops:
        out["ops"] = _ops_out(prim.ops)
    if prim.utilization:
        out["utilization"] = dict(prim.utilization)
    return out


def _resource_out(rsc: Resource) -> dict[str, object]:
    if isinstance(rsc, Primitive):
        return _primitive_out(rsc)
    if isinstance(rsc, Group):
        out: dict[str, object] = {"group": rsc.id, "resources": [_primitive_out(m) for m in rsc.members]}
        if rsc.meta:
            out["meta"] = dict(rsc.meta)
        return out
    out = {"promotable" if rsc.promotable else "clone": rsc.id, "resource": _resource_out(rsc.child)}
    if rsc.meta:
        out["meta"] = dict(rsc.meta)
    return out


def _rule_out(rule: Rule) -> dict[str, object]:
    out: dict[str, object] = {"id": rule.id, "rule": format_rule(rule)}
    if rule.score_attribute is not None:
        out["score-attribute"] = rule.score_attribute
    else:
        out["score"] = _score_out(rule.score if rule.score is not None else 0)
    if rule.role is not None:
        out["role"] = rule.role.value
    return out


def _location_out(loc: Location) -> dict[str, object]:
    out: dict[str, object] = {"id": loc.id}
    if loc.resource is not None:
        out["resource"] = loc.resource
    if loc.resource_pattern is not None:
        out["resource-pattern"] = loc.resource_pattern
    if loc.rules:
        out["rules"] = [_rule_out(r) for r in loc.rules]
    else:
        out["node"] = loc.node
        out["score"] = _score_out(loc.score)
    if loc.role is not None:
        out["role"] = loc.role.value
    if loc.resource_discovery != "always":
        out["resource-discovery"] = loc.resource_discovery
    return out


def _colocation_out(col: Colocation) -> dict[str, object]:
    out: dict[str, object] = {"id": col.id, "resource": col.resource, "with": col.with_resource}
    out["score"] = _score_out(col.score)
    if col.resource_role is not None:
        out["role"] = col.resource_role.value
    if col.with_role is not None:
        out["with-role"] = col.with_role.value
    if col.node_attribute != "#uname":
        out["node-attribute"] = col.node_attribute
    if not col.influence:
        out["influence"] = False
    return out


def _order_out(order: Order) -> dict[str, object]:
    return {
        "id": order.id,
        "first": order.first,
        "first-action": order.first_action,
        "then": order.then,
        "then-action": order.then_action,
        "kind": order.kind.value,
        "symmetrical": order.symmetrical,
        **({} if order.require_all else {"require-all": False}),
    }


def dump_config(config: Configuration) -> str:
    """YAML for `config` that `load_config_text` reads back equal.

    Top-level stonith primitives carrying `pcmk_host_list` are written as fencing devices.
    """
    doc: dict[str, object] = {}
    cluster: dict[str, object] = {"name": config.name}
    if config.store is not None:
        cluster["store"] = config.store
    if config.options.raw:
        cluster["options"] = dict(config.options.raw)
    doc["cluster"] = cluster
    if config.nodes:
        nodes: list[dict[str, object]] = []
        for node in config.nodes:
            item: dict[str, object] = {"name": node.name}
            if node.id:
                item["id"] = node.id
            if node.address is not None:
                item["address"] = node.address
            if node.attributes:
                item["attributes"] = dict(node.attributes)
            if node.utilization:
                item["utilization"] = dict(node.utilization)
            if node.score:
                item["score"] = _score_out(node.score)
            nodes.append(item)
        doc["nodes"] = nodes
    devices: list[dict[str, object]] = []
    resources: list[dict[str, object]] = []
    leading = True
    for rsc in config.resources:
        is_device = (
            isinstance(rsc, Primitive) and rsc.agent.standard == "stonith" and rsc.agent.provider is None
        )
        if leading and is_device and isinstance(rsc, Primitive):
            dev: dict[str, object] = {"id": rsc.id, "agent": rsc.agent.type}
            params = dict(rsc.params)
            hosts = params.pop("pcmk_host_list", None)
            if params:
                dev["params"] = _params_out(params)
            if hosts is not None:
                dev["hosts"] = hosts.split()
            if rsc.meta:
                dev["meta"] = dict(rsc.meta)
            if rsc.ops:
                dev["ops"] = _ops_out(rsc.ops)
            if hosts is not None and (not hosts.split() or " ".join(hosts.split()) != hosts):
                dev.pop("hosts")
                dev["params"] = {**dev.get("params", {}), "pcmk_host_list": hosts}  # type: ignore[dict-item]
            devices.append(dev)
            continue
        leading = False
        resources.append(_resource_out(rsc))
    if devices:
        doc["fencing"] = {"devices": devices}
    if config.fencing_levels:
        levels: dict[str, list[list[str]]] = {}
        for lv in sorted(config.fencing_levels, key=lambda lv: (lv.target, lv.index)):
            levels.setdefault(lv.target, []).append(list(lv.devices))
        doc.setdefault("fencing", {})["levels"] = levels  # type: ignore[index]
    if resources:
        doc["resources"] = resources
    constraints: list[dict[str, object]] = [{"location": _location_out(loc)} for loc in config.locations]
    constraints += [{"colocation": _colocation_out(col)} for col in config.colocations]
    constraints += [{"order": _order_out(order)} for order in config.orders]
    if constraints:
        doc["constraints"] = constraints
    if config.rsc_defaults:
        doc["rsc_defaults"] = dict(config.rsc_defaults)
    if config.op_defaults:
        doc["op_defaults"] = dict(config.op_defaults)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
