"""Pacemaker 2.1.5's scheduler regression suite, run through our CIB reader and scheduler.

Every registered case must be read and scheduled without an exception (unsupported features
answer with a clear message, never a crash), and every case listed in `ratchet.tsv` must agree with
crm_simulate's Transition Summary at least as well as the file says (exactly, or on actions): one
case lost fails, however many others start agreeing. Newly agreeing cases are added by hand
(`PYTHONPATH=src python3 -m paceline.conformance --update-ratchet`, then review the diff), never
by CI. Every case that disagrees has its reason in `reasons.tsv` (shown in
docs/scheduler-conformance.md).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from paceline.conformance import (
    CaseResult,
    Level,
    expected_summary,
    first_difference,
    level,
    raise_ratchet,
    ratchet_regressions,
    read_ratchet,
    read_reasons,
    run_case,
    run_suite,
)

SUITE = Path(__file__).resolve().parents[3] / "shared" / "pacemaker-scheduler"
HERE = Path(__file__).resolve().parent
RATCHET = HERE / "ratchet.tsv"
REASONS = HERE / "reasons.tsv"


@pytest.fixture(scope="module")
def results() -> list[CaseResult]:
    assert (SUITE / "tests.tsv").exists(), f"the scheduler suite is missing: {SUITE}"
    return run_suite(SUITE)


def test_every_registered_case_is_run(results: list[CaseResult]) -> None:
    assert len(results) == 798


def test_no_case_crashes(results: list[CaseResult]) -> None:
    crashed = {r.name: r.error.splitlines()[0] for r in results if r.error}
    assert crashed == {}


def test_no_case_in_the_ratchet_agrees_less(results: list[CaseResult]) -> None:
    lost = ratchet_regressions(results, read_ratchet(RATCHET))
    detail = {
        name: (want.value, got.value if got else "disagrees", first_difference(r))
        for r in results
        for name, (want, got) in lost.items()
        if r.name == name
    }
    assert detail == {}, "cases that agreed and no longer do (listed, now, first difference)"


def test_the_ratchet_names_registered_cases_only() -> None:
    with (SUITE / "tests.tsv").open() as fh:
        registered = {row["test"] for row in csv.DictReader(fh, delimiter="\t")}
    assert set(read_ratchet(RATCHET)) - registered == set()


def test_every_disagreeing_case_has_a_reason(results: list[CaseResult]) -> None:
    reasons = read_reasons(REASONS)
    missing = sorted(r.name for r in results if not r.agree and r.name not in reasons)
    assert missing == [], "add each to tests/pacemaker/reasons.tsv (see --triage)"


# The comparison itself, on inputs whose answer is known independently of the code under test.


def test_summary_reader_reads_the_file_as_written() -> None:
    """rec-node-13.summary, read by eye: two lines, the padding collapsed, the fence reason kept."""
    assert expected_summary(SUITE / "summary" / "rec-node-13.summary") == [
        "Fence (reboot) c001n04 'ocf_msdummy:6 failed there'",
        "Stop ocf_msdummy:6 ( Unpromoted c001n04 ) due to node availability",
    ]


def _case_with_summary(tmp_path: Path, name: str, edit: str, to: str) -> CaseResult:
    """Case `name` run against a copy of its .summary in which `edit` is replaced by `to`."""
    (tmp_path / "xml").mkdir()
    (tmp_path / "summary").mkdir()
    shutil.copy(SUITE / "xml" / f"{name}.xml", tmp_path / "xml")
    text = (SUITE / "summary" / f"{name}.summary").read_text()
    assert edit in text
    (tmp_path / "summary" / f"{name}.summary").write_text(text.replace(edit, to, 1))
    return run_case(tmp_path, name)


def test_the_unchanged_case_agrees(tmp_path: Path) -> None:
    r = _case_with_summary(tmp_path, "rec-node-13", "c001n04 )", "c001n04 )")
    assert (r.agree, r.agree_actions) == (True, True)


def test_a_different_node_disagrees(tmp_path: Path) -> None:
    r = _case_with_summary(tmp_path, "rec-node-13", "( Unpromoted c001n04 )", "( Unpromoted c001n03 )")
    assert (r.agree, r.agree_actions) == (False, False)


def test_a_different_reason_agrees_on_actions_only(tmp_path: Path) -> None:
    r = _case_with_summary(tmp_path, "rec-node-13", "due to node availability", "due to quorum freeze")
    assert (r.agree, r.agree_actions) == (False, True)


def test_a_repeated_line_disagrees(tmp_path: Path) -> None:
    """Lines are a multiset: the same line twice is not the same line once."""
    line = "  * Stop       ocf_msdummy:6     ( Unpromoted c001n04 )  due to node availability\n"
    r = _case_with_summary(tmp_path, "rec-node-13", line, line + line)
    assert (r.agree, r.agree_actions) == (False, False)


def test_padding_does_not_matter(tmp_path: Path) -> None:
    r = _case_with_summary(
        tmp_path, "rec-node-13", "( Unpromoted c001n04 )", "(   Unpromoted    c001n04     )"
    )
    assert (r.agree, r.agree_actions) == (True, True)


# The ratchet's rules, on made-up results.


def _r(name: str, agree: bool, actions: bool) -> CaseResult:
    return CaseResult(name, "g", agree, actions, (), ())


def test_ratchet_fails_on_one_lost_case_whatever_else_improves() -> None:
    ratchet = {"a": Level.EXACT, "b": Level.ACTIONS, "c": Level.EXACT}
    now = [_r("a", True, True), _r("b", False, False), _r("c", False, True), _r("d", True, True)]
    assert ratchet_regressions(now, ratchet) == {
        "b": (Level.ACTIONS, None),
        "c": (Level.EXACT, Level.ACTIONS),
    }
    gone = {"gone": Level.ACTIONS}
    assert ratchet_regressions([_r("a", True, True)], gone) == {"gone": (Level.ACTIONS, None)}


def test_ratchet_only_rises() -> None:
    ratchet = {"a": Level.EXACT, "b": Level.ACTIONS}
    now = [_r("a", False, True), _r("b", True, True), _r("c", False, True), _r("d", False, False)]
    assert raise_ratchet(now, ratchet) == {"a": Level.EXACT, "b": Level.EXACT, "c": Level.ACTIONS}
    assert level(_r("x", False, False)) is None


def test_ratchet_file_is_strict(tmp_path: Path) -> None:
    bad = tmp_path / "r.tsv"
    bad.write_text("a\texact\na\tactions\n")
    with pytest.raises(ValueError, match="listed twice"):
        read_ratchet(bad)
    bad.write_text("a\tnearly\n")
    with pytest.raises(ValueError, match="expected"):
        read_ratchet(bad)
