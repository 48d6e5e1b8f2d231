from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, existing_table, lock_phrase
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class RenameColumn(MigrationRule):
    """Renaming a column breaks the code that is still running during the deploy.

    ## Why is this bad?
    The rename itself is quick (a brief ACCESS EXCLUSIVE lock), but the moment it commits,
    every running app server that still says the old name fails. Old and new code overlap
    during every deploy.

    ## Example
    ```sql
    ALTER TABLE orders RENAME COLUMN total TO amount;
    ```

    ## Use instead
    ```sql
    -- expand: add the new column and write both; backfill; switch reads;
    -- contract: drop the old column in a later release
    ALTER TABLE orders ADD COLUMN amount numeric;
    ```

    ## Migration
    Django: keep the column name with `db_column="total"` when renaming the field
    (`RenameField` then changes only Python). Alembic: add the new column, backfill, and drop
    the old one in a later revision.

    ## References
    - [squawk: renaming-column](https://squawkhq.com/docs/renaming-column)
    """

    code = "QL410"
    name = "rename-column"
    example_path = "migrations/0005_rename.sql"

    VALID = [Example("CREATE TABLE orders (total int);\nALTER TABLE orders RENAME COLUMN total TO amount;\n")]
    INVALID = [
        Example(
            "ALTER TABLE orders RENAME COLUMN total TO amount;\n",
            line=1,
            message="`ALTER TABLE ... RENAME COLUMN` takes an ACCESS EXCLUSIVE lock on `orders` and renames `total` "
            "to `amount`: running code that still uses `total` fails as soon as it commits",
        ),
        Example(
            """
                from django.db import migrations, models


                class Migration(migrations.Migration):
                    dependencies = [("shop", "0001_initial")]

                    operations = [
                        migrations.RenameField(model_name="order", old_name="total", new_name="amount"),
                    ]
            """,
            path="shop/migrations/0002_change.py",
            line=8,
            message="`ALTER TABLE ... RENAME COLUMN` takes an ACCESS EXCLUSIVE lock on `shop_order` and renames `total` to `amount`: running code that still uses `total` fails as soon as it commits",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is OpKind.RENAME_COLUMN and existing_table(op):
                yield self.diagnostic(
                    op.span,
                    f"{lock_phrase(op)} and renames `{op.name}` to `{op.new_name}`: running code that still uses "
                    f"`{op.name}` fails as soon as it commits",
                    help=by_framework(
                        op.framework,
                        sql="Add the new column, write both, backfill, switch reads, drop the old column in a later release",
                        django="Keep the database name with `db_column=` on the renamed field, or expand and contract",
                        alembic="Add the new column, backfill, switch the code, drop the old column in a later revision",
                    ),
                )
