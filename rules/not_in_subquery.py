from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from querylint.diagnostics import Diagnostic
from querylint.rule import Example, SqlContext, SqlRule
from querylint.sql.helpers import in_migration


class NotInSubquery(SqlRule):
    """`NOT IN (SELECT ...)` returns nothing when the subquery yields a NULL, and is no anti-join.

    ## Why is this bad?
    `x NOT IN (SELECT y ...)` is true only when `x` differs from *every* `y`; a single NULL `y`
    makes it NULL for every row, so the query silently returns nothing. PostgreSQL also cannot
    plan it as an anti-join: it hashes the subquery if it fits in `work_mem`, and otherwise
    re-scans it for each outer row.
    SQL that a migration runs once (`RunSQL`, `op.execute`, migration `.sql` files) is not checked.

    ## Example
    ```sql
    SELECT id FROM customers WHERE id NOT IN (SELECT customer_id FROM orders);
    ```

    ## Use instead
    ```sql
    SELECT id FROM customers c
    WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id);
    ```

    ## References
    - [PostgreSQL wiki: Don't use NOT IN](https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_NOT_IN)
    """

    code = "QL106"
    name = "not-in-subquery"
    example_path = "queries.sql"

    VALID = [
        Example("SELECT id FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id);\n"),
        Example("SELECT id FROM customers WHERE id NOT IN (1, 2, 3);\n"),
        Example("SELECT id FROM customers WHERE id IN (SELECT customer_id FROM orders);\n"),
    ]
    INVALID = [
        Example(
            "SELECT id FROM customers\nWHERE id NOT IN (SELECT customer_id FROM orders);\n",
            line=2,
            message="`id NOT IN (SELECT ...)` is never true when the subquery returns a NULL, and PostgreSQL cannot run it as an anti-join",
        ),
    ]

    def visit_BoolExpr(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
        if in_migration(ctx):
            return
        from pglast import ast, enums

        if node.boolop != enums.BoolExprType.NOT_EXPR or len(node.args or ()) != 1:
            return
        sub = node.args[0]
        if not (isinstance(sub, ast.SubLink) and sub.subLinkType == enums.SubLinkType.ANY_SUBLINK and sub.testexpr is not None):
            return
        from querylint.sql.to_ir import sql_text

        left = sql_text(sub.testexpr)
        start = getattr(sub.testexpr, "location", None)
        span = ctx.node_span(sub.testexpr) if isinstance(start, int) else ctx.statement_span()
        yield self.diagnostic(
            span,
            f"`{left} NOT IN (SELECT ...)` is never true when the subquery returns a NULL, and PostgreSQL cannot run it as an anti-join",
            help="Use `NOT EXISTS (SELECT 1 FROM ... WHERE ... = outer.column)`, which handles NULLs and plans as an anti-join",
        )
