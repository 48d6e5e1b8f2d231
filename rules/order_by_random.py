from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from querylint.diagnostics import Diagnostic
from querylint.rule import Example, SqlContext, SqlRule
from querylint.sql.helpers import func_name, in_migration


class OrderByRandom(SqlRule):
    """`ORDER BY random()` reads and sorts every row to return a few.

    ## Why is this bad?
    To pick random rows this way, PostgreSQL computes `random()` for every row that matches,
    sorts them all, and throws almost all of them away. The cost grows with the table, not
    with the number of rows returned, and no index can help.
    SQL that a migration runs once (`RunSQL`, `op.execute`, migration `.sql` files) is not checked.

    ## Example
    ```sql
    SELECT id, title FROM articles ORDER BY random() LIMIT 5;
    ```

    ## Use instead
    Sample a fraction of the table's pages or rows:
    ```sql
    SELECT id, title FROM articles TABLESAMPLE SYSTEM (1) LIMIT 5;
    ```
    or pick random keys in the application (`WHERE id = ANY($1)`) or keep a random sort key
    in an indexed column.

    ## References
    - [PostgreSQL: TABLESAMPLE](https://www.postgresql.org/docs/current/sql-select.html#SQL-FROM)
    - [PostgreSQL: tsm_system_rows](https://www.postgresql.org/docs/current/tsm-system-rows.html)
    """

    code = "QL105"
    name = "order-by-random"
    example_path = "queries.sql"

    VALID = [
        Example("SELECT id, title FROM articles ORDER BY published_at DESC LIMIT 5;\n"),
        Example("SELECT id, random() AS r FROM articles;\n"),
    ]
    INVALID = [
        Example(
            "SELECT id, title\nFROM articles\nORDER BY random()\nLIMIT 5;\n",
            line=3,
            message="`ORDER BY random()` computes and sorts a random value for every matching row to return a few",
        ),
    ]

    def visit_SortBy(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
        if in_migration(ctx):
            return
        from pglast import ast

        fn = node.node
        if isinstance(fn, ast.FuncCall) and func_name(fn) in ("random", "pg_catalog.random") and not fn.args:
            yield self.diagnostic(
                ctx.node_span(fn, len("random()")),
                "`ORDER BY random()` computes and sorts a random value for every matching row to return a few",
                help="Sample with `TABLESAMPLE SYSTEM (n)` / `BERNOULLI (n)`, or pick random keys and fetch them by primary key",
            )
