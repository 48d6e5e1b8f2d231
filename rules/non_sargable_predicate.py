from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from querylint.diagnostics import Confidence, Diagnostic
from querylint.rule import Example, SqlContext, SqlRule
from querylint.sql.helpers import as_written, func_name, in_filter, in_migration

_COMPARE = {"=", "<>", "!=", "<", "<=", ">", ">="}
_ARITH = {"+", "-", "*", "/", "%", "||"}


class NonSargablePredicate(SqlRule):
    """A function, cast or arithmetic on a column in a condition hides it from its index.

    ## Why is this bad?
    An index on `created_at` stores `created_at`, not `created_at::date`, `date_trunc('day',
    created_at)` or `created_at + interval '1 day'`. A condition that wraps the column cannot
    use that index ("not sargable"), so PostgreSQL scans the table and evaluates the
    expression on every row. Reported in `WHERE` and `JOIN ... ON` comparisons; quiet when an
    expression index on exactly that expression exists in the project's schema.
    SQL that a migration runs once (`RunSQL`, `op.execute`, migration `.sql` files) is not checked.

    ## Example
    ```sql
    SELECT id FROM orders WHERE created_at::date = $1;
    ```

    ## Use instead
    Compare the bare column, moving the work to the other side:
    ```sql
    SELECT id FROM orders WHERE created_at >= $1 AND created_at < $1 + interval '1 day';
    ```
    or, when the expression is what the application means (`lower(email)`), create an index
    on the expression (see `missing-expression-index`).

    ## References
    - [Use The Index, Luke: functions in WHERE](https://use-the-index-luke.com/sql/where-clause/functions)
    - [PostgreSQL: indexes on expressions](https://www.postgresql.org/docs/current/indexes-expressional.html)
    """

    code = "QL104"
    name = "non-sargable-predicate"
    example_path = "queries.sql"

    VALID = [
        Example("SELECT id FROM orders WHERE created_at >= $1 AND created_at < $2;\n"),
        Example("SELECT lower(email) FROM users;\n"),
        Example("SELECT id FROM users WHERE email = lower($1);\n"),
        Example(
            "SELECT id FROM users WHERE lower(email) = $1;\n",
            files={"schema.sql": "CREATE TABLE users (id bigint, email text);\nCREATE INDEX users_lower_email ON users (lower(email));\n"},
        ),
    ]
    INVALID = [
        Example(
            "SELECT id FROM users\nWHERE lower(email) = $1;\n",
            line=2,
            message="`lower(email)` applies a function to column `email`, so an index on `email` cannot serve this comparison",
        ),
        Example(
            "SELECT id FROM orders WHERE created_at::date = '2024-01-01';\n",
            line=1,
            message="`created_at::date` casts column `created_at`, so an index on `created_at` cannot serve this comparison",
        ),
        Example(
            "SELECT id FROM orders WHERE id + 1 = $1;\n",
            line=1,
            message="`id + 1` does arithmetic on column `id`, so an index on `id` cannot serve this comparison",
        ),
    ]

    def visit_A_Expr(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
        if in_migration(ctx):
            return
        from pglast import enums

        K = enums.A_Expr_Kind
        opname = node.name[-1].sval if node.name else ""
        if not (
            (node.kind == K.AEXPR_OP and opname in _COMPARE)
            or node.kind in (K.AEXPR_IN, K.AEXPR_BETWEEN, K.AEXPR_NOT_BETWEEN)
        ):
            return
        if not in_filter(ctx.ancestors):
            return
        for side in (node.lexpr, node.rexpr):
            found = self._wrapped(side)
            if found is None:
                continue
            how, column, table_alias = found
            yield from self._report(side, how, column, table_alias, ctx)
            return

    def _wrapped(self, node: Any) -> tuple[str, str, str | None] | None:
        """(how, column, qualifier) when ``node`` wraps exactly one column in a function/cast/arithmetic."""
        from pglast import ast
        from querylint.sql.to_ir import colref_parts, column_refs

        if isinstance(node, ast.FuncCall):
            if node.agg_star or node.over is not None or func_name(node) in ("count", "sum", "avg", "min", "max"):
                return None  # aggregates and window functions are not row filters
            how = "function"
        elif isinstance(node, (ast.CoalesceExpr, ast.MinMaxExpr)):
            how = "function"
        elif isinstance(node, ast.TypeCast):
            how = "cast"
        elif isinstance(node, ast.A_Expr) and node.name and node.name[-1].sval in _ARITH and node.kind is not None and node.kind.name == "AEXPR_OP":
            how = "arithmetic"
        else:
            return None
        refs = column_refs(node)
        keys = {colref_parts(r) for r in refs}
        if len(keys) != 1:
            return None
        qual, col = next(iter(keys))
        if col is None:
            return None
        return how, col, qual

    def _report(self, side: Any, how: str, column: str, qual: str | None, ctx: SqlContext) -> Iterator[Diagnostic]:
        from querylint.indexing import norm_expression
        from querylint.sql.to_ir import leftmost, sql_text

        start = getattr(leftmost(side), "location", None)
        text = sql_text(side)
        if isinstance(start, int) and start >= 0:
            text = as_written(ctx, start, text)
        if qual:
            text = text.replace(f"{qual}.", "")
        # an expression index on exactly this expression serves it: stay quiet
        norm = norm_expression(text)
        for table in ctx.project.schema.tables.values():
            for ix in table.indexes:
                if ix.keys and ix.keys[0].expression and norm_expression(ix.keys[0].expression) == norm:
                    return
        verb = {
            "function": f"applies a function to column `{column}`",
            "cast": f"casts column `{column}`",
            "arithmetic": f"does arithmetic on column `{column}`",
        }[how]
        yield self.diagnostic(
            ctx.node_span(leftmost(side), len(text)),
            f"`{text}` {verb}, so an index on `{column}` cannot serve this comparison",
            help=f"Compare the bare `{column}` (move the {how} to the other side or use a range), or add an index on the expression `({text})`",
            confidence=Confidence.MEDIUM if how == "cast" else Confidence.HIGH,
        )
