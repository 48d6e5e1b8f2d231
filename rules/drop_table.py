from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, existing_table, lock_phrase
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class DropTable(MigrationRule):
    """Dropping a table destroys its data and breaks the code that still uses it.

    ## Why is this bad?
    `DROP TABLE` takes an ACCESS EXCLUSIVE lock, waits behind every query on the table, and
    cannot be undone: the data is gone. Code still deployed that queries the table fails.

    ## Example
    ```sql
    DROP TABLE legacy_orders;
    ```

    ## Use instead
    ```sql
    -- after the code no longer uses it, and with a backup:
    DROP TABLE IF EXISTS legacy_orders;
    ```

    ## Migration
    Django: delete the model with `SeparateDatabaseAndState` (state only) first, drop the
    table in a later release. Alembic: drop it in a revision deployed after the code stopped
    using it.

    ## References
    - [squawk: ban-drop-table](https://squawkhq.com/docs/ban-drop-table)
    """

    code = "QL413"
    name = "drop-table"
    example_path = "migrations/0006_drop.sql"

    VALID = [Example("CREATE TABLE scratch (id int);\nDROP TABLE scratch;\n")]
    INVALID = [
        Example(
            "DROP TABLE legacy_orders;\n",
            line=1,
            message="`DROP TABLE` takes an ACCESS EXCLUSIVE lock on `legacy_orders` and deletes it with its data: "
            "running code that still queries it fails as soon as it commits",
        ),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.drop_table("legacy_orders")


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="`DROP TABLE` takes an ACCESS EXCLUSIVE lock on `legacy_orders` and deletes it with its data: running code that still queries it fails as soon as it commits",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is OpKind.DROP_TABLE and existing_table(op):
                yield self.diagnostic(
                    op.span,
                    f"{lock_phrase(op)} and deletes it with its data: running code that still queries it fails as "
                    "soon as it commits",
                    help=by_framework(
                        op.framework,
                        sql="Deploy code that no longer uses the table first, back it up, then drop it in a later release",
                        django="Delete the model with `SeparateDatabaseAndState` first; drop the table in a later release",
                        alembic="Deploy code that no longer uses the table first; drop it in a later revision",
                    ),
                )
