from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, existing_table, lock_sentence
from querylint.migration import ConstraintKind, Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class AddUniqueConstraint(MigrationRule):
    """Adding a `UNIQUE` constraint builds its index under an ACCESS EXCLUSIVE lock.

    ## Why is this bad?
    `ALTER TABLE ... ADD UNIQUE (...)` builds a unique index while holding ACCESS EXCLUSIVE:
    no reads, no writes until the build ends. Build the index `CONCURRENTLY` first, then
    attach it with `ADD CONSTRAINT ... UNIQUE USING INDEX`, which is instant.

    ## Example
    ```sql
    ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
    ```

    ## Use instead
    ```sql
    CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);
    ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;
    ```

    ## Migration
    Django: `AddIndexConcurrently` of a unique index (`atomic = False`), then
    `RunSQL("... UNIQUE USING INDEX ...", state_operations=[AddConstraint(...)])`. Alembic:
    `op.create_index(..., unique=True, postgresql_concurrently=True)` in `autocommit_block()`,
    then `op.execute("... USING INDEX ...")`.

    ## References
    - [ALTER TABLE: ADD table_constraint_using_index](https://www.postgresql.org/docs/current/sql-altertable.html)
    - [squawk: disallowed-unique-constraint](https://squawkhq.com/docs/disallowed-unique-constraint)
    """

    code = "QL414"
    name = "add-unique-constraint"
    example_path = "migrations/0007_unique.sql"

    VALID = [Example("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;\n")]
    INVALID = [
        Example(
            "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\n",
            line=1,
            message="`ALTER TABLE ... ADD UNIQUE` takes an ACCESS EXCLUSIVE lock on `users`: reads and writes are "
            "blocked while the unique index is built",
        ),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.create_unique_constraint("users_email_key", "users", ["email"])


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="`ALTER TABLE ... ADD UNIQUE` takes an ACCESS EXCLUSIVE lock on `users`: reads and writes are blocked while the unique index is built",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is OpKind.ADD_CONSTRAINT and op.constraint is ConstraintKind.UNIQUE and not op.using_index and existing_table(op):
                yield self.diagnostic(
                    op.span,
                    lock_sentence(op, "while the unique index is built"),
                    help=by_framework(
                        op.framework,
                        sql="Build the index with `CREATE UNIQUE INDEX CONCURRENTLY`, then `ADD CONSTRAINT ... UNIQUE USING INDEX`",
                        django="Add the unique index with `AddIndexConcurrently` (atomic = False), then attach it with `RunSQL(... USING INDEX)`",
                        alembic="Create the unique index with `postgresql_concurrently=True` in `autocommit_block()`, then attach it `USING INDEX`",
                    ),
                )
