"""What the VIP observer counts as two copies (from its recorded answers; no namespace needed)."""

from __future__ import annotations

from paceline.demo.observe import Answer, VipObserver


def _obs(*answers: tuple[str | None, int, int]) -> VipObserver:
    o = VipObserver("unused", "192.0.2.50")
    o.changes = [Answer(float(i), n, t, p) for i, (n, t, p) in enumerate(answers)]
    return o


def test_a_move_with_an_outage_between_is_no_violation() -> None:
    assert _obs(("n1", 5, 100), (None, 0, 0), ("n2", 9, 200), ("n2", 9, 200)).violations() == []


def test_a_replaced_copy_answering_again_is_a_violation_even_under_the_same_token() -> None:
    v = _obs(("n1", 5, 100), ("n2", 5, 200), ("n1", 5, 100)).violations()
    assert len(v) == 1 and "n1 pid 100 answered again" in v[0]


def test_a_token_going_down_is_a_violation() -> None:
    v = _obs(("n2", 9, 200), ("n1", 5, 300)).violations()
    assert len(v) == 1 and "token went down to 5" in v[0]
