"""Operation digests as Pacemaker computes them: the md5 of the operation's parameters written as
`<parameters name="value" .../>` (sorted by name), so that a recorded operation whose digest
differs from the current definition's shows a "resource definition change"."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

__all__ = ["op_digest"]


_ESCAPES = {
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&apos;",
    "&": "&amp;",
    "\t": "    ",
    "\n": "\\n",
    "\r": "\\r",
}


def _escape(value: str) -> str:
    """An attribute value as Pacemaker 2.1.5 writes it for a digest (`crm_xml_escape`): `&quot;` and
    `&apos;` for quotes, a tab as four spaces, a newline as the two characters `\\n` (and `\\r`); UTF-8
    stays as it is. Checked against `crm_resource --digests` (tests/model/test_digest.py). Other
    control characters (which no CIB can carry) become a backslash and three octal digits, as
    Pacemaker's source writes them."""
    out: list[str] = []
    for ch in value:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " ":
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return "".join(out)


def op_digest(params: Mapping[str, str], interval_ms: int = 0, timeout_ms: int | None = None) -> str:
    """Digest of a resource's parameters for an operation (recurring ones include their timeout)."""
    values = dict(params)
    if interval_ms:
        values["CRM_meta_timeout"] = str(timeout_ms or 20000)
    attrs = "".join(f' {k}="{_escape(v)}"' for k, v in sorted(values.items()))
    return hashlib.md5(f" <parameters{attrs}/>\n".encode()).hexdigest()
