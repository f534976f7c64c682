"""The ``paceline`` command (minimal; owned by the CLI engineer)."""

import typer

from paceline.cli.agent_cmd import agent_app

app = typer.Typer(no_args_is_help=True)
app.add_typer(agent_app, name="agent")

if __name__ == "__main__":
    app()
