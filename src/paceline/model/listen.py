"""The web listener's address: `ADDR:PORT` (`[V6ADDR]:PORT` for IPv6), or `off`."""

from __future__ import annotations

__all__ = ["DEFAULT_HTTP_LISTEN", "parse_listen"]

DEFAULT_HTTP_LISTEN = "127.0.0.1:7445"


def parse_listen(text: str) -> tuple[str, int] | None:
    """(host, port), or None for `off`; ValueError with the reason for anything else."""
    text = text.strip()
    if text.lower() in ("off", "no", "none", "false"):
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected ADDR:PORT (e.g. {DEFAULT_HTTP_LISTEN}) or off, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"an IPv6 address goes in brackets ([::1]:7445), got {text!r}")
    return host, int(port)
