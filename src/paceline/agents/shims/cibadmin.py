"""cibadmin shim: ``-Q`` prints a minimal, empty CIB (ocf-shellfuncs' crm_mon_no_validation pipes
it into crm_mon, which here reads the attribute store instead). Every change to the CIB is
refused with exit 3: Paceline's configuration is not a CIB."""

from __future__ import annotations

import sys

from paceline.agents.shims._common import EX_OK, fail

PROG = "cibadmin"
EMPTY_CIB = (
    '<cib validate-with="pacemaker-3.0" epoch="1" num_updates="0" admin_epoch="0">'
    "<configuration><crm_config/><nodes/><resources/><constraints/></configuration><status/></cib>\n"
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-Q", "--query") and len(args) <= 2:
        sys.stdout.write(EMPTY_CIB)
        return EX_OK
    return fail(PROG, f"not supported by Paceline: cibadmin {' '.join(args)}", 3)


if __name__ == "__main__":
    sys.exit(main())
