"""`paceline config export`: a YAML configuration as a CIB that reads back to the same cluster."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from paceline.cli.main import app
from paceline.model.cib import read_cib_text
from paceline.model.yaml_loader import load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sim-shop.yaml"


def test_export_reads_back_as_the_same_cluster() -> None:
    result = CliRunner().invoke(app, ["config", "export", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    back = read_cib_text(result.stdout).config
    original = load_config(EXAMPLE)
    assert back.name == original.name
    assert [n.name for n in back.nodes] == [n.name for n in original.nodes]
    assert sorted(p.id for p in back.primitives()) == sorted(p.id for p in original.primitives())
    assert {(c.resource, c.with_resource, c.score) for c in back.colocations} == {
        (c.resource, c.with_resource, c.score) for c in original.colocations
    }
    assert back.options.stonith_enabled == original.options.stonith_enabled


def test_export_of_a_bad_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("resources: [{id: a}]\n")
    result = CliRunner().invoke(app, ["config", "export", str(bad)])
    assert result.exit_code != 0
    assert "bad.yaml:1" in result.output
