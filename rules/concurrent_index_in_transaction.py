from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic, Severity
from querylint.locks import by_framework, lock_for
from querylint.migration import Migration, OpKind
from querylint.migrations.fixes import alembic_autocommit_fix, django_non_atomic_fix
from querylint.rule import Example, FileContext, FixAvailability, MigrationRule

_KINDS = (OpKind.CREATE_INDEX, OpKind.DROP_INDEX, OpKind.REINDEX, OpKind.DETACH_PARTITION)


class ConcurrentIndexInTransaction(MigrationRule):
    """A `CONCURRENTLY` operation inside a transaction block fails at run time.

    ## Why is this bad?
    `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX CONCURRENTLY` and
    `DETACH PARTITION CONCURRENTLY` refuse to run in a transaction block: PostgreSQL raises
    "cannot run inside a transaction block" and the migration fails. Django runs every
    migration in a transaction unless `atomic = False`; Alembic runs revisions in one unless
    the call is inside `autocommit_block()`; many SQL runners wrap each file.

    ## Example
    ```sql
    BEGIN;
    CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);
    COMMIT;
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);
    ```

    ## Migration
    Django: set `atomic = False` on the `Migration` class. Alembic: wrap the call in
    `with op.get_context().autocommit_block():`.

    ## References
    - [CREATE INDEX: Building Indexes Concurrently](https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY)
    """

    code = "QL403"
    name = "concurrent-index-in-transaction"
    severity = Severity.ERROR
    fix_availability = FixAvailability.SOMETIMES
    example_path = "migrations/0002_index.sql"

    VALID = [
        Example("CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\n"),
        Example(
            """
            from alembic import op

            revision = "b2"
            down_revision = "a1"


            def upgrade():
                with op.get_context().autocommit_block():
                    op.create_index("ix_orders_status", "orders", ["status"], postgresql_concurrently=True)


            def downgrade():
                with op.get_context().autocommit_block():
                    op.drop_index("ix_orders_status", table_name="orders", postgresql_concurrently=True)
            """,
            path="alembic/versions/b2_orders_status.py",
        ),
    ]
    INVALID = [
        Example(
            "BEGIN;\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\nCOMMIT;\n",
            line=2,
            message="`CREATE INDEX CONCURRENTLY` on `orders` runs inside a transaction block: PostgreSQL rejects it and the migration fails",
        ),
        Example(
            "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\n",
            line=1,
            config={"sql_migrations_in_transaction": True},
            message="`CREATE INDEX CONCURRENTLY` on `orders` runs inside a transaction block: PostgreSQL rejects it and the migration fails",
        ),
        Example(
            """
            from django.contrib.postgres.operations import AddIndexConcurrently
            from django.db import migrations, models


            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]

                operations = [
                    AddIndexConcurrently(model_name="order", index=models.Index(fields=["status"], name="order_status_idx")),
                ]
            """,
            path="shop/migrations/0002_order_status_idx.py",
            line=9,
            message="`CREATE INDEX CONCURRENTLY` on `shop_order` runs inside a transaction block: PostgreSQL rejects it and the migration fails",
            fixed="""\
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("shop", "0001_initial")]

    operations = [
        AddIndexConcurrently(model_name="order", index=models.Index(fields=["status"], name="order_status_idx")),
    ]
""",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind not in _KINDS or not op.concurrently or not op.in_transaction:
                continue
            info = lock_for(op)
            stmt = info.statement if info else op.kind.value
            where = f" on `{op.table}`" if op.table else ""
            yield self.diagnostic(
                op.span,
                f"`{stmt}`{where} runs inside a transaction block: PostgreSQL rejects it and the migration fails",
                help=by_framework(
                    op.framework,
                    sql="Run it outside `BEGIN`/`COMMIT` (and tell the runner not to wrap this file in a transaction)",
                    django="Set `atomic = False` on this migration",
                    alembic="Move it into `with op.get_context().autocommit_block():`",
                ),
                fix=django_non_atomic_fix(ctx.source.text, migration)
                or alembic_autocommit_fix(ctx.source.text, op, add_concurrently=False),
            )
