from __future__ import annotations

import re
from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, existing_table, lock_phrase
from querylint.migration import ConstraintKind, Migration, MigrationOp, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class SetNotNull(MigrationRule):
    """`SET NOT NULL` scans the whole table under an ACCESS EXCLUSIVE lock.

    ## Why is this bad?
    `ALTER TABLE ... ALTER COLUMN ... SET NOT NULL` checks every row while holding ACCESS
    EXCLUSIVE: no reads, no writes until the scan ends. From PostgreSQL 12 the scan is
    skipped when a *valid* `CHECK (col IS NOT NULL)` constraint already proves it, and that
    CHECK can be added `NOT VALID` and validated without blocking.

    ## Example
    ```sql
    ALTER TABLE orders ALTER COLUMN status SET NOT NULL;
    ```

    ## Use instead
    ```sql
    ALTER TABLE orders ADD CONSTRAINT orders_status_not_null CHECK (status IS NOT NULL) NOT VALID;
    -- separate transaction:
    ALTER TABLE orders VALIDATE CONSTRAINT orders_status_not_null;
    -- PostgreSQL 12+: uses the valid CHECK, no scan
    ALTER TABLE orders ALTER COLUMN status SET NOT NULL;
    ALTER TABLE orders DROP CONSTRAINT orders_status_not_null;
    ```

    ## Migration
    Django (`AlterField` to `null=False`): run the recipe with `RunSQL` and
    `state_operations=[AlterField(...)]`, validating in a separate migration. Alembic: the
    same statements with `op.execute`, then `op.alter_column(..., nullable=False)`.

    ## References
    - [ALTER TABLE: SET NOT NULL](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL)
    - [squawk: adding-not-nullable-field](https://squawkhq.com/docs/adding-not-nullable-field)
    """

    code = "QL408"
    name = "set-not-null"
    example_path = "migrations/0003_not_null.sql"

    VALID = [
        Example(
            "ALTER TABLE orders ADD CONSTRAINT orders_status_not_null CHECK (status IS NOT NULL) NOT VALID;\n"
            "ALTER TABLE orders VALIDATE CONSTRAINT orders_status_not_null;\n"
            "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n"
        ),
        Example("CREATE TABLE orders (status text);\nALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n"),
    ]
    INVALID = [
        Example(
            "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n",
            line=1,
            message="`ALTER TABLE ... SET NOT NULL` takes an ACCESS EXCLUSIVE lock on `orders`: reads and writes are "
            "blocked while every row is scanned for NULLs in `status`",
        ),
        Example(
            "ALTER TABLE orders ADD CONSTRAINT nn CHECK (status IS NOT NULL) NOT VALID;\n"
            "ALTER TABLE orders VALIDATE CONSTRAINT nn;\n"
            "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n",
            line=3,
            config={"postgres_version": 11},
            message="`ALTER TABLE ... SET NOT NULL` takes an ACCESS EXCLUSIVE lock on `orders`: reads and writes are "
            "blocked while every row is scanned for NULLs in `status`",
        ),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.alter_column("orders", "status", existing_type=sa.Text(), nullable=False)


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="`ALTER TABLE ... SET NOT NULL` takes an ACCESS EXCLUSIVE lock on `orders`: reads and writes are blocked while every row is scanned for NULLs in `status`",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        pg12 = ctx.config.postgres_version >= 12
        for i, op in enumerate(migration.ops):
            if op.kind is not OpKind.SET_NOT_NULL or not existing_table(op) or op.name is None:
                continue
            if pg12 and _proven_by_check(migration.ops[:i], op.table, op.name):
                continue
            yield self.diagnostic(
                op.span,
                f"{lock_phrase(op)}: reads and writes are blocked while every row is scanned for NULLs in `{op.name}`",
                help=by_framework(
                    op.framework,
                    sql="Add `CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE` it in another transaction, then SET NOT NULL (PG 12+)",
                    django="Run the CHECK ... NOT VALID / VALIDATE recipe with `RunSQL` (state_operations=[AlterField(...)])",
                    alembic="Run the CHECK ... NOT VALID / VALIDATE recipe with `op.execute` before `alter_column(nullable=False)`",
                ),
            )


def _proven_by_check(before: tuple[MigrationOp, ...], table: str | None, column: str) -> bool:
    """A CHECK (column IS NOT NULL) on the table that is valid by now (added valid, or validated)."""
    pattern = re.compile(rf'\(\s*"?{re.escape(column)}"?\s+IS\s+NOT\s+NULL\s*\)', re.IGNORECASE)
    valid: set[str] = set()
    pending: set[str] = set()
    for op in before:
        if op.table != table:
            continue
        if op.kind is OpKind.ADD_CONSTRAINT and op.constraint is ConstraintKind.CHECK and pattern.search(op.sql or ""):
            (pending if op.not_valid else valid).add(op.name or "")
        elif op.kind is OpKind.VALIDATE_CONSTRAINT and op.name in pending:
            valid.add(op.name)
    return bool(valid)
