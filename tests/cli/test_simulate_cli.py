"""`paceline simulate` and `paceline config` through click's CliRunner: output, JSON, exit codes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from paceline.cli.main import app
from paceline.model.yaml_loader import load_config

SUITE = Path(__file__).resolve().parents[3] / "shared" / "pacemaker-scheduler"
if not SUITE.is_dir():
    SUITE = Path("/work/shared/pacemaker-scheduler")

CONFIG = textwrap.dedent(
    """\
    cluster: {name: t, options: {stonith-enabled: false}}
    nodes: [n1, n2]
    resources:
      - {id: vip, agent: ocf:heartbeat:IPaddr2, params: {ip: 10.0.0.100}, ops: {monitor: {interval: 10s}}}
    constraints:
      - location: {resource: vip, node: n1, score: 100}
    """
)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "cluster.yaml").write_text(CONFIG)
    (tmp_path / "running.yaml").write_text("running: {vip: n1}\n")
    return tmp_path


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_simulate_starts_on_an_empty_cluster(files: Path) -> None:
    code, out, err = run("simulate", files / "cluster.yaml", "--now", "1763719200")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Transition Summary:",
        "  * Start      vip     ( n1 )",
        "",
        "Placement:",
        "  vip: Started on n1",
    ]


def test_simulate_without_nodes_says_why_nothing_is_placed(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("resources: [{id: a, agent: ocf:pacemaker:Dummy}]\n")
    code, out, err = run("simulate", tmp_path / "c.yaml", "--now", "1763719200")
    assert code == 0 and "Transition Summary:" in out
    assert "no nodes" in err and "nothing can be placed" in err


def test_simulate_json_has_exactly_the_documented_keys(files: Path) -> None:
    code, out, _ = run("simulate", files / "cluster.yaml", "--now", "2025-11-21T10:00:00Z", "--json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"actions", "placement", "summary", "scores"}
    assert doc["placement"] == {"vip": {"n1": "Started"}}
    assert doc["summary"] == ["Start vip ( n1 )"]
    starts = [a for a in doc["actions"] if a["action"] == "start"]
    assert [(a["resource"], a["node"]) for a in starts] == [("vip", "n1")]
    for action in doc["actions"]:
        assert set(action) == {"id", "action", "resource", "node", "after"}
    for score in doc["scores"]:
        assert set(score) == {"resource", "node", "score", "source", "detail"}
    assert {
        "resource": "vip",
        "node": "n1",
        "score": 100,
        "source": "location loc-vip-n1",
        "detail": "",
    } in doc["scores"]


def test_node_fail_without_fencing_starts_elsewhere(files: Path) -> None:
    # stonith-enabled=false: the failed node is simply offline, its resources count as stopped
    code, out, _ = run(
        "simulate", files / "cluster.yaml", "--state", files / "running.yaml", "--node-fail", "n1"
    )
    assert code == 0
    assert "  * Start      vip     ( n2 )" in out.splitlines()


def test_op_fail_recovers_in_place(files: Path) -> None:
    code, out, _ = run(
        "simulate", files / "cluster.yaml", "--state", files / "running.yaml", "--op-fail", "vip:monitor:n1:7"
    )
    assert code == 0
    assert "  * Recover    vip     ( n1 )" in out.splitlines()


def test_explain_prints_score_terms(files: Path) -> None:
    code, out, _ = run("simulate", files / "cluster.yaml", "--explain", "vip")
    assert code == 0
    assert "Scores for vip:" in out
    assert "  n1: +100 from location loc-vip-n1; total 100" in out.splitlines()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--node-fail", "n9"], "unknown node 'n9'"),
        (["--op-fail", "nope:monitor:n1"], "unknown resource 'nope'"),
        (["--op-fail", "vip:monitor:n9"], "unknown node 'n9'"),
        (["--op-fail", "vip:probe:n1"], "unknown operation 'probe'"),
        (["--op-fail", "vip"], "expected RSC:OP:NODE[:RC]"),
        (["--op-fail", "vip:monitor:n1:abc"], "bad RC 'abc'"),
        (["--op-fail", "vip:monitor_10000:n1:x7"], "bad RC 'x7'"),
        (["--explain", "nope"], "unknown resource 'nope'"),
        (["--now", "teatime"], "--now"),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_line(files: Path, args: list[str], message: str) -> None:
    code, out, err = run("simulate", files / "cluster.yaml", *args)
    assert code == 2
    assert out == ""
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_config_exits_1_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "nodes: [n1]\nresources:\n"
        "  - {id: a, agent: lsb:x, meta: {migration-threshold: three}}\n"
        "  - {id: a}\n"
    )
    code, out, err = run("simulate", path)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{path}:3: resources[0].meta.migration-threshold: expected an integer or INFINITY, got 'three'",
        f"{path}:4: resources[1].id: duplicate id 'a' (first used on line 3)",
        f"{path}:4: resources[1]: missing required key 'agent' (or 'service')",
    ]


def test_bad_state_exits_1(files: Path) -> None:
    (files / "state.yaml").write_text("running: {vip: n7}\n")
    code, _, err = run("simulate", files / "cluster.yaml", "--state", files / "state.yaml")
    assert code == 1
    assert err.strip() == f"{files / 'state.yaml'}:1: running.vip: unknown node 'n7'"


def test_missing_files_and_usage(files: Path) -> None:
    code, _, err = run("simulate", files / "nope.yaml")
    assert code == 1 and "nope.yaml: cannot read" in err
    code, _, err = run("simulate")
    assert code == 2 and "missing CONFIG" in err
    code, _, err = run("simulate", files / "cluster.yaml", "--cib", files / "x.xml")
    assert code == 2 and "not both" in err
    code, _, err = run("simulate", "--cib", files / "x.xml")
    assert code == 1 and "cannot read" in err
    (files / "broken.xml").write_text("<cib><configuration>")
    code, _, err = run("simulate", "--cib", files / "broken.xml")
    assert code == 1 and "not well-formed" in err


@pytest.mark.parametrize("case", ["simple2", "simple4", "order1"])
def test_cib_summary_matches_crm_simulate(case: str) -> None:
    xml = SUITE / "xml" / f"{case}.xml"
    if not xml.exists():
        pytest.skip("Pacemaker's scheduler suite is not available")
    code, out, _ = run("simulate", "--cib", xml)
    assert code == 0
    text = (SUITE / "summary" / f"{case}.summary").read_text()
    expected = text.split("Transition Summary:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    ours = out.split("Transition Summary:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert ours == [line for line in expected if line.strip()]


def test_config_validate(files: Path, tmp_path: Path) -> None:
    code, out, err = run("config", "validate", files / "cluster.yaml")
    assert (code, err) == (0, "")
    assert out.strip() == f"{files / 'cluster.yaml'}: valid (1 resource, 1 constraint)"
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "cluster: {options: {stonith-enable: true}}\nresources: [{id: a, agent: lsb:x, meta: {x-y: 1}}]\n"
    )
    code, out, err = run("config", "validate", bad)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{bad}:1: cluster.options.stonith-enable: unknown cluster option (did you mean 'stonith-enabled'?)",
        f"{bad}:2: resources[0].meta.x-y: warning: unknown meta attribute (kept as given)",
    ]


def test_config_show_round_trips(files: Path, tmp_path: Path) -> None:
    code, out, _ = run("config", "show", files / "cluster.yaml")
    assert code == 0
    shown = tmp_path / "shown.yaml"
    shown.write_text(out)
    assert load_config(shown) == load_config(files / "cluster.yaml")


def test_the_shop_example_has_what_its_comment_promises() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    head = (examples / "sim-shop.yaml").read_text().split("cluster:")[0]
    assert "promotable\n# database" in head
    config = load_config(examples / "sim-shop.yaml")
    assert any(getattr(r, "promotable", False) for r in config.resources)
    args = ["--state", examples / "sim-shop-state.yaml", "--now", "1763719200"]
    code, out, err = run("simulate", examples / "sim-shop.yaml", *args)
    assert (code, err) == (0, "") and out.splitlines()[:2] == ["Transition Summary:", ""]  # steady as it runs
    assert "pg:0: Promoted on n1" in out
    code, out, _ = run("simulate", examples / "sim-shop.yaml", *args, "--node-fail", "n1")
    assert code == 0 and "Promote    pg:1    ( Unpromoted -> Promoted n2 )" in out
