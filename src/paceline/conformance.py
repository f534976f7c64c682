"""Run Pacemaker's scheduler regression suite through the CIB reader and the scheduler.

Compares our Transition Summary with crm_simulate's `.summary` for each registered case. Lines are
compared as a multiset after normalising whitespace (crm_simulate pads columns). A case "agrees"
when the multisets are equal; "agrees on actions" when they are equal with the "due to ..." and
"blocked" annotations removed.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from .model.cib import parse_iso_datetime, read_cib
from .scheduler import schedule

__all__ = [
    "CaseResult",
    "Level",
    "expected_summary",
    "first_difference",
    "level",
    "normalise",
    "raise_ratchet",
    "ratchet_regressions",
    "read_ratchet",
    "read_reasons",
    "run_case",
    "run_suite",
    "triage",
]


@dataclass(frozen=True)
class CaseResult:
    name: str
    group: str
    agree: bool
    agree_actions: bool
    expected: tuple[str, ...]
    got: tuple[str, ...]
    error: str = ""
    unsupported: tuple[str, ...] = ()


def normalise(line: str) -> str:
    line = line.strip().lstrip("*").strip()
    line = re.sub(r"\(\s+", "( ", line)
    line = re.sub(r"\s+\)", " )", line)
    return re.sub(r"\s+", " ", line)


def strip_reason(line: str) -> str:
    return re.sub(r"\s+(due to .*|blocked)$", "", line)


def expected_summary(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    out: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("Transition Summary:"):
            inside = True
            continue
        if inside:
            if line.strip() == "" or not line.startswith(" "):
                if out or line.startswith("Executing") or (line and not line.startswith(" ")):
                    break
                continue
            out.append(normalise(line))
    return out


def _date_arg(extra: str) -> float | None:
    """The `-t DATE` of a case's crm_simulate arguments, as epoch seconds."""
    m = re.search(r"-t\s+(\S+(?:\s+\d\d:\d\d:\d\d\S*)?)", extra)
    if not m:
        return None
    text = m.group(1).strip("'\"")
    try:
        return parse_iso_datetime(text).timestamp()
    except ValueError:
        return None


def run_case(root: Path, name: str, group: str = "", extra: str = "") -> CaseResult:
    expected = expected_summary(root / "summary" / f"{name}.summary")
    try:
        given = _date_arg(extra)
        report = read_cib(root / "xml" / f"{name}.xml", given)
        now = given if given is not None else report.execution_date
        if now is None:
            now = time.time()  # crm_simulate's default: the wall clock

        transition = schedule(report.config, report.state, now)
    except Exception as exc:  # the suite must report a crash, not stop on it
        tb = traceback.format_exc(limit=3)
        return CaseResult(
            name, group, False, False, tuple(expected), (), f"{type(exc).__name__}: {exc}\n{tb}"
        )
    got = [normalise(line) for line in transition.summary]
    agree = Counter(got) == Counter(expected)
    agree_actions = Counter(strip_reason(x) for x in got) == Counter(strip_reason(x) for x in expected)
    return CaseResult(
        name, group, agree, agree_actions, tuple(expected), tuple(got), unsupported=report.unsupported
    )


def run_suite(root: Path) -> list[CaseResult]:
    results: list[CaseResult] = []
    with (root / "tests.tsv").open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["test"] == "test" or not (root / "xml" / f"{row['test']}.xml").exists():
                continue
            results.append(run_case(root, row["test"], row["group_label"], row.get("extra_args") or ""))
    return results


class Level(StrEnum):
    """How far a case agrees with crm_simulate: every line ("exact"), or the lines without their
    "due to ..."/"blocked" annotations ("actions")."""

    EXACT = "exact"
    ACTIONS = "actions"


def level(r: CaseResult) -> Level | None:
    if r.agree:
        return Level.EXACT
    if r.agree_actions:
        return Level.ACTIONS
    return None


def _meets(got: Level | None, want: Level) -> bool:
    return got is Level.EXACT or (got is Level.ACTIONS and want is Level.ACTIONS)


def read_ratchet(path: Path) -> dict[str, Level]:
    """The ratchet file: one `CASE<TAB>exact|actions` a line; `#` starts a comment."""
    out: dict[str, Level] = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in {lv.value for lv in Level}:
            raise ValueError(f"{path}:{n}: expected 'CASE exact|actions', got {raw!r}")
        if parts[0] in out:
            raise ValueError(f"{path}:{n}: {parts[0]} listed twice")
        out[parts[0]] = Level(parts[1])
    return out


RATCHET_HEADER = """\
# Pacemaker 2.1.5 scheduler suite cases that agree with crm_simulate today: a change that makes any
# of them agree less fails tests/pacemaker/test_scheduler_suite.py, whatever else improves.
# "exact": every Transition Summary line agrees; "actions": they agree without "due to ..." reasons.
# Add the cases that agree after a change (never automatic in CI, review the diff):
#   PYTHONPATH=src python3 -m paceline.conformance --update-ratchet
"""


