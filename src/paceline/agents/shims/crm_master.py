"""crm_master shim (deprecated Pacemaker wrapper): ``crm_master [-l LIFETIME] [-r RSC] (-v N | -G | -D)``
is ``crm_attribute --promotion`` for the current resource."""

from __future__ import annotations

import sys

from paceline.agents.shims.crm_attribute import build_parser, run


def main(argv: list[str] | None = None) -> int:
    args = build_parser("crm_master").parse_args(sys.argv[1:] if argv is None else argv)
    if args.promotion is None:
        args.promotion = args.resource or ""
    return run(args, "crm_master")


if __name__ == "__main__":
    sys.exit(main())
