"""crm_attribute shim: query, set and delete node attributes, promotion scores and cluster options.

Covers: ``-N node -l reboot|forever -n name (-v value | -G | -D) [-q] [-d default]``,
``-t nodes|status|crm_config``, ``-z`` (node utilization), ``--promotion[=RSC]`` / ``-p`` (the promotion score
``master-RSC``, resource from ``OCF_RESOURCE_INSTANCE`` by default, lifetime reboot).
Query output is Pacemaker's: ``scope=status  name=N value=V`` or just ``V`` with ``-q``; a missing
attribute prints an error and exits 105."""

from __future__ import annotations

import argparse
import os
import sys

from paceline.agents.attrstore import AttributeStore, Lifetime, promotion_attribute
from paceline.agents.shims._common import EX_NOSUCH, EX_OK, EX_USAGE, fail, local_node, store

PROG = "crm_attribute"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, add_help=True)
    p.add_argument("-N", "--node", "-U", "--uname", dest="node")
    p.add_argument("-n", "--name", "--attr-name", dest="name")
    p.add_argument("-v", "--update", "--attr-value", dest="value")
    p.add_argument("-G", "--query", "--get-value", action="store_true")
    p.add_argument("-D", "--delete", "--delete-attr", action="store_true")
    p.add_argument("-q", "--quiet", "-Q", action="store_true")
    p.add_argument("-l", "--lifetime")
    p.add_argument("-t", "--type", dest="section")
    p.add_argument("-d", "--default")
    p.add_argument("-p", "--promotion", nargs="?", const="")
    p.add_argument("-r", "--resource")
    p.add_argument("-i", "--id")
    p.add_argument("-s", "--set-name")
    p.add_argument("-z", "--utilization", action="store_true")
    p.add_argument("-V", "--verbose", action="count", default=0)
    p.add_argument("--output-as")
    return p


def run(args: argparse.Namespace, prog: str = PROG) -> int:
    s = store()
    promotion = args.promotion is not None
    if promotion:
        rsc = args.promotion or args.resource or os.environ.get("OCF_RESOURCE_INSTANCE", "")
        if not rsc:
            return fail(prog, "--promotion needs a resource (OCF_RESOURCE_INSTANCE is not set)", EX_USAGE)
        name = promotion_attribute(rsc)
        lifetime = Lifetime.parse(args.lifetime) if args.lifetime else Lifetime.REBOOT
    else:
        name = args.name
        if not name:
            return fail(prog, "an attribute name is required (-n NAME)", EX_USAGE)
        section = (args.section or "").lower()
        if section in {"crm_config", "rsc_defaults", "op_defaults"}:
            return _config(args, s, name, section, prog)
        if args.lifetime:
            try:
                lifetime = Lifetime.parse(args.lifetime)
            except ValueError as e:
                return fail(prog, str(e), EX_USAGE)
        elif section == "status":
            lifetime = Lifetime.REBOOT
        elif section == "nodes" or args.node:
            lifetime = Lifetime.FOREVER
        else:
            return _config(args, s, name, "crm_config", prog)
    node = args.node or local_node()
    if args.utilization:
        return _node_utilization(args, s, node, name, prog)
    scope = "status" if lifetime is Lifetime.REBOOT else "nodes"
    if args.value is not None:
        s.set(node, name, args.value, lifetime)
        return EX_OK
    if args.delete:
        s.delete(node, name, lifetime)
        return EX_OK
    value = s.get(node, name, lifetime)
    if value is None:
        if args.default is not None:
            value = args.default
        else:
            if not args.quiet:
                print(f"scope={scope}  name={name} value=(null)")
            print("Error performing operation: No such device or address", file=sys.stderr)
            return EX_NOSUCH
    print(value if args.quiet else f"scope={scope}  name={name} value={value}")
    return EX_OK


def _node_utilization(args: argparse.Namespace, s: AttributeStore, node: str, name: str, prog: str) -> int:
    if args.value is not None:
        s.set_node_utilization(node, name, args.value)
        return EX_OK
    if args.delete:
        s.set_node_utilization(node, name, None)
        return EX_OK
    value = s.get_node_utilization(node, name)
    if value is None:
        value = args.default
    if value is None:
        print("Error performing operation: No such device or address", file=sys.stderr)
        return EX_NOSUCH
    print(value if args.quiet else f"scope=nodes  name={name} value={value}")
    return EX_OK


def _config(args: argparse.Namespace, s: object, name: str, section: str, prog: str) -> int:
    from paceline.agents.attrstore import AttributeStore

    assert isinstance(s, AttributeStore)
    if args.value is not None:
        s.set_config(name, args.value)
        return EX_OK
    if args.delete:
        s.set_config(name, None)
        return EX_OK
    value = s.get_config(name)
    if value is None:
        value = args.default
    if value is None:
        print("Error performing operation: No such device or address", file=sys.stderr)
        return EX_NOSUCH
    print(value if args.quiet else f"scope={section}  name={name} value={value}")
    return EX_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
