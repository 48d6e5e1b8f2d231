"""pglast parsing of SQL fragments into statements with spans.

pglast (libpg_query) reports statement and node locations as *character* offsets into the
text it was given (it converts libpg_query's byte offsets), so spans stay right on non-ASCII
text; a statement's span starts at its first token (comments before it are not part of it)
and ends at its last (trailing whitespace and the ``;`` are not part of it).

Depth is bounded here, once for every later step: pglast converts the parser's tree to Python
recursively in C (a left-deep chain of ~28,000 joins or ``1+1+...`` overflowed the process stack),
and the walks after it (SQL -> IR, the rules, pglast's deparser, pickling to and from the
workers and the cache) recurse once or more per level. So a long fragment is parsed on a thread
whose stack grows with its length, and a statement nested deeper than :data:`MAX_SQL_DEPTH`
levels is a parse problem on its own first line (the other statements are checked): every walk
over a tree that gets through stays far from Python's recursion limit.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from querylint.project import ParseProblem
from querylint.source import Span
from querylint.sqlsource import SqlFragment, SqlStatement

_AT_INDEX = re.compile(r", at index (\d+)$")

#: deepest statement checked, in tree levels (a join, a subquery, an operator each nest one or
#: two): real queries stay under 40; pickling, the deepest-recursing walk, fails near 250
MAX_SQL_DEPTH = 100
#: a fragment this long cannot nest deep enough to trouble the C stack of any thread (8 MiB; a
#: level takes ~300 bytes, and a level takes at least 2 characters): it is parsed in place
_SMALL_SQL = 16 * 1024
#: stack bytes per character of SQL for the thread that parses a longer one (a generous 2x)
_STACK_PER_CHAR = 320


POSTGRES = ("postgres", "postgresql", "pg")


def parse_fragment(fragment: SqlFragment, dialect: str = "postgres") -> tuple[list[SqlStatement], list[ParseProblem]]:
    if dialect.lower() not in POSTGRES:
        return parse_other_dialect(fragment, dialect.lower())
    from pglast.parser import ParseError

    fragment = _without_psql_commands(fragment)
    sql = fragment.sql
    try:
        raw = _parse_sql(sql)
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
        if msg.strip().startswith(("memory exhausted", "stack depth limit exceeded")):
            # bison's stack (10,000 open parentheses or subqueries) or libpg_query's depth check
            return [], [ParseProblem(span, f"SQL nested deeper than PostgreSQL's parser allows ({msg.strip()}): not checked")]
        if fragment.in_python and _AT_PARAMETER.fullmatch(msg.strip()):
            # the parameter querylint put in place of `%s` / `:name`: the Python code binds a
            # value where the SQL needs a name or keyword (`FROM :table`)
            msg = ("a bind parameter stands where PostgreSQL expects a name or a keyword; parameters carry "
                   "values only (compose table and column names with psycopg's sql.Identifier)")
        return [], [ParseProblem(span, f"SQL syntax error: {msg}")]
    except Exception as exc:  # pglast raises a few other errors on odd input
        return [], [ParseProblem(fragment.span, f"SQL could not be parsed: {exc}")]
    out: list[SqlStatement] = []
    problems: list[ParseProblem] = []
    for r in raw:
        start = r.stmt_location or 0
        length = r.stmt_len or (len(sql) - start)
        end = start + length
        # trim leading whitespace/comments pglast includes in the statement range
        text = sql[start:end]
        stripped = len(text) - len(text.lstrip())
        trailing = len(text) - len(text.rstrip())
        s_start, s_end = start + stripped, max(start + stripped, end - trailing)
        if sql_depth(r.stmt) > MAX_SQL_DEPTH:
            problems.append(ParseProblem(fragment.file_span(s_start, min(s_end, s_start + 1)),
                                         f"SQL nested deeper than {MAX_SQL_DEPTH} levels: not checked"))
            continue
        out.append(SqlStatement(fragment, r.stmt, s_start, s_end))
    return out, problems


def sql_depth(node: Any) -> int:
    """The number of nodes on the longest path from ``node`` down (tuples do not count), found
    with an explicit stack; it stops counting just past :data:`MAX_SQL_DEPTH`."""
    from pglast import ast

    deepest = 0
    stack: list[tuple[Any, int]] = [(node, 1)]
    while stack:
        n, depth = stack.pop()
        if isinstance(n, tuple):
            stack.extend((x, depth) for x in n if isinstance(x, (tuple, ast.Node)))
            continue
        if depth > deepest:
            deepest = depth
            if deepest > MAX_SQL_DEPTH:
                return deepest
        for name in n:
            v = getattr(n, name)
            if isinstance(v, (tuple, ast.Node)):
                stack.append((v, depth + 1))
    return deepest


def _parse_sql(sql: str) -> Any:
    """pglast's ``parse_sql``; a long text on a thread with a stack to match (see the module)."""
    from pglast import parse_sql

    if len(sql) <= _SMALL_SQL:
        return parse_sql(sql)
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["raw"] = parse_sql(sql)
        except BaseException as exc:  # handed to the caller's thread, raised there
            out["exc"] = exc

    with _STACK_SIZE_LOCK:  # the size applies to every thread started meanwhile
        old = threading.stack_size(min(_MAX_STACK, 32 * 1024 * 1024 + len(sql) * _STACK_PER_CHAR))
        try:
            worker = threading.Thread(target=run, name="querylint-parse-sql", daemon=True)
            worker.start()
        finally:
            threading.stack_size(old)
    worker.join()
    if "exc" in out:
        raise out["exc"]
    return out["raw"]


