"""The relative silence rule: only a node whose beats stop while the observer's keep arriving."""

from __future__ import annotations

from paceline.model.heartbeats import HeartbeatPolicy

P = HeartbeatPolicy(interval=0.1, misses=3)


def test_a_node_whose_beats_stop_is_silent_once_it_lags_more_than_three_and_a_half_intervals() -> None:
    assert P.silent({"n1": 10.0, "n2": 9.7}, "n1") == {}
    lagging = P.silent({"n1": 10.0, "n2": 9.6}, "n1")
    assert set(lagging) == {"n2"} and abs(lagging["n2"] - 0.4) < 1e-9


def test_a_store_stall_silences_nobody_as_the_observers_own_beats_stall_too() -> None:
    # nothing arrived for 2 s: every arrival, the observer's own included, is equally old
    assert P.silent({"n1": 8.0, "n2": 7.95, "n3": 7.98}, "n1") == {}


def test_an_observer_without_its_own_beat_judges_nobody_and_unseen_nodes_are_not_judged() -> None:
    assert P.silent({"n2": 1.0, "n3": 9.0}, "n1") == {}
    assert P.silent({"n1": 9.0}, "n1") == {}


def test_the_limit_follows_interval_and_misses() -> None:
    assert HeartbeatPolicy(interval=0.05, misses=5).limit == 0.275


def test_a_node_that_just_joined_is_not_judged_until_its_beats_flowed_for_the_grace() -> None:
    arrivals = {"n1": 10.0, "n2": 9.0}
    assert P.silent(arrivals, "n1", {"n2": 8.0}) == {}  # beat for 1 s only, then stopped
    assert set(P.silent(arrivals, "n1", {"n2": 6.5})) == {"n2"}  # beat for 2.5 s, then stopped
