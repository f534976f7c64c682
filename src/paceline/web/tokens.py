"""API tokens: `STATE/tokens`, one `NAME ROLE sha256:HEX` line per token, owner-only (0600).

Only the SHA-256 of a token is stored; the token itself is printed once, by `paceline token
create`. Roles: `read` (what needs no token anyway; a caller that sends one is checked) and
`admin` (the operator actions). A token file that others may read is not used at all (as ssh
refuses such keys): every token is then wrong, and the daemon logs why.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Role", "TokenFile", "TokenFileError", "create_token", "tokens_path"]


class Role(enum.Enum):
    READ = "read"
    ADMIN = "admin"


class TokenFileError(Exception):
    """The token file cannot be used; the message says why."""


@dataclass(frozen=True)
class TokenEntry:
    name: str
    role: Role
    digest: str


def tokens_path(state_dir: Path) -> Path:
    return state_dir / "tokens"


def _digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def _parse(text: str) -> list[TokenEntry]:
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 3 or line.startswith("#"):
            continue
        try:
            out.append(TokenEntry(fields[0], Role(fields[1]), fields[2]))
        except ValueError:
            continue
    return out


class TokenFile:
    """The token file as the daemon reads it: again whenever it changed (no restart needed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: tuple[int, int, int] | None = None
        self._entries: list[TokenEntry] = []
        self.problem = ""

    def entries(self) -> list[TokenEntry]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._key, self._entries, self.problem = None, [], ""
            return []
        key = (st.st_mtime_ns, st.st_size, st.st_mode)
        if key != self._key:
            self._key = key
            if stat.S_IMODE(st.st_mode) & 0o077:
                self._entries = []
                self.problem = (
                    f"{self.path} may be read by others (mode {stat.S_IMODE(st.st_mode):o}): ignored"
                )
            else:
                self._entries = _parse(self.path.read_text(encoding="utf-8"))
                self.problem = ""
        return self._entries

    def check(self, token: str) -> TokenEntry | None:
        """The entry of `token`, None when it is not a valid token."""
        digest = _digest(token)
        found = None
        for e in self.entries():
            if hmac.compare_digest(e.digest, digest):
                found = e
        return found


def create_token(path: Path, role: Role, name: str) -> str:
    """Add a new token with `role` to the file (created 0600) and return it (shown once)."""
    if not name or any(c.isspace() for c in name):
        raise TokenFileError(f"token name {name!r}: give a name without spaces")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise TokenFileError(f"{path} may be read by others: fix its mode (chmod 600) first")
        if any(e.name == name for e in _parse(path.read_text(encoding="utf-8"))):
            raise TokenFileError(f"a token named {name!r} exists already")
    token = "plt_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, f"{name} {role.value} {_digest(token)}\n".encode())
    finally:
        os.close(fd)
    return token


def list_tokens(path: Path) -> list[TokenEntry]:
    try:
        return _parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []


def revoke_token(path: Path, name: str) -> bool:
    entries = list_tokens(path)
    keep = [e for e in entries if e.name != name]
    if len(keep) == len(entries):
        return False
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, "".join(f"{e.name} {e.role.value} {e.digest}\n" for e in keep).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return True
