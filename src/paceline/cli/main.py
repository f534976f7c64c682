"""The `paceline` command (console script `paceline = paceline.cli.main:app`).

Exit codes are shared by all commands: 0 done, 1 an input file has problems, 2 a bad command line
(see `paceline.cli.simulate_cmd`).

Start-up time: the command modules import only Typer and the standard library at the top; each
command imports the model, scheduler, agents or daemon it needs when it runs (`paceline --help`
and `paceline status` must not pay for the scheduler or the agents). `bench/cli_bench.py`
measures it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .agent_cmd import agent_app
from .daemon_cmds import register as register_daemon_commands
from .demo_cmd import demo_app
from .output import print_problems
from .simulate_cmd import EXIT_INPUT, EXIT_USAGE, print_import_notes, simulate
from .token_cmd import token_app

if TYPE_CHECKING:
    from ..model.config import Configuration

__all__ = ["app", "config_app"]

app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Paceline: a high-availability cluster manager."
)
config_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Check and show cluster configurations."
)

app.command("simulate", help="Run the scheduler offline and show the transition.")(simulate)
app.add_typer(config_app, name="config")
app.add_typer(agent_app, name="agent")
app.add_typer(demo_app, name="demo")
app.add_typer(token_app, name="token")


@config_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Cluster configuration (YAML).")],
) -> None:
    """Check a configuration as `paceline run` and `config apply` do: print `FILE: valid (...)`, or
    every problem (exit 1). Warnings (unknown meta attributes; agents, commands or users this
    machine lacks, which is fine if the file is for another machine) go to stderr."""
    from ..daemon.configsrc import InvalidConfig, check_text, environment_warnings
    from ..model.yaml_loader import ConfigError, read_text

    try:
        text = read_text(file)
    except ConfigError as exc:
        print_problems(exc.errors)
        raise typer.Exit(EXIT_INPUT) from None
    try:
        loaded = check_text(text, str(file))
    except InvalidConfig as exc:
        print_problems(exc.report)
        raise typer.Exit(EXIT_INPUT) from None
    print_problems([*loaded.warnings, *environment_warnings(loaded.config, str(file))])
    config = loaded.config
    constraints = len(config.locations) + len(config.colocations) + len(config.orders)
    print(f"{file}: valid ({_count(len(config.resources), 'resource')}, {_count(constraints, 'constraint')})")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@config_app.command("show")
def show(
    file: Annotated[
        Path | None, typer.Argument(metavar="FILE", help="Cluster configuration (YAML).", show_default=False)
    ] = None,
    cib: Annotated[
        Path | None, typer.Option("--cib", metavar="FILE.xml", help="Convert a Pacemaker CIB.")
    ] = None,
) -> None:
    """Print the configuration as normalised YAML (ids filled in, every default explicit where it matters)."""
    from ..model.cib import CibError, read_cib
    from ..model.yaml_loader import ConfigError, dump_config, load_config

    config: Configuration
    if (file is None) == (cib is None):
        print("paceline config show: give FILE or --cib FILE.xml", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE)
    try:
        if cib is not None:
            report = read_cib(cib)
            print_import_notes(cib, report)  # bundles, tickets, ...: never dropped without a word
            config = report.config
        else:
            config = load_config(file)  # type: ignore[arg-type]
    except ConfigError as exc:
        print_problems(exc.errors)
        raise typer.Exit(EXIT_INPUT) from None
    except CibError as exc:
        print_problems([str(exc)])
        raise typer.Exit(EXIT_INPUT) from None
    sys.stdout.write(dump_config(config))


@config_app.command("export")
def export(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Cluster configuration (YAML).")],
) -> None:
    """Print the configuration as a Pacemaker CIB (XML), for crm_simulate, crm_verify or a
    Pacemaker cluster. A built-in `service` resource becomes ocf:pacemaker:Dummy there."""
    from ..model.cib_writer import write_cib
    from ..model.state import ClusterState
    from ..model.yaml_loader import ConfigError, load_config

    try:
        config = load_config(file)
    except ConfigError as exc:
        print_problems(exc.errors)
        raise typer.Exit(EXIT_INPUT) from None
    sys.stdout.write(write_cib(config, ClusterState()).decode())


# run, status, events, resource, node; config show (with neither FILE nor --cib: the daemon's
# running configuration), apply, diff, history
register_daemon_commands(app, config_app)

if __name__ == "__main__":
    app()
