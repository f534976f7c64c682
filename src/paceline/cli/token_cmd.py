"""`paceline token create|list|revoke`: the web API's tokens (`STATE/tokens`, root only).

The daemon reads the file whenever it changes: a new or revoked token counts at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..daemon.paths import default_state_dir
from .base import Exit, Group, argument, option
from .daemon_cmds import state_dir_option

__all__ = ["token_app"]

token_app = Group("token", help="Create, list or revoke web API tokens.")


def _path(state_dir: Path | None) -> Path:
    from ..web.tokens import tokens_path

    return tokens_path(state_dir or default_state_dir())


@token_app.command("create")
@option("--role", metavar="read|admin", required=True, help="What the token may do.")
@option("--name", help="A name for the token (default: ROLE-N).")
@state_dir_option
def create(role: str, name: str | None, state_dir: Path | None) -> None:
    """Create a token and print it (only this once: only its hash is kept)."""
    from ..web.tokens import Role, TokenFileError, create_token, list_tokens

    try:
        r = Role(role)
    except ValueError:
        print(f"paceline token create: --role is read or admin, not {role!r}", file=sys.stderr)
        raise Exit(2) from None
    path = _path(state_dir)
    if name is None:
        taken = {e.name for e in list_tokens(path)}
        name = next(f"{r.value}-{i}" for i in range(1, len(taken) + 2) if f"{r.value}-{i}" not in taken)
    try:
        token = create_token(path, r, name)
    except (TokenFileError, OSError) as e:
        print(f"paceline token create: {e}", file=sys.stderr)
        raise Exit(1) from None
    print(token)
    print(
        f"token {name} ({r.value}) added to {path}; send it as 'Authorization: Bearer TOKEN'", file=sys.stderr
    )


@token_app.command("list")
@state_dir_option
def list_cmd(state_dir: Path | None) -> None:
    """List the tokens by name and role (the tokens themselves are not kept)."""
    from ..web.tokens import list_tokens

    for e in list_tokens(_path(state_dir)):
        print(f"{e.name}  {e.role.value}")


@token_app.command("revoke")
@argument("name", metavar="NAME", help="The token's name.")
@state_dir_option
def revoke(name: str, state_dir: Path | None) -> None:
    """Remove a token: requests that send it get 401 from now on."""
    from ..web.tokens import revoke_token

    if not revoke_token(_path(state_dir), name):
        print(f"paceline token revoke: no token named {name!r}", file=sys.stderr)
        raise Exit(1)
    print(f"token {name} revoked")
