"""Write the model as a Pacemaker CIB (configuration and status), the inverse of `cib.read_cib`.

Covers what the reader reads for primitives, groups, clones, locations (node scores and rules),
colocations, orders, options, defaults, node membership and operation history, so that a cluster
described in Paceline can be handed to crm_simulate (differential tests, benchmarks, migration).
"""

from __future__ import annotations

from lxml import etree

from .config import Clone, Configuration, Group, Primitive, Resource
from .rules import AttrExpr, DateExpr, Rule
from .scores import format_score
from .state import ClusterState

__all__ = ["write_cib"]


def _E(parent: etree._Element, tag: str, attrib: dict[str, str] | None = None, **kw: str) -> etree._Element:
    values = dict(attrib or {})
    values.update(kw)
    return etree.SubElement(parent, tag, values)


def _nvset(parent: etree._Element, tag: str, set_id: str, values: dict[str, str]) -> None:
    if not values:
        return
    s = _E(parent, tag, id=set_id)
    for k, v in values.items():
        _E(s, "nvpair", id=f"{set_id}-{k}", name=k, value=str(v))


def _primitive(parent: etree._Element, p: Primitive) -> None:
    attrs = {"id": p.id, "class": p.agent.standard, "type": p.agent.type}
    if p.agent.provider:
        attrs["provider"] = p.agent.provider
    el = _E(parent, "primitive", attrs)
    _nvset(el, "instance_attributes", f"{p.id}-params", dict(p.params))
    _nvset(el, "meta_attributes", f"{p.id}-meta", dict(p.meta))
    if p.ops:
        ops = _E(el, "operations")
        for op in p.ops:
            o = _E(
                ops,
                "op",
                id=op.id or f"{p.id}-{op.name}-{op.interval_ms}",
                name=op.name,
                interval=f"{op.interval_ms}ms",
            )
            if op.timeout_ms is not None:
                o.set("timeout", f"{op.timeout_ms}ms")
            if op.on_fail is not None:
                o.set("on-fail", op.on_fail.value)
            if op.role is not None:
                o.set("role", op.role.value)


def _resource(parent: etree._Element, r: Resource) -> None:
    if isinstance(r, Primitive):
        _primitive(parent, r)
    elif isinstance(r, Group):
        g = _E(parent, "group", id=r.id)
        _nvset(g, "meta_attributes", f"{r.id}-meta", dict(r.meta))
        for m in r.members:
            _primitive(g, m)
    elif isinstance(r, Clone):
        c = _E(parent, "clone", id=r.id)
        meta = dict(r.meta)
        if r.promotable:
            meta["promotable"] = "true"
        _nvset(c, "meta_attributes", f"{r.id}-meta", meta)
        _resource(c, r.child)


def _rule(parent: etree._Element, rule: Rule) -> None:
    el = _E(parent, "rule", {"id": rule.id, "boolean-op": rule.boolean_op.value})
    if rule.score is not None:
        el.set("score", format_score(rule.score))
    if rule.score_attribute:
        el.set("score-attribute", rule.score_attribute)
    for i, e in enumerate(rule.expressions):
        if isinstance(e, AttrExpr):
            x = _E(el, "expression", id=f"{rule.id}-e{i}", attribute=e.attribute, operation=e.op.value)
            if e.value is not None:
                x.set("value", e.value)
            if e.type is not None:
                x.set("type", e.type.value)
        elif isinstance(e, DateExpr):
            x = _E(el, "date_expression", id=f"{rule.id}-d{i}", operation=e.op)
            if e.start:
                x.set("start", e.start.isoformat())
            if e.end:
                x.set("end", e.end.isoformat())
        else:
            _rule(el, e)


