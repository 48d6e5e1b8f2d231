"""One line of user-controlled text (a path, a message, an identifier) made safe for a line-based log.

Line-based outputs (``full``, ``concise``, the ``github`` reporter's plain lines, the comments
``advise`` writes) are read line by line by editors' problem matchers and by CI runners. Text
from the project must never make a line of its own there, nor be read as a command:

- a character that is not printable (``\\n``, ``\\r``, a lone CR, which GitHub's runner reads
  as a line end too, NEL, U+2028, the other controls, bidi overrides) is written as a Python-
  style escape (``\\n``, ``\\r``, ``\\t``, ``\\x1b``, ``\\u2028``), so one finding stays one line;
- ``##[`` and ``##vso[`` start a command *anywhere* in a line for GitHub's runner (the legacy
  syntax its ``ActionCommand.TryParse`` still reads) and for Azure Pipelines' agent: the second
  ``#`` is written ``\\x23``;
- a line must not start with ``::`` (after leading blanks): ``line_start`` prefixes ``./`` to a
  relative path that would (it names the same file).

Backslashes are not doubled: a path is shown as it is on disk (``back\\slash.sql``), so
``a\\nb`` in a name and an escaped newline read alike — the escape is for display only.
"""

from __future__ import annotations

import re

_COMMAND = re.compile(r"(?<=#)#(?=\[|vso\[)")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def char_escape(ch: str) -> str:
    """The escape for one character that is not printable."""
    named = _NAMED.get(ch)
    if named is not None:
        return named
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def visible(text: str) -> str:
    """``text`` on one line: non-printable characters escaped, CI command markers defused."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else char_escape(ch) for ch in text)
    if "##" in text:
        text = _COMMAND.sub("\\\\x23", text)
    return text


def json_text(text: str) -> str:
    """Serialised JSON with the ``#`` that would make ``##[`` / ``##vso[`` written ``\\u0023``.

    ``#`` only occurs inside JSON strings, where ``\\u0023`` is the same character: the value
    does not change, and a report printed into a CI log holds no runner command.
    """
    return _COMMAND.sub("\\\\u0023", text) if "##" in text else text


def command_marks(line: str) -> set[int]:
    """Offsets of the ``#`` characters :func:`visible` rewrites (the second ``#`` of ``##[``)."""
    return {m.start() for m in _COMMAND.finditer(line)} if "##" in line else set()


def line_text(text: str) -> str:
    """Text that begins a line (after blanks): :func:`visible`, and a leading ``::`` written ``\\x3a:``."""
    shown = visible(text)
    stripped = shown.lstrip()
    if stripped.startswith("::"):
        shown = shown[: len(shown) - len(stripped)] + "\\x3a" + stripped[1:]
    return shown


def line_start(path: str) -> str:
    """A path that begins a line: :func:`visible`, and never starting with ``::`` (a workflow command)."""
    shown = visible(path)
    if shown.lstrip().startswith(":"):
        shown = "./" + shown
    return shown
