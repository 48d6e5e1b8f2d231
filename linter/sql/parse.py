"""pglast parsing of SQL fragments into statements with spans.

pglast (libpg_query) reports statement and node locations as *character* offsets into the
text it was given (it converts libpg_query's byte offsets), so spans stay right on non-ASCII
text; a statement's span starts at its first token (comments before it are not part of it)
and ends at its last (trailing whitespace and the ``;`` are not part of it).
"""

from __future__ import annotations

import re

from querylint.project import ParseProblem
from querylint.sqlsource import SqlFragment, SqlStatement

_AT_INDEX = re.compile(r", at index (\d+)$")


def parse_fragment(fragment: SqlFragment) -> tuple[list[SqlStatement], list[ParseProblem]]:
    from pglast import parse_sql
    from pglast.parser import ParseError

    sql = fragment.sql
    try:
        raw = parse_sql(sql)
    except ParseError as exc:
        msg = str(exc.args[0]) if exc.args else str(exc)
        loc = getattr(exc, "location", None)
        pos = loc if isinstance(loc, int) else None
        if pos is None and len(exc.args) > 1 and isinstance(exc.args[1], int):
            pos = exc.args[1]  # pglast: ParseError(message, character offset)
        m = _AT_INDEX.search(msg)
        if m:
            pos = int(m.group(1))
            msg = msg[: m.start()]
        pos = pos if pos is not None else 0
        span = fragment.file_span(pos, min(len(sql), pos + 1))
        return [], [ParseProblem(span, f"SQL syntax error: {msg}")]
    except Exception as exc:  # pglast raises a few other errors on odd input
        return [], [ParseProblem(fragment.span, f"SQL could not be parsed: {exc}")]
    out: list[SqlStatement] = []
    for r in raw:
        start = r.stmt_location or 0
        length = r.stmt_len or (len(sql) - start)
        end = start + length
        # trim leading whitespace/comments pglast includes in the statement range
        text = sql[start:end]
        stripped = len(text) - len(text.lstrip())
        trailing = len(text) - len(text.rstrip())
        out.append(SqlStatement(fragment, r.stmt, start + stripped, max(start + stripped, end - trailing)))
    return out, []
