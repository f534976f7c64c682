"""Agent meta-data (the OCF ``resource-agent`` XML, also used by fence-agents): parsing with lxml
and checking instance parameters against it.

Invariants: parsing never raises on odd but well-formed XML (unknown elements are ignored);
malformed XML raises ``MetadataError``. ``check_params`` returns a list of problems (empty =
acceptable) instead of raising, so callers can report all of them at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from .durations import DurationError, parse_duration

__all__ = ["ActionInfo", "AgentMetadata", "MetadataError", "ParameterInfo", "check_params", "parse_metadata"]

_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


class MetadataError(ValueError):
    """The agent's meta-data is not usable XML."""


@dataclass(frozen=True)
class ParameterInfo:
    name: str
    type: str  # string, integer, boolean, time, select, ... as the agent declares it
    default: str | None
    required: bool
    unique: bool
    shortdesc: str
    options: tuple[str, ...] = ()  # allowed values of a "select" parameter
    reloadable: bool = False
    deprecated: bool = False


@dataclass(frozen=True)
class ActionInfo:
    name: str
    timeout_ms: int | None
    interval_ms: int | None
    depth: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class AgentMetadata:
    name: str
    version: str
    shortdesc: str
    longdesc: str
    parameters: tuple[ParameterInfo, ...]
    actions: tuple[ActionInfo, ...]

    def parameter(self, name: str) -> ParameterInfo | None:
        return next((p for p in self.parameters if p.name == name), None)

    def default_timeout_ms(self, action: str) -> int | None:
        """The timeout the agent declares for ``action`` (monitor: the first one listed)."""
        for a in self.actions:
            if a.name == action and a.timeout_ms is not None:
                return a.timeout_ms
        return None

    def supports(self, action: str) -> bool:
        return any(a.name == action for a in self.actions)


def _ms(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        return round(parse_duration(value) * 1000)
    except DurationError:
        return None


def _text(el: etree._Element | None) -> str:
    if el is None:
        return ""
    return " ".join("".join(str(t) for t in el.itertext()).split())


def parse_metadata(xml: str | bytes) -> AgentMetadata:
    """Parse a ``<resource-agent>`` document."""
    data = xml.encode() if isinstance(xml, str) else xml
    data = data.strip()
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise MetadataError(f"meta-data is not valid XML: {e}") from None
    if root.tag != "resource-agent":
        raise MetadataError(f"meta-data root element is <{root.tag}>, expected <resource-agent>")
    params: list[ParameterInfo] = []
    for p in root.iterfind("parameters/parameter"):
        name = p.get("name")
        if not name:
            continue
        content = p.find("content")
        ptype = content.get("type", "string") if content is not None else "string"
        default = content.get("default") if content is not None else None
        options: tuple[str, ...] = ()
        if content is not None:
            options = tuple(o.get("value", "") for o in content.iterfind("option"))
        params.append(
            ParameterInfo(
                name=name,
                type=ptype,
                default=default,
                required=p.get("required", "0") in _TRUE,
                unique=p.get("unique", "0") in _TRUE,
                shortdesc=_text(p.find("shortdesc")),
                options=options,
                reloadable=p.get("reloadable", "0") in _TRUE,
                deprecated=p.get("deprecated", "0") in _TRUE or p.find("deprecated") is not None,
            )
        )
    actions = tuple(
        ActionInfo(
            name=a.get("name", ""),
            timeout_ms=_ms(a.get("timeout")),
            interval_ms=_ms(a.get("interval")),
            depth=a.get("depth"),
            role=a.get("role"),
        )
        for a in root.iterfind("actions/action")
        if a.get("name")
    )
    version_el = root.find("version")
    return AgentMetadata(
        name=root.get("name", ""),
        version=(version_el.text or "").strip() if version_el is not None else root.get("version", ""),
        shortdesc=_text(root.find("shortdesc")),
        longdesc=_text(root.find("longdesc")),
        parameters=tuple(params),
        actions=actions,
    )


def _type_problem(p: ParameterInfo, value: str, check_default: bool = True) -> str | None:
    """Why ``value`` does not fit ``p``'s declared type, or None. Agents' declared types are
    loose (ocf:pacemaker:ping declares dampen an integer with default "5s"): when the declared
    default itself does not fit the declared type, the type is not enforced."""
    if check_default and p.default and _type_problem(p, p.default, check_default=False):
        return None
    t = p.type.lower()
    v = value.strip()
    if t == "integer":
        if v.lower() in {"infinity", "+infinity", "-infinity"}:
            return None
        try:
            int(v)
        except ValueError:
            return f"parameter {p.name}={value!r} is not an integer"
    elif t == "boolean":
        if v.lower() not in _TRUE | _FALSE:
            return f"parameter {p.name}={value!r} is not a boolean (true/false)"
    elif t in {"time", "timeout", "duration"}:
        try:
            parse_duration(v)
        except DurationError:
            return f"parameter {p.name}={value!r} is not a duration"
    elif t == "select" and p.options and v not in p.options:
        return f"parameter {p.name}={value!r} is not one of {', '.join(p.options)}"
    return None


def check_params(md: AgentMetadata, params: Mapping[str, str]) -> list[str]:
    """Problems with ``params`` for this agent: missing required, unknown names, wrong types."""
    problems: list[str] = []
    known = {p.name for p in md.parameters}
    for p in md.parameters:
        if p.required and p.name not in params:
            problems.append(f"required parameter {p.name} is missing")
    for name, value in params.items():
        info = md.parameter(name)
        if info is None:
            if name not in known:
                problems.append(
                    f"unknown parameter {name} (agent {md.name} has: {', '.join(sorted(known)) or 'none'})"
                )
            continue
        prob = _type_problem(info, value)
        if prob:
            problems.append(prob)
    return problems
