"""Classes of disagreement found importing real clusters' CIBs (issue 10, item 8), each on a small
CIB of our own whose answer crm_simulate gives: the expected summary is written here (recorded
from crm_simulate 2.1.5) and, where crm_simulate is installed, checked against it again."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from paceline.conformance import normalise
from paceline.model.cib import read_cib_text
from paceline.model.digest import op_digest
from paceline.scheduler import schedule

NOW = 1_700_000_000.0
NOW_TEXT = "2023-11-14 22:13:20Z"


NO_FENCING = '<nvpair id="o1" name="stonith-enabled" value="false"/>'


def cib(resources: str, status: str = "", options: str = NO_FENCING, nodes: str = "n1 n2") -> str:
    node_xml = "".join(f'<node id="{i}" uname="{n}"/>' for i, n in enumerate(nodes.split(), 1))
    return (
        '<cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="1" num_updates="0" '
        'admin_epoch="0" have-quorum="1" dc-uuid="1"><configuration><crm_config>'
        f'<cluster_property_set id="o">{options}</cluster_property_set></crm_config>'
        f"<nodes>{node_xml}</nodes><resources>{resources}</resources><constraints/></configuration>"
        f"<status>{status}</status></cib>"
    )


def online(node_id: int, name: str, lrm: str = "") -> str:
    return (
        f'<node_state id="{node_id}" uname="{name}" in_ccm="true" crmd="online" join="member" '
        f'expected="member"><lrm id="{node_id}"><lrm_resources>{lrm}</lrm_resources></lrm></node_state>'
    )


def started(rsc: str, digest: str, agent: str = 'class="ocf" provider="heartbeat" type="Dummy"') -> str:
    """`rsc` started (and so running) with parameters whose digest Pacemaker recorded as `digest`."""
    key = "1:1:0:6d6b3c39-0d6b-4a9b-b7ad-5b5d5d5d5d5d"
    return (
        f'<lrm_resource id="{rsc}" {agent}><lrm_rsc_op id="{rsc}_last_0" operation_key="{rsc}_start_0" '
        f'operation="start" crm-debug-origin="test" crm_feature_set="3.16.2" transition-key="{key}" '
        f'transition-magic="0:0;{key}" call-id="2" rc-code="0" op-status="0" interval="0" '
        f'last-rc-change="{int(NOW) - 60}" exec-time="10" queue-time="0" op-digest="{digest}"/>'
        "</lrm_resource>"
    )


def ours(text: str) -> list[str]:
    report = read_cib_text(text)
    return sorted(normalise(line) for line in schedule(report.config, report.state, NOW).summary)


def theirs(text: str, tmp_path: Path) -> list[str] | None:
    tool = shutil.which("crm_simulate") or (
        "/usr/sbin/crm_simulate" if Path("/usr/sbin/crm_simulate").exists() else None
    )
    if tool is None:
        return None
    path = tmp_path / "cib.xml"
    path.write_text(text)
    out = subprocess.run(
        [tool, "-x", str(path), "-R", "-t", NOW_TEXT], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    block = out.split("Transition Summary:\n", 1)[1].split("\nExecuting", 1)[0]
    return sorted(normalise(line) for line in block.splitlines() if line.strip().startswith("*"))


def check(text: str, expected: list[str], tmp_path: Path) -> None:
    oracle = theirs(text, tmp_path)
    if oracle is not None:
        assert oracle == sorted(expected), "crm_simulate no longer says what this test records"
    assert ours(text) == sorted(expected)


# op_digest: a value containing `"` is written `&quot;` (and `'` as `&apos;`), not single-quoted.
JSON_POLICY = (
    '<primitive id="r" class="ocf" provider="heartbeat" type="Dummy"><instance_attributes id="r-ia">'
    '<nvpair id="r-p" name="policy" value="{&quot;ha-mode&quot;: &quot;all&quot;, &apos;x&apos;: 1}"/>'
    "</instance_attributes></primitive>"
)
JSON_POLICY_DIGEST = "2f45ae899aebfa58182793dda5bca677"  # crm_resource --digests -r r -N n1


def test_a_json_parameter_is_not_a_definition_change(tmp_path: Path) -> None:
    text = cib(JSON_POLICY, online(1, "n1", started("r", JSON_POLICY_DIGEST)) + online(2, "n2"))
    check(text, [], tmp_path)


def test_a_json_parameter_that_did_change_is_one(tmp_path: Path) -> None:
    """The same CIB with the digest of other parameters: the change is still seen (the test can fail)."""
    text = cib(JSON_POLICY, online(1, "n1", started("r", "0" * 32)) + online(2, "n2"))
    check(text, ["Restart r ( n1 ) due to resource definition change"], tmp_path)


# A clone's (and a group's) own instance_attributes are part of its instances' parameters.
CLONE_PARAMS = (
    '<clone id="c"><instance_attributes id="c-ia"><nvpair id="c-p1" name="shared" value="from-clone"/>'
    '<nvpair id="c-p2" name="own" value="clone-loses"/></instance_attributes>'
    '<group id="g"><instance_attributes id="g-ia"><nvpair id="g-p1" name="grp" value="from-group"/>'
    '</instance_attributes><primitive id="r" class="ocf" provider="heartbeat" type="Dummy">'
    '<instance_attributes id="r-ia"><nvpair id="r-p1" name="own" value="mine"/></instance_attributes>'
    "</primitive></group></clone>"
)
CLONE_PARAMS_DIGEST = "13b1f9687e78209a723b7cc4a3532c40"  # crm_resource --digests -r r:0 -N n1


def test_a_clones_parameters_reach_its_instances() -> None:
    report = read_cib_text(cib(CLONE_PARAMS))
    (clone,) = report.config.resources
    assert dict(clone.child.members[0].params) == {"grp": "from-group", "own": "mine", "shared": "from-clone"}


def test_a_clones_parameters_are_not_a_definition_change(tmp_path: Path) -> None:
    text = cib(
        CLONE_PARAMS,
        online(1, "n1", started("r", CLONE_PARAMS_DIGEST))
        + online(2, "n2", started("r", CLONE_PARAMS_DIGEST)),
    )
    check(text, [], tmp_path)


# Nothing can fence (no device, no watchdog fencing): Pacemaker plans no fence of a node it has
# never seen (and, fencing being required, leaves every resource alone).
FENCING_ON = '<nvpair id="o1" name="stonith-enabled" value="true"/>'
DUMMY = '<primitive id="r" class="ocf" provider="heartbeat" type="Dummy"/>'
DEVICE = '<primitive id="st" class="stonith" type="fence_dummy"/>'


@pytest.mark.parametrize(
    ("options", "resources", "expected"),
    [
        pytest.param(FENCING_ON, DUMMY, [], id="no-device"),
        pytest.param(
            FENCING_ON + '<nvpair id="o2" name="stonith-watchdog-timeout" value="10"/>',
            DUMMY,
            [],
            id="watchdog-timeout-without-have-watchdog",
        ),
        pytest.param(
            FENCING_ON + '<nvpair id="o2" name="have-watchdog" value="true"/>',
            DUMMY,
            ["Fence (reboot) n2 'node is unclean'", "Start r ( n1 )"],
            id="have-watchdog",
        ),
        pytest.param(
            FENCING_ON,
            DUMMY + DEVICE,
            ["Fence (reboot) n2 'node is unclean'", "Start r ( n1 )", "Start st ( n1 )"],
            id="device",
        ),
    ],
)
def test_a_fence_is_planned_only_when_something_can_fence(
    options: str, resources: str, expected: list[str], tmp_path: Path
) -> None:
    text = cib(resources, online(1, "n1"), options=options)
    check(text, expected, tmp_path)


# Orders on stop actions carry a restart as Pacemaker's do: a symmetrical Mandatory order makes the
# then-action required when the first's is (implies-then), whatever the two actions; an
# asymmetrical, Optional or Serialize order carries nothing. A restarts (its parameters changed).
A_CHANGED = (
    '<primitive id="A" class="ocf" provider="heartbeat" type="Dummy"><instance_attributes id="A-ia">'
    '<nvpair id="A-p" name="x" value="2"/></instance_attributes></primitive>'
    '<primitive id="B" class="ocf" provider="heartbeat" type="Dummy"/>'
)
A_RESTART = "Restart A ( n1 ) due to resource definition change"
B_CARRIED = {
    ("stop", "stop"): "Restart B ( n1 )",
    ("stop", "start"): "Restart B ( n1 ) due to required A stop",
    ("start", "start"): "Restart B ( n1 ) due to required A start",
    ("start", "stop"): "Restart B ( n1 )",
}


@pytest.mark.parametrize(("first", "then"), sorted(B_CARRIED))
@pytest.mark.parametrize("kind", ["Mandatory", "Optional", "Serialize"])
@pytest.mark.parametrize("symmetrical", ["true", "false"])
def test_orders_carry_a_restart_as_pacemakers_do(
    first: str, then: str, kind: str, symmetrical: str, tmp_path: Path
) -> None:
    digest = op_digest({})
    status = online(1, "n1", started("A", digest) + started("B", digest))
    order = (
        f'<rsc_order id="ord" first="A" first-action="{first}" then="B" then-action="{then}" '
        f'kind="{kind}" symmetrical="{symmetrical}"/>'
    )
    text = cib(A_CHANGED, status, nodes="n1").replace("<constraints/>", f"<constraints>{order}</constraints>")
    carried = kind == "Mandatory" and symmetrical == "true"
    check(text, [A_RESTART, B_CARRIED[(first, then)]] if carried else [A_RESTART], tmp_path)


# Orphan clone copies: a globally-unique copy whose number is not configured (any more) keeps the
# number it has (`dlm:9`) and is stopped; anonymous copies are renumbered by discovery.
def _dlm_clone(clone_max: int, unique: bool) -> str:
    return (
        '<clone id="dlm-clone"><meta_attributes id="cm">'
        f'<nvpair id="cm1" name="clone-max" value="{clone_max}"/>'
        f'<nvpair id="cm2" name="globally-unique" value="{str(unique).lower()}"/></meta_attributes>'
        '<primitive id="dlm" class="ocf" provider="heartbeat" type="Dummy"/></clone>'
    )


def _stop(rsc: str, node: str) -> str:
    return f"Stop {rsc} ( {node} ) due to node availability"


@pytest.mark.parametrize(
    ("clone_max", "unique", "running", "expected"),
    [
        pytest.param(
            2, True, {"n1": ["dlm:0"], "n2": ["dlm:1"], "n3": ["dlm:9"]}, [_stop("dlm:9", "n3")], id="u2"
        ),
        pytest.param(
            2,
            True,
            {"n1": ["dlm:5"], "n2": ["dlm:7"], "n3": ["dlm:9"]},
            [
                "Start dlm:0 ( n1 )",
                "Start dlm:1 ( n2 )",
                _stop("dlm:5", "n1"),
                _stop("dlm:7", "n2"),
                _stop("dlm:9", "n3"),
            ],
            id="u2-none-configured",
        ),
        pytest.param(
            0,
            True,
            {"n1": ["dlm:5"], "n2": ["dlm:7"], "n3": ["dlm:9"]},
            [_stop("dlm:5", "n1"), _stop("dlm:7", "n2"), _stop("dlm:9", "n3")],
            id="u0",
        ),
        pytest.param(
            3,
            True,
            {"n1": ["dlm:0", "dlm:9"], "n2": [], "n3": []},
            ["Start dlm:1 ( n2 )", "Start dlm:2 ( n3 )", _stop("dlm:9", "n1")],
            id="u3-two-on-one-node",
        ),
        pytest.param(
            2, False, {"n1": ["dlm:0"], "n2": ["dlm:1"], "n3": ["dlm:9"]}, [_stop("dlm:2", "n3")], id="anon"
        ),
    ],
)
def test_orphan_clone_copies_keep_their_number(
    clone_max: int, unique: bool, running: dict[str, list[str]], expected: list[str], tmp_path: Path
) -> None:
    digest = op_digest({})
    status = "".join(
        online(i, node, "".join(started(r, digest) for r in rscs))
        for i, (node, rscs) in enumerate(running.items(), 1)
    )
    check(cib(_dlm_clone(clone_max, unique), status, nodes="n1 n2 n3"), expected, tmp_path)


# Unknown means hands off: what uses a bundle or a remote/guest node, and what depends on it, is
# left as it is (unmanaged) and reported; the rest of the cluster is still scheduled.
def _remote_state(node_id: int, name: str, lrm: str) -> str:
    return (
        f'<node_state id="{name}" uname="{name}" remote_node="true" in_ccm="true" crmd="online" '
        f'join="member" expected="member"><lrm id="{name}"><lrm_resources>{lrm}</lrm_resources></lrm>'
        "</node_state>"
    )


def _plan(text: str) -> tuple[list[str], tuple[str, ...]]:
    report = read_cib_text(text)
    transition = schedule(report.config, report.state, NOW)
    return sorted(normalise(line) for line in transition.summary), transition.warnings


BUNDLE = (
    '<bundle id="web"><docker image="pcmk:httpd" replicas="1"/>'
    '<primitive id="httpd" class="ocf" provider="heartbeat" type="apache"/></bundle>'
    '<primitive id="app" class="ocf" provider="heartbeat" type="Dummy"/>'
    '<primitive id="other" class="ocf" provider="heartbeat" type="Dummy"/>'
)
BUNDLE_CONSTRAINTS = (
    '<rsc_colocation id="app-with-web" rsc="app" with-rsc="web" score="INFINITY"/>'
    '<rsc_order id="web-then-app" first="web" then="app"/>'
)


def test_a_healthy_bundle_and_what_depends_on_it_are_left_alone() -> None:
    digest = op_digest({})
    docker = 'class="ocf" provider="heartbeat" type="docker"'
    status = (
        online(1, "n1", started("web-docker-0", digest, docker) + started("app", digest))
        + online(2, "n2")
        + _remote_state(
            3, "web-0", started("httpd", digest, 'class="ocf" provider="heartbeat" type="apache"')
        )
    )
    text = cib(BUNDLE, status).replace("<constraints/>", f"<constraints>{BUNDLE_CONSTRAINTS}</constraints>")
    summary, warnings = _plan(text)
    # Before: the bundle's container was an orphan to stop, and app stopped with it.
    assert [line for line in summary if not line.startswith("Start other")] == []
    assert len(summary) == 1
    left = " ".join(warnings)
    for rsc in ("web-docker-0", "app"):
        assert f"{rsc} is left as it is" in left


def test_a_resource_running_on_a_remote_node_is_not_started_again() -> None:
    digest = op_digest({})
    resources = (
        '<primitive id="r1" class="ocf" provider="pacemaker" type="remote"/>'
        '<primitive id="db" class="ocf" provider="heartbeat" type="Dummy"/>'
        '<primitive id="web" class="ocf" provider="heartbeat" type="Dummy"/>'
    )
    constraints = '<rsc_colocation id="web-with-db" rsc="web" with-rsc="db" score="INFINITY"/>'
    status = (
        online(1, "n1", started("r1", digest, 'class="ocf" provider="pacemaker" type="remote"'))
        + online(2, "n2")
        + _remote_state(3, "r1", started("db", digest) + started("web", digest))
    )
    text = cib(resources, status).replace(
        '<node id="2" uname="n2"/>', '<node id="2" uname="n2"/><node id="r1" uname="r1" type="remote"/>'
    )
    text = text.replace("<constraints/>", f"<constraints>{constraints}</constraints>")
    summary, warnings = _plan(text)
    assert summary == []  # never a second copy of what runs on r1, nor a stop of it
    left = " ".join(warnings)
    assert "db is left as it is" in left
    assert "web is left as it is" in left
