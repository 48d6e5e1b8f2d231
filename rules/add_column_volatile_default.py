from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, existing_table, lock_phrase
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class AddColumnVolatileDefault(MigrationRule):
    """Adding a column whose default is volatile rewrites the whole table under an exclusive lock.

    ## Why is this bad?
    Since PostgreSQL 11 a column added with a *non-volatile* default (a constant, `now()`,
    `CURRENT_TIMESTAMP`) is instant: the value is stored once in the catalog. A *volatile*
    default (`clock_timestamp()`, `random()`, `gen_random_uuid()`, `uuid_generate_v4()`,
    `nextval()`) must be computed per row, so PostgreSQL rewrites the table and all its
    indexes under an ACCESS EXCLUSIVE lock. Before PostgreSQL 11 *any* default rewrites
    (set `postgres-version` in the config).

    ## Example
    ```sql
    ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();
    ```

    ## Use instead
    ```sql
    ALTER TABLE orders ADD COLUMN token uuid;
    ALTER TABLE orders ALTER COLUMN token SET DEFAULT gen_random_uuid();
    -- then backfill existing rows in batches
    ```

    ## Migration
    Django: add the field with `null=True` and no `db_default`, then backfill in a
    `RunPython` in batches. Alembic: `op.add_column` without `server_default`, then
    `op.alter_column(..., server_default=...)`, then backfill.

    ## References
    - [ALTER TABLE: Notes](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES)
    - [squawk: adding-field-with-default](https://squawkhq.com/docs/adding-field-with-default)
    """

    code = "QL405"
    name = "add-column-volatile-default"
    example_path = "migrations/0002_token.sql"

    VALID = [
        Example("ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';\n"),
        Example("ALTER TABLE orders ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();\n"),
    ]
    INVALID = [
        Example(
            "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();\n",
            line=1,
            message="`ALTER TABLE ... ADD COLUMN` takes an ACCESS EXCLUSIVE lock on `orders`: the volatile default "
            "`gen_random_uuid()` of `token` rewrites every row, and reads and writes are blocked until it finishes",
        ),
        Example(
            "ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';\n",
            line=1,
            config={"postgres_version": 10},
            message="`ALTER TABLE ... ADD COLUMN` takes an ACCESS EXCLUSIVE lock on `orders`: before PostgreSQL 11 "
            "the default `'new'` of `status` rewrites every row, and reads and writes are blocked until it finishes",
        ),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.add_column("orders", sa.Column("token", sa.Uuid(), server_default=sa.func.gen_random_uuid()))


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="`ALTER TABLE ... ADD COLUMN` takes an ACCESS EXCLUSIVE lock on `orders`: the volatile default `gen_random_uuid()` of `token` rewrites every row, and reads and writes are blocked until it finishes",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        old_pg = ctx.config.postgres_version < 11
        for op in migration.ops:
            col = op.column
            if op.kind is not OpKind.ADD_COLUMN or col is None or col.default is None or not existing_table(op):
                continue
            if col.serial:
                continue  # rewrite-table reports serial columns
            if col.default_volatile:
                why = f"the volatile default `{col.default}` of `{col.name}` rewrites every row"
            elif old_pg:
                why = f"before PostgreSQL 11 the default `{col.default}` of `{col.name}` rewrites every row"
            else:
                continue
            yield self.diagnostic(
                op.span,
                f"{lock_phrase(op)}: {why}, and reads and writes are blocked until it finishes",
                help=by_framework(
                    op.framework,
                    sql="Add the column without a default, `SET DEFAULT` in a second statement, then backfill in batches",
                    django="Add the field with `null=True` and no default, then backfill in batches with `RunPython`",
                    alembic="Add the column without `server_default`, set it with `op.alter_column`, then backfill",
                ),
            )
