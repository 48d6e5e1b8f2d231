from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, existing_table, lock_phrase
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class DetachPartitionNotConcurrent(MigrationRule):
    """`DETACH PARTITION` without `CONCURRENTLY` locks the whole partitioned table (PostgreSQL 14+).

    ## Why is this bad?
    A plain `ALTER TABLE parent DETACH PARTITION child` takes ACCESS EXCLUSIVE on the parent:
    every query on any partition waits. From PostgreSQL 14, `DETACH PARTITION ... CONCURRENTLY`
    takes only SHARE UPDATE EXCLUSIVE on the parent (outside a transaction block). The rule
    is quiet when `postgres-version` is below 14.

    ## Example
    ```sql
    ALTER TABLE measurements DETACH PARTITION measurements_2020;
    ```

    ## Use instead
    ```sql
    ALTER TABLE measurements DETACH PARTITION measurements_2020 CONCURRENTLY;
    ```

    ## Migration
    Django: `RunSQL(...)` in a migration with `atomic = False`. Alembic: `op.execute(...)`
    inside `autocommit_block()`.

    ## References
    - [ALTER TABLE: DETACH PARTITION](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DETACH-PARTITION)
    """

    code = "QL429"
    name = "detach-partition-not-concurrent"
    example_path = "migrations/0017_detach.sql"

    VALID = [
        Example("ALTER TABLE measurements DETACH PARTITION measurements_2020 CONCURRENTLY;\n"),
        Example("ALTER TABLE measurements DETACH PARTITION measurements_2020;\n", config={"postgres_version": 13}),
    ]
    INVALID = [
        Example("ALTER TABLE measurements DETACH PARTITION measurements_2020;\n", line=1,
                message="`ALTER TABLE ... DETACH PARTITION` takes an ACCESS EXCLUSIVE lock on `measurements`: reads and "
                "writes on every partition are blocked while `measurements_2020` is detached"),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2020")


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="`ALTER TABLE ... DETACH PARTITION` takes an ACCESS EXCLUSIVE lock on `measurements`: reads and writes on every partition are blocked while `measurements_2020` is detached",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        if ctx.config.postgres_version < 14:
            return
        for op in migration.ops:
            if op.kind is OpKind.DETACH_PARTITION and not op.concurrently and existing_table(op):
                yield self.diagnostic(
                    op.span,
                    f"{lock_phrase(op)}: reads and writes on every partition are blocked while `{op.name}` is detached",
                    help=by_framework(
                        op.framework,
                        sql="Use `DETACH PARTITION ... CONCURRENTLY`, outside any transaction block",
                        django="Use `RunSQL(\"... DETACH PARTITION ... CONCURRENTLY\")` with `atomic = False`",
                        alembic="Use `op.execute(\"... DETACH PARTITION ... CONCURRENTLY\")` inside `autocommit_block()`",
                    ),
                )