def write_ratchet(path: Path, ratchet: dict[str, Level]) -> None:
    body = "".join(f"{name}\t{lv.value}\n" for name, lv in sorted(ratchet.items()))
    path.write_text(RATCHET_HEADER + body)


def ratchet_regressions(
    results: list[CaseResult], ratchet: dict[str, Level]
) -> dict[str, tuple[Level, Level | None]]:
    """Listed cases that agree less than the ratchet says (or are no longer run): name -> (listed, now)."""
    now = {r.name: level(r) for r in results}
    return {name: (want, now.get(name)) for name, want in ratchet.items() if not _meets(now.get(name), want)}


def raise_ratchet(results: list[CaseResult], ratchet: dict[str, Level]) -> dict[str, Level]:
    """The ratchet with every case that agrees now added or raised; nothing is removed or lowered."""
    out = dict(ratchet)
    for r in results:
        lv = level(r)
        if lv is not None and not _meets(out.get(r.name), lv) and (r.name not in out or lv is Level.EXACT):
            out[r.name] = lv
    return out


def read_reasons(path: Path) -> dict[str, str]:
    """Why each disagreeing case disagrees: one `CASE<TAB>reason` a line; `#` starts a comment."""
    out: dict[str, str] = {}
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        name, sep, reason = raw.partition("\t")
        if not sep or not reason.strip():
            raise ValueError(f"{path}:{n}: expected 'CASE<TAB>reason', got {raw!r}")
        out[name.strip()] = reason.strip()
    return out


_NODE = re.compile(r"\( ([^)]*) \)")


def _shape(line: str) -> str:
    """A summary line with resource and node names taken out: its verb, roles and reason kind."""
    verb, _, rest = line.partition(" ")
    m = re.search(r" due to (\S+)", rest)
    tail = f" due to {m.group(1)} ..." if m else (" blocked" if rest.endswith("blocked") else "")
    where = _NODE.search(rest)
    roles = re.findall(r"\b(Promoted|Unpromoted|Started|Stopped)\b", where.group(1)) if where else []
    return f"{verb} {'/'.join(roles)}{tail}".replace("  ", " ")


def first_difference(r: CaseResult) -> str:
    """The first line (sorted) that one side has and the other does not, reduced to its shape."""
    want = Counter(r.expected) - Counter(r.got)
    got = Counter(r.got) - Counter(r.expected)
    if r.error:
        return "crash"
    if want and got:
        return f"want {_shape(min(want))} / got {_shape(min(got))}"
    if want:
        return f"missing {_shape(min(want))}"
    return f"extra {_shape(min(got))}"


def triage(results: list[CaseResult]) -> list[tuple[str, list[str]]]:
    """Disagreeing cases grouped by the shape of their first differing line, largest class first."""
    classes: dict[str, list[str]] = {}
    for r in results:
        if not r.agree:
            sig = first_difference(r) + (" [uses unsupported]" if r.unsupported else "")
            classes.setdefault(sig, []).append(r.name)
    return sorted(classes.items(), key=lambda kv: (-len(kv[1]), kv[0]))


TARGET_GROUPS = (
    "basic",
    "groups",
    "colocation",
    "colocation (basic rsc_dep)",
    "ordering",
    "rules (date + typed comparisons)",
    "rules (node attribute expressions)",
    "target-role",
    "base-score",
    "dates/probes/standby",
    "quorum / no-quorum-policy",
    "node recovery / fencing",
    "node health (#health-*, node-health-strategy)",
    "resource recovery / on-fail",
)
"""The groups issue 2 sets a 90% target for (basic, groups, colocation, ordering, rules,
target-role, base-score, dates/probes/standby, quorum, node, resource and on-fail cases)."""


def why_not(r: CaseResult, reasons: dict[str, str] | None = None) -> str:
    """A short reason for a disagreement: the triaged one, else the unsupported feature the CIB uses."""
    if reasons and r.name in reasons:
        return reasons[r.name]
    if r.error:
        return f"crash: {r.error.splitlines()[0]}"
    if r.unsupported:
        kinds = sorted(
            {u.split(" ")[0] + (" " + u.split(" ")[1] if u.startswith("<") else "") for u in r.unsupported}
        )
        return "uses unsupported: " + ", ".join(kinds)
    return "differs"


