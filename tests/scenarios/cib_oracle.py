"""Write a scenario (configuration + observed state) as a Pacemaker CIB, so that crm_simulate can
judge our golden files.

Covers what the scenarios use: primitives (a `service` becomes ocf:pacemaker:Dummy), groups,
clones, stonith devices, node/attribute-rule locations, colocations, orders, cluster options,
rsc_defaults, node membership, fail counts and operation history. Operation records carry the
digest Pacemaker computes (md5 of ` <parameters .../>` plus a newline; recurring operations add
CRM_meta_timeout), so that crm_simulate does not see a "resource definition change".
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from paceline.model.config import AgentRef, Configuration, Group, Primitive, Resource
from paceline.model.digest import op_digest
from paceline.model.rules import AttrExpr
from paceline.model.scores import format_score
from paceline.model.state import ClusterState, OpRecord
from paceline.model.yaml_state import instance_primitive

__all__ = ["crm_simulate_available", "crm_simulate_summary", "to_cib"]

_E = etree.Element
_S = etree.SubElement


def crm_simulate_available() -> bool:
    return shutil.which("crm_simulate") is not None


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
            _S(ops, "op", **attrs)


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
        attrs = {"id": loc.id, "rsc": loc.resource or ""}
        if loc.role is not None:
            attrs["role"] = loc.role.value
        if not loc.rules:
            _S(parent, "rsc_location", node=loc.node or "", score=format_score(loc.score), **attrs)
            continue
        el = _S(parent, "rsc_location", **attrs)
        for rule in loc.rules:
            if not all(isinstance(e, AttrExpr) for e in rule.expressions):
                raise NotImplementedError(f"rule {rule.id}: only attribute expressions")
            r = _S(el, "rule", id=rule.id, score=format_score(rule.score or 0))
            r.set("boolean-op", rule.boolean_op.value)
            for i, expr in enumerate(rule.expressions):
                assert isinstance(expr, AttrExpr)
                e = _S(
                    r, "expression", id=f"{rule.id}-e{i}", attribute=expr.attribute, operation=expr.op.value
                )
                if expr.value is not None:
                    e.set("value", expr.value)
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


def _digest(config: Configuration, rec: OpRecord) -> str:
    prim = instance_primitive(config, rec.resource)
    params = dict(prim.params) if prim is not None and prim.service is None else {}
    timeout = None
    if rec.interval_ms and prim is not None:
        timeout = next(
            (o.timeout_ms for o in prim.ops if o.interval_ms == rec.interval_ms and o.timeout_ms), None
        )
    return op_digest(params, rec.interval_ms, timeout)


def to_cib(config: Configuration, state: ClusterState, now: float) -> bytes:
    """The CIB crm_simulate reads for this configuration and state."""
    online = [n.name for n in state.nodes if n.online]
    root = _E("cib", crm_feature_set="3.16.1", epoch="1", num_updates="0", admin_epoch="0")
    root.set("validate-with", "pacemaker-3.7")
    root.set("have-quorum", "1" if state.have_quorum else "0")
    root.set("dc-uuid", state.dc or (online[0] if online else ""))
    cfg = _S(root, "configuration")
    _nvpairs(_S(cfg, "crm_config"), "cluster_property_set", "options", dict(config.options.raw))
    nodes = _S(cfg, "nodes")
    for node in config.nodes:
        status = state.node(node.name)
        attrs = dict(node.attributes)
        if status is not None and status.standby:
            attrs["standby"] = "on"
        _nvpairs(
            _S(nodes, "node", id=node.name, uname=node.name), "instance_attributes", f"{node.name}-a", attrs
        )
    resources = _S(cfg, "resources")
    for rsc in config.resources:
        _resource(resources, rsc)
    _constraints(_S(cfg, "constraints"), config)
    if config.rsc_defaults:
        _nvpairs(_S(cfg, "rsc_defaults"), "meta_attributes", "rsc-defaults", dict(config.rsc_defaults))
    status_el = _S(root, "status")
    for node in state.nodes:
        if node.online:
            membership = {"in_ccm": "true", "crmd": "online", "join": "member", "expected": "member"}
        elif node.unclean:  # left the membership without a clean shutdown (crm_simulate --node-fail)
            membership = {"in_ccm": "false", "crmd": "offline", "join": "down", "expected": "member"}
        else:
            membership = {"in_ccm": "false", "crmd": "offline", "join": "down", "expected": "down"}
        ns = _S(status_el, "node_state", id=node.name, uname=node.name, **membership)
        cfg_attrs = next((dict(n.attributes) for n in config.nodes if n.name == node.name), {})
        transient = {k: v for k, v in node.attributes.items() if cfg_attrs.get(k) != v}
        for f in state.failures:
            if f.node == node.name:
                transient[f"fail-count-{f.resource}#{f.operation}"] = format_score(f.count)
                if f.last_failure is not None:
                    transient[f"last-failure-{f.resource}#{f.operation}"] = str(int(f.last_failure))
        if transient:
            _nvpairs(
                _S(ns, "transient_attributes", id=node.name),
                "instance_attributes",
                f"{node.name}-t",
                transient,
            )
        lrm = _S(_S(ns, "lrm", id=node.name), "lrm_resources")
        by_rsc: dict[str, etree._Element] = {}
        for rec in state.history:
            if rec.node != node.name:
                continue
            if rec.resource not in by_rsc:
                prim = instance_primitive(config, rec.resource)
                agent = _agent(prim.agent) if prim is not None else {"class": "ocf", "type": "Dummy"}
                by_rsc[rec.resource] = _S(lrm, "lrm_resource", id=rec.resource, **agent)
            expected = rec.expected_rc if rec.expected_rc is not None else 0
            key = f"{rec.call_id}:1:{expected}:00000000-0000-0000-0000-000000000000"
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
                ("op-digest", _digest(config, rec)),
                ("on_node", node.name),
            ):
                op.set(name, value)
    return etree.tostring(root, pretty_print=True)


def crm_simulate_summary(cib: bytes, now: float, workdir: Path) -> list[str]:
    """crm_simulate's Transition Summary lines for `cib` at `now`, whitespace collapsed."""
    path = workdir / "cib.xml"
    path.write_bytes(cib)
    when = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    result = subprocess.run(
        ["crm_simulate", "-x", str(path), "-S", "-t", when],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "Transition Summary:" not in result.stdout:
        raise RuntimeError(f"crm_simulate failed: {result.stderr.strip()}")
    block = result.stdout.split("Transition Summary:\n", 1)[1].split("\nExecuting", 1)[0]
    return [" ".join(line.split()[1:]) for line in block.splitlines() if line.strip().startswith("*")]
