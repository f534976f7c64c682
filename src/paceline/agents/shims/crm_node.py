"""crm_node shim: this node's name and id, the membership and quorum as the node daemon last
wrote them into the attribute store (without that: this node alone, quorate).

Covers ``-n`` (name), ``-i`` (id), ``-N ID`` (name of node id), ``-l`` (``ID NAME STATE`` lines),
``-p`` (members of our partition on one line), ``-q`` (``1`` quorate / ``0`` not, exit 3)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from paceline.agents.shims._common import EX_OK, EX_USAGE, fail, local_node, local_node_id, store

PROG = "crm_node"
EX_NOQUORUM = 3


def _members() -> tuple[list[dict[str, Any]], bool]:
    try:
        m = store().membership()
    except RuntimeError:
        m = {}
    nodes = m.get("nodes") or [{"id": local_node_id(), "name": local_node(), "state": "member"}]
    return list(nodes), bool(m.get("quorate", True))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG)
    p.add_argument("-n", "--name", action="store_true")
    p.add_argument("-N", "--name-for-id", type=int)
    p.add_argument("-i", "--cluster-id", action="store_true")
    p.add_argument("-l", "--list", action="store_true")
    p.add_argument("-p", "--partition", action="store_true")
    p.add_argument("-q", "--quorum", action="store_true")
    p.add_argument("-V", "--verbose", action="count", default=0)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.name:
        print(local_node())
        return EX_OK
    if args.cluster_id:
        print(local_node_id())
        return EX_OK
    nodes, quorate = _members()
    if args.name_for_id is not None:
        for n in nodes:
            if int(n["id"]) == args.name_for_id:
                print(n["name"])
                return EX_OK
        return fail(PROG, f"no node with id {args.name_for_id}", 105)
    if args.list:
        for n in nodes:
            print(f"{n['id']} {n['name']} {n.get('state', 'member')}")
        return EX_OK
    if args.partition:
        print(" ".join(str(n["name"]) for n in nodes if n.get("state", "member") == "member"))
        return EX_OK
    if args.quorum:
        print("1" if quorate else "0")
        return EX_OK if quorate else EX_NOQUORUM
    return fail(PROG, "one of -n, -i, -N, -l, -p, -q is required", EX_USAGE)


if __name__ == "__main__":
    sys.exit(main())
