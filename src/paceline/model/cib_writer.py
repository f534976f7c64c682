"""Write the model as a Pacemaker CIB (configuration and status), the inverse of `cib.read_cib`.

So that a cluster described in Paceline can be handed to crm_simulate (differential tests,
benchmarks, migration to or from Pacemaker). Operation records carry the digest Pacemaker computes
(`op_digest`), so crm_simulate sees no false "resource definition change"; a built-in `service`
resource, which Pacemaker has no agent for, is written as ocf:pacemaker:Dummy.
"""

from __future__ import annotations

import contextlib
import re

from lxml import etree

from .config import AgentRef, Configuration, Group, Primitive, Resource
from .digest import op_digest
from .rules import AttrExpr, DateExpr, Rule
from .scores import format_score
from .state import ClusterState, NodeStatus, OpRecord
from .yaml_state import instance_primitive

__all__ = ["write_cib"]


def _E(tag: str, **attrs: str) -> etree._Element:
    return etree.Element(tag, dict(attrs))


def _S(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, tag, dict(attrs))


def _nvpairs(parent: etree._Element, tag: str, ident: str, values: dict[str, str]) -> None:
    if not values:
        return
    block = _S(parent, tag, id=ident)
    for name, value in values.items():
        _S(block, "nvpair", id=f"{ident}-{re.sub(r'[^A-Za-z0-9_.-]', '-', name)}", name=name, value=value)


def _agent(agent: AgentRef) -> dict[str, str]:
    if agent.standard == "service":
        return {"class": "ocf", "provider": "pacemaker", "type": "Dummy"}
    out = {"class": agent.standard, "type": agent.type}
    if agent.provider:
        out["provider"] = agent.provider
    return out


def _primitive(parent: etree._Element, prim: Primitive) -> None:
    el = _S(parent, "primitive", id=prim.id, **_agent(prim.agent))
    _nvpairs(
        el, "instance_attributes", f"{prim.id}-params", dict(prim.params) if prim.service is None else {}
    )
    _nvpairs(el, "meta_attributes", f"{prim.id}-meta", dict(prim.meta))
    _nvpairs(el, "utilization", f"{prim.id}-utilization", {k: str(v) for k, v in prim.utilization.items()})
    if prim.ops:
        ops = _S(el, "operations")
        for op in prim.ops:
            attrs = {
                "id": f"{prim.id}-{op.name}-{op.interval_ms}",
                "name": op.name,
                "interval": f"{op.interval_ms}ms",
            }
            if op.timeout_ms is not None:
                attrs["timeout"] = f"{op.timeout_ms}ms"
            if op.role is not None:
                attrs["role"] = op.role.value
            if op.on_fail is not None:
                attrs["on-fail"] = op.on_fail.value
            op_el = _S(ops, "op", **attrs)
            _nvpairs(op_el, "instance_attributes", f"{attrs['id']}-params", dict(op.params))


def _resource(parent: etree._Element, rsc: Resource) -> None:
    if isinstance(rsc, Primitive):
        _primitive(parent, rsc)
    elif isinstance(rsc, Group):
        el = _S(parent, "group", id=rsc.id)
        _nvpairs(el, "meta_attributes", f"{rsc.id}-meta", dict(rsc.meta))
        for member in rsc.members:
            _primitive(el, member)
    else:
        el = _S(parent, "clone", id=rsc.id)
        meta = dict(rsc.meta)
        if rsc.promotable:
            meta["promotable"] = "true"
        _nvpairs(el, "meta_attributes", f"{rsc.id}-meta", meta)
        _resource(el, rsc.child)


