"""crm_resource shim: the parts resource agents call.

Covers ``--locate/-W -r RSC`` (from the locations the node daemon writes), utilization attributes
``-z -g NAME`` / ``-z -p NAME -v VALUE`` / ``-z -d NAME`` with ``-r RSC`` (``-Q`` quiet), and
``--list-operations`` (prints nothing: operation history lives in the daemon). Anything else
(changing the configuration) is refused with a clear message and exit 3 (unimplemented)."""

from __future__ import annotations

import argparse
import sys

from paceline.agents.shims._common import EX_NOSUCH, EX_OK, EX_USAGE, fail, store

PROG = "crm_resource"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG)
    p.add_argument("-r", "--resource")
    p.add_argument("-W", "--locate", action="store_true")
    p.add_argument("-z", "--utilization", action="store_true")
    p.add_argument("-g", "--get-parameter")
    p.add_argument("-p", "--set-parameter")
    p.add_argument("-d", "--delete-parameter")
    p.add_argument("-v", "--parameter-value")
    p.add_argument("-Q", "--quiet", action="store_true")
    p.add_argument("-N", "--node")
    p.add_argument("-O", "--list-operations", action="store_true")
    p.add_argument("-o", "--list-all-operations", action="store_true")
    p.add_argument("-V", "--verbose", action="count", default=0)
    args, rest = p.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.list_operations or args.list_all_operations:
        return EX_OK
    if not args.resource:
        return fail(
            PROG, f"not supported by Paceline's crm_resource: {' '.join(rest) or '(no resource given)'}", 3
        )
    rsc = args.resource
    if args.locate:
        loc = store().location(rsc)
        nodes = loc["nodes"] if loc else []
        if not nodes:
            print(f"resource {rsc} is NOT running", file=sys.stderr)
            return EX_OK
        promoted = set(loc["promoted"]) if loc else set()
        for n in nodes:
            print(f"resource {rsc} is running on: {n}{' Promoted' if n in promoted else ''}")
        return EX_OK
    if args.utilization:
        s = store()
        if args.get_parameter:
            v = s.get_utilization(rsc, args.get_parameter)
            if v is None:
                return fail(
                    PROG, f"utilization attribute {args.get_parameter} of {rsc} is not set", EX_NOSUCH
                )
            print(v if args.quiet else f"{args.get_parameter}={v}")
            return EX_OK
        if args.set_parameter:
            if args.parameter_value is None:
                return fail(PROG, "-p needs -v VALUE", EX_USAGE)
            s.set_utilization(rsc, args.set_parameter, args.parameter_value)
            return EX_OK
        if args.delete_parameter:
            s.set_utilization(rsc, args.delete_parameter, None)
            return EX_OK
    return fail(
        PROG, "only --locate, --utilization (-g/-p/-d) and --list-operations are supported by Paceline", 3
    )


if __name__ == "__main__":
    sys.exit(main())
