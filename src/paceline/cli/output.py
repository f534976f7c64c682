"""Plain-text rendering shared by commands: crm_simulate-style summaries, placements, problems.

Output for machines or diffs (summaries, JSON) is plain text; nothing here colours or wraps.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ..model.enums import Role
    from ..model.yaml_loader import ConfigProblem

__all__ = ["format_placement", "format_summary", "print_lines", "print_problems"]

_SUMMARY_RE = re.compile(r"^(?P<verb>[A-Z][\w-]*)\s+(?P<rsc>\S+)\s+\(\s*(?P<where>[^)]*?)\s*\)(?P<rest>.*)$")


def format_summary(lines: Iterable[str]) -> list[str]:
    """`Transition Summary:` and one `  * Verb       rsc   ( where )` line per summary line.

    Verbs are padded to 10 columns and resource names to the longest one (at least 7), as
    crm_simulate does for the common cases (it is compared whitespace aside anyway);
    lines of another shape (`Fence (reboot) n2 'reason'`) are kept as they are.
    """
    parsed = [(line, _SUMMARY_RE.match(line.strip())) for line in lines]
    width = max([7, *(len(m.group("rsc")) for _, m in parsed if m)])
    out = ["Transition Summary:"]
    for line, m in parsed:
        if m is None or m.group("verb") == "Fence":
            out.append(f"  * {line.strip()}")
            continue
        rest = m.group("rest").strip()
        text = f"  * {m.group('verb'):<10} {m.group('rsc'):<{width}} ( {m.group('where')} )"
        out.append(f"{text}  {rest}" if rest else text)
    return out


def format_placement(placement: Mapping[str, Mapping[str, Role]]) -> list[str]:
    """`Placement:` then `  rsc: Started on n1` (or `Promoted on n2, Unpromoted on n3`, `Stopped`)."""
    from ..model.enums import Role

    out = ["Placement:"]
    for rsc in sorted(placement):
        where = [
            f"{role.value} on {node}"
            for node, role in sorted(placement[rsc].items())
            if role not in (Role.STOPPED, Role.UNKNOWN)
        ]
        out.append(f"  {rsc}: {', '.join(where) if where else 'Stopped'}")
    return out


def print_lines(lines: Iterable[str], stream: TextIO | None = None) -> None:
    target = stream if stream is not None else sys.stdout
    for line in lines:
        print(line, file=target)


def print_problems(problems: Iterable[ConfigProblem | str], stream: TextIO | None = None) -> None:
    """One problem per line on stderr (or `stream`)."""
    print_lines((str(p) for p in problems), stream if stream is not None else sys.stderr)
