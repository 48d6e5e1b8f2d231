from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import lock_phrase
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class TruncateCascade(MigrationRule):
    """`TRUNCATE ... CASCADE` also empties every table that references this one, recursively.

    ## Why is this bad?
    `CASCADE` follows foreign keys: every table with a foreign key to the truncated one is
    emptied too, and so are the tables referencing *those*. Each one is locked ACCESS
    EXCLUSIVE. One line can wipe most of a database.

    ## Example
    ```sql
    TRUNCATE customers CASCADE;
    ```

    ## Use instead
    ```sql
    -- name every table you mean to empty
    TRUNCATE customers, orders;
    ```

    ## Migration
    Django / Alembic: data deletion belongs in a reviewed `RunPython` / `op.execute` that names
    its tables; avoid `CASCADE`.

    ## References
    - [TRUNCATE](https://www.postgresql.org/docs/current/sql-truncate.html)
    - [squawk: ban-truncate-cascade](https://squawkhq.com/docs/ban-truncate-cascade)
    """

    code = "QL426"
    name = "truncate-cascade"
    example_path = "migrations/0014_truncate.sql"

    VALID = [Example("TRUNCATE customers, orders;\n")]
    INVALID = [
        Example("TRUNCATE customers CASCADE;\n", line=1,
                message="`TRUNCATE` takes an ACCESS EXCLUSIVE lock on `customers` and, with CASCADE, empties every table "
                "that references it, recursively"),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.execute("TRUNCATE customers CASCADE")


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="`TRUNCATE` takes an ACCESS EXCLUSIVE lock on `customers` and, with CASCADE, empties every table that references it, recursively",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is OpKind.TRUNCATE and op.cascade:
                yield self.diagnostic(
                    op.span,
                    f"{lock_phrase(op)} and, with CASCADE, empties every table that references it, recursively",
                    help="Name every table to empty explicitly and drop `CASCADE`",
                )
