"""Pacemaker 2.1.5's scheduler regression suite, run through our CIB reader and scheduler.

Every registered case must be read and scheduled without an exception (unsupported features
answer with a clear message, never a crash), and each group must agree with crm_simulate's
Transition Summary on at least as many cases as it did when the floor was last raised. The floor
only ever goes up: raise it when the scheduler learns something (`python3 -m paceline.conformance`
prints the current numbers).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from paceline.conformance import CaseResult, run_suite

SUITE = Path(__file__).resolve().parents[3] / "shared" / "pacemaker-scheduler"

# Exact-agreement floor per group (cases whose Transition Summary equals crm_simulate's).
FLOOR = {
    "OCF degraded remap": 2,
    "agent not installed": 1,
    "base-score": 1,
    "basic": 9,
    "clone interleave": 7,
    "clone-min": 12,
    "clones": 31,
    "colocation": 23,
    "colocation (basic rsc_dep)": 9,
    "containers & bundles": 2,
    "dates/probes/standby": 14,
    "groups": 22,
    "history parsing": 1,
    "maintenance mode": 4,
    "migration (live)": 41,
    "misc regressions (OSDL/LF/CL bugs, stonith, failcount, on-fail, symmetrical ordering)": 74,
    "monitor scheduling": 4,
    "multiply active": 1,
    "node health (#health-*, node-health-strategy)": 16,
    "node recovery / fencing": 14,
    "notifications": 5,
    "op/rsc defaults": 3,
    "ordering": 21,
    "ordering: require-all / one-or-more": 18,
    "orphans": 3,
    "params/reload/digests": 10,
    "promotable (master/slave)": 46,
    "quorum / no-quorum-policy": 10,
    "remote nodes (baremetal)": 2,
    "resource recovery / on-fail": 17,
    "resource sets": 5,
    "rules (date + typed comparisons)": 19,
    "rules (node attribute expressions)": 9,
    "stop-all-resources": 1,
    "stopped-role monitors": 22,
    "target-role": 3,
    "templates & tags": 17,
    "tickets: clone": 24,
    "tickets: group": 24,
    "tickets: primitive": 24,
    "tickets: promotable": 22,
    "tickets: resource sets": 16,
    "unmanaged / is-managed": 9,
    "utilization: colocated": 4,
    "utilization: ordering": 4,
    "utilization: placement-strategy": 3,
    "utilization: placement-strategy vs stickiness/priority": 4,
}


@pytest.fixture(scope="module")
def results() -> list[CaseResult]:
    assert (SUITE / "tests.tsv").exists(), f"the scheduler suite is missing: {SUITE}"
    return run_suite(SUITE)


def test_every_registered_case_is_run(results: list[CaseResult]) -> None:
    assert len(results) == 798


def test_no_case_crashes(results: list[CaseResult]) -> None:
    crashed = {r.name: r.error.splitlines()[0] for r in results if r.error}
    assert crashed == {}


def test_each_group_agrees_at_least_as_often_as_before(results: list[CaseResult]) -> None:
    agree: dict[str, int] = defaultdict(int)
    for r in results:
        agree[r.group] += r.agree
    below = {g: (agree[g], floor) for g, floor in FLOOR.items() if agree[g] < floor}
    assert below == {}, "groups below their floor (got, floor)"


def test_agreement_means_the_same_lines(results: list[CaseResult]) -> None:
    """The comparison itself: a case that agrees has our lines exactly, as a multiset."""
    agreeing = [r for r in results if r.agree]
    assert agreeing
    for r in agreeing:
        assert sorted(r.got) == sorted(r.expected), r.name
    disagreeing = [r for r in results if not r.agree and not r.error]
    assert all(sorted(r.got) != sorted(r.expected) for r in disagreeing)
