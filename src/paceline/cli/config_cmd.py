"""`paceline config validate|export|show|apply|diff|history`.

validate, export and show FILE / --cib work on files (no daemon); show without them, apply, diff
and history ask the daemon (`paceline.cli.daemon_cmds`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .base import PATH, Exit, Group, argument
from .daemon_cmds import config_apply, config_diff, config_history, make_config_show
from .output import print_problems
from .simulate_cmd import EXIT_INPUT, EXIT_USAGE, print_import_notes

if TYPE_CHECKING:
    from ..model.config import Configuration

__all__ = ["config_app"]

config_app = Group("config", help="Check and show cluster configurations.")


@config_app.command("validate")
@argument("file", metavar="FILE", type=PATH, help="Cluster configuration (YAML).")
def validate(file: Path) -> None:
    """Check a configuration as `paceline run` and `config apply` do: print `FILE: valid (...)`, or
    every problem (exit 1). Warnings (unknown meta attributes; agents, commands or users this
    machine lacks, which is fine if the file is for another machine) go to stderr."""
    from ..daemon.configsrc import InvalidConfig, check_text, environment_warnings
    from ..model.yaml_loader import ConfigError, read_text

    try:
        text = read_text(file)
    except ConfigError as exc:
        print_problems(exc.errors)
        raise Exit(EXIT_INPUT) from None
    try:
        loaded = check_text(text, str(file))
    except InvalidConfig as exc:
        print_problems(exc.report)
        raise Exit(EXIT_INPUT) from None
    print_problems([*loaded.warnings, *environment_warnings(loaded.config, str(file))])
    config = loaded.config
    constraints = len(config.locations) + len(config.colocations) + len(config.orders)
    print(f"{file}: valid ({_count(len(config.resources), 'resource')}, {_count(constraints, 'constraint')})")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def show(file: Path | None, cib: Path | None) -> None:
    """`config show FILE` or `config show --cib FILE.xml`: the configuration as normalised YAML (ids
    filled in, every default explicit where it matters). The command is `daemon_cmds.config_show`."""
    from ..model.cib import CibError, read_cib
    from ..model.yaml_loader import ConfigError, dump_config, load_config

    config: Configuration
    if (file is None) == (cib is None):
        print("paceline config show: give FILE or --cib FILE.xml", file=sys.stderr)
        raise Exit(EXIT_USAGE)
    try:
        if cib is not None:
            report = read_cib(cib)
            print_import_notes(cib, report)  # bundles, tickets, ...: never dropped without a word
            config = report.config
        else:
            config = load_config(file)  # type: ignore[arg-type]
    except ConfigError as exc:
        print_problems(exc.errors)
        raise Exit(EXIT_INPUT) from None
    except CibError as exc:
        print_problems([str(exc)])
        raise Exit(EXIT_INPUT) from None
    sys.stdout.write(dump_config(config))


@config_app.command("export")
@argument("file", metavar="FILE", type=PATH, help="Cluster configuration (YAML).")
def export(file: Path) -> None:
    """Print the configuration as a Pacemaker CIB (XML), for crm_simulate, crm_verify or a
    Pacemaker cluster. A built-in `service` resource becomes ocf:pacemaker:Dummy there."""
    from ..model.cib_writer import write_cib
    from ..model.state import ClusterState
    from ..model.yaml_loader import ConfigError, load_config

    try:
        config = load_config(file)
    except ConfigError as exc:
        print_problems(exc.errors)
        raise Exit(EXIT_INPUT) from None
    sys.stdout.write(write_cib(config, ClusterState()).decode())


for _command in (make_config_show(show), config_apply, config_diff, config_history):
    config_app.add_command(_command)
