"""Drop migration operations that only run on other databases (SQLite, MySQL, ...).

Alembic revisions of multi-database projects branch on the dialect::

    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("spans") as batch_op:
            batch_op.drop_index(...)          # never runs on PostgreSQL
    else:
        op.drop_index(..., postgresql_concurrently=True)

querylint lints for PostgreSQL, so operations in a branch that PostgreSQL never takes are not
findings. A branch is decided only when its test names a dialect plainly (``sqlite``,
``mysql``, ``MySQLDialect``, ``postgresql``...); anything else keeps both branches.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace

from querylint.astwalk import statements
from querylint.project import ProjectIndex
from querylint.source import SourceFile

_OTHER = re.compile(r"sqlite|mysql|mariadb|mssql|oracle", re.IGNORECASE)
_PG = re.compile(r"postgres", re.IGNORECASE)
_ANY_DIALECT = re.compile(r"sqlite|mysql|mariadb|mssql|oracle|postgres", re.IGNORECASE)


def _body_runs_on_postgres(test: ast.expr) -> bool | None:
    """True/False when the ``if`` test decides whether its body runs on PostgreSQL, else None."""
    text = ast.unparse(test)
    other, pg = bool(_OTHER.search(text)), bool(_PG.search(text))
    if other == pg:  # neither, or both (`in ("sqlite", "postgresql")`): undecided
        return None
    if isinstance(test, ast.BoolOp):
        return None  # `x and y`: too clever to decide
    negated = (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)) or bool(
        isinstance(test, ast.Compare) and any(isinstance(o, (ast.NotEq, ast.NotIn, ast.IsNot)) for o in test.ops)
    )
    return (not negated) if pg else negated


_DIALECT_WORDS = ("sqlite", "mysql", "mariadb", "mssql", "oracle", "postgres")


def _names_a_dialect(text: str) -> bool:
    """``_ANY_DIALECT.search(text)``; on ASCII text by plain substring tests (a case-insensitive
    regex scans five times as long)."""
    if text.isascii():
        low = text.lower()
        return any(w in low for w in _DIALECT_WORDS)
    return _ANY_DIALECT.search(text) is not None


def non_postgres_ranges(tree: ast.Module, source: SourceFile) -> list[tuple[int, int]]:
    """Character ranges of ``if`` branches that never run on PostgreSQL."""
    out: list[tuple[int, int]] = []
    # a test can name a dialect only with one of these words in the file (or an escape in a
    # string spelling one): most migrations have none, and need no walk
    if "\\" not in source.text and not _names_a_dialect(source.text):
        return out

    def span(stmts: list[ast.stmt]) -> tuple[int, int] | None:
        if not stmts:
            return None
        first, last = stmts[0], stmts[-1]
        start = source.offset_from_ast(first.lineno, first.col_offset)
        end_line = last.end_lineno or last.lineno
        end = source.offset_from_ast(end_line, last.end_col_offset or 0)
        return start, end

    for node in statements(tree.body):  # an `if` is a statement: expressions need no walk
        if not isinstance(node, ast.If):
            continue
        runs = _body_runs_on_postgres(node.test)
        if runs is None:
            continue
        dead = span(node.orelse) if runs else span(node.body)
        if dead is not None:
            out.append(dead)
    return out


def drop_non_postgres_ops(project: ProjectIndex) -> None:
    """Remove ops inside non-PostgreSQL branches from every Python migration of the project."""
    for i, mig in enumerate(project.migrations):
        pf = project.files.get(mig.path)
        if pf is None or pf.tree is None:
            continue
        ranges = non_postgres_ranges(pf.tree, pf.source)
        if not ranges:
            continue
        kept = tuple(op for op in mig.ops if not any(a <= op.span.start < b for a, b in ranges))
        if len(kept) != len(mig.ops):
            project.migrations[i] = replace(mig, ops=kept)
