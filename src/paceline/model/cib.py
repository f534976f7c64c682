"""Read a Pacemaker CIB (XML, as crm_simulate reads it) into the Paceline model.

The configuration section becomes a `Configuration`; the status section becomes a `ClusterState`
with node membership decided as Pacemaker's status unpacking does. Elements Paceline does not
support are reported by name in `CibReport.unsupported` (and never silently half-read).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from lxml import etree

from .config import (
    AgentRef,
    Clone,
    ClusterOptions,
    Colocation,
    Configuration,
    Group,
    HandsOff,
    Location,
    Node,
    Op,
    Order,
    Primitive,
    Resource,
    TicketConstraint,
)
from .durations import parse_duration_ms
from .enums import (
    BoolOp,
    ExprOp,
    HealthStrategy,
    NoQuorumPolicy,
    OnFail,
    OpStatus,
    OrderKind,
    Role,
    ValueType,
)
from .rules import AttrExpr, DateExpr, DateSpec, Rule, RuleContext, evaluate_rule
from .scores import INFINITY, parse_score
from .state import ClusterState, FailRecord, NodeStatus, OpRecord, Ticket
from .times import parse_iso_datetime
from .yaml_options import CLUSTER_OPTIONS, PACEMAKER_INTERNAL_OPTIONS

_OP_FIELDS = ("id", "name", "interval", "timeout", "role", "on-fail", "enabled")
"""An <op>'s attributes that are `Op` fields (the rest of its attributes are its meta)."""

__all__ = ["CibError", "CibReport", "parse_duration_ms", "parse_iso_datetime", "read_cib", "read_cib_text"]

_Element = etree._Element


class CibError(Exception):
    """The CIB cannot be read; the message names the element or attribute at fault."""


@dataclass(frozen=True)
class CibReport:
    config: Configuration
    state: ClusterState
    unsupported: tuple[str, ...] = ()
    execution_date: float | None = None
    ignored: tuple[str, ...] = ()
    """Elements left out on import that change nothing Paceline schedules (e.g. cluster
    properties it does not know), each named; `unsupported` are those that would."""


