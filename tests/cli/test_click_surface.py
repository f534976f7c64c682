"""The command line on click keeps what the Typer-built one showed and said: help with an
`Arguments:` section and typed values, `{FILE}` for a required argument, the same usage errors
(exit 2), Ctrl-C as exit 130 without a message."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from paceline.cli.base import INT, Command, Group, argument
from paceline.cli.main import app


def _run(*argv: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, list(argv), prog_name="paceline")
    return res.exit_code, res.stdout, res.stderr


def test_help_lists_arguments_and_typed_options_with_defaults() -> None:
    code, out, _ = _run("config", "validate", "--help")
    assert code == 0
    assert "Usage: paceline config validate [OPTIONS] {FILE}" in out
    assert "Arguments:\n  FILE <path>  Cluster configuration (YAML).  [required]\n" in out
    _, out, _ = _run("status", "--help")
    assert "--interval <float>  Refresh period for --watch (seconds).  [default: 1.0]" in out
    assert "  -w, --watch         Refresh until interrupted.\n" in out
    _, out, _ = _run("run", "--help")
    assert "Usage: paceline run [OPTIONS] [[CONFIG]]" in out
    assert "--restart-backoff / --no-restart-backoff" in out and "[default: restart-backoff]" in out
    _, out, _ = _run("agent", "run", "--help")
    assert "-p, --param <list[str]>  Instance parameter key=value" in out
    assert "--interval <str>         Monitor interval (0 = probe)  [default: 0]" in out


def test_commands_are_listed_in_the_order_they_were_added() -> None:
    _, out, _ = _run("--help")
    names = [line.split()[0] for line in out.split("Commands:\n")[1].splitlines() if line.strip()]
    expected = ["simulate", "run", "status", "events", "config", "agent", "demo", "token"]
    assert names == [*expected, "resource", "node"]
    assert "--install-completion" in out and "--show-completion" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["status", "--bogus"], "Error: No such option: --bogus\n"),
        (["run", "--bogus"], "Error: No such option: --bogus (Possible options: --verbose)\n"),
        (["stauts"], "Error: No such command 'stauts'. Did you mean 'status'?\n"),
        (["status", "extra"], "Error: Got unexpected extra argument(s) (extra)\n"),
        (["token", "create"], "Error: Missing option '--role'.\n"),
        (["config", "validate"], "Error: Missing argument 'FILE'.\n"),
        (
            ["events", "--limit", "x"],
            "Error: Invalid value for '--limit' / '-n': Input should be a valid integer, "
            "unable to parse string as an integer\n",
        ),
        (
            ["status", "--interval", "soon"],
            "Error: Invalid value for '--interval': Input should be a valid number, "
            "unable to parse string as a number\n",
        ),
    ],
)
def test_usage_errors_read_as_before_and_exit_2(argv: list[str], message: str) -> None:
    code, out, err = _run(*argv)
    assert code == 2 and out == ""
    assert err.endswith(message), err
    assert "Traceback" not in err


def test_a_group_without_a_command_shows_its_help_and_exits_2() -> None:
    code, _, err = _run("config")
    assert code == 2 and "Commands:\n  validate" in err


def test_ctrl_c_exits_130_without_a_message() -> None:
    group = Group("g", help="A group.")

    @group.command("wait")
    @argument("what", help="Anything.")
    def wait(what: str) -> None:
        raise KeyboardInterrupt

    assert isinstance(group.commands["wait"], Command)
    res = CliRunner().invoke(group, ["wait", "x"])
    assert res.exit_code == 130 and res.output == ""


def test_values_are_converted_as_before() -> None:
    seen: dict[str, object] = {}

    @click.command(cls=Command)
    @argument("n", help="A number.", type=INT)
    def cmd(n: int) -> None:
        seen["n"] = n

    for text, value in (("7", 7), (" 7 ", 7), ("1_000", 1000), ("+3", 3), ("2.0", 2)):
        assert CliRunner().invoke(cmd, [text]).exit_code == 0
        assert seen["n"] == value
    for bad in ("1.5", "1e3", "0x10", "\N{ARABIC-INDIC DIGIT ONE}"):
        assert CliRunner().invoke(cmd, ["--", bad]).exit_code == 2
