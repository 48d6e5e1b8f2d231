from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, existing_table, lock_sentence
from querylint.migration import ConstraintKind, Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class AddPrimaryKey(MigrationRule):
    """Adding a primary key builds its index (and checks NOT NULL) under an ACCESS EXCLUSIVE lock.

    ## Why is this bad?
    `ALTER TABLE ... ADD PRIMARY KEY (...)` builds a unique index and sets the columns NOT
    NULL while holding ACCESS EXCLUSIVE. Build a unique index `CONCURRENTLY` first, then
    `ADD CONSTRAINT ... PRIMARY KEY USING INDEX` (make the columns NOT NULL beforehand with a
    validated CHECK so that step does not scan).

    ## Example
    ```sql
    ALTER TABLE events ADD PRIMARY KEY (id);
    ```

    ## Use instead
    ```sql
    CREATE UNIQUE INDEX CONCURRENTLY events_pkey ON events (id);
    ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;
    ```

    ## Migration
    Django and Alembic: create the unique index concurrently (`AddIndexConcurrently` /
    `postgresql_concurrently=True`), then run the `USING INDEX` statement with `RunSQL` /
    `op.execute`.

    ## References
    - [ALTER TABLE: ADD table_constraint_using_index](https://www.postgresql.org/docs/current/sql-altertable.html)
    - [squawk: adding-serial-primary-key-field](https://squawkhq.com/docs/adding-serial-primary-key-field)
    """

    code = "QL415"
    name = "add-primary-key"
    example_path = "migrations/0007_pk.sql"

    VALID = [Example("ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;\n")]
    INVALID = [
        Example(
            "ALTER TABLE events ADD PRIMARY KEY (id);\n",
            line=1,
            message="`ALTER TABLE ... ADD PRIMARY KEY` takes an ACCESS EXCLUSIVE lock on `events`: reads and writes are "
            "blocked while the primary key index is built",
        ),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.create_primary_key("events_pkey", "events", ["id"])


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="`ALTER TABLE ... ADD PRIMARY KEY` takes an ACCESS EXCLUSIVE lock on `events`: reads and writes are blocked while the primary key index is built",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is OpKind.ADD_CONSTRAINT and op.constraint is ConstraintKind.PRIMARY_KEY and not op.using_index and existing_table(op):
                yield self.diagnostic(
                    op.span,
                    lock_sentence(op, "while the primary key index is built"),
                    help=by_framework(
                        op.framework,
                        sql="Build a unique index `CONCURRENTLY`, then `ADD CONSTRAINT ... PRIMARY KEY USING INDEX`",
                        django="Build the unique index with `AddIndexConcurrently` (atomic = False), then attach it with `RunSQL(... USING INDEX)`",
                        alembic="Create the unique index concurrently in `autocommit_block()`, then attach it `USING INDEX`",
                    ),
                )
