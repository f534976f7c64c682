"""`paceline --install-completion` and `--show-completion`: shell completion through click's.

The shell asks the command for completions itself (click: `_PACELINE_COMPLETE=bash_complete
paceline ...`); these two options print or install the script that does so, for bash, zsh or
fish (the shell this runs in; detected from $SHELL). The files and lines written are the ones
Typer wrote: `~/.bash_completions/PROG.sh` sourced from `~/.bashrc`, `~/.zfunc/_PROG` with
`compinit` in `~/.zshrc`, `~/.config/fish/completions/PROG.fish`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from .base import Exit, Option

__all__ = ["completion_options", "completion_script", "install"]


def _shell() -> str:
    return Path(os.environ.get("SHELL", "")).name or "bash"


def _prog(ctx: click.Context) -> tuple[str, str]:
    prog = ctx.find_root().info_name or "paceline"
    name = prog.replace("-", "_").replace(".", "_")
    return prog, f"_{name}_COMPLETE".upper()


def completion_script(ctx: click.Context, shell: str) -> str:
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:
        print(f"Shell {shell} not supported.", file=sys.stderr)
        raise Exit(1)
    prog, var = _prog(ctx)
    return cls(ctx.find_root().command, {}, prog, var).source().strip()


def _append_missing(path: Path, lines: list[str]) -> None:
    text = path.read_text() if path.is_file() else ""
    missing = [line for line in lines if line not in text]
    if missing:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "".join(f"\n{line}" for line in missing) + "\n")


def install(ctx: click.Context, shell: str) -> Path:
    prog, _ = _prog(ctx)
    home = Path.home()
    if shell == "bash":
        target = home / ".bash_completions" / f"{prog}.sh"
        _append_missing(home / ".bashrc", [f"source '{target}'"])
    elif shell == "zsh":
        target = home / ".zfunc" / f"_{prog}"
        _append_missing(home / ".zshrc", ["fpath+=~/.zfunc; autoload -Uz compinit; compinit"])
    elif shell == "fish":
        target = home / ".config" / "fish" / "completions" / f"{prog}.fish"
    else:
        print(f"Shell {shell} is not supported.")
        raise Exit(1)
    script = completion_script(ctx, shell)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(script + "\n")
    return target


def _install(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
    if not value or ctx.resilient_parsing:
        return
    shell = _shell()
    path = install(ctx, shell)
    click.secho(f"{shell} completion installed in {path}", fg="green")
    click.echo("Completion will take effect once you restart the terminal")
    ctx.exit(0)


def _show(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(completion_script(ctx, _shell()))
    ctx.exit(0)


def completion_options() -> list[click.Parameter]:
    """The main group's two options (their callbacks import nothing until used)."""
    return [
        Option(
            ["--install-completion"],
            is_flag=True,
            expose_value=False,
            callback=_install,
            help="Install completion for the current shell.",
        ),
        Option(
            ["--show-completion"],
            is_flag=True,
            expose_value=False,
            callback=_show,
            help="Show completion for the current shell, to copy it or customize the installation.",
        ),
    ]
