"""crm_mon shim: a one-shot cluster status from what the node daemon wrote into the attribute
store (membership and resource locations), for agents that parse it (galera, pgsql, redis,
rabbitmq-cluster).

Covers ``-1`` (one shot; always implied), ``-X`` / ``--as-xml`` / ``--output-as=xml`` (Pacemaker
2.1's XML with ``<nodes>`` and ``<resources>``, attributes in Pacemaker's order, which agents grep),
``-r``, ``-f``, ``-A`` (ignored). Text output lists the nodes and where resources run. Daemon
mode (``-d``, used by ocf:heartbeat:ClusterMon) is refused with exit 3."""

from __future__ import annotations

import argparse
import sys
from typing import Any
from xml.sax.saxutils import quoteattr

from paceline.agents.shims._common import EX_OK, fail, local_node, local_node_id, store

PROG = "crm_mon"


def _state() -> tuple[list[dict[str, Any]], bool, dict[str, Any]]:
    try:
        data = store().read()
    except RuntimeError:
        data = {}
    m = data.get("membership") or {}
    nodes = list(m.get("nodes") or [{"id": local_node_id(), "name": local_node(), "state": "member"}])
    return nodes, bool(m.get("quorate", True)), dict(data.get("locations") or {})


def xml_status() -> str:
    nodes, quorate, locations = _state()
    ids = {str(n["name"]): str(n["id"]) for n in nodes}
    running: dict[str, int] = {}
    for loc in locations.values():
        for n in loc.get("nodes", []):
            running[n] = running.get(n, 0) + 1
    out = ['<pacemaker-result api-version="2.25" request="crm_mon --output-as=xml">', "  <summary>"]
    out.append(f'    <nodes_configured number="{len(nodes)}"/>')
    out.append(f'    <current_dc present="true" with_quorum="{str(quorate).lower()}"/>')
    out.append("  </summary>")
    out.append("  <nodes>")
    for n in nodes:
        online = n.get("state", "member") == "member"
        out.append(
            f'    <node name={quoteattr(str(n["name"]))} id="{n["id"]}" online="{str(online).lower()}" '
            f'standby="false" standby_onfail="false" maintenance="false" pending="false" '
            f'unclean="false" shutdown="false" expected_up="{str(online).lower()}" is_dc="false" '
            f'resources_running="{running.get(str(n["name"]), 0)}" type="member"/>'
        )
    out.append("  </nodes>")
    out.append("  <resources>")
    for rsc, loc in sorted(locations.items()):
        promoted = set(loc.get("promoted", []))
        for node in loc.get("nodes", []):
            role = "Promoted" if node in promoted else "Started"
            out.append(
                f'    <resource id={quoteattr(rsc)} resource_agent="unknown" role="{role}" active="true" '
                f'orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" '
                f'nodes_running_on="1">'
            )
            out.append(f'      <node name={quoteattr(node)} id="{ids.get(node, "0")}" cached="true"/>')
            out.append("    </resource>")
    out.append("  </resources>")
    out.append('  <status code="0" message="OK"/>')
    out.append("</pacemaker-result>")
    return "\n".join(out) + "\n"


def text_status() -> str:
    nodes, quorate, locations = _state()
    online = [str(n["name"]) for n in nodes if n.get("state", "member") == "member"]
    offline = [str(n["name"]) for n in nodes if n.get("state", "member") != "member"]
    lines = [
        "Cluster Summary:",
        f"  * {len(nodes)} nodes configured",
        f"  * partition {'with' if quorate else 'WITHOUT'} quorum",
        "",
    ]
    lines.append(f"Node List:\n  * Online: [ {' '.join(online)} ]")
    if offline:
        lines.append(f"  * OFFLINE: [ {' '.join(offline)} ]")
    lines.append("\nActive Resources:")
    for rsc, loc in sorted(locations.items()):
        promoted = set(loc.get("promoted", []))
        for node in loc.get("nodes", []):
            lines.append(f"  * {rsc}\t({'Promoted' if node in promoted else 'Started'} {node})")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG)
    p.add_argument("-1", "--one-shot", action="store_true")
    p.add_argument("-X", "--as-xml", action="store_true")
    p.add_argument("--output-as")
    p.add_argument("-r", "--inactive", action="store_true")
    p.add_argument("-f", "--failcounts", action="store_true")
    p.add_argument("-A", "--show-node-attributes", action="store_true")
    p.add_argument("-d", "--daemonize", action="store_true")
    p.add_argument("-V", "--verbose", action="count", default=0)
    args, _ = p.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.daemonize:
        return fail(PROG, "daemon mode is not supported by Paceline's crm_mon", 3)
    xml = args.as_xml or (args.output_as or "").lower() == "xml"
    sys.stdout.write(xml_status() if xml else text_status())
    return EX_OK


if __name__ == "__main__":
    sys.exit(main())
