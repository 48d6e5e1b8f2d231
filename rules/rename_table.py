from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, existing_table, lock_phrase
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class RenameTable(MigrationRule):
    """Renaming a table breaks the code that is still running during the deploy.

    ## Why is this bad?
    The rename is quick (a brief ACCESS EXCLUSIVE lock), but every running app server that
    still queries the old name fails once it commits.

    ## Example
    ```sql
    ALTER TABLE orders RENAME TO purchases;
    ```

    ## Use instead
    ```sql
    ALTER TABLE orders RENAME TO purchases;
    CREATE VIEW orders AS SELECT * FROM purchases;  -- drop the view in a later release
    ```

    ## Migration
    Django: keep the table with `Meta.db_table = "orders"` when renaming the model
    (`RenameModel` then changes only Python). Alembic: rename and create a compatibility view,
    drop it in a later revision.

    ## References
    - [squawk: renaming-table](https://squawkhq.com/docs/renaming-table)
    """

    code = "QL411"
    name = "rename-table"
    example_path = "migrations/0005_rename.sql"

    VALID = [Example("CREATE TABLE orders (id int);\nALTER TABLE orders RENAME TO purchases;\n")]
    INVALID = [
        Example(
            "ALTER TABLE orders RENAME TO purchases;\n",
            line=1,
            message="`ALTER TABLE ... RENAME TO` takes an ACCESS EXCLUSIVE lock on `orders` and renames it to "
            "`purchases`: running code that still queries `orders` fails as soon as it commits",
        ),
        Example(
            """
                from django.db import migrations, models


                class Migration(migrations.Migration):
                    dependencies = [("shop", "0001_initial")]

                    operations = [
                        migrations.RenameModel(old_name="Order", new_name="Purchase"),
                    ]
            """,
            path="shop/migrations/0002_change.py",
            line=8,
            message="`ALTER TABLE ... RENAME TO` takes an ACCESS EXCLUSIVE lock on `shop_order` and renames it to `shop_purchase`: running code that still queries `shop_order` fails as soon as it commits",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is OpKind.RENAME_TABLE and existing_table(op):
                yield self.diagnostic(
                    op.span,
                    f"{lock_phrase(op)} and renames it to `{op.new_name}`: running code that still queries "
                    f"`{op.table}` fails as soon as it commits",
                    help=by_framework(
                        op.framework,
                        sql="Keep a compatibility view under the old name until no code uses it",
                        django="Keep the table with `Meta.db_table` on the renamed model",
                        alembic="Create a compatibility view under the old name and drop it in a later revision",
                    ),
                )
