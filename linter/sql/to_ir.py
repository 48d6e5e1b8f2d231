"""SQL statements -> Query IR (to be completed by the SQL front end)."""

from __future__ import annotations

from querylint.ir import Query
from querylint.sqlsource import SqlStatement


def to_queries(statement: SqlStatement) -> list[Query]:
    return []
