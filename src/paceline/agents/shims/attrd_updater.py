"""attrd_updater shim: transient (reboot-lifetime) node attributes.

Covers ``-n NAME`` with ``-U/-v VALUE`` (update), ``-B VALUE`` (update value and delay),
``-Y`` (update delay), ``-Q`` (query; ``-A`` all nodes), ``-D`` (delete), ``-R`` (refresh, no-op),
``-d DELAY``, ``-N NODE``, ``-l reboot|forever``, ``-p/--private``, ``-S SECTION`` (ignored).
The dampening delay is recorded with the value (``dampen_ms``) for the node daemon; the value
itself is written at once.
Query output: ``name="N" host="H" value="V"``."""

from __future__ import annotations

import argparse
import sys

from paceline.agents.attrstore import Lifetime
from paceline.agents.shims._common import EX_NOSUCH, EX_OK, EX_USAGE, delay_ms, fail, local_node, store

PROG = "attrd_updater"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG)
    p.add_argument("-n", "--name")
    p.add_argument("-U", "--update", "-v", dest="update")
    p.add_argument("-B", "--update-both")
    p.add_argument("-Y", "--update-delay", action="store_true")
    p.add_argument("-Q", "--query", action="store_true")
    p.add_argument("-D", "--delete", action="store_true")
    p.add_argument("-R", "--refresh", action="store_true")
    p.add_argument("-d", "--delay")
    p.add_argument("-N", "--node")
    p.add_argument("-A", "--all", action="store_true")
    p.add_argument("-l", "--lifetime")
    p.add_argument("-p", "--private", action="store_true")
    p.add_argument("-s", "--set")
    p.add_argument("-S", "--section")  # old option (status/state): attributes here are always transient
    p.add_argument("-z", "--utilization", action="store_true")
    p.add_argument("-V", "--verbose", action="count", default=0)
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--output-as")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.refresh:
        return EX_OK
    if not args.name:
        return fail(PROG, "an attribute name is required (-n NAME)", EX_USAGE)
    try:
        lifetime = Lifetime.parse(args.lifetime) if args.lifetime else Lifetime.REBOOT
    except ValueError as e:
        return fail(PROG, str(e), EX_USAGE)
    s = store()
    node = args.node or local_node()
    dampen = delay_ms(args.delay)
    value = args.update if args.update is not None else args.update_both
    if value is not None:
        s.set(node, args.name, value, lifetime, dampen_ms=dampen)
        return EX_OK
    if args.update_delay:
        cur = s.get(node, args.name, lifetime)
        s.set(node, args.name, cur or "", lifetime, dampen_ms=dampen)
        return EX_OK
    if args.delete:
        s.delete(node, args.name, lifetime)
        return EX_OK
    if args.query:
        if args.all:
            found = False
            for host, attrs in sorted(s.all_attributes(lifetime).items()):
                if args.name in attrs:
                    found = True
                    print(f'name="{args.name}" host="{host}" value="{attrs[args.name]}"')
            return EX_OK if found else EX_NOSUCH
        v = s.get(node, args.name, lifetime)
        if v is None:
            print(f"{PROG}: could not query value of {args.name}: attribute does not exist", file=sys.stderr)
            return EX_NOSUCH
        print(f'name="{args.name}" host="{node}" value="{v}"')
        return EX_OK
    return fail(PROG, "one of -U, -B, -Y, -Q, -D, -R is required", EX_USAGE)


if __name__ == "__main__":
    sys.exit(main())
