"""The SQL front end: pglast parsing, SQL found in Python strings, and SQL -> Query IR.

Public entry points used by the engine (see each module):

* :func:`parse_fragment` — parse a :class:`~querylint.sqlsource.SqlFragment` into statements,
  or report where it fails (``dialect`` other than postgres: sqlglot reads it and transpiles
  each statement to PostgreSQL for the same IR and rules, positions per statement);
* :func:`find_sql_in_python` — the SQL string literals of a Python module that reach the
  database (``cursor.execute``, ``text()``, ``RunSQL``...), with placeholders normalised;
* :func:`to_queries` — the :class:`~querylint.ir.Query` records of one statement.
"""

from __future__ import annotations

import ast

from querylint.ir import Query
from querylint.project import ParseProblem
from querylint.source import SourceFile
from querylint.sqlsource import SqlFragment, SqlStatement


def parse_fragment(fragment: SqlFragment, dialect: str = "postgres") -> tuple[list[SqlStatement], list[ParseProblem]]:
    from querylint.sql.parse import parse_fragment as impl

    result: tuple[list[SqlStatement], list[ParseProblem]] = impl(fragment, dialect)
    return result


def find_sql_in_python(source: SourceFile, tree: ast.Module) -> list[SqlFragment]:
    from querylint.sql.embedded import find_sql_in_python as impl

    found: list[SqlFragment] = impl(source, tree)
    return found


def to_queries(statement: SqlStatement) -> list[Query]:
    from querylint.sql.to_ir import to_queries as impl

    queries: list[Query] = impl(statement)
    return queries
