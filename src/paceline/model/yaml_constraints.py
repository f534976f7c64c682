"""Reading the `constraints:` section of a configuration (location, colocation, order).

Constraints without an `id` get one derived from what they constrain (`loc-web-n1`,
`col-web-vip`, `order-vip-web`, with `-2`, `-3`... when taken); a location's rules get ids
`<location>-rule` (or `<location>-rule-<n>` under `rules:`). References to resources and nodes are
collected here and checked by the configuration reader once every resource has been read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

import yaml

from .config import Colocation, Location, Order
from .enums import OrderKind
from .rules import Rule
from .scores import INFINITY
from .yaml_nodes import YamlReader, _join
from .yaml_rules import RuleSyntaxError, parse_rule
from .yaml_scalars import _v_enum

__all__ = ["ORDER_ACTIONS", "ConstraintReader"]

ORDER_ACTIONS = ("start", "stop", "promote", "demote")
_LOCATION_KEYS = (
    "id",
    "resource",
    "resource-pattern",
    "node",
    "score",
    "score-attribute",
    "rule",
    "rules",
    "role",
    "resource-discovery",
)
_COLOCATION_KEYS = ("id", "resource", "with", "score", "role", "with-role", "node-attribute", "influence")
_ORDER_KEYS = ("id", "first", "first-action", "then", "then-action", "kind", "symmetrical", "require-all")


class ConstraintReader(YamlReader):
    """Reads the `constraints:` section (location, colocation, order), on top of `YamlReader`.

    Also holds what the whole file shares: the registry of ids (unique across the file, see
    `claim_id`) and the references to resources and nodes (`constraint_refs`), which the
    configuration reader checks once everything is read.
    """

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self.id_lines: dict[str, yaml.Node] = {}
        self.constraint_refs: list[tuple[yaml.Node, str, str, str]] = []  # node, path, kind, name

    def claim_id(self, ident: str, node: yaml.Node, path: str) -> None:
        if ident in self.id_lines:
            first = self.id_lines[ident].start_mark.line + 1
            self.error(node, path, f"duplicate id {ident!r} (first used on line {first})")
        else:
            self.id_lines[ident] = node

    # -- constraints
    def read_constraints(
        self,
        node: yaml.Node,
        locations: list[Location],
        colocations: list[Colocation],
        orders: list[Order],
    ) -> None:
        pending: list[tuple[Location | Colocation | Order, str]] = []  # constraint, default id
        for i, item in enumerate(self.sequence(node, "constraints") or []):
            path = f"constraints[{i}]"
            wrapper = self.mapping(item, path, ("location", "colocation", "order"), null_ok=False)
            if wrapper is None:
                continue
            if len(wrapper) != 1:
                self.error(item, path, "expected exactly one of location, colocation or order")
                continue
            kind, body = next(iter(wrapper.items()))
            cpath = _join(path, kind)
            result: tuple[Location | Colocation | Order, str] | None
            if kind == "location":
                result = self.read_location(body, cpath)
            elif kind == "colocation":
                result = self.read_colocation(body, cpath)
            else:
                result = self.read_order(body, cpath)
            if result is not None:
                pending.append(result)
        taken = set(self.id_lines)
        for constraint, default in pending:
            ident = constraint.id
            if not ident:
                ident, n = default, 1
                while ident in taken:
                    n += 1
                    ident = f"{default}-{n}"
            constraint = _with_id(constraint, ident)
            taken.add(ident)
            if isinstance(constraint, Location):
                locations.append(constraint)
            elif isinstance(constraint, Colocation):
                colocations.append(constraint)
            else:
                orders.append(constraint)

    def ref(self, fields: Mapping[str, yaml.Node], key: str, path: str, kind: str) -> str | None:
        if key not in fields:
            return None
        name = self.text(
            fields[key], _join(path, key), "a resource id" if kind == "resource" else "a node name"
        )
        if name is not None:
            self.constraint_refs.append((fields[key], _join(path, key), kind, name))
        return name

    def explicit_id(self, fields: Mapping[str, yaml.Node], path: str) -> str:
        if "id" not in fields:
            return ""
        ident = self.ident(fields["id"], _join(path, "id"))
        if ident is not None:
            self.claim_id(ident, fields["id"], _join(path, "id"))
        return ident or ""

    def read_location(self, node: yaml.Node, path: str) -> tuple[Location, str] | None:
        fields = self.mapping(node, path, _LOCATION_KEYS, null_ok=False)
        if fields is None:
            return None
        ident = self.explicit_id(fields, path)
        if ("resource" in fields) == ("resource-pattern" in fields):
            self.error(node, path, "give exactly one of resource or resource-pattern")
        rsc = self.ref(fields, "resource", path, "resource")
        pattern = (
            self.text(fields["resource-pattern"], _join(path, "resource-pattern"))
            if ("resource-pattern" in fields)
            else None
        )
        if pattern is not None:
            try:
                re.compile(pattern.removeprefix("!"))
            except re.error as exc:
                self.error(fields["resource-pattern"], _join(path, "resource-pattern"), f"bad pattern: {exc}")
        forms = [k for k in ("node", "rule", "rules") if k in fields]
        if len(forms) != 1:
            self.error(node, path, "give exactly one of node, rule or rules")
            return None
        role = self.role(fields["role"], _join(path, "role")) if "role" in fields else None
        discovery = "always"
        if "resource-discovery" in fields:
            discovery = (
                self.checked(
                    fields["resource-discovery"],
                    _join(path, "resource-discovery"),
                    _v_enum("always", "never", "exclusive"),
                )
                or "always"
            )
        base = rsc or re.sub(r"[^A-Za-z0-9_.\-]", "_", pattern or "pattern")
        if forms[0] == "node":
            target = self.ref(fields, "node", path, "node")
            if "score-attribute" in fields:
                self.error(
                    fields["score-attribute"],
                    _join(path, "score-attribute"),
                    "only a rule takes score-attribute",
                )
            if "score" not in fields:
                self.error(node, path, "missing required key 'score'")
                return None
            score = self.score(fields["score"], _join(path, "score"))
            if target is None or score is None:
                return None
            loc = Location(ident, rsc, target, score, (), role, pattern, discovery)
            return loc, f"loc-{base}-{target}"
        rules: list[Rule] = []
        if forms[0] == "rule":
            rule = self.read_rule_body(fields, path, "", role_key=False)
            if rule is not None:
                rules.append(rule)
        else:
            for j, item in enumerate(self.sequence(fields["rules"], _join(path, "rules")) or []):
                rpath = f"{_join(path, 'rules')}[{j}]"
                body = self.mapping(
                    item, rpath, ("id", "rule", "score", "score-attribute", "role"), ("rule",)
                )
                if body is None or "rule" not in body:
                    continue
                rule = self.read_rule_body(body, rpath, f"#{j + 1}", role_key=True)
                if rule is not None:
                    rules.append(rule)
        if not rules:
            return None
        loc = Location(ident, rsc, None, 0, tuple(rules), role, pattern, discovery)
        return loc, f"loc-{base}"

    def read_rule_body(
        self, fields: Mapping[str, yaml.Node], path: str, rule_id: str, role_key: bool
    ) -> Rule | None:
        """A rule with its score; ids are completed by `_with_id` once the location's id is known."""
        has_score, has_attr = "score" in fields, "score-attribute" in fields
        if has_score == has_attr:
            self.error(fields["rule"], path, "give exactly one of score or score-attribute for a rule")
            return None
        score = self.score(fields["score"], _join(path, "score")) if has_score else None
        attr = self.text(fields["score-attribute"], _join(path, "score-attribute")) if has_attr else None
        role = self.role(fields["role"], _join(path, "role")) if role_key and "role" in fields else None
        explicit = self.ident(fields["id"], _join(path, "id")) if role_key and "id" in fields else None
        if explicit:
            self.claim_id(explicit, fields["id"], _join(path, "id"))
        text = self.text(fields["rule"], _join(path, "rule"), "a rule expression")
        if text is None or (has_score and score is None) or (has_attr and attr is None):
            return None
        try:
            return parse_rule(text, explicit or rule_id, score, attr, role)
        except RuleSyntaxError as exc:
            self.error(fields["rule"], _join(path, "rule"), str(exc))
            return None

    def read_colocation(self, node: yaml.Node, path: str) -> tuple[Colocation, str] | None:
        fields = self.mapping(node, path, _COLOCATION_KEYS, ("resource", "with"), null_ok=False)
        if fields is None:
            return None
        ident = self.explicit_id(fields, path)
        rsc = self.ref(fields, "resource", path, "resource")
        with_rsc = self.ref(fields, "with", path, "resource")
        score = self.score(fields["score"], _join(path, "score")) if "score" in fields else INFINITY
        role = self.role(fields["role"], _join(path, "role")) if "role" in fields else None
        with_role = (
            self.role(fields["with-role"], _join(path, "with-role")) if "with-role" in fields else None
        )
        attr = (
            self.text(fields["node-attribute"], _join(path, "node-attribute"))
            if "node-attribute" in fields
            else None
        )
        influence = (
            self.boolean(fields["influence"], _join(path, "influence")) if "influence" in fields else True
        )
        if rsc is not None and rsc == with_rsc:
            self.error(fields["with"], _join(path, "with"), "a resource cannot be colocated with itself")
            return None
        if rsc is None or with_rsc is None or score is None:
            return None
        col = Colocation(
            ident, rsc, with_rsc, score, role, with_role, attr or "#uname", influence is not False
        )
        return col, f"col-{rsc}-{with_rsc}"

    def read_order(self, node: yaml.Node, path: str) -> tuple[Order, str] | None:
        fields = self.mapping(node, path, _ORDER_KEYS, ("first", "then"), null_ok=False)
        if fields is None:
            return None
        ident = self.explicit_id(fields, path)
        first = self.ref(fields, "first", path, "resource")
        then = self.ref(fields, "then", path, "resource")
        actions = _v_enum(*ORDER_ACTIONS)
        first_action = (
            self.checked(fields["first-action"], _join(path, "first-action"), actions)
            if ("first-action" in fields)
            else "start"
        )
        then_action = (
            self.checked(fields["then-action"], _join(path, "then-action"), actions)
            if ("then-action" in fields)
            else "start"
        )
        kind = OrderKind.MANDATORY
        if "kind" in fields:
            text = self.checked(fields["kind"], _join(path, "kind"), _v_enum(*(k.value for k in OrderKind)))
            kind = OrderKind.parse(text) if text is not None else kind
        symmetrical = kind is not OrderKind.SERIALIZE
        if "symmetrical" in fields:
            symmetrical = self.boolean(fields["symmetrical"], _join(path, "symmetrical")) is not False
        require_all = True
        if "require-all" in fields:
            require_all = self.boolean(fields["require-all"], _join(path, "require-all")) is not False
        if first is not None and first == then:
            self.error(fields["then"], _join(path, "then"), "a resource cannot be ordered after itself")
            return None
        if first is None or then is None or first_action is None or then_action is None:
            return None
        order = Order(
            ident, first, then, first_action.lower(), then_action.lower(), kind, symmetrical, require_all
        )
        return order, f"order-{first}-{then}"


def _with_id(constraint: Location | Colocation | Order, ident: str) -> Location | Colocation | Order:
    if isinstance(constraint, Location):
        rules = tuple(
            _rename_rule(r, f"{ident}-rule" if r.id == "" else f"{ident}-rule-{r.id[1:]}")
            if r.id == "" or r.id.startswith("#")
            else r
            for r in constraint.rules
        )
        return replace(constraint, id=ident, rules=rules)
    return replace(constraint, id=ident)


def _rename_rule(rule: Rule, ident: str) -> Rule:
    children = tuple(
        _rename_rule(e, f"{ident}-{i + 1}") if isinstance(e, Rule) else e
        for i, e in enumerate(rule.expressions)
    )
    return replace(rule, id=ident, expressions=children)
