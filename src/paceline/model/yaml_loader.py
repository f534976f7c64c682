"""Reading (and writing) a cluster configuration in YAML, reporting every problem at once.

The YAML is composed into nodes (which keep their line numbers) and walked by hand, so that each
problem names its file, line and key path, e.g.
`cluster.yaml:14: resources[1].resources[0].meta.migration-threshold: expected an integer or
INFINITY, got 'three'`. Nothing stops at the first problem: `load_config*` collect them all and
raise one `ConfigError`.

Policy on unknown names (invariants of what this module accepts):
- unknown structural keys, cluster option names, operation names and agent classes are errors
  (with a "did you mean" suggestion): a mistyped `stonith-enable` must not be silently ignored;
- unknown meta attribute names are warnings, because agents and tools may define their own;
- a constraint or fencing device naming an unknown resource or node is an error (node names are
  only checked when the file lists nodes);
- ids (resources, constraints, fencing devices) are unique across the whole file.

YAML anchors, aliases and merge keys work; top-level keys starting with `x-` are ignored, so that
shared fragments can live there (`x-dummy: &dummy {...}` then `{<<: *dummy, id: a}`).

A parameter given as `{env: NAME}` is kept as the string `${env:NAME}`, resolved by the agent
runner at execution time (never at load time, so that secrets stay out of the model), and written
back as `{env: NAME}` by `dump_config`.

`dump_config` writes a configuration this loader reads back equal (`load(dump(c)) == c`).

This module assembles the `Configuration` (cluster, nodes, fencing, resources, defaults) and holds
the entry points; the parts live beside it: `yaml_nodes` (problems and the node reader),
`yaml_scalars` (value syntax), `yaml_options` (cluster options and meta attributes),
`yaml_rules` (rule expressions), `yaml_constraints` (the constraints section) and `yaml_dump`
(the writer). `__all__` re-exports their public names, so callers keep importing from here.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .config import (
    AgentRef,
    Clone,
    ClusterOptions,
    Colocation,
    Configuration,
    FencingLevel,
    Group,
    Location,
    Node,
    Op,
    Order,
    Primitive,
    Resource,
)
from .durations import parse_duration_ms
from .enums import NoQuorumPolicy, OnFail
from .fencing import unfenceable_nodes
from .service_schema import PathPart, check_service, format_path
from .yaml_constraints import ConstraintReader
from .yaml_dump import dump_config
from .yaml_nodes import ConfigError, ConfigProblem, Severity, YamlReader, _is_null, _kind
from .yaml_nodes import _join as _join
from .yaml_options import CLUSTER_OPTIONS, META_ATTRIBUTES, PACEMAKER_INTERNAL_OPTIONS, cluster_options
from .yaml_rules import RuleSyntaxError, format_rule, parse_rule
from .yaml_scalars import _env_ref, _v_any, _v_count, format_duration
from .yaml_scalars import _suggest as _suggest

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "RuleSyntaxError",
    "Severity",
    "YamlReader",
    "check_config_text",
    "config_from_node",
    "dump_config",
    "format_duration",
    "format_rule",
    "load_config",
    "load_config_text",
    "parse_duration_ms",
    "parse_rule",
    "read_text",
]

OP_NAMES = (
    "start",
    "stop",
    "monitor",
    "promote",
    "demote",
    "migrate_to",
    "migrate_from",
    "reload",
    "reload-agent",
    "notify",
    "validate-all",
    "meta-data",
    "status",
)
AGENT_CLASSES = ("ocf", "lsb", "systemd", "service", "stonith", "fence")

_TOP_KEYS = (
    "cluster",
    "nodes",
    "fencing",
    "resources",
    "constraints",
    "rsc_defaults",
    "op_defaults",
    "alerts",
)
"""`alerts:` is the daemon's (paceline.alerts reads and checks it); the model does not hold it."""
_PRIMITIVE_KEYS = ("id", "agent", "service", "params", "meta", "ops", "utilization")
_OP_KEYS = ("interval", "timeout", "on-fail", "role", "enabled", "id", "meta", "params")


