"""The project's text in what ``advise`` writes: SQL identifiers, literals and comments, Python
strings and comments.

Table, column and index names, file paths and predicates come from the project; a newline in
any of them must not end a ``--`` or ``#`` comment, a quote must not end a literal, and a name
must keep its case (``"Order"`` is not ``order``). So:

- identifiers follow PostgreSQL's ``quote_ident``: bare when a lower-case simple identifier
  that is not a keyword (unreserved keywords excepted), else double-quoted with ``"`` doubled;
  a name holding a character that is not printable (a newline) is written ``U&"..."`` with
  that character as ``\\XXXX``, so no raw line break reaches the script (PostgreSQL accepts
  ``U&""`` identifiers whatever ``standard_conforming_strings`` says);
- string literals double ``'``; one with a backslash or a character that is not printable is
  an ``E''`` literal with escapes, which means the same whatever ``standard_conforming_strings``
  says;
- comments (``--`` and ``#``) escape every character that is not printable
  (:func:`querylint.reporters._escape.visible`);
- Python strings are double-quoted literals, with every character that is not printable
  escaped, so the generated files parse and a hostile name is only ever data;
- ``##[`` (a GitHub runner command anywhere in a printed line) is written with its second ``#``
  escaped in identifiers (``U&""``), literals (``E''``) and Python strings (``\\x23``): the
  advice is printed on stdout, often in CI;
- a statement built around SQL text from the project (an expression key, an operator class, a
  partial predicate) is parsed back with pglast and must be exactly the one statement meant,
  all on one line (:func:`single_statement`); otherwise the advisor skips that index and says so.
"""

from __future__ import annotations

import json
import re

from querylint.reporters._escape import char_escape, command_marks, visible

_SIMPLE = re.compile(r"[a-z_][a-z0-9_]*")


def _keywords() -> frozenset[str]:
    from pglast import keywords

    return frozenset(keywords.RESERVED_KEYWORDS | keywords.COL_NAME_KEYWORDS | keywords.TYPE_FUNC_NAME_KEYWORDS)


_QUOTED_KEYWORDS: frozenset[str] | None = None


def quote_ident(name: str) -> str:
    """``name`` as a PostgreSQL identifier that means exactly ``name`` (case kept)."""
    global _QUOTED_KEYWORDS
    if _QUOTED_KEYWORDS is None:
        _QUOTED_KEYWORDS = _keywords()
    if _SIMPLE.fullmatch(name) and name not in _QUOTED_KEYWORDS:
        return name
    marks = command_marks(name)
    if name.isprintable() and not marks:
        return '"' + name.replace('"', '""') + '"'
    out = []
    for i, ch in enumerate(name):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('""')
        elif ch.isprintable() and i not in marks:
            out.append(ch)
        else:
            cp = ord(ch)
            out.append(f"\\{cp:04X}" if cp < 0x10000 else f"\\+{cp:06X}")
    return 'U&"' + "".join(out) + '"'


def sql_literal(text: str) -> str:
    """``text`` as a PostgreSQL string literal."""
    marks = command_marks(text)
    if text.isprintable() and "\\" not in text and not marks:
        return "'" + text.replace("'", "''") + "'"
    out = []
    for i, ch in enumerate(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch == "'":
            out.append("''")
        elif ch.isprintable() and i not in marks:
            out.append(ch)
        else:
            cp = ord(ch)
            named = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}.get(ch)
            out.append(named or (f"\\x{cp:02X}" if cp < 0x80 else f"\\u{cp:04X}" if cp < 0x10000 else f"\\U{cp:08X}"))
    return "E'" + "".join(out) + "'"


def sql_comment(text: str) -> str:
    """A ``--`` comment line holding ``text`` (on one line, whatever it holds)."""
    return "-- " + visible(text)


def py_comment(text: str) -> str:
    """A ``#`` comment holding ``text`` (on one line, whatever it holds)."""
    return "# " + visible(text)


def py_str(text: str) -> str:
    """``text`` as a double-quoted Python string literal, printable characters only."""
    body = json.dumps(text, ensure_ascii=False)
    if not body.isprintable():
        body = "".join(ch if ch.isprintable() else char_escape(ch) for ch in body)
    # ``##[`` would be a GitHub runner command when the file is printed: its second ``#`` as
    # ``\\x23`` is the same string (a ``#`` never follows an escaping backslash in this text)
    marks = command_marks(body)
    return "".join("\\x23" if i in marks else ch for i, ch in enumerate(body)) if marks else body


def py_docstring_text(text: str) -> str:
    """``text`` for the inside of a ``\"\"\"`` docstring: one line, no quote or backslash that counts."""
    return py_str(text)[1:-1]


def single_statement(sql: str, kind: str) -> bool:
    """Is ``sql`` exactly one statement of pglast node ``kind`` (``IndexStmt``...), on one line,
    ending with its own ``;`` (no comment after it that would swallow the next line's start)?"""
    if not sql.isprintable() or not sql.endswith(";"):
        return False
    from pglast import parse_sql
    from pglast.parser import ParseError, scan

    try:
        stmts = parse_sql(sql)
        tokens = scan(sql)
    except (ParseError, ValueError):
        return False
    if not tokens or tokens[-1].name != "ASCII_59" or tokens[-1].start != len(sql) - 1:
        return False
    return len(stmts) == 1 and type(stmts[0].stmt).__name__ == kind
