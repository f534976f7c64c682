"""A CIB imported into the YAML format: Pacemaker's internal properties are accepted (and said to
be ignored), nothing is dropped without a word, and operations carry no importer-made meta."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from paceline.cli.main import app
from paceline.model.cib import read_cib
from paceline.model.yaml_loader import Severity, check_config_text, dump_config

SUITE = Path("/work/shared/pacemaker-scheduler/xml")

CIB = """<cib epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config><cluster_property_set id="opts">
      <nvpair id="o1" name="stonith-enabled" value="false"/>
      <nvpair id="o2" name="last-lrm-refresh" value="1700000000"/>
      <nvpair id="o3" name="redis_REPL_INFO" value="n1"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/></nodes>
    <resources>
      <primitive id="a" class="ocf" provider="pacemaker" type="Dummy">
        <operations>
          <op id="a-mon" name="monitor" interval="10s" timeout="20s" role="Started" on-fail="restart"/>
          <op id="a-start" name="start" interval="0" timeout="30s" record-pending="true"/>
        </operations>
      </primitive>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"""


def test_an_imported_cib_validates_names_what_it_ignores_and_keeps_op_meta_clean(tmp_path: Path) -> None:
    path = tmp_path / "cib.xml"
    path.write_text(CIB)
    report = read_cib(path)
    assert report.unsupported == ()
    assert report.ignored == ("cluster property 'redis_REPL_INFO' (not an option Paceline knows)",)
    assert dict(report.config.options.raw) == {"stonith-enabled": "false", "last-lrm-refresh": "1700000000"}
    mon = next(o for o in next(report.config.primitives()).ops if o.name == "monitor")
    start = next(o for o in next(report.config.primitives()).ops if o.name == "start")
    assert dict(mon.meta) == {} and mon.id == "a-mon" and mon.timeout_ms == 20_000
    assert dict(start.meta) == {"record-pending": "true"}
    config, problems = check_config_text(dump_config(report.config), "imported.yaml")
    assert config is not None
    assert [(p.severity, p.path, p.message) for p in problems] == [
        (
            Severity.WARNING,
            "cluster.options.last-lrm-refresh",
            "Pacemaker's internal property: kept, ignored by Paceline",
        )
    ]


def test_config_show_cib_names_what_it_drops(tmp_path: Path) -> None:
    path = tmp_path / "cib.xml"
    path.write_text(CIB)
    res = CliRunner().invoke(app, ["config", "show", "--cib", str(path)])
    assert res.exit_code == 0
    assert f"note: {path}: ignored: cluster property 'redis_REPL_INFO'" in res.stderr
    bundle = SUITE / "bundle-nested-colocation.xml"
    if bundle.exists():
        res = CliRunner().invoke(app, ["config", "show", "--cib", str(bundle)])
        assert "not supported, ignored: " in res.stderr and "bundle" in res.stderr


def test_no_suite_cib_fails_validation_on_cluster_properties_or_importer_op_meta() -> None:
    """Pacemaker's scheduler suite through import, dump and validate: no cluster property is an
    error (internal ones are accepted, others are named on import and left out) and no operation
    carries its own XML attributes as meta. (Other classes of problems remain: see issue 9.)"""
    if not SUITE.is_dir():
        return
    checked = 0
    for path in sorted(SUITE.glob("*.xml")):
        report = read_cib(path)
        if report.unsupported:
            continue
        _, problems = check_config_text(dump_config(report.config), path.name)
        checked += 1
        for p in problems:
            is_error = p.severity is Severity.ERROR
            assert not (is_error and p.path.startswith("cluster.options.")), (path.name, str(p))
            op_meta = ".ops." in p.path and ".meta." in p.path
            assert not (op_meta and p.path.rsplit(".", 1)[-1] in ("id", "name", "role")), (
                path.name,
                str(p),
            )
    assert checked > 600
