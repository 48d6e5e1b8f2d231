from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from querylint.diagnostics import Confidence, Diagnostic
from querylint.rule import Example, SqlContext, SqlRule
from querylint.source import Span
from querylint.sql.helpers import find_in_statement, in_migration, text_span


class OffsetPagination(SqlRule):
    """Deep `OFFSET` pagination reads and throws away every skipped row.

    ## Why is this bad?
    `OFFSET n` does not jump: PostgreSQL produces the first `n` rows in order and discards
    them, so page 1000 costs a thousand pages of work, and rows inserted meanwhile shift pages
    (duplicates and gaps). Reported for a constant `OFFSET` above the `threshold` option
    (default 1000) and for a parameterised `OFFSET` in a sorted query (a pager).
    SQL that a migration runs once (`RunSQL`, `op.execute`, migration `.sql` files) is not checked.

    ## Example
    ```sql
    SELECT id, title FROM articles ORDER BY published_at DESC, id DESC LIMIT 20 OFFSET $1;
    ```

    ## Use instead
    Keyset ("seek") pagination: remember the last row of the page and continue after it.
    ```sql
    SELECT id, title FROM articles
    WHERE (published_at, id) < ($1, $2)
    ORDER BY published_at DESC, id DESC LIMIT 20;
    ```

    ## References
    - [Use The Index, Luke: paging through results](https://use-the-index-luke.com/no-offset)
    - [PostgreSQL: LIMIT and OFFSET](https://www.postgresql.org/docs/current/queries-limit.html)
    """

    code = "QL103"
    name = "offset-pagination"
    options = {"threshold": 1000}
    example_path = "queries.sql"

    VALID = [
        Example("SELECT id FROM articles ORDER BY id LIMIT 20 OFFSET 40;\n"),
        Example("SELECT id FROM articles WHERE id > $1 ORDER BY id LIMIT 20;\n"),
        Example("SELECT id FROM articles ORDER BY id LIMIT 20 OFFSET 5000;\n", options={"threshold": 10000}),
    ]
    INVALID = [
        Example(
            "SELECT id, title FROM articles\nORDER BY published_at DESC, id DESC\nLIMIT 20 OFFSET $1;\n",
            line=3,
            message="a parameterised `OFFSET` pages through a sorted result: every page reads and discards all rows before it",
        ),
        Example(
            "SELECT id FROM articles ORDER BY id LIMIT 20 OFFSET 5000;\n",
            line=1,
            message="`OFFSET 5000` reads and discards 5000 rows before returning any",
        ),
    ]

    def visit_SelectStmt(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
        if in_migration(ctx):
            return
        from pglast import ast

        off = node.limitOffset
        if off is None:
            return
        if isinstance(off, ast.A_Const):
            if off.isnull or not isinstance(off.val, ast.Integer):
                return
            n = int(off.val.ival or 0)
            if n <= int(self.opts["threshold"]):
                return
            m = find_in_statement(ctx, rf"\bOFFSET\s+{n}\b")
            span = text_span(ctx, m.start(), m.end()) if m else ctx.statement_span()
            yield self.diagnostic(
                span,
                f"`OFFSET {n}` reads and discards {n} rows before returning any",
                help="Paginate by key: `WHERE (sort_key, id) > ($last_key, $last_id) ORDER BY sort_key, id LIMIT n`",
            )
            return
        if not node.sortClause:
            return
        loc = getattr(off, "location", None)
        assert ctx.statement is not None
        if isinstance(loc, int) and loc >= 0:
            kw = ctx.statement.fragment.sql.upper().rfind("OFFSET", ctx.statement.start, loc)
            end = ctx.node_span(off).end
            start = text_span(ctx, kw if kw >= 0 else loc, loc).start
            span = Span(end=max(start, end), path=ctx.path, start=start)
        else:
            span = ctx.statement_span()
        yield self.diagnostic(
            span,
            "a parameterised `OFFSET` pages through a sorted result: every page reads and discards all rows before it",
            help="Paginate by key: remember the last row's sort key and id, then `WHERE (sort_key, id) > ($1, $2) ORDER BY sort_key, id LIMIT n`",
            confidence=Confidence.MEDIUM,
        )
