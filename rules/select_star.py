from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from querylint.diagnostics import Applicability, Confidence, Diagnostic, Edit, Fix
from querylint.rule import Example, FixAvailability, SqlContext, SqlRule
from querylint.source import RelatedSpan
from querylint.sql.helpers import in_migration

_SCHEMA = "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL);\n"


class SelectStar(SqlRule):
    """`SELECT *` sends every column of a table to the application.

    ## Why is this bad?
    `SELECT *` fetches columns the code never reads (wide `text` and `jsonb` columns travel
    over the network and through the driver for nothing), prevents index-only scans, and ties
    the application to the table's column order: adding a column changes every result.
    Only a `*` whose rows reach the application is reported: `count(*)`, `EXISTS (SELECT * ...)`,
    `INSERT ... SELECT *`, a `*` over a CTE or subquery that lists its own columns, and Django's
`Model.objects.raw("SELECT * ...")` (which fills every field of the model) are fine.
    SQL that a migration runs once (`RunSQL`, `op.execute`, migration `.sql` files) is not checked.

    ## Example
    ```sql
    SELECT * FROM orders WHERE customer_id = $1;
    ```

    ## Use instead
    ```sql
    SELECT id, status FROM orders WHERE customer_id = $1;
    ```

    ## Fix safety
    When the table's columns are known from `CREATE TABLE` statements (or models) in the
    project, the fix expands `*` to every column. It is unsafe: code that reads columns by
    position or a column added later in the database changes what the query returns.

    ## References
    - [PostgreSQL: index-only scans](https://www.postgresql.org/docs/current/indexes-index-only-scans.html)
    - [sqlfluff AM04](https://docs.sqlfluff.com/en/stable/reference/rules.html#rule-ambiguous.column_count)
    """

    code = "QL101"
    name = "select-star"
    fix_availability = FixAvailability.SOMETIMES
    example_path = "queries.sql"

    VALID = [
        Example("SELECT id, status FROM orders WHERE customer_id = $1;\n"),
        Example("SELECT count(*) FROM orders;\n"),
        Example("SELECT id FROM customers c WHERE EXISTS (SELECT * FROM orders o WHERE o.customer_id = c.id);\n"),
        Example("WITH recent AS (SELECT id, status FROM orders LIMIT 10) SELECT * FROM recent;\n"),
        Example("INSERT INTO orders_archive SELECT * FROM orders WHERE status = 'done';\n"),
    ]
    INVALID = [
        Example(
            "SELECT * FROM orders WHERE customer_id = $1;\n",
            files={"schema.sql": _SCHEMA},
            line=1,
            message="`SELECT *` on `orders` fetches every column, including ones the application may not use",
            fixed="SELECT id, customer_id, status FROM orders WHERE customer_id = $1;\n",
        ),
        Example(
            "SELECT o.*, c.name\nFROM orders o JOIN customers c ON c.id = o.customer_id;\n",
            line=1,
            message="`o.*` on `orders` fetches every column, including ones the application may not use",
        ),
    ]

    def visit_SelectStmt(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
        if in_migration(ctx):
            return
        assert ctx.statement is not None
        if node is not ctx.statement.node:
            return  # only the statement's own SELECT reaches the application; nested ones are followed below
        if ctx.statement.fragment.context == "raw":
            return  # Model.objects.raw() builds model instances, which need every field anyway
        yield from self._reaching(node, ctx, set(), ctes={})

    def _reaching(self, sel: Any, ctx: SqlContext, seen: set[int], ctes: dict[str, Any]) -> Iterator[Diagnostic]:
        from pglast import ast, enums

        if id(sel) in seen or not isinstance(sel, ast.SelectStmt):
            return
        seen.add(id(sel))
        ctes = dict(ctes)
        if sel.withClause is not None:
            for cte in sel.withClause.ctes or ():
                ctes[cte.ctename] = cte.ctequery
        if sel.op != enums.SetOperation.SETOP_NONE:
            yield from self._reaching(sel.larg, ctx, seen, ctes)
            yield from self._reaching(sel.rarg, ctx, seen, ctes)
            return
        sources = self._sources(sel.fromClause or (), ctes)  # alias -> RangeVar | SelectStmt
        for target in sel.targetList or ():
            ref = target.val
            if not (isinstance(ref, ast.ColumnRef) and ref.fields and isinstance(ref.fields[-1], ast.A_Star)):
                continue
            qual = ref.fields[-2].sval if len(ref.fields) >= 2 else None
            picked = [(a, s) for a, s in sources if qual is None or a == qual]
            tables = [s for _a, s in picked if isinstance(s, ast.RangeVar)]
            for _a, s in picked:
                if isinstance(s, ast.SelectStmt):
                    yield from self._reaching(s, ctx, seen, ctes)
            if tables:
                yield self._report(ref, qual, tables, ctx)

    def _sources(self, items: Any, ctes: dict[str, Any]) -> list[tuple[str | None, Any]]:
        from pglast import ast

        out: list[tuple[str | None, Any]] = []
        for item in items:
            if isinstance(item, ast.RangeVar):
                alias = item.alias.aliasname if item.alias is not None else item.relname
                if item.schemaname is None and item.relname in ctes:
                    out.append((alias, ctes[item.relname]))
                else:
                    out.append((alias, item))
            elif isinstance(item, ast.JoinExpr):
                out.extend(self._sources((item.larg, item.rarg), ctes))
            elif isinstance(item, ast.RangeSubselect) and item.alias is not None:
                out.append((item.alias.aliasname, item.subquery))
        return out

    def _report(self, ref: Any, qual: str | None, tables: list[Any], ctx: SqlContext) -> Diagnostic:
        span = ctx.node_span(ref)
        names = ", ".join(f"`{t.relname}`" for t in tables)
        what = f"`{qual}.*`" if qual else "`SELECT *`"
        fix = None
        related: list[RelatedSpan] = []
        if len(tables) == 1:
            table = ctx.project.schema.table(tables[0].relname)
            # only where the file holds the `*` itself (not SQL transpiled from another dialect)
            if table is not None and table.columns and ctx.source.text[span.start : span.end].endswith("*"):
                prefix = f"{qual}." if qual else ""
                cols = ", ".join(prefix + c for c in table.columns)
                fix = Fix(f"Expand `{'*' if not qual else qual + '.*'}` to the {len(table.columns)} columns of `{table.name}`",
                          (Edit(span.path, span.start, span.end, cols),), Applicability.UNSAFE)
                if table.provenance is not None:
                    related.append(RelatedSpan(table.provenance, f"`{table.name}` is defined here"))
        return self.diagnostic(
            span,
            f"{what} on {names} fetches every column, including ones the application may not use",
            help="List the columns the code reads",
            fix=fix,
            related=related,
            confidence=Confidence.HIGH,
        )
