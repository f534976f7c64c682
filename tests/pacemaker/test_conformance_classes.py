"""Classes of disagreement with Pacemaker's regression suite (issue 10, item 7 and the suite's
reason classes), each fixed as a mechanism and checked here on small CIBs of our own: the expected
summary is written here (recorded from crm_simulate 2.1.5) and, where crm_simulate is installed,
checked against it again."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_import_classes import NO_FENCING, check, online, started

from paceline.model.digest import op_digest

DIGEST = op_digest({})


def dummy(rsc: str, meta: str = "") -> str:
    attrs = f'<meta_attributes id="{rsc}-m">{meta}</meta_attributes>' if meta else ""
    return f'<primitive id="{rsc}" class="ocf" provider="heartbeat" type="Dummy">{attrs}</primitive>'


def disabled(rsc: str) -> str:
    return f'<nvpair id="{rsc}-tr" name="target-role" value="Stopped"/>'


def order(first: str, then: str, extra: str = "") -> str:
    return f'<rsc_order id="o-{first}-{then}" first="{first}" then="{then}" {extra}/>'


def cib(
    resources: str, constraints: str, status: str, options: str = NO_FENCING, nodes: str = "n1 n2"
) -> str:
    node_xml = "".join(f'<node id="{i}" uname="{n}"/>' for i, n in enumerate(nodes.split(), 1))
    return (
        '<cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="1" num_updates="0" '
        'admin_epoch="0" have-quorum="1" dc-uuid="1"><configuration><crm_config>'
        f'<cluster_property_set id="o">{options}</cluster_property_set></crm_config>'
        f"<nodes>{node_xml}</nodes><resources>{resources}</resources>"
        f"<constraints>{constraints}</constraints></configuration><status>{status}</status></cib>"
    )


def running(*rscs: str) -> str:
    return "".join(started(r, DIGEST) for r in rscs)


# Reason text: a start made unrunnable by an order names its first "required X start" when that
# first start was itself required when Pacemaker reached the order (the first runs and stops for
# a reason of its own, or it is a clone copy or group member, whose changes are followed at once),
# and "unrunnable X start" otherwise (a lone primitive stopped only by another order; a clone with
# no copy to start).
REASON_CASES = {
    "primitive-first-stops": (
        dummy("C", disabled("C")) + dummy("A"),
        order("C", "A"),
        ["Stop A ( n1 ) due to required C start", "Stop C ( n1 ) due to node availability"],
    ),
    "chain": (
        dummy("C", disabled("C")) + dummy("A") + dummy("B"),
        order("C", "A") + order("A", "B"),
        [
            "Stop A ( n1 ) due to required C start",
            "Stop B ( n1 ) due to unrunnable A start",
            "Stop C ( n1 ) due to node availability",
        ],
    ),
    "clone-first-stops": (
        f'<clone id="K-clone"><meta_attributes id="K-m">{disabled("K-clone")}</meta_attributes>'
        + dummy("K")
        + "</clone>"
        + dummy("A"),
        order("K-clone", "A"),
        ["Stop A ( n1 ) due to unrunnable K-clone running", "Stop K:0 ( n1 ) due to node availability"],
    ),
    "group-then": (
        dummy("C", disabled("C")) + '<group id="G">' + dummy("A") + dummy("B") + dummy("D") + "</group>",
        order("C", "G"),
        [
            "Stop A ( n1 ) due to required C start",
            "Stop B ( n1 ) due to required A stop",
            "Stop C ( n1 ) due to node availability",
            "Stop D ( n1 ) due to required B start",
        ],
    ),
    "group-chain": (
        dummy("C", disabled("C")) + dummy("X") + '<group id="G">' + dummy("A") + dummy("B") + "</group>",
        order("C", "X") + order("X", "G"),
        [
            "Stop A ( n1 ) due to unrunnable X start",
            "Stop B ( n1 ) due to unrunnable X start",
            "Stop C ( n1 ) due to node availability",
            "Stop X ( n1 ) due to required C start",
        ],
    ),
    "clone-chain": (
        dummy("C", disabled("C")) + '<clone id="K-clone">' + dummy("K") + "</clone>" + dummy("A"),
        order("C", "K-clone") + order("K-clone", "A"),
        [
            "Start K:1 ( n2 ) due to unrunnable C start (blocked)",
            "Stop A ( n1 ) due to required K-clone running",
            "Stop C ( n1 ) due to node availability",
            "Stop K:0 ( n1 ) due to required C start",
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(REASON_CASES))
def test_a_blocked_start_names_a_required_first(name: str, tmp_path: Path) -> None:
    resources, constraints, expected = REASON_CASES[name]
    rscs = [r.split('"')[1] for r in resources.split("<primitive id=")[1:]]
    check(cib(resources, constraints, online(1, "n1", running(*rscs)) + online(2, "n2")), expected, tmp_path)


# Restart propagation along a Mandatory order: only the forward order carries a restart (the
# first's start, required, makes the then's start required); a first that migrates live carries
# none, and the inverse order (then's stop before first's stop) does not make the then stop.
def _moving_a(allow_migrate: bool) -> str:
    meta = '<nvpair id="A-am" name="allow-migrate" value="true"/>' if allow_migrate else ""
    resources = dummy("A", meta) + dummy("B")
    constraints = (
        order("A", "B")
        + '<rsc_location id="l-A" rsc="A" node="n2" score="100"/>'
        + '<rsc_location id="l-B" rsc="B" node="n2" score="100"/>'
    )
    status = online(1, "n1", running("A")) + online(2, "n2", running("B"))
    return cib(resources, constraints, status)


def test_a_first_that_migrates_restarts_nothing_after_it(tmp_path: Path) -> None:
    check(_moving_a(True), ["Migrate A ( n1 -> n2 )"], tmp_path)


def test_a_first_that_moves_restarts_what_follows_it(tmp_path: Path) -> None:
    check(_moving_a(False), ["Move A ( n1 -> n2 )", "Restart B ( n2 ) due to required A start"], tmp_path)
