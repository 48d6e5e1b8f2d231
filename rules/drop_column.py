from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, existing_table, lock_phrase
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class DropColumn(MigrationRule):
    """Dropping a column breaks the code that still reads or writes it.

    ## Why is this bad?
    The drop is quick (a brief ACCESS EXCLUSIVE lock; the data stays on disk until rewritten),
    but running code that still selects or inserts the column fails once it commits — and
    ORMs select every column of the model.

    ## Example
    ```sql
    ALTER TABLE orders DROP COLUMN legacy_code;
    ```

    ## Use instead
    ```sql
    -- release 1: stop using the column in code (make it nullable if it is NOT NULL)
    -- release 2:
    ALTER TABLE orders DROP COLUMN IF EXISTS legacy_code;
    ```

    ## Migration
    Django: remove the field from the model first with `SeparateDatabaseAndState`
    (state only), drop the column in a later release. Alembic: drop it in a revision deployed
    after the code stopped using it.

    ## References
    - [squawk: ban-drop-column](https://squawkhq.com/docs/ban-drop-column)
    """

    code = "QL412"
    name = "drop-column"
    example_path = "migrations/0006_drop.sql"

    VALID = [Example("CREATE TABLE orders (legacy_code text);\nALTER TABLE orders DROP COLUMN legacy_code;\n")]
    INVALID = [
        Example(
            "ALTER TABLE orders DROP COLUMN legacy_code;\n",
            line=1,
            message="`ALTER TABLE ... DROP COLUMN` takes an ACCESS EXCLUSIVE lock on `orders` and drops `legacy_code`: "
            "running code that still reads or writes it fails as soon as it commits",
        ),
        Example(
            """
                from django.db import migrations, models


                class Migration(migrations.Migration):
                    dependencies = [("shop", "0001_initial")]

                    operations = [
                        migrations.RemoveField(model_name="order", name="legacy_code"),
                    ]
            """,
            path="shop/migrations/0002_change.py",
            line=8,
            message="`ALTER TABLE ... DROP COLUMN` takes an ACCESS EXCLUSIVE lock on `shop_order` and drops `legacy_code`: running code that still reads or writes it fails as soon as it commits",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is OpKind.DROP_COLUMN and existing_table(op):
                yield self.diagnostic(
                    op.span,
                    f"{lock_phrase(op)} and drops `{op.name}`: running code that still reads or writes it fails as "
                    "soon as it commits",
                    help=by_framework(
                        op.framework,
                        sql="Deploy code that no longer uses the column first; drop it in a later release",
                        django="Remove the field with `SeparateDatabaseAndState` first; drop the column in a later release",
                        alembic="Deploy code that no longer uses the column first; drop it in a later revision",
                    ),
                )
