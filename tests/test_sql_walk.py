"""querylint.sql.walk: pglast Visitor's (ancestors, node) pairs, in its order, in linear time."""

from __future__ import annotations

from typing import Any

import pglast
import pytest
from pglast.visitors import Visitor
from querylint.sql.helpers import clause_of
from querylint.sql.walk import walk

SQL = [
    "SELECT a, b FROM t JOIN u ON t.id = u.tid WHERE x IN (1, 2, 3) AND y = (SELECT max(z) FROM v) ORDER BY a DESC LIMIT 5",
    "INSERT INTO t (a, b) VALUES (1, 2), (3, 4) RETURNING id",
    "WITH c AS (SELECT 1 AS x) UPDATE t SET a = c.x FROM c WHERE t.id = ANY(ARRAY[1, 2])",
    "CREATE TABLE x (id bigint PRIMARY KEY, b text DEFAULT now()::text CHECK (b <> ''))",
    "SELECT CASE WHEN a THEN 1 ELSE 2 END, row_number() OVER (PARTITION BY a ORDER BY b) FROM t GROUP BY a HAVING count(*) > 1",
    "DELETE FROM t USING u WHERE t.id = u.id AND u.name LIKE '%x'",
]


def _path(ancestors: Any) -> tuple[str, ...]:
    out = []
    a = ancestors
    while a is not None and getattr(a, "node", None) is not None:
        out.append(repr(a.member))
        a = a.parent
    return tuple(out)


@pytest.mark.parametrize("sql", SQL)
def test_same_pairs_in_the_same_order_as_pglast(sql: str) -> None:
    stmt = pglast.parse_sql(sql)[0].stmt
    expected: list[tuple[str, tuple[str, ...], str | None]] = []

    class Recorder(Visitor):  # type: ignore[misc]
        def visit(self, ancestors: Any, node: Any) -> None:
            expected.append((type(node).__name__, _path(ancestors), clause_of(ancestors)))

    Recorder()(stmt)
    got = [(type(n).__name__, _path(a), clause_of(a)) for a, n in walk(stmt)]
    assert got == expected
    assert len(got) > 10


def test_a_long_in_list_is_walked_whole() -> None:
    n = 65_536
    stmt = pglast.parse_sql("SELECT id FROM t WHERE id IN (" + ", ".join(str(i) for i in range(n)) + ")")[0].stmt
    constants = [node for _a, node in walk(stmt) if type(node).__name__ == "A_Const"]
    assert len(constants) == n
    assert constants[0].val.ival == 0 and constants[-1].val.ival == n - 1