def markdown_report(results: list[CaseResult], reasons: dict[str, str] | None = None) -> str:
    """The per-group agreement table and every disagreeing case with its reason."""
    by_group: dict[str, list[CaseResult]] = {}
    for r in results:
        by_group.setdefault(r.group, []).append(r)
    lines = [
        "| group | cases | exact | actions only |",
        "|---|---|---|---|",
    ]
    total = Counter[str]()
    target = Counter[str]()
    for group, rs in sorted(by_group.items()):
        n, a, b = len(rs), sum(r.agree for r in rs), sum(r.agree_actions for r in rs)
        total.update({"n": n, "a": a, "b": b})
        if group in TARGET_GROUPS:
            target.update({"n": n, "a": a, "b": b})
        mark = " (target)" if group in TARGET_GROUPS else ""
        lines.append(f"| {group}{mark} | {n} | {a} ({100 * a / n:.0f}%) | {b} ({100 * b / n:.0f}%) |")
    lines.append(
        f"| **target groups** | {target['n']} | {target['a']} ({100 * target['a'] / target['n']:.1f}%) "
        f"| {target['b']} ({100 * target['b'] / target['n']:.1f}%) |"
    )
    lines.append(
        f"| **all** | {total['n']} | {total['a']} ({100 * total['a'] / total['n']:.1f}%) "
        f"| {total['b']} ({100 * total['b'] / total['n']:.1f}%) |"
    )
    classes = Counter(why_not(r, reasons).split(": ")[0] for r in results if not r.agree)
    lines += ["", "## Disagreements by class", "", "| class | cases |", "|---|---|"]
    lines += [f"| {cls} | {n} |" for cls, n in sorted(classes.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines += ["", "## Cases that disagree, and why", ""]
    for group, rs in sorted(by_group.items()):
        bad = [r for r in rs if not r.agree]
        if not bad:
            continue
        lines.append(f"### {group}")
        lines.append("")
        for r in bad:
            lines.append(f"- `{r.name}`: {why_not(r, reasons)}")
        lines.append("")
    return "\n".join(lines)


def _default_suite() -> Path:
    return Path(__file__).resolve().parents[3] / "shared" / "pacemaker-scheduler"


def _repo_file(*parts: str) -> Path:
    """A file of the source checkout (`tests/pacemaker/...`), found from this module's place."""
    return Path(__file__).resolve().parents[2].joinpath(*parts)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m paceline.conformance",
        description="Run Pacemaker's scheduler regression suite through Paceline's scheduler.",
    )
    parser.add_argument("suite", nargs="?", type=Path, default=_default_suite())
    parser.add_argument("-v", "--verbose", action="store_true", help="print each disagreement's lines")
    parser.add_argument("--markdown", action="store_true", help="print docs/scheduler-conformance.md")
    parser.add_argument(
        "--triage", action="store_true", help="group disagreeing cases by their first differing line"
    )
    parser.add_argument(
        "--ratchet", type=Path, default=_repo_file("tests", "pacemaker", "ratchet.tsv"), help="ratchet file"
    )
    parser.add_argument(
        "--reasons", type=Path, default=_repo_file("tests", "pacemaker", "reasons.tsv"), help="reasons file"
    )
    parser.add_argument(
        "--update-ratchet",
        action="store_true",
        help="add the cases that agree now to the ratchet file (never removes or lowers one); "
        "refuses while a listed case has regressed",
    )
    args = parser.parse_args(argv[1:])
    results = run_suite(args.suite)
    if args.update_ratchet:
        ratchet = read_ratchet(args.ratchet) if args.ratchet.exists() else {}
        lost = ratchet_regressions(results, ratchet)
        if lost:
            for name, (want, got) in sorted(lost.items()):
                print(f"regressed: {name}: listed {want}, now {got or 'disagrees'}", file=sys.stderr)
            return 1
        raised = raise_ratchet(results, ratchet)
        added = sorted(n for n in raised if ratchet.get(n) != raised[n])
        write_ratchet(args.ratchet, raised)
        for name in added:
            print(f"ratchet: {name} {raised[name]}")
        print(f"{len(raised)} cases in {args.ratchet} ({len(added)} added or raised)")
        return 0
    reasons = read_reasons(args.reasons) if args.reasons.exists() else {}
    if args.markdown:
        print(markdown_report(results, reasons))
        return 0
    if args.triage:
        for sig, names in triage(results):
            print(f"{len(names):>3}  {sig}")
            print(f"     {' '.join(names)}")
        return 0
    by_group: dict[str, list[CaseResult]] = {}
    for r in results:
        by_group.setdefault(r.group, []).append(r)
    total = Counter[str]()
    for group, rs in sorted(by_group.items()):
        n = len(rs)
        a = sum(r.agree for r in rs)
        b = sum(r.agree_actions for r in rs)
        c = sum(bool(r.error) for r in rs)
        total.update({"n": n, "a": a, "b": b, "c": c})
        print(f"{group:<70} {a:>3}/{n:<3} exact  {b:>3}/{n:<3} actions  crashes {c}")
        if args.verbose:
            for r in rs:
                if not r.agree:
                    why = r.error.splitlines()[0] if r.error else reasons.get(r.name, "")
                    print(f"   -- {r.name}: {why}")
                    for line in sorted((Counter(r.expected) - Counter(r.got)).elements()):
                        print(f"      want: {line}")
                    for line in sorted((Counter(r.got) - Counter(r.expected)).elements()):
                        print(f"      got:  {line}")
    print(f"TOTAL exact {total['a']}/{total['n']}  actions {total['b']}/{total['n']}  crashes {total['c']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