def read_cib(path: str | Path, now: float | None = None) -> CibReport:
    """Read a CIB file. `now` (epoch seconds) evaluates rule-conditioned attribute sets; without it
    the CIB's execution-date is used, and sets with rules are left out if there is none."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CibError(f"{path}: cannot read: {exc.strerror}") from None
    return read_cib_text(data, str(path), now)


def read_cib_text(data: bytes | str, source: str = "<cib>", now: float | None = None) -> CibReport:
    raw = data.encode() if isinstance(data, str) else data
    try:
        root = etree.fromstring(raw, parser=etree.XMLParser(remove_comments=True, resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        raise CibError(f"{source}: not well-formed XML: {exc}") from None
    if root.tag != "cib":
        raise CibError(f"{source}: root element is <{root.tag}>, expected <cib>")
    if now is None and root.get("execution-date"):
        now = float(root.get("execution-date", "0"))
    return _Reader(root, source, now=now).read()


_SUPPORTED_RESOURCE_TAGS = {"primitive", "group", "clone", "master"}
_LRM_RC_PENDING = -1


@dataclass
class _Reader:
    root: _Element
    source: str
    unsupported: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    templates: dict[str, _Element] = field(default_factory=dict)
    now: float | None = None
    refs: dict[str, list[str]] = field(default_factory=dict)
    """Template and tag ids -> the resources they stand for in constraints."""
    _startup_fencing: str = "true"
    hands_off: dict[str, str] = field(default_factory=dict)
    """Resource ids Paceline must leave alone -> why."""
    hands_off_prefixes: dict[str, str] = field(default_factory=dict)
    hands_off_nodes: list[str] = field(default_factory=list)

    # --- entry -------------------------------------------------------------------------------
    def read(self) -> CibReport:
        cfg = self.root.find("configuration")
        if cfg is None:
            raise CibError(f"{self.source}: no <configuration> section")
        options = self._options(cfg)
        nodes = self._nodes(cfg)
        resources = self._resources(cfg)
        self.refs = self._references(cfg)
        locations, colocations, orders, tickets = self._constraints(cfg)
        rsc_defaults = self._meta_defaults(cfg.find("rsc_defaults"))
        op_defaults = self._meta_defaults(cfg.find("op_defaults"))
        config = Configuration(
            name=options.raw.get("cluster-name", "cluster"),
            options=options,
            nodes=nodes,
            resources=resources,
            locations=locations,
            colocations=colocations,
            orders=orders,
            tickets=tickets,
            rsc_defaults=rsc_defaults,
            op_defaults=op_defaults,
        )
        state = self._status(config)
        why = {**self.hands_off, **self.hands_off_prefixes}
        config = replace(
            config,
            hands_off=HandsOff(
                resources=tuple(self.hands_off),
                prefixes=tuple(self.hands_off_prefixes),
                nodes=tuple(dict.fromkeys(self.hands_off_nodes)),
                why=why,
            ),
        )
        exec_date = self.root.get("execution-date")
        return CibReport(
            config=config,
            state=state,
            unsupported=tuple(dict.fromkeys(self.unsupported)),
            execution_date=float(exec_date) if exec_date else None,
            ignored=tuple(dict.fromkeys(self.ignored)),
        )

    def _unsupported(self, what: str) -> None:
        self.unsupported.append(what)

    def _ignored(self, what: str) -> None:
        self.ignored.append(what)

    # --- nvpairs -----------------------------------------------------------------------------
    def _nvpairs(self, parent: _Element | None, tag: str) -> dict[str, str]:
        """Merge every <tag> set under parent, honouring rule-less sets in order (first wins)."""
        out: dict[str, str] = {}
        if parent is None:
            return out
        sets = [s for s in parent if isinstance(s.tag, str) and s.tag == tag]
        sets.sort(key=lambda s: -parse_score(s.get("score"), 0))
        for aset in sets:
            ref = aset.get("id-ref")
            if ref is not None:
                for cand in self.root.iter():
                    if cand.get("id") == ref and cand is not aset:
                        aset = cand
                        break
            rule_el = aset.find("rule")
            if rule_el is not None:
                if self.now is None:
                    self._unsupported(f"<{tag}> with <rule> (set {aset.get('id')}) ignored: no 'now' given")
                    continue
                rule = self._rule(rule_el)
                if _has_attribute_expression(rule):
                    self._unsupported(
                        f"<{tag}> with a node-attribute rule (set {aset.get('id')}): per-node values ignored"
                    )
                    continue
                if not evaluate_rule(rule, RuleContext({}, self.now)):
                    continue
            for nv in aset.iter("nvpair"):
                name = nv.get("name")
                if name is None:
                    continue
                if name not in out:
                    out[name] = nv.get("value", "")
        return out

    def _meta_defaults(self, elem: _Element | None) -> dict[str, str]:
        return self._nvpairs(elem, "meta_attributes")

    # --- options and nodes ---------------------------------------------------------------------
    def _options(self, cfg: _Element) -> ClusterOptions:
        raw = self._nvpairs(cfg.find("crm_config"), "cluster_property_set")
        known = {k: v for k, v in raw.items() if k in CLUSTER_OPTIONS or k in PACEMAKER_INTERNAL_OPTIONS}
        for name in sorted(set(raw) - set(known)):
            self._ignored(f"cluster property {name!r} (not an option Paceline knows)")
        self._startup_fencing = raw.get("startup-fencing", "true")

        def flag(name: str, default: bool) -> bool:
            v = raw.get(name)
            return default if v is None else _is_true(v)

        nqp_text = raw.get("no-quorum-policy", "stop").lower()
        try:
            nqp = NoQuorumPolicy(nqp_text)
        except ValueError:
            nqp = NoQuorumPolicy.STOP
        if nqp is NoQuorumPolicy.SUICIDE and not _is_true(self.root.get("no-quorum-panic", "false")):
            nqp = NoQuorumPolicy.STOP  # Pacemaker: a cluster that never had quorum does not self-fence
        hs_text = raw.get("node-health-strategy", "none").lower()
        try:
            hs = HealthStrategy(hs_text)
        except ValueError:
            hs = HealthStrategy.NONE
        red_default = -INFINITY if hs is not HealthStrategy.PROGRESSIVE else 0
        return ClusterOptions(
            stonith_enabled=flag("stonith-enabled", True),
            symmetric_cluster=flag("symmetric-cluster", True),
            no_quorum_policy=nqp,
            start_failure_is_fatal=flag("start-failure-is-fatal", True),
            maintenance_mode=flag("maintenance-mode", False),
            stop_all_resources=flag("stop-all-resources", False),
            stop_orphan_resources=flag("stop-orphan-resources", True),
            node_health_strategy=hs,
            node_health_red=parse_score(raw.get("node-health-red"), red_default),
            node_health_yellow=parse_score(raw.get("node-health-yellow"), 0),
            node_health_green=parse_score(raw.get("node-health-green"), 0),
            node_health_base=parse_score(raw.get("node-health-base"), 0),
            placement_strategy=raw.get("placement-strategy", "default"),
            concurrent_fencing=flag("concurrent-fencing", False),
            stonith_action=raw.get("stonith-action", "reboot"),
            shutdown_lock=flag("shutdown-lock", False),
            # Pacemaker's scheduler counts watchdog fencing as a way to fence when the controller
            # wrote have-watchdog=true (SBD runs); stonith-watchdog-timeout alone does not.
            watchdog_fencing=flag("have-watchdog", False),
            raw=known,
        )

    def _nodes(self, cfg: _Element) -> tuple[Node, ...]:
        out: list[Node] = []
        nodes = cfg.find("nodes")
        for n in nodes if nodes is not None else []:
            if not isinstance(n.tag, str) or n.tag != "node":
                continue
            ntype = n.get("type", "member")
            if ntype == "remote":
                self._unsupported("remote node")
                self.hands_off_nodes.append(n.get("uname") or n.get("id") or "")
            attrs = self._nvpairs(n, "instance_attributes")
            util = {k: _int(v) for k, v in self._nvpairs(n, "utilization").items()}
            out.append(
                Node(
                    name=n.get("uname") or n.get("id") or "",
                    id=n.get("id", ""),
                    attributes=attrs,
                    utilization=util,
                    type=ntype,
                    score=parse_score(n.get("score"), 0),
                )
            )
        return tuple(out)

    # --- resources -------------------------------------------------------------------------------
    def _resources(self, cfg: _Element) -> tuple[Resource, ...]:
        rscs = cfg.find("resources")
        out: list[Resource] = []
        if rscs is None:
            return ()
        for t in rscs:
            if isinstance(t.tag, str) and t.tag == "template":
                self.templates[t.get("id", "")] = t
        for r in rscs:
            if not isinstance(r.tag, str) or r.tag == "template":
                continue
            rsc = self._resource(r)
            if rsc is not None:
                out.append(rsc)
        return tuple(out)

    def _resource(self, r: _Element, inherited: Mapping[str, str] | None = None) -> Resource | None:
        """One resource; `inherited` are the instance_attributes of the clone or group around it,
        which Pacemaker gives every primitive inside (its own win): part of their parameters and
        so of their digests."""
        tag = r.tag
        if tag == "primitive":
            return self._primitive(r, inherited)
        outer = {**(inherited or {}), **self._nvpairs(r, "instance_attributes")}
        if tag == "group":
            members = tuple(
                self._primitive(m, outer) for m in r if isinstance(m.tag, str) and m.tag == "primitive"
            )
            return Group(id=r.get("id", ""), members=members, meta=self._nvpairs(r, "meta_attributes"))
        if tag in ("clone", "master"):
            meta = self._nvpairs(r, "meta_attributes")
            promotable = tag == "master" or _is_true(meta.get("promotable", "false"))
            child: Primitive | Group | None = None
            for c in r:
                if isinstance(c.tag, str) and c.tag in ("primitive", "group"):
                    res = self._resource(c, outer)
                    if isinstance(res, Primitive | Group):
                        child = res
            if child is None:
                raise CibError(f"{self.source}: clone {r.get('id')} has no primitive or group")
            return Clone(id=r.get("id", ""), child=child, meta=meta, promotable=promotable)
        self._unsupported(f"<{tag}> resource {r.get('id')}")
        # Hands off: the resource itself, what it contains, and (a bundle) the resources Pacemaker
        # makes for it: `<id>-docker-N`, `<id>-ip-...`, `<id>-N` (its guest node's connection).
        rid = r.get("id", "")
        what = f"<{tag}> {rid}"
        self.hands_off[rid] = what
        self.hands_off_prefixes[f"{rid}-"] = what
        for inner in r.iter("primitive", "group", "clone"):
            if inner.get("id"):
                self.hands_off[inner.get("id", "")] = what
        return None

    def _primitive(self, r: _Element, inherited: Mapping[str, str] | None = None) -> Primitive:
        template = self.templates.get(r.get("template", "")) if r.get("template") else None
        base: _Element = template if template is not None else r
        standard = r.get("class") or base.get("class") or ""
        provider = r.get("provider") or base.get("provider")
        rtype = r.get("type") or base.get("type") or ""
        params = dict(inherited or {})
        if template is not None:
            params.update(self._nvpairs(base, "instance_attributes"))
        params.update(self._nvpairs(r, "instance_attributes"))
        meta = self._nvpairs(base, "meta_attributes") if template is not None else {}
        meta.update(self._nvpairs(r, "meta_attributes"))
        util = {k: _int(v) for k, v in self._nvpairs(r, "utilization").items()}
        if meta.get("remote-node"):
            self._unsupported(f"guest node {meta['remote-node']} (remote-node on {r.get('id')})")
            self.hands_off[r.get("id", "")] = f"guest node {meta['remote-node']}"
            self.hands_off_nodes.append(meta["remote-node"])
        if standard == "ocf" and provider == "pacemaker" and rtype == "remote":
            self._unsupported(f"remote node connection {r.get('id')}")
            # The connection runs on cluster nodes like a primitive and is scheduled as one; what
            # runs on the remote node it connects is what is left alone.
            self.hands_off_nodes.append(r.get("id", ""))
        ops: list[Op] = []
        for src in ([template] if template is not None else []) + [r]:
            ops_el = src.find("operations")
            if ops_el is None:
                continue
            for op in ops_el:
                if not isinstance(op.tag, str) or op.tag != "op":
                    continue
                ops.append(self._op(op))
        return Primitive(
            id=r.get("id", ""),
            agent=AgentRef(standard, rtype, provider),
            params=params,
            meta=meta,
            ops=tuple(ops),
            utilization=util,
        )

    def _op(self, op: _Element) -> Op:
        meta = {str(k): str(v) for k, v in op.attrib.items()}
        meta.update(self._nvpairs(op, "meta_attributes"))
        fields = {k: meta.pop(k) for k in _OP_FIELDS if k in meta}  # the Op's own fields, not meta
        on_fail_text = fields.get("on-fail")
        try:
            on_fail = OnFail.parse(on_fail_text) if on_fail_text else None
        except ValueError:
            on_fail = None
            self._ignored(f"on-fail={on_fail_text!r} of operation {op.get('id')} (not an on-fail value)")
        role_text = fields.get("role")
        timeout = fields.get("timeout")
        return Op(
            name=op.get("name", ""),
            interval_ms=parse_duration_ms(op.get("interval"), 0, lenient=True),
            timeout_ms=parse_duration_ms(timeout, lenient=True) if timeout else None,
            role=Role.parse(role_text) if role_text else None,
            on_fail=on_fail,
            enabled=_is_true(fields.get("enabled", "true")),
            id=op.get("id", ""),
            meta={str(k): str(v) for k, v in meta.items()},
            params=self._nvpairs(op, "instance_attributes"),
        )

    # --- constraints -----------------------------------------------------------------------------
    def _constraints(
        self, cfg: _Element
    ) -> tuple[tuple[Location, ...], tuple[Colocation, ...], tuple[Order, ...], tuple[TicketConstraint, ...]]:
        tickets: list[TicketConstraint] = []
        locs: list[Location] = []
        cols: list[Colocation] = []
        ords: list[Order] = []
        cons = cfg.find("constraints")
        for c in cons if cons is not None else []:
            if not isinstance(c.tag, str):
                continue
            if c.tag == "rsc_location":
                locs.extend(self._location(c))
            elif c.tag == "rsc_colocation":
                cols.extend(self._colocation(c))
            elif c.tag == "rsc_order":
                ords.extend(self._order(c))
            elif c.tag == "rsc_ticket":
                tickets.extend(self._ticket(c))
            else:
                self._unsupported(f"<{c.tag}> constraint {c.get('id')}")
        return tuple(locs), tuple(cols), tuple(ords), tuple(tickets)

    def _references(self, cfg: _Element) -> dict[str, list[str]]:
        refs: dict[str, list[str]] = {}
        rscs = cfg.find("resources")
        for prim in rscs.iter("primitive") if rscs is not None else []:
            template = prim.get("template")
            if template:
                refs.setdefault(template, []).append(prim.get("id", ""))
        tags = cfg.find("tags")
        for tag in tags.findall("tag") if tags is not None else []:
            refs[tag.get("id", "")] = [o.get("id", "") for o in tag.findall("obj_ref")]
        return refs

    def _expand(self, rsc_id: str, depth: int = 0) -> list[str]:
        """A constraint's resource reference: a resource, or every resource a tag/template covers."""
        if rsc_id not in self.refs or depth > 5:
            return [rsc_id]
        return [r for ref in self.refs[rsc_id] for r in self._expand(ref, depth + 1)]

    def _ticket(self, c: _Element) -> Iterator[TicketConstraint]:
        cid = c.get("id", "")
        ticket = c.get("ticket", "")
        policy = c.get("loss-policy", "stop")
        rscs = [(r, _role(c.get("rsc-role"))) for r in self._expand(c.get("rsc", ""))] if c.get("rsc") else []
        for members, rs in self._sets(c):
            rscs.extend((m, _role(rs.get("role"))) for m in members)
        for rsc, role in rscs:
            yield TicketConstraint(cid, rsc, ticket, policy, role)

    def _location(self, c: _Element) -> Iterator[Location]:
        cid = c.get("id", "")
        role_text = c.get("role")
        role = Role.parse(role_text) if role_text else None
        rules = tuple(self._rule(r) for r in c if isinstance(r.tag, str) and r.tag == "rule")
        rscs: list[str | None] = []
        if c.get("rsc"):
            rscs.extend(self._expand(c.get("rsc", "")))
        for rs in c.findall("resource_set"):
            rscs.extend(r for ref in rs.findall("resource_ref") for r in self._expand(ref.get("id", "")))
        pattern = c.get("rsc-pattern")
        if pattern is not None:
            rscs = [None]
        for rsc in rscs:
            yield Location(
                id=cid,
                resource=rsc,
                node=c.get("node"),
                score=parse_score(c.get("score"), 0),
                rules=rules,
                role=role,
                resource_pattern=pattern,
                resource_discovery=c.get("resource-discovery", "always"),
            )

    def _rule(self, r: _Element) -> Rule:
        exprs: list[AttrExpr | DateExpr | Rule] = []
        for e in r:
            if not isinstance(e.tag, str):
                continue
            if e.tag == "expression":
                vtype = e.get("type")
                exprs.append(
                    AttrExpr(
                        attribute=e.get("attribute", ""),
                        op=ExprOp(e.get("operation", "eq")),
                        value=e.get("value"),
                        type=ValueType(vtype) if vtype else None,
                        value_source=e.get("value-source", "literal"),
                    )
                )
            elif e.tag == "date_expression":
                exprs.append(self._date_expr(e))
            elif e.tag == "rule":
                exprs.append(self._rule(e))
            else:
                self._unsupported(f"<{e.tag}> in rule {r.get('id')}")
        score_text = r.get("score")
        role_text = r.get("role")
        return Rule(
            id=r.get("id", ""),
            expressions=tuple(exprs),
            boolean_op=BoolOp(r.get("boolean-op", "and").lower()),
            score=parse_score(score_text) if score_text is not None else None,
            score_attribute=r.get("score-attribute"),
            role=Role.parse(role_text) if role_text else None,
        )

    def _date_expr(self, e: _Element) -> DateExpr:
        start = e.get("start")
        end = e.get("end")
        dur_el = e.find("duration")
        duration: dict[str, int] = {}
        if dur_el is not None:
            for k, v in dur_el.attrib.items():
                if k != "id":
                    duration[str(k)] = int(str(v))
        spec_el = e.find("date_spec")
        spec = None
        if spec_el is not None:
            spec = DateSpec({str(k): str(v) for k, v in spec_el.attrib.items() if k != "id"})
        return DateExpr(
            op=e.get("operation", "in_range"),
            start=parse_iso_datetime(start) if start else None,
            end=parse_iso_datetime(end) if end else None,
            duration=duration,
            spec=spec,
        )

    def _sets(self, c: _Element) -> list[tuple[list[str], _Element]]:
        return [
            ([r for ref in rs.findall("resource_ref") for r in self._expand(ref.get("id", ""))], rs)
            for rs in c.findall("resource_set")
        ]

    def _colocation(self, c: _Element) -> Iterator[Colocation]:
        cid = c.get("id", "")
        score = parse_score(c.get("score"), 0)
        influence = _is_true(c.get("influence", "true"))
        node_attr = c.get("node-attribute", "#uname")
        sets = self._sets(c)
        if not sets:
            for dep in self._expand(c.get("rsc", "")):
                for primary in self._expand(c.get("with-rsc", "")):
                    yield Colocation(
                        id=cid,
                        resource=dep,
                        with_resource=primary,
                        score=score,
                        resource_role=_role(c.get("rsc-role")),
                        with_role=_role(c.get("with-rsc-role")),
                        node_attribute=node_attr,
                        influence=influence,
                    )
            return
        # Between sets, every member of a later set is placed with the last member of the previous
        # (sequential) set, or with each of its members.
        prev_members: list[tuple[str, Role | None]] = []
        for members, rs in sets:
            role = _role(rs.get("role"))
            sscore = parse_score(rs.get("score"), score) if rs.get("score") else score
            sequential = _is_true(rs.get("sequential", "true"))
            if sequential and sscore < 0:
                # Anti-colocation: every member avoids every member before it (as Pacemaker does).
                for j, b in enumerate(members):
                    for a in members[:j]:
                        yield Colocation(f"{cid}-{b}-{a}", b, a, sscore, role, role, node_attr, influence)
            elif sequential and rs.get("ordering") == "listed":
                # ordering="listed": each member is placed with the one after it.
                for a, b in itertools.pairwise(members):
                    yield Colocation(f"{cid}-{a}-{b}", a, b, sscore, role, role, node_attr, influence)
            elif sequential:
                # The default ("group"): each member is placed with the one before it.
                for a, b in itertools.pairwise(members):
                    yield Colocation(f"{cid}-{b}-{a}", b, a, sscore, role, role, node_attr, influence)
            if prev_members:
                for m in members:
                    for p, prole in prev_members[-1:] if sequential else prev_members:
                        yield Colocation(f"{cid}-{p}-{m}", p, m, score, prole, role, node_attr, influence)
            prev_members = [(m, role) for m in members]

    def _order(self, c: _Element) -> Iterator[Order]:
        cid = c.get("id", "")
        kind_text = c.get("kind")
        score_text = c.get("score")
        if kind_text:
            try:
                kind = OrderKind.parse(kind_text)
            except ValueError:
                self._unsupported(f"order {cid}: kind {kind_text!r} is not valid, using Mandatory")
                kind = OrderKind.MANDATORY
        elif score_text is not None and parse_score(score_text) == 0:
            kind = OrderKind.OPTIONAL
        else:
            kind = OrderKind.MANDATORY
        sym_text = c.get("symmetrical")
        symmetrical = _is_true(sym_text) if sym_text is not None else kind is not OrderKind.SERIALIZE
        sets = self._sets(c)
        if not sets:
            for first in self._expand(c.get("first", "")):
                for then in self._expand(c.get("then", "")):
                    yield Order(
                        id=cid,
                        first=first,
                        then=then,
                        first_min=0 if _is_true(c.get("require-all", "true")) else 1,
                        first_action=c.get("first-action", "start"),
                        then_action=c.get("then-action", c.get("first-action", "start")),
                        kind=kind,
                        symmetrical=symmetrical,
                    )
            return
        prev: list[str] = []
        prev_action = "start"
        sequential_prev = True
        prev_all = True
        prev_id = ""
        for members, rs in sets:
            action = rs.get("action", "start")
            sequential = _is_true(rs.get("sequential", "true"))
            require_all = _is_true(rs.get("require-all", "true"))
            if sequential and require_all:
                for a, b in itertools.pairwise(members):
                    yield Order(f"{cid}-{a}-{b}", a, b, action, action, kind, symmetrical)
            if prev:
                # A set with require-all=false lets what follows start once any one member runs:
                # its orders share the id "one-or-more:SET" and need only one of their firsts.
                firsts = prev[-1:] if sequential_prev and prev_all else prev
                thens = members[:1] if sequential and require_all else members
                for f in firsts:
                    for t in thens:
                        oid = f"{cid}-{f}-{t}" if prev_all else f"one-or-more:{prev_id}"
                        yield Order(oid, f, t, prev_action, action, kind, symmetrical, require_all=prev_all)
            prev = members
            prev_action = action
            sequential_prev = sequential
            prev_all = require_all
            prev_id = rs.get("id", "")

    # --- status ----------------------------------------------------------------------------------
    def _status(self, config: Configuration) -> ClusterState:
        status = self.root.find("status")
        have_quorum = _is_true(self.root.get("have-quorum", "false"))
        dc_uuid = self.root.get("dc-uuid")
        id_to_name = {n.id: n.name for n in config.nodes}
        node_states: dict[str, _Element] = {}
        if status is not None:
            for ns in status.findall("node_state"):
                name = ns.get("uname") or id_to_name.get(ns.get("id", ""), ns.get("id", ""))
                node_states[name] = ns
        nodes: list[NodeStatus] = []
        history_by_node: dict[str, list[OpRecord]] = {}
        failures: list[FailRecord] = []
        for node in config.nodes:
            node_el = node_states.get(node.name)
            transient = (
                self._nvpairs(node_el.find("transient_attributes"), "instance_attributes")
                if node_el is not None
                else {}
            )
            attrs = dict(node.attributes)
            attrs.update(transient)
            node_status = self._node_status(node, node_el, attrs, config.options.stonith_enabled)
            if node.name in node_states:
                node_status = replace(node_status, status_position=list(node_states).index(node.name) + 1)
            nodes.append(node_status)
            for name, value in transient.items():
                m = re.fullmatch(r"fail-count-(.+?)(?:#(.+))?", name)
                if m:
                    rsc, op = m.group(1), m.group(2) or ""
                    last = transient.get(f"last-failure-{rsc}#{op}" if op else f"last-failure-{rsc}")
                    failures.append(
                        FailRecord(rsc, node.name, parse_score(value, 0), float(last) if last else None, op)
                    )
            if node_el is None:
                continue
            lrm = node_el.find("lrm")
            lrm_rscs = lrm.find("lrm_resources") if lrm is not None else None
            for lr in lrm_rscs if lrm_rscs is not None else []:
                if not isinstance(lr.tag, str) or lr.tag != "lrm_resource":
                    continue
                agent = ":".join(p for p in (lr.get("class"), lr.get("provider"), lr.get("type")) if p)
                for op in lr.findall("lrm_rsc_op"):
                    history_by_node.setdefault(node.name, []).append(
                        replace(self._op_record(lr.get("id", ""), node.name, op), agent=agent)
                    )
        # What runs on a remote or guest node (whether or not <nodes> names it) is left alone.
        configured = {n.name for n in config.nodes}
        for name, ns in node_states.items():
            remote = name in self.hands_off_nodes or _is_true(ns.get("remote_node", "false"))
            if name in configured and not remote:
                continue
            if remote:
                self.hands_off_nodes.append(name)
            for lr in ns.iter("lrm_resource"):
                rid = lr.get("id", "").split(":", 1)[0]
                if rid and rid not in self.hands_off and self._runs(lr):
                    self.hands_off[rid] = f"runs on remote or guest node {name}"
        # History in status-section order: Pacemaker numbers anonymous clone instances in that order.
        history = [r for name in node_states for r in history_by_node.pop(name, [])]
        history.extend(r for records in history_by_node.values() for r in records)
        dc = id_to_name.get(dc_uuid or "")
        tickets: list[Ticket] = []
        if status is not None:
            for t in status.iter("ticket_state"):
                tickets.append(
                    Ticket(
                        t.get("id", ""),
                        _is_true(t.get("granted", "false")),
                        _is_true(t.get("standby", "false")),
                    )
                )
        return ClusterState(
            nodes=tuple(nodes),
            history=tuple(history),
            failures=tuple(failures),
            have_quorum=have_quorum,
            dc=dc,
            tickets=tuple(tickets),
        )

    @staticmethod
    def _runs(lr: _Element) -> bool:
        """An lrm_resource whose newest operation left it active (not stopped, not "not running")."""
        ops = sorted(lr.findall("lrm_rsc_op"), key=lambda o: int(o.get("call-id", "0") or 0))
        if not ops:
            return False
        last = ops[-1]
        return not (last.get("operation") == "stop" or last.get("rc-code") == "7")

    def _node_status(
        self, node: Node, ns: _Element | None, attrs: Mapping[str, str], fencing: bool
    ) -> NodeStatus:
        standby = _is_true(attrs.get("standby", "false"))
        maintenance = _is_true(attrs.get("maintenance", "false"))
        shutdown_attr = attrs.get("shutdown", "0")
        shutdown = shutdown_attr not in ("", "0", "false")
        if ns is None:
            # Never seen: with fencing on, Pacemaker fences such nodes at start-up (startup-fencing).
            unseen_unclean = fencing and _is_true(self._startup_fencing)
            return NodeStatus(
                node.name,
                online=False,
                unclean=unseen_unclean,
                standby=standby,
                maintenance=maintenance,
                unclean_reason="node is unclean" if unseen_unclean else "",
                attributes=attrs,
            )
        in_ccm = ns.get("in_ccm")
        crmd = ns.get("crmd")
        join = ns.get("join")
        expected = ns.get("expected") or "down"
        crmd_online = crmd == "online"
        online = False
        unclean = False
        pending = False
        reason = ""
        terminate = _is_true(attrs.get("terminate", "false"))
        if fencing:
            if shutdown:
                online = _is_true(in_ccm or "false")
            elif in_ccm is None:
                unclean, reason = True, "peer has not been seen by the cluster"
            elif join in ("nack", "banned"):
                unclean, reason = True, "peer failed Pacemaker membership criteria"
            elif not terminate and expected == "down":
                if _is_true(in_ccm) or crmd_online:
                    pending = True
            elif terminate and join == "down" and not _is_true(in_ccm) and not crmd_online:
                online = False
            elif not _is_true(in_ccm):
                unclean, reason = True, "peer is no longer part of the cluster"
            elif not crmd_online:
                unclean, reason = True, "peer process is no longer available"
            elif terminate:
                unclean, reason = True, "termination was requested"
            elif join == "member":
                online = True
            elif join in ("pending", "down"):
                pending = True
            else:
                unclean, reason = True, "peer was in an unknown state"
        else:
            if not _is_true(in_ccm or "false"):
                pass
            elif crmd_online:
                online = join == "member"
            elif expected != "member":
                pass
            else:
                unclean, reason = True, "peer is unexpectedly down"
        if pending:
            standby = True
        return NodeStatus(
            node.name,
            online=online,
            unclean=unclean,
            standby=standby,
            maintenance=maintenance or _is_true(ns.get("node_in_maintenance", "0")),
            shutdown=shutdown,
            pending=pending,
            unclean_reason=reason,
            attributes=attrs,
        )

    def _op_record(self, rsc: str, node: str, op: _Element) -> OpRecord:
        key = op.get("transition-key") or ""
        magic = op.get("transition-magic") or ""
        expected: int | None = None
        parts = key.split(":")
        if len(parts) >= 3 and parts[2].lstrip("-").isdigit():
            expected = int(parts[2])
        transition = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
        rc_text = op.get("rc-code")
        status_text = op.get("op-status")
        if (rc_text is None or status_text is None) and ";" in magic:
            st, _, _rest = magic.partition(";")
            m_status, _, m_rc = st.partition(":")
            status_text = status_text or m_status
            rc_text = rc_text or m_rc
        try:
            status = OpStatus(int(status_text or "0"))
        except ValueError:
            status = OpStatus.ERROR
        last_change = op.get("last-rc-change") or op.get("last-run")
        call_id = op.get("call-id", "0")
        return OpRecord(
            resource=rsc,
            node=node,
            task=op.get("operation", ""),
            interval_ms=_status_interval(op.get("interval")),
            rc=int(rc_text or "0"),
            status=status,
            call_id=int(call_id) if call_id.lstrip("-").isdigit() else 0,
            last_rc_change=float(last_change) if last_change else None,
            exit_reason=op.get("exit-reason", ""),
            op_digest=op.get("op-digest"),
            restart_digest=op.get("op-restart-digest"),
            secure_digest=op.get("op-secure-digest"),
            secure_params=tuple((op.get("op-secure-params") or "").split()),
            force_restart=tuple((op.get("op-force-restart") or "").split()),
            migrate_source=op.get("migrate_source"),
            migrate_target=op.get("migrate_target"),
            on_node_of_id=op.get("on_node"),
            expected_rc=expected,
            transition=transition,
        )


def _is_true(value: str) -> bool:
    return value.strip().lower() in ("true", "yes", "y", "on", "1")


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _role(text: str | None) -> Role | None:
    return Role.parse(text) if text else None


def _status_interval(text: str | None) -> int:
    """The status section records intervals in plain milliseconds."""
    if text is None or not text.strip():
        return 0
    t = text.strip()
    return int(t) if t.isdigit() else parse_duration_ms(t, 0, lenient=True)


def _has_attribute_expression(rule: Rule) -> bool:
    """True when the rule looks at node attributes (its value then differs from node to node)."""
    return any(
        isinstance(e, AttrExpr) or (isinstance(e, Rule) and _has_attribute_expression(e))
        for e in rule.expressions
    )