class _ConfigReader(ConstraintReader):
    """A whole configuration file; the constraints section is `ConstraintReader`'s."""

    def read(self, root: yaml.Node) -> Configuration | None:
        top = self.mapping(root, "", _TOP_KEYS, null_ok=False, extensions=True)
        if top is None:
            return None
        name, store, options = "cluster", None, ClusterOptions()
        if "cluster" in top:
            name, store, options = self.read_cluster(top["cluster"])
        nodes = self.read_nodes(top["nodes"]) if "nodes" in top else ()
        devices, levels = self.read_fencing(top["fencing"]) if "fencing" in top else ((), ())
        resources = self.read_resources(top["resources"]) if "resources" in top else ()
        rsc_defaults = self.read_meta(top["rsc_defaults"], "rsc_defaults") if "rsc_defaults" in top else {}
        op_defaults = self.read_meta(top["op_defaults"], "op_defaults") if "op_defaults" in top else {}
        locations: list[Location] = []
        colocations: list[Colocation] = []
        orders: list[Order] = []
        if "constraints" in top:
            self.read_constraints(top["constraints"], locations, colocations, orders)
        config = Configuration(
            name=name,
            options=options,
            nodes=nodes,
            resources=(*devices, *resources),
            locations=tuple(locations),
            colocations=tuple(colocations),
            orders=tuple(orders),
            rsc_defaults=rsc_defaults,
            op_defaults=op_defaults,
            store=store,
            fencing_levels=levels,
        )
        self.check_references(config)
        if "cluster" in top:
            self.check_quorum_policy(config, top["cluster"])
        return config

    def check_quorum_policy(self, config: Configuration, cluster: yaml.Node) -> None:
        """In a cluster, `no-quorum-policy` freeze or ignore lets a node cut off from the store
        keep what it runs: safe only when the others can fence it with a device (with the lease
        watchdog alone, its resources would start elsewhere while it still runs them)."""
        policy = config.options.no_quorum_policy
        if not (config.store or "").startswith("etcd") or policy not in (
            NoQuorumPolicy.FREEZE,
            NoQuorumPolicy.IGNORE,
        ):
            return
        bare = unfenceable_nodes(config)
        if bare:
            path = ("options", "no-quorum-policy")
            self.error(
                _locate(cluster, path),
                "cluster.options.no-quorum-policy",
                f"{policy.value} needs a fence device for every node ({', '.join(bare)} has none): a "
                "node cut off from the store keeps its resources, so the others must be able to fence "
                "it; use stop, or add a device",
            )

    # -- cluster
    def read_cluster(self, node: yaml.Node) -> tuple[str, str | None, ClusterOptions]:
        fields = self.mapping(node, "cluster", ("name", "store", "options")) or {}
        name = self.text(fields["name"], "cluster.name") if "name" in fields else None
        store = self.text(fields["store"], "cluster.store") if "store" in fields else None
        raw: dict[str, str] = {}
        if "options" in fields:
            opts = self.mapping(fields["options"], "cluster.options") or {}
            for key, value in opts.items():
                path = _join("cluster.options", key)
                check = CLUSTER_OPTIONS.get(key)
                if check is None and key in PACEMAKER_INTERNAL_OPTIONS:
                    self.warn(value, path, "Pacemaker's internal property: kept, ignored by Paceline")
                    check = _v_any
                if check is None:
                    self.error(value, path, "unknown cluster option" + _suggest(key, CLUSTER_OPTIONS))
                    continue
                text = self.checked(value, path, check)
                if text is not None:
                    raw[key] = text
        return name or "cluster", store, cluster_options(raw)

    # -- nodes
    def read_nodes(self, node: yaml.Node) -> tuple[Node, ...]:
        out: list[Node] = []
        seen: dict[str, yaml.Node] = {}
        for i, item in enumerate(self.sequence(node, "nodes") or []):
            path = f"nodes[{i}]"
            if isinstance(item, yaml.ScalarNode) and not _is_null(item):
                fields: dict[str, yaml.Node] = {"name": item}
            else:
                keys = ("name", "id", "address", "attributes", "utilization", "score")
                got = self.mapping(item, path, keys, required=("name",), null_ok=False)
                if got is None:
                    continue
                fields = got
            name = self.text(fields["name"], _join(path, "name")) if "name" in fields else None
            if name is None:
                continue
            if name in seen:
                first = seen[name].start_mark.line + 1
                self.error(
                    fields["name"], _join(path, "name"), f"duplicate node {name!r} (first on line {first})"
                )
                continue
            seen[name] = fields["name"]
            out.append(
                Node(
                    name=name,
                    id=(self.text(fields["id"], _join(path, "id")) or "") if "id" in fields else "",
                    address=self.text(fields["address"], _join(path, "address"))
                    if "address" in fields
                    else None,
                    attributes=(
                        self.string_map(fields["attributes"], _join(path, "attributes"))
                        if "attributes" in fields
                        else {}
                    ),
                    utilization=(
                        self.int_map(fields["utilization"], _join(path, "utilization"))
                        if "utilization" in fields
                        else {}
                    ),
                    score=(self.score(fields["score"], _join(path, "score")) or 0)
                    if "score" in fields
                    else 0,
                )
            )
        return tuple(out)

    # -- fencing
    def read_fencing(self, node: yaml.Node) -> tuple[tuple[Primitive, ...], tuple[FencingLevel, ...]]:
        fields = self.mapping(node, "fencing", ("devices", "levels")) or {}
        devices = self.read_devices(fields["devices"]) if "devices" in fields else ()
        levels = self.read_levels(fields["levels"], {d.id for d in devices}) if "levels" in fields else ()
        return devices, levels

    def read_levels(self, node: yaml.Node, device_ids: set[str]) -> tuple[FencingLevel, ...]:
        """`levels: {NODE: [[dev, ...], [dev, ...]]}`: level 1 first; each level's devices must all
        succeed (Pacemaker's fencing-topology)."""
        out: list[FencingLevel] = []
        for target, seq in (self.mapping(node, "fencing.levels") or {}).items():
            tpath = _join("fencing.levels", target)
            key = _locate(node, (target,), at_key=True)
            self.constraint_refs.append((key, tpath, "node", target))
            for i, level in enumerate(self.sequence(seq, tpath) or [], start=1):
                lpath = f"{tpath}[{i - 1}]"
                names: list[str] = []
                for j, dev in enumerate(self.sequence(level, lpath) or []):
                    dpath = f"{lpath}[{j}]"
                    name = self.text(dev, dpath, "a fence device id")
                    if name is None:
                        continue
                    if name not in device_ids:
                        self.error(dev, dpath, f"unknown fence device {name!r}" + _suggest(name, device_ids))
                    names.append(name)
                if not names:
                    self.error(level, lpath, "a fencing level needs at least one device")
                    continue
                out.append(FencingLevel(target, i, tuple(names)))
        return tuple(out)

    def read_devices(self, node: yaml.Node) -> tuple[Primitive, ...]:
        out: list[Primitive] = []
        for i, item in enumerate(self.sequence(node, "fencing.devices") or []):
            path = f"fencing.devices[{i}]"
            dev = self.mapping(
                item, path, ("id", "agent", "params", "hosts", "meta", "ops"), ("id", "agent"), null_ok=False
            )
            if dev is None or "id" not in dev or "agent" not in dev:
                continue
            ident = self.ident(dev["id"], _join(path, "id"))
            agent_text = self.text(dev["agent"], _join(path, "agent"), "a fence agent name")
            if ident is None or agent_text is None:
                continue
            self.claim_id(ident, dev["id"], _join(path, "id"))
            agent_type = agent_text.split(":", 1)[1] if agent_text.startswith("stonith:") else agent_text
            params = self.read_params(dev["params"], _join(path, "params")) if "params" in dev else {}
            if "hosts" in dev:
                hosts: list[str] = []
                for j, host in enumerate(self.sequence(dev["hosts"], _join(path, "hosts")) or []):
                    hpath = f"{_join(path, 'hosts')}[{j}]"
                    name = self.text(host, hpath, "a node name")
                    if name is not None:
                        hosts.append(name)
                        self.constraint_refs.append((host, hpath, "node", name))
                if "pcmk_host_list" in params:
                    self.error(
                        dev["hosts"], _join(path, "hosts"), "give either hosts or params.pcmk_host_list"
                    )
                else:
                    params["pcmk_host_list"] = " ".join(hosts)
            out.append(
                Primitive(
                    id=ident,
                    agent=AgentRef("stonith", agent_type),
                    params=params,
                    meta=self.read_meta(dev["meta"], _join(path, "meta")) if "meta" in dev else {},
                    ops=self.read_ops(dev["ops"], _join(path, "ops"), ident) if "ops" in dev else (),
                )
            )
        return tuple(out)

    def read_params(self, node: yaml.Node, path: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in (self.mapping(node, path) or {}).items():
            vpath = _join(path, key)
            if isinstance(value, yaml.MappingNode):
                ref = self.mapping(value, vpath, ("env",), ("env",))
                if ref and "env" in ref:
                    name = self.text(ref["env"], _join(vpath, "env"), "an environment variable name")
                    if name is not None:
                        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                            out[key] = _env_ref(name)
                        else:
                            self.error(ref["env"], _join(vpath, "env"), f"{name!r} is not a variable name")
                continue
            text = self.text(value, vpath)
            if text is not None:
                out[key] = text
        return out

    def read_meta(self, node: yaml.Node, path: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in (self.mapping(node, path) or {}).items():
            vpath = _join(path, key)
            check = META_ATTRIBUTES.get(key)
            if check is None:
                self.warn(
                    value, vpath, "unknown meta attribute (kept as given)" + _suggest(key, META_ATTRIBUTES)
                )
                check = _v_any
            text = self.checked(value, vpath, check)
            if text is not None:
                out[key] = text
        return out

    # -- resources
    def read_resources(self, node: yaml.Node) -> tuple[Resource, ...]:
        out: list[Resource] = []
        for i, item in enumerate(self.sequence(node, "resources") or []):
            rsc = self.read_resource(item, f"resources[{i}]", nested=False)
            if rsc is not None:
                out.append(rsc)
        return tuple(out)

    def resource_kind(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            keys = {str(k.value) for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
            for kind in ("group", "clone", "promotable"):
                if kind in keys:
                    return kind
        return "primitive"

    def read_resource(self, node: yaml.Node, path: str, nested: bool) -> Resource | None:
        kind = self.resource_kind(node)
        if kind == "group":
            return self.read_group(node, path)
        if kind in ("clone", "promotable"):
            if nested:
                self.error(node, path, f"a {kind} cannot be nested inside another resource")
                return None
            return self.read_clone(node, path, kind)
        return self.read_primitive(node, path)

    def read_primitive(self, node: yaml.Node, path: str) -> Primitive | None:
        fields = self.mapping(node, path, _PRIMITIVE_KEYS, ("id",), null_ok=False)
        if fields is None or "id" not in fields:
            return None
        ident = self.ident(fields["id"], _join(path, "id"))
        if ident is not None:
            self.claim_id(ident, fields["id"], _join(path, "id"))
        agent: AgentRef | None = None
        service: dict[str, object] | None = None
        if "agent" in fields and "service" in fields:
            self.error(fields["service"], _join(path, "service"), "give either agent or service, not both")
        elif "agent" in fields:
            agent = self.read_agent(fields["agent"], _join(path, "agent"))
        elif "service" in fields:
            service = self.read_service(fields["service"], _join(path, "service"))
            agent = AgentRef("service", "service") if service is not None else None
            if "params" in fields:
                self.error(
                    fields["params"], _join(path, "params"), "a service takes no params (use service:)"
                )
        else:
            self.error(node, path, "missing required key 'agent' (or 'service')")
        params = self.read_params(fields["params"], _join(path, "params")) if "params" in fields else {}
        meta = self.read_meta(fields["meta"], _join(path, "meta")) if "meta" in fields else {}
        ops = self.read_ops(fields["ops"], _join(path, "ops"), ident or "") if "ops" in fields else ()
        util = (
            self.int_map(fields["utilization"], _join(path, "utilization")) if "utilization" in fields else {}
        )
        if ident is None or agent is None:
            return None
        return Primitive(ident, agent, params, meta, ops, util, service)

    def read_agent(self, node: yaml.Node, path: str) -> AgentRef | None:
        text = self.text(node, path, "an agent (CLASS:PROVIDER:TYPE or CLASS:TYPE)")
        if text is None:
            return None
        try:
            agent = AgentRef.parse(text)
        except ValueError as exc:
            self.error(node, path, str(exc))
            return None
        if agent.standard not in AGENT_CLASSES:
            self.error(
                node,
                path,
                f"unknown agent class {agent.standard!r}" + _suggest(agent.standard, AGENT_CLASSES),
            )
            return None
        if agent.standard == "ocf" and agent.provider is None:
            self.error(node, path, f"an ocf agent needs a provider: ocf:PROVIDER:{agent.type}")
            return None
        if agent.standard == "fence":
            agent = AgentRef("stonith", agent.type)
        return agent

    def read_service(self, node: yaml.Node, path: str) -> dict[str, object] | None:
        """The definition as plain data, checked by the one service schema (`service_schema`);
        each problem is reported at the line of the key or value it is about."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"expected a mapping, got {_kind(node)}")
            return None
        fields = self.mapping(node, path)  # duplicate keys and merge keys
        if fields is None:
            return None
        value = self.plain(node)
        issues = check_service(value)
        for issue in issues:
            self.error(_locate(node, issue.path, issue.at_key), format_path(issue.path, path), issue.message)
        return value if isinstance(value, dict) and not issues else None

    def read_ops(self, node: yaml.Node, path: str, rsc_id: str) -> tuple[Op, ...]:
        out: list[Op] = []
        seen: dict[tuple[str, int], yaml.Node] = {}
        for name, value in (self.mapping(node, path) or {}).items():
            opath = _join(path, name)
            if name not in OP_NAMES:
                self.error(value, opath, "unknown operation" + _suggest(name, OP_NAMES))
                continue
            items = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for j, item in enumerate(items):
                ipath = f"{opath}[{j}]" if isinstance(value, yaml.SequenceNode) else opath
                op = self.read_op(item, ipath, name)
                if op is None:
                    continue
                key = (name, op.interval_ms)
                if key in seen:
                    self.error(
                        item, ipath, f"a second {name} with interval {format_duration(op.interval_ms)}"
                    )
                    continue
                seen[key] = item
                out.append(op)
        return tuple(out)

    def read_op(self, node: yaml.Node, path: str, name: str) -> Op | None:
        fields = self.mapping(node, path, _OP_KEYS)
        if fields is None:
            return None
        interval = (
            self.duration_ms(fields["interval"], _join(path, "interval")) if "interval" in fields else 0
        )
        if name == "monitor" and "interval" not in fields:
            self.error(node, path, "a monitor needs an interval")
        timeout = self.duration_ms(fields["timeout"], _join(path, "timeout")) if "timeout" in fields else None
        on_fail: OnFail | None = None
        if "on-fail" in fields:
            text = self.text(fields["on-fail"], _join(path, "on-fail"))
            if text is not None:
                try:
                    on_fail = OnFail.parse(text)
                except ValueError:
                    choices = [o.value for o in OnFail]
                    self.error(
                        fields["on-fail"],
                        _join(path, "on-fail"),
                        f"expected one of {', '.join(choices)}, got {text!r}" + _suggest(text, choices),
                    )
        role = self.role(fields["role"], _join(path, "role")) if "role" in fields else None
        enabled = self.boolean(fields["enabled"], _join(path, "enabled")) if "enabled" in fields else True
        op_id = (self.ident(fields["id"], _join(path, "id")) or "") if "id" in fields else ""
        if op_id:
            self.claim_id(op_id, fields["id"], _join(path, "id"))
        meta = self.read_meta(fields["meta"], _join(path, "meta")) if "meta" in fields else {}
        params = self.read_params(fields["params"], _join(path, "params")) if "params" in fields else {}
        return Op(name, interval or 0, timeout, role, on_fail, enabled is not False, op_id, meta, params)

    def read_group(self, node: yaml.Node, path: str) -> Group | None:
        fields = self.mapping(
            node, path, ("group", "resources", "meta"), ("group", "resources"), null_ok=False
        )
        if fields is None or "group" not in fields:
            return None
        ident = self.ident(fields["group"], _join(path, "group"))
        if ident is not None:
            self.claim_id(ident, fields["group"], _join(path, "group"))
        members: list[Primitive] = []
        if "resources" in fields:
            items = self.sequence(fields["resources"], _join(path, "resources")) or []
            if not items and isinstance(fields["resources"], yaml.SequenceNode):
                self.error(
                    fields["resources"], _join(path, "resources"), "a group needs at least one resource"
                )
            for j, item in enumerate(items):
                mpath = f"{_join(path, 'resources')}[{j}]"
                kind = self.resource_kind(item)
                if kind != "primitive":
                    self.error(item, mpath, f"a group holds only primitives, not a {kind}")
                    continue
                member = self.read_primitive(item, mpath)
                if member is not None:
                    members.append(member)
        meta = self.read_meta(fields["meta"], _join(path, "meta")) if "meta" in fields else {}
        if ident is None or not members:
            return None
        return Group(ident, tuple(members), meta)

    def read_clone(self, node: yaml.Node, path: str, kind: str) -> Clone | None:
        fields = self.mapping(
            node, path, (kind, "resource", "max", "meta"), (kind, "resource"), null_ok=False
        )
        if fields is None or kind not in fields:
            return None
        ident = self.ident(fields[kind], _join(path, kind))
        if ident is not None:
            self.claim_id(ident, fields[kind], _join(path, kind))
        child: Primitive | Group | None = None
        if "resource" in fields:
            inner = self.read_resource(fields["resource"], _join(path, "resource"), nested=True)
            if isinstance(inner, Primitive | Group):
                child = inner
        meta = self.read_meta(fields["meta"], _join(path, "meta")) if "meta" in fields else {}
        if "max" in fields:
            count = self.checked(fields["max"], _join(path, "max"), _v_count, "a count")
            if "clone-max" in meta:
                self.error(fields["max"], _join(path, "max"), "give either max or meta.clone-max")
            elif count is not None:
                meta["clone-max"] = count
        if ident is None or child is None:
            return None
        return Clone(ident, child, meta, promotable=kind == "promotable")

    # -- cross references
    def check_references(self, config: Configuration) -> None:
        resource_ids: set[str] = set()
        for rsc in config.resources:
            resource_ids.add(rsc.id)
            if isinstance(rsc, Clone):
                resource_ids.add(rsc.child.id)
            for prim in rsc.primitives():
                resource_ids.add(prim.id)
        node_names = {n.name for n in config.nodes}
        for node, path, kind, name in self.constraint_refs:
            if kind == "resource" and name not in resource_ids:
                self.error(node, path, f"unknown resource {name!r}" + _suggest(name, resource_ids))
            elif kind == "node" and node_names and name not in node_names:
                self.error(node, path, f"unknown node {name!r}" + _suggest(name, node_names))


def _locate(node: yaml.Node, path: tuple[PathPart, ...], at_key: bool = False) -> yaml.Node:
    """The deepest node along `path` below `node` (the key's node for the last step if `at_key`)."""
    for i, part in enumerate(path):
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            continue
        if not isinstance(node, yaml.MappingNode):
            break
        found = None
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and str(k.value) == str(part):
                found = k if at_key and i == len(path) - 1 else v
        if found is None:
            break
        node = found
    return node


# --------------------------------------------------------------------------- entry points


def check_config_text(
    text: str, filename: str = "<config>"
) -> tuple[Configuration | None, list[ConfigProblem]]:
    """The configuration (None when there are errors) and every problem, warnings included."""
    reader = _ConfigReader(filename)
    root = reader.compose(text)
    config = reader.read(root) if root is not None else None
    problems = reader.sorted_problems()
    if any(p.severity is Severity.ERROR for p in problems):
        return None, problems
    return config, problems


def config_from_node(node: yaml.Node, filename: str) -> Configuration:
    """The configuration in an already composed YAML node (e.g. inside a scenario file).

    Lines are the file's; key paths are relative to `node`. Raises ConfigError.
    """
    reader = _ConfigReader(filename)
    config = reader.read(node)
    errors = [p for p in reader.sorted_problems() if p.severity is Severity.ERROR]
    if errors or config is None:
        raise ConfigError(errors or [ConfigProblem(filename, None, "", "no configuration")])
    return config


def load_config_text(text: str, filename: str = "<config>") -> Configuration:
    """Parse a configuration; raise ConfigError with every error (warnings are dropped)."""
    config, problems = check_config_text(text, filename)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors or config is None:
        raise ConfigError(errors or [ConfigProblem(filename, None, "", "no configuration")])
    return config


def read_text(path: str | Path) -> str:
    """A file's text, or ConfigError naming the file when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(str(path), None, "", f"cannot read: {exc.strerror or exc}")]
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"not UTF-8 text: {exc.reason}")]) from None


def load_config(path: str | Path) -> Configuration:
    """Load a configuration file; raise ConfigError with every error, each with file and line."""
    return load_config_text(read_text(path), str(path))
