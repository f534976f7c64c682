"""What the command line shows people: agent names as written (Rich turned `ocf:heartbeat:Dummy`
into an emoji), flags without a value placeholder, and no terminal control codes into a pipe."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from paceline.agents import AgentSpec, parse_metadata
from paceline.cli.agent_cmd import _print_info
from paceline.cli.daemon_cmds import watch_frame
from paceline.cli.main import app

EMOJI = "\N{BEATING HEART}"


@pytest.mark.parametrize("argv", [["--help"], ["agent", "run", "--help"], ["agent", "info", "--help"]])
def test_help_shows_agent_names_as_written_and_flags_without_a_value(argv: list[str]) -> None:
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 0, res.output
    assert EMOJI not in res.output and "<bool>" not in res.output
    if argv[0] == "agent":
        assert "ocf:heartbeat:" in res.output


def test_agent_info_prints_the_agent_s_texts_as_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    md = parse_metadata(
        """<resource-agent name="Dummy"><version>1.0</version>
        <longdesc lang="en">Like ocf:heartbeat:IPaddr2 [bold]but[/bold] simpler :smile:</longdesc>
        <shortdesc lang="en">A dummy</shortdesc>
        <parameters><parameter name="state"><longdesc lang="en">s</longdesc>
        <shortdesc lang="en">see ocf:heartbeat:Dummy</shortdesc><content type="string"/>
        </parameter></parameters>
        <actions><action name="start" timeout="20s"/></actions></resource-agent>"""
    )
    _print_info(AgentSpec.parse("ocf:heartbeat:Dummy"), md)
    out = capsys.readouterr().out
    assert EMOJI not in out and "\N{SMILING FACE WITH SMILING EYES}" not in out
    assert "ocf:heartbeat:Dummy" in out and "ocf:heartbeat:IPaddr2 [bold]but[/bold] simpler :smile:" in out


def test_status_watch_writes_no_control_codes_when_not_a_terminal() -> None:
    assert "\x1b" not in watch_frame("Cluster c", tty=False)
    assert watch_frame("Cluster c", tty=False).endswith("Cluster c\n")
    assert watch_frame("Cluster c", tty=True).startswith("\x1b[H\x1b[2J")
