from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Applicability, Diagnostic
from querylint.locks import by_framework, existing_table, keyword_fix, lock_sentence
from querylint.migration import Migration, OpKind
from querylint.migrations.fixes import alembic_autocommit_fix, django_concurrent_index_fix
from querylint.rule import Example, FileContext, FixAvailability, MigrationRule


class CreateIndexNotConcurrent(MigrationRule):
    """`CREATE INDEX` without `CONCURRENTLY` on an existing table blocks writes while it builds.

    ## Why is this bad?
    A plain `CREATE INDEX` takes a SHARE lock on the table for the whole build: every
    `INSERT`, `UPDATE` and `DELETE` waits, on a big table for minutes. `CREATE INDEX
    CONCURRENTLY` takes only SHARE UPDATE EXCLUSIVE, which lets reads and writes go on.
    An index on a table created in the same migration is fine: nobody uses it yet.

    ## Example
    ```sql
    CREATE INDEX orders_customer_id_idx ON orders (customer_id);
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);
    ```

    ## Migration
    Django: `AddIndexConcurrently` (`django.contrib.postgres.operations`) in a migration with
    `atomic = False`. Alembic: `op.create_index(..., postgresql_concurrently=True)` inside
    `with op.get_context().autocommit_block():`.

    ## Fix safety
    The fix adds `CONCURRENTLY`; it is unsafe because a concurrent build cannot run in a
    transaction block and leaves an INVALID index behind when it fails.

    ## References
    - [CREATE INDEX: Building Indexes Concurrently](https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY)
    - [squawk: require-concurrent-index-creation](https://squawkhq.com/docs/require-concurrent-index-creation)
    """

    code = "QL401"
    name = "create-index-not-concurrent"
    fix_availability = FixAvailability.SOMETIMES
    example_path = "migrations/0002_index.sql"

    VALID = [
        Example("CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\n"),
        Example("CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\nCREATE INDEX orders_customer_idx ON orders (customer_id);\n"),
    ]
    INVALID = [
        Example(
            "CREATE INDEX orders_customer_idx ON orders (customer_id);\n",
            line=1,
            message="`CREATE INDEX` takes a SHARE lock on `orders`: writes are blocked until the index is built",
            fixed="CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\n",
        ),
        Example(
            """
            from django.db import migrations, models


            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]

                operations = [
                    migrations.AddIndex(model_name="order", index=models.Index(fields=["customer"], name="order_customer_idx")),
                ]
            """,
            path="shop/migrations/0002_order_customer_idx.py",
            line=8,
            message="`CREATE INDEX` takes a SHARE lock on `shop_order`: writes are blocked until the index is built",
            fixed="""\
from django.db import migrations, models
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("shop", "0001_initial")]

    operations = [
        AddIndexConcurrently(model_name="order", index=models.Index(fields=["customer"], name="order_customer_idx")),
    ]
""",
        ),
        Example(
            """
            from alembic import op

            revision = "b2"
            down_revision = "a1"


            def upgrade():
                op.create_index("ix_orders_customer_id", "orders", ["customer_id"])


            def downgrade():
                op.drop_index("ix_orders_customer_id", table_name="orders")
            """,
            path="alembic/versions/b2_orders_customer.py",
            line=8,
            message="`CREATE INDEX` takes a SHARE lock on `orders`: writes are blocked until the index is built",
            fixed="""\
from alembic import op

revision = "b2"
down_revision = "a1"


def upgrade():
    with op.get_context().autocommit_block():
        op.create_index("ix_orders_customer_id", "orders", ["customer_id"], postgresql_concurrently=True)


def downgrade():
    op.drop_index("ix_orders_customer_id", table_name="orders")
""",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is not OpKind.CREATE_INDEX or op.concurrently or not existing_table(op):
                continue
            yield self.diagnostic(
                op.span,
                lock_sentence(op, "until the index is built"),
                help=by_framework(
                    op.framework,
                    sql="Use `CREATE INDEX CONCURRENTLY`, outside any transaction block",
                    django="Use `AddIndexConcurrently` in a migration with `atomic = False`",
                    alembic="Pass `postgresql_concurrently=True` inside `with op.get_context().autocommit_block():`",
                ),
                fix=keyword_fix(ctx.source.text, op, r"^CREATE\s+(UNIQUE\s+)?INDEX", " CONCURRENTLY",
                                "Add `CONCURRENTLY`", Applicability.UNSAFE)
                or django_concurrent_index_fix(ctx.source.text, migration, op)
                or alembic_autocommit_fix(ctx.source.text, op, add_concurrently=True),
            )