def write_cib(config: Configuration, state: ClusterState | None = None) -> bytes:
    """The CIB XML for this configuration and (optionally) observed state."""
    state = state or ClusterState()
    root = etree.Element(
        "cib",
        {
            "admin_epoch": "0",
            "epoch": "1",
            "num_updates": "1",
            "validate-with": "pacemaker-3.7",
            "have-quorum": "1" if state.have_quorum else "0",
        },
    )
    cfg = _E(root, "configuration")
    crm = _E(cfg, "crm_config")
    opts = dict(config.options.raw)
    opts.setdefault("stonith-enabled", "true" if config.options.stonith_enabled else "false")
    opts.setdefault("symmetric-cluster", "true" if config.options.symmetric_cluster else "false")
    opts.setdefault("no-quorum-policy", config.options.no_quorum_policy.value)
    _nvset(crm, "cluster_property_set", "cib-bootstrap-options", opts)
    nodes = _E(cfg, "nodes")
    for n in config.nodes:
        ne = _E(nodes, "node", id=n.id or n.name, uname=n.name, type="member")
        _nvset(ne, "instance_attributes", f"nodes-{n.name}", dict(n.attributes))
    rscs = _E(cfg, "resources")
    for r in config.resources:
        _resource(rscs, r)
    cons = _E(cfg, "constraints")
    for loc in config.locations:
        le = _E(cons, "rsc_location", id=loc.id, rsc=loc.resource or "")
        if loc.node is not None:
            le.set("node", loc.node)
            le.set("score", format_score(loc.score))
        for rule in loc.rules:
            _rule(le, rule)
        if loc.role is not None:
            le.set("role", loc.role.value)
    for col in config.colocations:
        ce = _E(
            cons,
            "rsc_colocation",
            {
                "id": col.id,
                "rsc": col.resource,
                "with-rsc": col.with_resource,
                "score": format_score(col.score),
            },
        )
        if col.resource_role is not None:
            ce.set("rsc-role", col.resource_role.value)
        if col.with_role is not None:
            ce.set("with-rsc-role", col.with_role.value)
    for o in config.orders:
        _E(
            cons,
            "rsc_order",
            {
                "id": o.id,
                "first": o.first,
                "then": o.then,
                "kind": o.kind.value,
                "symmetrical": "true" if o.symmetrical else "false",
                "first-action": o.first_action,
                "then-action": o.then_action,
            },
        )
    if config.rsc_defaults:
        rd = _E(cfg, "rsc_defaults")
        _nvset(rd, "meta_attributes", "rsc-options", dict(config.rsc_defaults))
    if config.op_defaults:
        od = _E(cfg, "op_defaults")
        _nvset(od, "meta_attributes", "op-options", dict(config.op_defaults))
    status = _E(root, "status")
    by_node: dict[str, list[object]] = {}
    for rec in state.history:
        by_node.setdefault(rec.node, []).append(rec)
    for ns in state.nodes:
        node = next((n for n in config.nodes if n.name == ns.name), None)
        nid = node.id if node and node.id else ns.name
        online = ns.online and not ns.unclean
        se = _E(
            status,
            "node_state",
            id=nid,
            uname=ns.name,
            in_ccm="true" if online else "false",
            crmd="online" if online else "offline",
            join="member" if online else "down",
            expected="member" if (online or ns.unclean) else "down",
        )
        attrs = dict(ns.attributes)
        if ns.standby:
            attrs["standby"] = "on"
        for f in state.failures:
            if f.node == ns.name:
                attrs[f"fail-count-{f.resource}"] = format_score(f.count)
                if f.last_failure is not None:
                    attrs[f"last-failure-{f.resource}"] = str(int(f.last_failure))
        if attrs:
            ta = _E(se, "transient_attributes", id=nid)
            _nvset(ta, "instance_attributes", f"status-{nid}", attrs)
        lrm = _E(se, "lrm", id=nid)
        lrs = _E(lrm, "lrm_resources")
        per_rsc: dict[str, etree._Element] = {}
        for rec in state.history:
            if rec.node != ns.name:
                continue
            lr = per_rsc.get(rec.resource)
            if lr is None:
                prim = next((p for p in config.primitives() if p.id == rec.resource.split(":")[0]), None)
                lr = _E(
                    lrs,
                    "lrm_resource",
                    {
                        "id": rec.resource,
                        "type": prim.agent.type if prim else "Dummy",
                        "class": prim.agent.standard if prim else "ocf",
                    },
                )
                if prim and prim.agent.provider:
                    lr.set("provider", prim.agent.provider)
                per_rsc[rec.resource] = lr
            expected = (
                rec.expected_rc
                if rec.expected_rc is not None
                else (7 if rec.task == "monitor" and rec.interval_ms == 0 else 0)
            )
            key = f"1:1:{expected}:00000000-0000-0000-0000-000000000000"
            _E(
                lr,
                "lrm_rsc_op",
                {
                    "id": f"{rec.resource}_{rec.task}_{rec.interval_ms}",
                    "operation": rec.task,
                    "interval": str(rec.interval_ms),
                    "op-status": str(rec.status.value),
                    "rc-code": str(rec.rc),
                    "call-id": str(rec.call_id),
                    "transition-key": key,
                    "transition-magic": f"{rec.status.value}:{rec.rc};{key}",
                    "crm_feature_set": "3.7.1",
                    "last-rc-change": str(int(rec.last_rc_change or 0)),
                },
            )
    _ = by_node
    return etree.tostring(root, pretty_print=True, xml_declaration=False)