_STACK_SIZE_LOCK = threading.Lock()
#: the largest stack asked for (a 5 MiB fragment, the default max-file-size, needs 1.6 GiB of
#: address space; pages are only committed as the recursion reaches them)
_MAX_STACK = 4 * 1024 * 1024 * 1024 - 4096


_AT_PARAMETER = re.compile(r'syntax error at or near "\$\d+"')
_PSQL_COMMAND = re.compile(r"(?m)^[ \t]*\\[a-zA-Z!?].*$")


def _without_psql_commands(fragment: SqlFragment) -> SqlFragment:
    """psql meta-commands (``\\set``, ``\\echo ... \\quit``, ``\\i``) blanked out of a ``.sql``
    file: they are psql's, not SQL, and blanking keeps every offset where it was."""
    if fragment.in_python or "\\" not in fragment.sql:
        return fragment
    sql = _PSQL_COMMAND.sub(lambda m: " " * len(m.group(0)), fragment.sql)
    if sql == fragment.sql:
        return fragment
    return SqlFragment(fragment.path, sql, fragment.segments, fragment.span, fragment.context)


def parse_other_dialect(fragment: SqlFragment, dialect: str) -> tuple[list[SqlStatement], list[ParseProblem]]:
    """SQL of another database (``sql-dialect``): sqlglot splits and reads it, then transpiles
    each statement to PostgreSQL so the same IR and rules apply.

    The transpiled text differs from the file, so every position inside a statement maps to
    the statement's first character (findings land on the statement's first line, and no fix
    is offered). A query (SELECT, INSERT, UPDATE, DELETE, WITH) that sqlglot rejects is a parse
    error; other statements it cannot read (DDL, procedure bodies) and SQL in Python strings are
    skipped, not reported.
    """
    import sqlglot
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokenizer_core import TokenType

    sql = fragment.sql
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except Exception as exc:
        if fragment.in_python:
            return [], []
        return [], [ParseProblem(fragment.file_span(0, 1), f"SQL ({dialect}) could not be read: {_first_line(exc)}")]
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            if start is not None:
                ranges.append((start, end))
            start = None
            continue
        if start is None:
            start = tok.start
        end = tok.end + 1
    if start is not None:
        ranges.append((start, end))
    out: list[SqlStatement] = []
    problems: list[ParseProblem] = []
    for s, e in ranges:
        text = sql[s:e]
        try:
            pg = sqlglot.transpile(text, read=dialect, write="postgres")
        except sqlglot.errors.ParseError as exc:
            # sqlglot is not the database's own parser: trust its rejections only for plain
            # queries, not for DDL or procedure bodies (`IF ... THEN`, `DECLARE ... HANDLER`)
            if not fragment.in_python and _DML.match(text):
                problems.append(ParseProblem(_error_span(fragment, s, text, exc), f"SQL ({dialect}) syntax error: {_sqlglot_message(exc)}"))
            continue
        except Exception:
            continue  # sqlglot cannot express it in PostgreSQL: nothing to check
        file_start = fragment.file_offset(s)
        for pg_sql in pg:
            try:
                raw = _parse_sql(pg_sql)
            except Exception:
                continue
            frag = SqlFragment(fragment.path, pg_sql, ((0, file_start, 0),), Span(fragment.path, file_start, fragment.file_offset(e)), fragment.context)
            for r in raw:
                if sql_depth(r.stmt) > MAX_SQL_DEPTH:
                    problems.append(ParseProblem(fragment.file_span(s, s + 1), f"SQL nested deeper than {MAX_SQL_DEPTH} levels: not checked"))
                    continue
                out.append(SqlStatement(frag, r.stmt, 0, len(pg_sql)))
    return out, problems


_DML = re.compile(r"\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|WITH|VALUES)\b", re.IGNORECASE)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _sqlglot_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None) or []
    if errors:
        e = errors[0]
        near = str(e.get("highlight") or "").strip()
        return f"{e.get('description', 'invalid SQL')}" + (f' at or near "{near}"' if near else "")
    return _first_line(exc)


def _error_span(fragment: SqlFragment, start: int, text: str, exc: Exception) -> Span:
    errors = getattr(exc, "errors", None) or []
    pos = start
    if errors and isinstance(errors[0].get("line"), int) and isinstance(errors[0].get("col"), int):
        lines = text.split("\n")
        line, col = errors[0]["line"], errors[0]["col"]
        if 1 <= line <= len(lines):
            highlight = str(errors[0].get("highlight") or "")
            # sqlglot's col is the end of the highlighted token
            pos = start + sum(len(x) + 1 for x in lines[: line - 1]) + max(0, col - len(highlight))
    return fragment.file_span(pos, pos + 1)
