"""Small questions the query-shape rules ask of pglast trees (shared so each rule stays short)."""

from __future__ import annotations

import re
from typing import Any

from querylint.rule import SqlContext
from querylint.source import Span

#: the clause a node sits in, by the member name that holds it
_CLAUSES = {
    "whereClause": "where", "quals": "join", "havingClause": "having", "targetList": "select",
    "sortClause": "order", "groupClause": "group", "returningList": "returning", "fromClause": "from",
    "valuesLists": "values", "limitCount": "limit", "limitOffset": "offset", "usingClause": "from",
}


def clause_of(ancestors: Any) -> str | None:
    """``where`` / ``join`` / ``having`` / ``select`` ... for the innermost clause holding a node."""
    a = ancestors
    while a is not None:
        m = getattr(a, "member", None)
        if isinstance(m, str) and m in _CLAUSES:
            return _CLAUSES[m]
        a = getattr(a, "parent", None)
    return None


def in_migration(ctx: SqlContext) -> bool:
    """SQL run once by a migration (``RunSQL``, ``op.execute``, a migration ``.sql`` file).

    Query-shape advice is about queries the application runs over and over; a one-off data
    migration is not one of them.
    """
    assert ctx.statement is not None
    if ctx.statement.fragment.context in ("RunSQL", "op.execute"):
        return True
    return bool(ctx.project.migrations_in(ctx.path))


def in_filter(ancestors: Any) -> bool:
    """Is the node part of a WHERE or JOIN ... ON condition (where an index could serve it)?"""
    return clause_of(ancestors) in ("where", "join")


def const_string(node: Any) -> tuple[str, bool] | None:
    """(value, is_prefix) of a string constant, or of the leading constant of ``'%' || x``."""
    from pglast import ast

    if isinstance(node, ast.TypeCast):
        return const_string(node.arg)
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        return str(node.val.sval), False
    if isinstance(node, ast.A_Expr) and node.name and node.name[-1].sval == "||" and node.lexpr is not None:
        inner = const_string(node.lexpr)
        return (inner[0], True) if inner is not None else None
    return None


def as_written(ctx: SqlContext, start: int, rendered: str) -> str:
    """The user's spelling of an expression that pglast rendered as ``rendered`` (case may differ)."""
    assert ctx.statement is not None
    sql = ctx.statement.fragment.sql
    written = sql[start : start + len(rendered)]
    return written if written.lower() == rendered.lower() else rendered


def func_name(node: Any) -> str:
    return ".".join(n.sval for n in (node.funcname or ()) if hasattr(n, "sval")).lower()


def text_span(ctx: SqlContext, start: int, end: int) -> Span:
    assert ctx.statement is not None
    return ctx.statement.fragment.file_span(start, end)


def find_in_statement(ctx: SqlContext, pattern: str, start: int | None = None) -> re.Match[str] | None:
    """First case-insensitive match of ``pattern`` in the statement's SQL (from ``start``)."""
    assert ctx.statement is not None
    st = ctx.statement
    rx = re.compile(pattern, re.IGNORECASE)
    return rx.search(st.fragment.sql, st.start if start is None else start, st.end)
