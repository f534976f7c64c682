"""Reading an observed cluster state written by hand in YAML (for `paceline simulate` and tests).

The human form, every key optional:

```yaml
quorum: true                 # default true
dc: n1
nodes:                       # a name alone is an online node; nodes only in the config are online
  - {name: n1, online: true, unclean: false, standby: false, maintenance: false, attributes: {pingd: "1"}}
  - n2
running:                     # resource (primitive, group or clone id) -> node, [nodes] or {node: role}
  vip: n1
  web: [n1, n2]
  db: {n2: Promoted, n3: Unpromoted}
failcounts:                  # past failures (already recovered): fail counts only, no op record
  - {resource: api, node: n1, op: monitor, count: 3, last_failure: 2026-11-21T10:00:00Z}
failed:                      # current failures: a failed op record after the running ones, and a fail count
  - {resource: api, node: n1, op: monitor, rc: 7, count: 1, last_failure: 1763719200}
history:                     # raw operation records (OpRecord fields)
  - {resource: vip, node: n1, task: start, interval: 0, rc: 0, call_id: 5}
```

Invariants of the result: operation records are ordered running, history, failed, with call ids
increasing in that order (explicit `call_id`s are kept); "running on n1" becomes a successful start
(and, with a configuration, a successful record of each configured monitor for that role); Promoted
becomes start + promote (monitors then return 8). An op record's status is DONE when its rc is 0, 7
or 8 and ERROR otherwise. Times are epoch seconds or ISO 8601 (UTC when no zone is given).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from .config import AgentRef, Clone, Configuration, Group, Primitive
from .enums import OpStatus, Role
from .state import ClusterState, FailRecord, NodeStatus, OpRecord
from .times import parse_time
from .yaml_loader import OP_NAMES, ConfigError, YamlReader, _join, _suggest, read_text

__all__ = [
    "default_interval",
    "instance_primitive",
    "load_state",
    "load_state_text",
    "merge_failures",
    "monitor_ops_for_role",
    "op_status_for_rc",
    "parse_time",
    "state_from_node",
]

_STATE_KEYS = ("quorum", "dc", "nodes", "running", "failcounts", "failed", "history")
_NODE_KEYS = ("name", "online", "unclean", "standby", "maintenance", "shutdown", "pending", "attributes")
_HISTORY_KEYS = (
    "resource",
    "node",
    "task",
    "interval",
    "rc",
    "status",
    "call_id",
    "last_rc_change",
    "exit_reason",
    "expected_rc",
    "migrate_source",
    "migrate_target",
    "op_digest",
    "agent",
)


def op_status_for_rc(rc: int) -> OpStatus:
    """DONE for the OCF results that describe a state (0 running, 7 not running, 8 promoted)."""
    return OpStatus.DONE if rc in (0, 7, 8) else OpStatus.ERROR


def instance_primitive(config: Configuration, rsc_id: str) -> Primitive | None:
    """The primitive a history id names: `db`, or a clone instance `db:1`."""
    found = config.find(rsc_id)
    if found is None and ":" in rsc_id:
        base, _, num = rsc_id.rpartition(":")
        if num.isdigit():
            found = config.find(base)
    return found if isinstance(found, Primitive) else None


def _promotable_primitives(config: Configuration) -> set[str]:
    return {
        p.id
        for rsc in config.resources
        if isinstance(rsc, Clone) and rsc.promotable
        for p in rsc.primitives()
    }


def monitor_ops_for_role(config: Configuration, prim: Primitive, role: Role) -> list[tuple[int, int]]:
    """(interval_ms, expected rc) of the enabled recurring monitors that run in `role`.

    A monitor without a role runs in Started, and in Unpromoted for a promotable clone's child.
    """
    promotable = prim.id in _promotable_primitives(config)
    out: list[tuple[int, int]] = []
    for op in prim.ops:
        if op.name != "monitor" or op.interval_ms <= 0 or not op.enabled:
            continue
        op_role = op.role or (Role.UNPROMOTED if promotable else Role.STARTED)
        if op_role is Role.STARTED and promotable:
            op_role = Role.UNPROMOTED
        want = role if not (role is Role.STARTED and promotable) else Role.UNPROMOTED
        if op_role is want:
            out.append((op.interval_ms, 8 if want is Role.PROMOTED else 0))
    return out


@dataclass
class _Counter:
    next_id: int = 1

    def take(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value


class _StateReader(YamlReader):
    def __init__(self, filename: str, config: Configuration | None) -> None:
        super().__init__(filename)
        self.config = config
        self.calls = _Counter()
        self.node_names: set[str] = set()

    def read(self, root: yaml.Node, path: str = "") -> ClusterState:
        top = self.mapping(root, path, _STATE_KEYS) or {}
        quorum = self.boolean(top["quorum"], _join(path, "quorum")) if "quorum" in top else True
        dc = self.text(top["dc"], _join(path, "dc")) if "dc" in top else None
        nodes = self.read_nodes(top.get("nodes"), _join(path, "nodes"))
        self.node_names = {n.name for n in nodes}
        if dc is not None:
            self.check_node(top["dc"], _join(path, "dc"), dc)
        history: list[OpRecord] = []
        failures: list[FailRecord] = []
        if "running" in top:
            history += self.read_running(top["running"], _join(path, "running"))
        if "failcounts" in top:
            for item, ipath in self.items(top["failcounts"], _join(path, "failcounts")):
                got = self.read_failure(item, ipath, record=False)
                if got is not None:
                    failures.append(got[0])
        if "history" in top:
            for item, ipath in self.items(top["history"], _join(path, "history")):
                rec = self.read_record(item, ipath)
                if rec is not None:
                    history.append(rec)
        if "failed" in top:
            for item, ipath in self.items(top["failed"], _join(path, "failed")):
                got = self.read_failure(item, ipath, record=True)
                if got is not None:
                    failures.append(got[0])
                    if got[1] is not None:
                        history.append(got[1])
        return ClusterState(
            nodes=tuple(nodes),
            history=tuple(history),
            failures=merge_failures(failures),
            have_quorum=quorum is not False,
            dc=dc,
        )

    def items(self, node: yaml.Node, path: str) -> list[tuple[yaml.Node, str]]:
        return [(item, f"{path}[{i}]") for i, item in enumerate(self.sequence(node, path) or [])]

    # -- nodes
    def read_nodes(self, node: yaml.Node | None, path: str) -> list[NodeStatus]:
        out: dict[str, NodeStatus] = {}
        for item, ipath in self.items(node, path) if node is not None else []:
            if isinstance(item, yaml.ScalarNode):
                name = self.text(item, ipath, "a node name")
                fields: dict[str, yaml.Node] = {}
                name_node: yaml.Node = item
            else:
                fields = self.mapping(item, ipath, _NODE_KEYS, ("name",), null_ok=False) or {}
                name_node = fields.get("name", item)
                name = (
                    self.text(fields["name"], _join(ipath, "name"), "a node name")
                    if "name" in fields
                    else None
                )
            if name is None:
                continue
            if name in out:
                self.error(name_node, ipath, f"node {name!r} is listed twice")
                continue
            if (
                self.config is not None
                and self.config.nodes
                and name not in {n.name for n in self.config.nodes}
            ):
                known = [n.name for n in self.config.nodes]
                self.error(
                    name_node, ipath, f"node {name!r} is not in the configuration" + _suggest(name, known)
                )
                continue
            flags = {k: self.boolean(fields[k], _join(ipath, k)) for k in _NODE_KEYS[1:-1] if k in fields}
            attrs = dict(self.config_node_attributes(name))
            if "attributes" in fields:
                attrs.update(self.string_map(fields["attributes"], _join(ipath, "attributes")))
            online = flags.get("online")
            unclean = flags.get("unclean") is True
            out[name] = NodeStatus(
                name=name,
                online=(online is not False) and not unclean if online is None else online,
                unclean=unclean,
                unclean_reason="peer is no longer part of the cluster" if unclean else "",
                standby=flags.get("standby") is True,
                maintenance=flags.get("maintenance") is True,
                shutdown=flags.get("shutdown") is True,
                pending=flags.get("pending") is True,
                attributes=attrs,
            )
        if self.config is not None:
            for cfg_node in self.config.nodes:
                if cfg_node.name not in out:
                    out[cfg_node.name] = NodeStatus(cfg_node.name, attributes=dict(cfg_node.attributes))
            order = {n.name: i for i, n in enumerate(self.config.nodes)}
            return sorted(out.values(), key=lambda n: order.get(n.name, len(order)))
        return list(out.values())

    def config_node_attributes(self, name: str) -> Mapping[str, str]:
        if self.config is None:
            return {}
        for n in self.config.nodes:
            if n.name == name:
                return n.attributes
        return {}

    def check_node(self, node: yaml.Node, path: str, name: str) -> bool:
        if name not in self.node_names:
            self.error(node, path, f"unknown node {name!r}" + _suggest(name, self.node_names))
            return False
        return True

    # -- resources
    def primitives_of(self, node: yaml.Node, path: str, rsc_id: str) -> list[str] | None:
        """History ids for a resource name: itself, a group's members, a clone's primitives."""
        if self.config is None:
            return [rsc_id]
        if instance_primitive(self.config, rsc_id) is not None:
            return [rsc_id]
        found = self.config.find(rsc_id)
        if isinstance(found, Group | Clone):
            return [p.id for p in found.primitives()]
        ids = [p.id for p in self.config.primitives()] + [r.id for r in self.config.resources]
        self.error(node, path, f"unknown resource {rsc_id!r}" + _suggest(rsc_id, ids))
        return None

    def is_promotable(self, rsc_id: str) -> bool:
        if self.config is None:
            return False
        prim = instance_primitive(self.config, rsc_id)
        return prim is not None and prim.id in _promotable_primitives(self.config)

    def read_running(self, node: yaml.Node, path: str) -> list[OpRecord]:
        out: list[OpRecord] = []
        for rsc_id, where in (self.mapping(node, path) or {}).items():
            rpath = _join(path, rsc_id)
            prims = self.primitives_of(where, rpath, rsc_id)
            placements: list[tuple[yaml.Node, str, Role]] = []
            if isinstance(where, yaml.MappingNode):
                for node_name, role_node in (self.mapping(where, rpath) or {}).items():
                    role = self.role(role_node, _join(rpath, node_name))
                    if role is None:
                        continue
                    if role not in (Role.STARTED, Role.UNPROMOTED, Role.PROMOTED):
                        self.error(
                            role_node, _join(rpath, node_name), "expected Started, Unpromoted or Promoted"
                        )
                        continue
                    placements.append((role_node, node_name, role))
            elif isinstance(where, yaml.SequenceNode):
                for j, item in enumerate(where.value):
                    name = self.text(item, f"{rpath}[{j}]", "a node name")
                    if name is not None:
                        placements.append((item, name, Role.STARTED))
            else:
                name = self.text(where, rpath, "a node name, a list of nodes or {node: role}")
                if name is not None:
                    placements.append((where, name, Role.STARTED))
            for name_node, node_name, role in placements:
                if not self.check_node(name_node, rpath, node_name) or prims is None:
                    continue
                for prim_id in prims:
                    out += self.running_records(prim_id, node_name, role, name_node, rpath)
        return out

    def running_records(self, rsc: str, node: str, role: Role, where: yaml.Node, path: str) -> list[OpRecord]:
        promotable = self.is_promotable(rsc)
        if role is Role.PROMOTED and self.config is not None and not promotable:
            self.error(where, path, f"{rsc!r} is not in a promotable clone, so it cannot be Promoted")
            return []
        records = [OpRecord(rsc, node, "start", rc=0, call_id=self.calls.take(), expected_rc=0)]
        if role is Role.PROMOTED:
            records.append(OpRecord(rsc, node, "promote", rc=0, call_id=self.calls.take(), expected_rc=0))
        prim = instance_primitive(self.config, rsc) if self.config is not None else None
        if prim is not None and self.config is not None:
            for interval, rc in monitor_ops_for_role(self.config, prim, role):
                records.append(
                    OpRecord(rsc, node, "monitor", interval, rc, call_id=self.calls.take(), expected_rc=rc)
                )
        return records

    def read_failure(
        self, node: yaml.Node, path: str, record: bool
    ) -> tuple[FailRecord, OpRecord | None] | None:
        keys: tuple[str, ...] = ("resource", "node", "op", "interval", "count", "last_failure")
        keys += ("rc", "exit_reason") if record else ()
        fields = self.mapping(node, path, keys, ("resource", "node"), null_ok=False)
        if fields is None or "resource" not in fields or "node" not in fields:
            return None
        rsc = self.text(fields["resource"], _join(path, "resource"), "a resource id")
        node_name = self.text(fields["node"], _join(path, "node"), "a node name")
        op = self.text(fields["op"], _join(path, "op"), "an operation name") if "op" in fields else "monitor"
        if op is not None and op not in OP_NAMES:
            self.error(fields["op"], _join(path, "op"), f"unknown operation {op!r}" + _suggest(op, OP_NAMES))
            op = None
        interval = (
            self.duration_ms(fields["interval"], _join(path, "interval")) if "interval" in fields else None
        )
        count = 1
        if "count" in fields:
            text = self.text(fields["count"], _join(path, "count"), "a count")
            if text is not None and text.strip().upper().lstrip("+") in ("INFINITY", "INF"):
                count = 1_000_000
            elif text is not None and re.fullmatch(r"[0-9]+", text.strip()) and int(text) > 0:
                count = int(text)
            else:
                self.error(
                    fields["count"],
                    _join(path, "count"),
                    f"expected a positive count or INFINITY, got {text!r}",
                )
        last: float | None = None
        if "last_failure" in fields:
            text = self.text(fields["last_failure"], _join(path, "last_failure"), "a time")
            if text is not None:
                try:
                    last = parse_time(text)
                except ValueError as exc:
                    self.error(fields["last_failure"], _join(path, "last_failure"), str(exc))
        rc = 1
        if record and "rc" in fields:
            rc = self.integer(fields["rc"], _join(path, "rc")) or 0
        reason = (
            self.text(fields["exit_reason"], _join(path, "exit_reason")) or ""
            if "exit_reason" in fields
            else ""
        )
        if rsc is None or node_name is None or op is None:
            return None
        if not self.check_node(fields["node"], _join(path, "node"), node_name):
            return None
        prim: Primitive | None = None
        if self.config is not None:
            prim = instance_primitive(self.config, rsc)
            if prim is None:
                ids = [p.id for p in self.config.primitives()]
                self.error(
                    fields["resource"],
                    _join(path, "resource"),
                    f"unknown primitive {rsc!r}" + _suggest(rsc, ids),
                )
                return None
        if interval is None:
            interval = default_interval(prim, op)
        fail = FailRecord(rsc, node_name, count, last, f"{op}_{interval}")
        if not record:
            return fail, None
        rec = OpRecord(
            rsc,
            node_name,
            op,
            interval,
            rc,
            op_status_for_rc(rc),
            call_id=self.calls.take(),
            last_rc_change=last,
            exit_reason=reason,
            expected_rc=0,
        )
        return fail, rec

    def read_record(self, node: yaml.Node, path: str) -> OpRecord | None:
        fields = self.mapping(node, path, _HISTORY_KEYS, ("resource", "node", "task"), null_ok=False)
        if fields is None or not {"resource", "node", "task"} <= fields.keys():
            return None
        rsc = self.text(fields["resource"], _join(path, "resource"), "a resource id")
        node_name = self.text(fields["node"], _join(path, "node"), "a node name")
        task = self.text(fields["task"], _join(path, "task"), "an operation name")
        if task is not None and task not in OP_NAMES:
            self.error(
                fields["task"], _join(path, "task"), f"unknown operation {task!r}" + _suggest(task, OP_NAMES)
            )
            task = None
        interval = (
            self.duration_ms(fields["interval"], _join(path, "interval")) if "interval" in fields else 0
        )
        rc = self.integer(fields["rc"], _join(path, "rc")) if "rc" in fields else 0
        status: OpStatus | None = op_status_for_rc(rc or 0)
        if "status" in fields:
            text = self.text(fields["status"], _join(path, "status"))
            names = [s.name.lower() for s in OpStatus]
            if text is not None and text.lower() in names:
                status = OpStatus[text.upper()]
            else:
                self.error(
                    fields["status"],
                    _join(path, "status"),
                    f"expected one of {', '.join(names)}, got {text!r}",
                )
                status = None
        call_id = self.integer(fields["call_id"], _join(path, "call_id")) if "call_id" in fields else None
        changed: float | None = None
        if "last_rc_change" in fields:
            text = self.text(fields["last_rc_change"], _join(path, "last_rc_change"), "a time")
            try:
                changed = parse_time(text) if text is not None else None
            except ValueError as exc:
                self.error(fields["last_rc_change"], _join(path, "last_rc_change"), str(exc))
        expected = (
            self.integer(fields["expected_rc"], _join(path, "expected_rc"))
            if "expected_rc" in fields
            else None
        )
        extras = {
            k: self.text(fields[k], _join(path, k))
            for k in ("exit_reason", "migrate_source", "migrate_target", "op_digest", "agent")
            if k in fields
        }
        if (
            rsc is None
            or node_name is None
            or task is None
            or interval is None
            or rc is None
            or status is None
        ):
            return None
        if not self.check_node(fields["node"], _join(path, "node"), node_name):
            return None
        if self.config is not None and instance_primitive(self.config, rsc) is None:
            ids = [p.id for p in self.config.primitives()]
            self.error(
                fields["resource"], _join(path, "resource"), f"unknown primitive {rsc!r}" + _suggest(rsc, ids)
            )
            return None
        if extras.get("agent"):
            try:
                AgentRef.parse(extras["agent"] or "")
            except ValueError as exc:
                self.error(fields["agent"], _join(path, "agent"), str(exc))
                return None
        if call_id is None:
            call_id = self.calls.take()
        else:
            self.calls.next_id = max(self.calls.next_id, call_id + 1)
        return OpRecord(
            rsc,
            node_name,
            task,
            interval,
            rc,
            status,
            call_id=call_id,
            last_rc_change=changed,
            exit_reason=extras.get("exit_reason") or "",
            op_digest=extras.get("op_digest"),
            migrate_source=extras.get("migrate_source"),
            migrate_target=extras.get("migrate_target"),
            expected_rc=expected,
            agent=extras.get("agent") or "",
        )


def merge_failures(failures: list[FailRecord]) -> tuple[FailRecord, ...]:
    """One record per (resource, node, operation): counts add up (saturating), the latest failure wins."""
    merged: dict[tuple[str, str, str], FailRecord] = {}
    for f in failures:
        key = (f.resource, f.node, f.operation)
        old = merged.get(key)
        if old is None:
            merged[key] = f
            continue
        times = [t for t in (old.last_failure, f.last_failure) if t is not None]
        count = min(1_000_000, old.count + f.count)
        merged[key] = FailRecord(f.resource, f.node, count, max(times) if times else None, f.operation)
    return tuple(merged.values())


def default_interval(prim: Primitive | None, op: str) -> int:
    """The interval a failure of `op` refers to when none is given: the first configured monitor's."""
    if op != "monitor" or prim is None:
        return 0
    for cfg_op in prim.ops:
        if cfg_op.name == "monitor" and cfg_op.interval_ms > 0 and cfg_op.enabled:
            return cfg_op.interval_ms
    return 0


def state_from_node(
    node: yaml.Node, filename: str, config: Configuration | None = None, path: str = ""
) -> ClusterState:
    """The state in an already composed YAML node (e.g. inside a scenario file); ConfigError on errors."""
    reader = _StateReader(filename, config)
    state = reader.read(node, path)
    if reader.errors:
        raise ConfigError(sorted(reader.errors, key=lambda p: p.line or 0))
    return state


def load_state_text(
    text: str, filename: str = "<state>", config: Configuration | None = None
) -> ClusterState:
    """Parse a state; with `config`, resource and node names are checked and groups/clones expanded."""
    reader = _StateReader(filename, config)
    root = reader.compose(text)
    if root is None:
        raise ConfigError(reader.errors)
    return state_from_node(root, filename, config)


def load_state(path: str | Path, config: Configuration | None = None) -> ClusterState:
    """Load a state file; raise ConfigError with every error, each with file and line."""
    return load_state_text(read_text(path), str(path), config)
