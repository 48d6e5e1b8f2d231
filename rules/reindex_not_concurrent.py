from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Applicability, Diagnostic
from querylint.locks import by_framework, existing_table, keyword_fix, lock_phrase
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, FixAvailability, MigrationRule


class ReindexNotConcurrent(MigrationRule):
    """`REINDEX` without `CONCURRENTLY` blocks writes, and reads that use the index.

    ## Why is this bad?
    `REINDEX` takes a SHARE lock on the table (writes wait) and an ACCESS EXCLUSIVE lock on
    the index being rebuilt, so even a `SELECT` whose plan considers that index waits.
    PostgreSQL 12+ has `REINDEX ... CONCURRENTLY`.

    ## Example
    ```sql
    REINDEX INDEX orders_customer_idx;
    ```

    ## Use instead
    ```sql
    REINDEX INDEX CONCURRENTLY orders_customer_idx;
    ```

    ## Migration
    Django: `RunSQL("REINDEX INDEX CONCURRENTLY ...")` in a migration with `atomic = False`.
    Alembic: `op.execute(...)` inside `autocommit_block()`.

    ## Fix safety
    Unsafe: `REINDEX CONCURRENTLY` cannot run in a transaction block.

    ## References
    - [REINDEX](https://www.postgresql.org/docs/current/sql-reindex.html)
    - [squawk: require-concurrent-index-creation](https://squawkhq.com/docs/require-concurrent-index-creation)
    """

    code = "QL417"
    name = "reindex-not-concurrent"
    fix_availability = FixAvailability.SOMETIMES
    example_path = "migrations/0009_reindex.sql"

    VALID = [Example("REINDEX INDEX CONCURRENTLY orders_customer_idx;\n")]
    INVALID = [
        Example(
            "REINDEX TABLE orders;\n",
            line=1,
            message="`REINDEX` takes a SHARE lock on `orders` (and ACCESS EXCLUSIVE on each index it rebuilds): "
            "writes are blocked, and so are reads that would use the index, until it finishes",
            fixed="REINDEX TABLE CONCURRENTLY orders;\n",
        ),
        Example(
            """
                from django.db import migrations, models


                class Migration(migrations.Migration):
                    dependencies = [("shop", "0001_initial")]

                    operations = [
                        migrations.RunSQL("REINDEX TABLE shop_order", migrations.RunSQL.noop),
                    ]
            """,
            path="shop/migrations/0002_change.py",
            line=8,
            message="`REINDEX` takes a SHARE lock on `shop_order` (and ACCESS EXCLUSIVE on each index it rebuilds): writes are blocked, and so are reads that would use the index, until it finishes",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is not OpKind.REINDEX or op.concurrently or not existing_table(op):
                continue
            yield self.diagnostic(
                op.span,
                f"{lock_phrase(op)} (and ACCESS EXCLUSIVE on each index it rebuilds): writes are blocked, and so are "
                "reads that would use the index, until it finishes",
                help=by_framework(
                    op.framework,
                    sql="Use `REINDEX ... CONCURRENTLY` (PostgreSQL 12+), outside any transaction block",
                    django="Use `RunSQL(\"REINDEX ... CONCURRENTLY ...\")` in a migration with `atomic = False`",
                    alembic="Use `op.execute(\"REINDEX ... CONCURRENTLY ...\")` inside `autocommit_block()`",
                ),
                fix=keyword_fix(ctx.source.text, op, r"^REINDEX\s+(INDEX|TABLE|SCHEMA|DATABASE|SYSTEM)", " CONCURRENTLY",
                                "Add `CONCURRENTLY`", Applicability.UNSAFE)
                if ctx.config.postgres_version >= 12 else None,
            )