def _constraints(parent: etree._Element, config: Configuration) -> None:
    for loc in config.locations:
        attrs = {"id": loc.id}
        if loc.resource_pattern is not None:
            attrs["rsc-pattern"] = loc.resource_pattern
        else:
            attrs["rsc"] = loc.resource or ""
        if loc.role is not None:
            attrs["role"] = loc.role.value
        if not loc.rules:
            _S(parent, "rsc_location", node=loc.node or "", score=format_score(loc.score), **attrs)
            continue
        el = _S(parent, "rsc_location", **attrs)
        for rule in loc.rules:
            _rule(el, rule)
    for col in config.colocations:
        el = _S(parent, "rsc_colocation", id=col.id, rsc=col.resource, score=format_score(col.score))
        el.set("with-rsc", col.with_resource)
        if col.resource_role is not None:
            el.set("rsc-role", col.resource_role.value)
        if col.with_role is not None:
            el.set("with-rsc-role", col.with_role.value)
    for order in config.orders:
        el = _S(parent, "rsc_order", id=order.id, first=order.first, then=order.then, kind=order.kind.value)
        el.set("first-action", order.first_action)
        el.set("then-action", order.then_action)
        el.set("symmetrical", "true" if order.symmetrical else "false")
        if order.first_min == 1:
            el.set("require-all", "false")  # the CIB's (deprecated) spelling of "one copy will do"


def _digest(config: Configuration, rec: OpRecord) -> str:
    prim = instance_primitive(config, rec.resource)
    params = prim.params_for(rec.task, rec.interval_ms) if prim is not None and prim.service is None else {}
    timeout = None
    if rec.interval_ms and prim is not None:
        timeout = next(
            (o.timeout_ms for o in prim.ops if o.interval_ms == rec.interval_ms and o.timeout_ms), None
        )
    return op_digest(params, rec.interval_ms, timeout)


