"""`paceline simulate`: run the scheduler offline on a YAML configuration or a Pacemaker CIB.

Exit codes (for every command of this CLI):
- 0: done;
- 1: an input file has problems (cannot be read, bad YAML or XML, invalid configuration or
  state): every problem is printed on stderr, one per line, with file, line and key path;
- 2: a bad command line (click's usage errors, a bad --now, an unknown node or resource in
  --node-fail, --op-fail or --explain, CONFIG and --cib together or neither).
Never a traceback for any of these.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import PATH, Command, Exit, argument, flag, option
from .output import format_placement, format_summary, print_lines, print_problems

if TYPE_CHECKING:
    from ..model.cib import CibReport
    from ..model.config import Configuration
    from ..model.state import ClusterState
    from ..scheduler import Transition

__all__ = ["EXIT_INPUT", "EXIT_USAGE", "parse_now", "simulate"]

EXIT_INPUT = 1
EXIT_USAGE = 2


def parse_now(text: str) -> float:
    """Epoch seconds, or a date as crm_simulate's -t takes it (`2026-11-21 10:00:00Z`, `2005-001`)."""
    from ..model.cib import parse_iso_datetime

    t = text.strip()
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", t):
        return float(t)
    return parse_iso_datetime(t).timestamp()


def print_import_notes(path: Path, report: CibReport) -> None:
    """Name on stderr every element of a CIB the import left out (the same for every command)."""
    for what in report.unsupported:
        print(f"warning: {path}: not supported, ignored: {what}", file=sys.stderr)
    for what in report.ignored:
        print(f"note: {path}: ignored: {what}", file=sys.stderr)


def _usage(message: str) -> Exit:
    print(f"paceline simulate: {message}", file=sys.stderr)
    return Exit(EXIT_USAGE)


def _inputs(
    config_path: Path | None, state_path: Path | None, cib_path: Path | None
) -> tuple[Configuration, ClusterState, float | None]:
    """Configuration, state and the CIB's execution date; raises Exit on bad input."""
    from ..model.cib import CibError, read_cib

    if cib_path is not None:
        if config_path is not None or state_path is not None:
            raise _usage("give either CONFIG [--state STATE] or --cib FILE, not both")
        try:
            report = read_cib(cib_path)
        except CibError as exc:
            print_problems([str(exc)])
            raise Exit(EXIT_INPUT) from None
        print_import_notes(cib_path, report)
        return report.config, report.state, report.execution_date
    if config_path is None:
        raise _usage("missing CONFIG (a cluster YAML file) or --cib FILE")
    from ..model.yaml_loader import ConfigError, load_config
    from ..model.yaml_state import load_state, load_state_text

    try:
        config = load_config(config_path)
        if state_path is not None:
            state = load_state(state_path, config)
        else:
            state = load_state_text("{}", "<no state>", config)
    except ConfigError as exc:
        print_problems(exc.errors)
        raise Exit(EXIT_INPUT) from None
    return config, state, None


def _explain_targets(config: Configuration, transition: Transition, rsc: str) -> list[str]:
    """What `--explain RSC` shows: RSC itself when it has scores, else its primitives or instances."""
    known = set(transition.final_scores) | {t.resource for t in transition.scores}
    if rsc in known:
        return [rsc]
    found = config.find(rsc)
    targets: list[str] = []
    for prim in found.primitives() if found is not None else []:
        if prim.id in known:
            targets.append(prim.id)
        else:
            targets += sorted(k for k in known if k.rpartition(":")[0] == prim.id)
    return targets or [rsc]


@click.command("simulate", cls=Command, help="Run the scheduler offline and show the transition.")
@argument("config_path", metavar="CONFIG", help="Cluster configuration (YAML).", type=PATH, required=False)
@option(
    "--state",
    "state_path",
    metavar="STATE",
    type=PATH,
    help="Observed state (YAML); default: all nodes up, nothing running.",
)
@option(
    "--cib",
    "cib_path",
    metavar="FILE.xml",
    type=PATH,
    help="A Pacemaker CIB (configuration and status) instead.",
)
@option(
    "--now",
    "now_text",
    metavar="EPOCH_OR_ISO",
    help="The time to schedule at (default: the CIB's execution-date, else now).",
)
@option("--node-fail", metavar="NODE", multiple=True, help="Fail a node (offline, unclean). Repeatable.")
@option(
    "--op-fail",
    metavar="RSC:OP:NODE[:RC]",
    multiple=True,
    help="Fail an operation (RC default 1). Repeatable.",
)
@option("--explain", "explain_rsc", metavar="RSC", help="Explain RSC's score on each node.")
@flag("--json", "as_json", help="Print only the transition as JSON.")
def simulate(
    config_path: Path | None,
    state_path: Path | None,
    cib_path: Path | None,
    now_text: str | None,
    node_fail: list[str],
    op_fail: list[str],
    explain_rsc: str | None,
    as_json: bool,
) -> None:
    """Show what the scheduler would do: the transition summary and the resulting placement."""
    from ..scheduler import schedule

    config, state, execution_date = _inputs(config_path, state_path, cib_path)
    if now_text is not None:
        try:
            now = parse_now(now_text)
        except ValueError as exc:
            raise _usage(f"--now: {exc}") from None
    else:
        now = execution_date if execution_date is not None else time.time()
    if node_fail or op_fail:  # `paceline.simulate` needs the YAML reader: only when asked for
        from ..simulate import SimulationError, apply_node_fail, apply_op_fail

        try:
            for node in node_fail or []:
                state = apply_node_fail(state, node, config)
            for spec in op_fail or []:
                state = apply_op_fail(state, spec, config, now)
        except SimulationError as exc:
            raise _usage(str(exc)) from None
    if explain_rsc is not None and config.find(explain_rsc) is None:
        raise _usage(f"--explain: unknown resource {explain_rsc!r}")
    transition = schedule(config, state, now)
    for warning in transition.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not state.nodes and any(True for _ in config.primitives()):
        print(
            "note: no nodes: the configuration lists none (nodes:) and the state names none, "
            "so nothing can be placed",
            file=sys.stderr,
        )
    if as_json:
        from ..simulate import transition_to_json

        print(json.dumps(transition_to_json(transition), indent=2))
        return
    lines = format_summary(transition.summary)
    lines += ["", *format_placement(transition.placement)]
    if explain_rsc is not None:
        from ..simulate import explain

        for target in _explain_targets(config, transition, explain_rsc):
            terms = explain(transition, target) or ["(no score terms)"]
            lines += ["", f"Scores for {target}:", *(f"  {t}" for t in terms)]
    print_lines(lines)
