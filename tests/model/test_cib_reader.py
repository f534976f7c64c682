"""The CIB reader: clear errors, named unsupported features, membership as Pacemaker decides it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paceline.model import Clone, Group, Role
from paceline.model.cib import CibError, CibReport, read_cib, read_cib_text

CIB = """<cib have-quorum="1" validate-with="pacemaker-3.7">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o1" name="stonith-enabled" value="true"/>
    </cluster_property_set></crm_config>
    <nodes>
      <node id="1" uname="n1"/><node id="2" uname="n2"/><node id="3" uname="n3"/>
    </nodes>
    <resources>
      <primitive id="fence" class="stonith" type="fence_dummy"/>
      <group id="g"><primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/>
        <primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/></group>
      <clone id="c"><meta_attributes id="cm">
        <nvpair id="cm1" name="promotable" value="true"/></meta_attributes>
        <primitive id="s" class="ocf" provider="pacemaker" type="Stateful"/></clone>
      <bundle id="web-bundle"/>
    </resources>
    <constraints>
      <rsc_location id="l1" rsc="g" node="n1" score="100"/>
      <rsc_colocation id="c1" rsc="g" with-rsc="c" with-rsc-role="Master" score="INFINITY"/>
    </constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources><lrm_resource id="a" class="ocf" provider="heartbeat" type="Dummy">
        <lrm_rsc_op id="a_monitor_10000" operation="monitor" interval="10000" rc-code="0" op-status="0"
          call-id="3" transition-key="1:1:0:x"/>
      </lrm_resource></lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="n2" in_ccm="false" crmd="offline" join="down" expected="member"/>
  </status>
</cib>"""


def test_configuration_and_status_become_the_model() -> None:
    report = read_cib_text(CIB)
    kinds = {r.id: type(r) for r in report.config.resources}
    assert kinds["g"] is Group and kinds["c"] is Clone
    clone = report.config.find("c")
    assert isinstance(clone, Clone) and clone.promotable
    assert report.config.colocations[0].with_role is Role.PROMOTED  # legacy "Master" read as Promoted
    rec = report.state.history[0]
    assert (rec.resource, rec.task, rec.interval_ms, rec.expected_rc) == ("a", "monitor", 10_000, 0)


def test_membership_follows_pacemaker() -> None:
    nodes = {n.name: n for n in read_cib_text(CIB).state.nodes}
    assert nodes["n1"].online and not nodes["n1"].unclean
    assert not nodes["n2"].online and nodes["n2"].unclean
    assert nodes["n2"].unclean_reason == "peer is no longer part of the cluster"
    # never seen, fencing on: fenced at start-up
    assert nodes["n3"].unclean and nodes["n3"].unclean_reason == "node is unclean"


def test_unsupported_elements_are_named() -> None:
    report = read_cib_text(CIB)
    assert any("<bundle> resource web-bundle" in u for u in report.unsupported)


def test_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.xml"
    bad.write_text("<cib><configuration>")
    with pytest.raises(CibError, match=re.escape("broken.xml: not well-formed XML")):
        read_cib(bad)
    other = tmp_path / "other.xml"
    other.write_text("<notcib/>")
    with pytest.raises(CibError, match=re.escape("other.xml: root element is <notcib>, expected <cib>")):
        read_cib(other)
    with pytest.raises(CibError, match=re.escape("missing.xml: cannot read")):
        read_cib(tmp_path / "missing.xml")


def test_parameters_chosen_per_node_are_named_not_guessed() -> None:
    """A parameter set whose rule reads node attributes differs per node: named, and left out."""
    per_node = CIB.replace(
        '<primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/>',
        '<primitive id="a" class="ocf" provider="heartbeat" type="Dummy">'
        '<instance_attributes id="ia1" score="10">'
        '<nvpair id="p1" name="fake" value="1"/></instance_attributes>'
        '<instance_attributes id="ia2" score="20"><rule id="r" score="INFINITY">'
        '<expression id="e" attribute="#uname" operation="eq" value="n1"/></rule>'
        '<nvpair id="p2" name="fake" value="2"/></instance_attributes></primitive>',
    )
    report = read_cib_text(per_node, now=0.0)
    prim = next(p for p in report.config.primitives() if p.id == "a")
    assert prim.params == {"fake": "1"}
    assert any("node-attribute rule (set ia2)" in u for u in report.unsupported)


SUITE_XML = Path(__file__).resolve().parents[3] / "shared" / "pacemaker-scheduler" / "xml"


@pytest.mark.parametrize("case", ["735", "restart-with-extra-op-params", "params-2"])
def test_what_the_reader_keeps_survives_the_writer(case: str) -> None:
    """History (agent, transition, recorded digests) and per-operation parameters round-trip.
    (A record without a digest gets the one its definition gives, so crm_simulate sees no change.)"""
    from paceline.model.cib_writer import write_cib

    first = read_cib(SUITE_XML / f"{case}.xml")
    again = read_cib_text(write_cib(first.config, first.state, 0).decode())

    def history(report: CibReport) -> list[tuple[object, ...]]:
        keys = ((h.resource, h.node, h.task, h.call_id, h.transition, h.agent) for h in report.state.history)
        return sorted(keys)

    def digests(report: CibReport) -> set[tuple[object, ...]]:
        return {(h.resource, h.node, h.task, h.call_id, h.op_digest) for h in report.state.history}

    assert history(again) == history(first)
    assert {d for d in digests(first) if d[-1]} <= digests(again)
    ops = {p.id: [(o.name, dict(o.params)) for o in p.ops] for p in first.config.primitives()}
    assert {p.id: [(o.name, dict(o.params)) for o in p.ops] for p in again.config.primitives()} == ops
