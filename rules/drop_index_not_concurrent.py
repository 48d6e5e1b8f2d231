from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Applicability, Diagnostic
from querylint.locks import by_framework, existing_table, keyword_fix, lock_sentence
from querylint.migration import Migration, OpKind
from querylint.migrations.fixes import alembic_autocommit_fix, django_concurrent_index_fix
from querylint.rule import Example, FileContext, FixAvailability, MigrationRule


class DropIndexNotConcurrent(MigrationRule):
    """`DROP INDEX` without `CONCURRENTLY` takes an ACCESS EXCLUSIVE lock on the table.

    ## Why is this bad?
    A plain `DROP INDEX` locks the index's table in ACCESS EXCLUSIVE mode: it waits behind
    every running query on the table, and every query that arrives meanwhile waits behind it.
    `DROP INDEX CONCURRENTLY` waits for conflicting transactions without blocking them.

    ## Example
    ```sql
    DROP INDEX orders_customer_idx;
    ```

    ## Use instead
    ```sql
    DROP INDEX CONCURRENTLY IF EXISTS orders_customer_idx;
    ```

    ## Migration
    Django: `RemoveIndexConcurrently` in a migration with `atomic = False`. Alembic:
    `op.drop_index(..., postgresql_concurrently=True)` inside `autocommit_block()`.

    ## Fix safety
    Unsafe: `DROP INDEX CONCURRENTLY` cannot run in a transaction block.

    ## References
    - [DROP INDEX](https://www.postgresql.org/docs/current/sql-dropindex.html)
    """

    code = "QL402"
    name = "drop-index-not-concurrent"
    fix_availability = FixAvailability.SOMETIMES
    example_path = "migrations/0003_drop.sql"

    VALID = [
        Example("DROP INDEX CONCURRENTLY IF EXISTS orders_customer_idx;\n"),
        Example("CREATE TABLE t (a int);\nCREATE INDEX t_a ON t (a);\nDROP INDEX t_a;\n"),
    ]
    INVALID = [
        Example(
            "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\nDROP INDEX orders_customer_idx;\n",
            line=2,
            message="`DROP INDEX` takes an ACCESS EXCLUSIVE lock on `orders`: reads and writes are blocked until the index is dropped",
        ),
        Example(
            "DROP INDEX orders_customer_idx;\n",
            line=1,
            message="`DROP INDEX` takes an ACCESS EXCLUSIVE lock on its table: reads and writes are blocked until the index is dropped",
        ),
        Example(
            """
                from django.db import migrations, models


                class Migration(migrations.Migration):
                    dependencies = [("shop", "0001_initial")]

                    operations = [
                        migrations.RemoveIndex(model_name="order", name="order_status_idx"),
                    ]
            """,
            path="shop/migrations/0002_change.py",
            line=8,
            message="`DROP INDEX` takes an ACCESS EXCLUSIVE lock on `shop_order`: reads and writes are blocked until the index is dropped",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is not OpKind.DROP_INDEX or op.concurrently or not existing_table(op):
                continue
            fix = None
            if not op.cascade:
                fix = keyword_fix(ctx.source.text, op, r"^DROP\s+INDEX(?!\s+\w+\s*,)", " CONCURRENTLY",
                                  "Add `CONCURRENTLY`", Applicability.UNSAFE)
                fix = fix or django_concurrent_index_fix(ctx.source.text, migration, op) or alembic_autocommit_fix(
                    ctx.source.text, op, add_concurrently=True
                )
            yield self.diagnostic(
                op.span,
                lock_sentence(op, "until the index is dropped"),
                help=by_framework(
                    op.framework,
                    sql="Use `DROP INDEX CONCURRENTLY`, outside any transaction block",
                    django="Use `RemoveIndexConcurrently` in a migration with `atomic = False`",
                    alembic="Pass `postgresql_concurrently=True` inside `with op.get_context().autocommit_block():`",
                ),
                fix=fix,
            )