def write_cib(config: Configuration, state: ClusterState | None = None, now: float = 0.0) -> bytes:
    """The CIB (configuration and status) for this configuration and observed state.

    `now` stands in for operations that recorded no time. Options are the typed ones, with any
    given as raw text taking precedence.
    """
    state = (
        state if state is not None else ClusterState(nodes=tuple(NodeStatus(n.name) for n in config.nodes))
    )
    online = [n.name for n in state.nodes if n.online]
    root = _E("cib", crm_feature_set="3.16.1", epoch="1", num_updates="0", admin_epoch="0")
    root.set("validate-with", "pacemaker-3.7")
    root.set("have-quorum", "1" if state.have_quorum else "0")
    root.set("dc-uuid", state.dc or (online[0] if online else ""))
    cfg = _S(root, "configuration")
    options = {
        "stonith-enabled": "true" if config.options.stonith_enabled else "false",
        "symmetric-cluster": "true" if config.options.symmetric_cluster else "false",
        "no-quorum-policy": config.options.no_quorum_policy.value,
        "cluster-name": config.name,
    }
    if config.options.watchdog_fencing:
        options["have-watchdog"] = "true"  # what Pacemaker's scheduler reads as "watchdog can fence"
    options.update(config.options.raw)
    _nvpairs(_S(cfg, "crm_config"), "cluster_property_set", "options", options)
    nodes = _S(cfg, "nodes")
    for node in config.nodes:
        status = state.node(node.name)
        attrs = dict(node.attributes)
        if status is not None and status.standby:
            attrs["standby"] = "on"
        node_el = _S(nodes, "node", id=node.name, uname=node.name)
        _nvpairs(node_el, "instance_attributes", f"{node.name}-a", attrs)
        _nvpairs(node_el, "utilization", f"{node.name}-u", {k: str(v) for k, v in node.utilization.items()})
    resources = _S(cfg, "resources")
    for rsc in config.resources:
        _resource(resources, rsc)
    _constraints(_S(cfg, "constraints"), config)
    if config.rsc_defaults:
        _nvpairs(_S(cfg, "rsc_defaults"), "meta_attributes", "rsc-defaults", dict(config.rsc_defaults))
    status_el = _S(root, "status")
    for ns_info in state.nodes:
        if ns_info.online:
            membership = {"in_ccm": "true", "crmd": "online", "join": "member", "expected": "member"}
        elif ns_info.unclean:  # left the membership without a clean shutdown (crm_simulate --node-fail)
            membership = {"in_ccm": "false", "crmd": "offline", "join": "down", "expected": "member"}
        else:
            membership = {"in_ccm": "false", "crmd": "offline", "join": "down", "expected": "down"}
        ns = _S(status_el, "node_state", id=ns_info.name, uname=ns_info.name, **membership)
        cfg_attrs = next((dict(n.attributes) for n in config.nodes if n.name == ns_info.name), {})
        transient = {k: v for k, v in ns_info.attributes.items() if cfg_attrs.get(k) != v}
        for f in state.failures:
            if f.node == ns_info.name:
                transient[f"fail-count-{f.resource}#{f.operation}"] = format_score(f.count)
                if f.last_failure is not None:
                    transient[f"last-failure-{f.resource}#{f.operation}"] = str(int(f.last_failure))
        if transient:
            _nvpairs(
                _S(ns, "transient_attributes", id=ns_info.name),
                "instance_attributes",
                f"{ns_info.name}-t",
                transient,
            )
        lrm = _S(_S(ns, "lrm", id=ns_info.name), "lrm_resources")
        by_rsc: dict[str, etree._Element] = {}
        for rec in state.history:
            if rec.node != ns_info.name:
                continue
            if rec.resource not in by_rsc:
                prim = instance_primitive(config, rec.resource)
                agent = {"class": "ocf", "type": "Dummy"}
                if prim is not None:
                    agent = _agent(prim.agent)
                if rec.agent:
                    with contextlib.suppress(ValueError):  # unnamed agent: keep the configured one
                        agent = _agent(AgentRef.parse(rec.agent))
                by_rsc[rec.resource] = _S(lrm, "lrm_resource", id=rec.resource, **agent)
            expected = rec.expected_rc if rec.expected_rc is not None else 0
            transition = rec.transition if rec.transition is not None else 1
            key = f"{rec.call_id}:{transition}:{expected}:00000000-0000-0000-0000-000000000000"
            op = _S(
                by_rsc[rec.resource],
                "lrm_rsc_op",
                id=f"{rec.resource}_{rec.task}_{rec.interval_ms}_{rec.call_id}",
            )
            for name, value in (
                ("operation_key", f"{rec.resource}_{rec.task}_{rec.interval_ms}"),
                ("operation", rec.task),
                ("crm-debug-origin", "paceline"),
                ("crm_feature_set", "3.16.1"),
                ("transition-key", key),
                ("transition-magic", f"{rec.status.value}:{rec.rc};{key}"),
                ("call-id", str(rec.call_id)),
                ("rc-code", str(rec.rc)),
                ("op-status", str(rec.status.value)),
                ("interval", str(rec.interval_ms)),
                (
                    "last-rc-change",
                    str(int(rec.last_rc_change if rec.last_rc_change is not None else now - 60)),
                ),
                ("exec-time", "0"),
                ("queue-time", "0"),
                ("op-digest", rec.op_digest or _digest(config, rec)),
                ("on_node", ns_info.name),
            ):
                op.set(name, value)
    return etree.tostring(root, pretty_print=True)


def _rule(parent: etree._Element, rule: Rule) -> None:
    r = _S(parent, "rule", id=rule.id)
    if rule.score is not None:
        r.set("score", format_score(rule.score))
    if rule.score_attribute:
        r.set("score-attribute", rule.score_attribute)
    r.set("boolean-op", rule.boolean_op.value)
    for i, expr in enumerate(rule.expressions):
        if isinstance(expr, AttrExpr):
            e = _S(r, "expression", id=f"{rule.id}-e{i}", attribute=expr.attribute, operation=expr.op.value)
            if expr.value is not None:
                e.set("value", expr.value)
            if expr.type is not None:
                e.set("type", expr.type.value)
        elif isinstance(expr, DateExpr):
            d = _S(r, "date_expression", id=f"{rule.id}-d{i}", operation=expr.op)
            if expr.start is not None:
                d.set("start", expr.start.isoformat())
            if expr.end is not None:
                d.set("end", expr.end.isoformat())
        else:
            _rule(r, expr)
