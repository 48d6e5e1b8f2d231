from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Applicability, Diagnostic
from querylint.locks import by_framework, existing_table, keyword_fix, lock_sentence
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, FixAvailability, MigrationRule


class RefreshMatviewNotConcurrent(MigrationRule):
    """`REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` blocks reads of the view.

    ## Why is this bad?
    A plain refresh takes ACCESS EXCLUSIVE on the view: every `SELECT` from it waits until the
    query behind it has run again. `CONCURRENTLY` (which needs a unique index on the view)
    takes EXCLUSIVE, which lets reads continue.

    ## Example
    ```sql
    REFRESH MATERIALIZED VIEW sales_summary;
    ```

    ## Use instead
    ```sql
    REFRESH MATERIALIZED VIEW CONCURRENTLY sales_summary;
    ```

    ## Migration
    Django: `RunSQL("REFRESH MATERIALIZED VIEW CONCURRENTLY ...")`. Alembic: `op.execute(...)`.

    ## Fix safety
    Unsafe: `CONCURRENTLY` fails unless the view has a unique index covering all rows.

    ## References
    - [REFRESH MATERIALIZED VIEW](https://www.postgresql.org/docs/current/sql-refreshmaterializedview.html)
    """

    code = "QL428"
    name = "refresh-matview-not-concurrent"
    fix_availability = FixAvailability.SOMETIMES
    example_path = "migrations/0016_refresh.sql"

    VALID = [Example("REFRESH MATERIALIZED VIEW CONCURRENTLY sales_summary;\n")]
    INVALID = [
        Example("REFRESH MATERIALIZED VIEW sales_summary;\n", line=1,
                message="`REFRESH MATERIALIZED VIEW` takes an ACCESS EXCLUSIVE lock on `sales_summary`: reads and writes "
                "are blocked until the view is recomputed",
                fixed="REFRESH MATERIALIZED VIEW CONCURRENTLY sales_summary;\n"),
        Example(
            """
                from django.db import migrations, models


                class Migration(migrations.Migration):
                    dependencies = [("shop", "0001_initial")]

                    operations = [
                        migrations.RunSQL("REFRESH MATERIALIZED VIEW shop_sales", migrations.RunSQL.noop),
                    ]
            """,
            path="shop/migrations/0002_change.py",
            line=8,
            message="`REFRESH MATERIALIZED VIEW` takes an ACCESS EXCLUSIVE lock on `shop_sales`: reads and writes are blocked until the view is recomputed",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is OpKind.REFRESH_MATVIEW and not op.concurrently and existing_table(op):
                yield self.diagnostic(
                    op.span,
                    lock_sentence(op, "until the view is recomputed"),
                    help=by_framework(
                        op.framework,
                        sql="Use `REFRESH MATERIALIZED VIEW CONCURRENTLY` (the view needs a unique index)",
                        django="Use `RunSQL(\"REFRESH MATERIALIZED VIEW CONCURRENTLY ...\")` (the view needs a unique index)",
                        alembic="Use `op.execute(\"REFRESH MATERIALIZED VIEW CONCURRENTLY ...\")` (the view needs a unique index)",
                    ),
                    fix=keyword_fix(ctx.source.text, op, r"^REFRESH\s+MATERIALIZED\s+VIEW", " CONCURRENTLY",
                                    "Add `CONCURRENTLY`", Applicability.UNSAFE),
                )
