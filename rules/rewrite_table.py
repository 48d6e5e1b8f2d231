from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, existing_table, lock_phrase
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class RewriteTable(MigrationRule):
    """A statement that rewrites the whole table holds an ACCESS EXCLUSIVE lock for the whole rewrite.

    ## Why is this bad?
    `VACUUM FULL`, `CLUSTER`, and adding a column that must be filled per row — a `serial`,
    an identity, or a `GENERATED ... STORED` column — write a new copy of the table and its
    indexes while holding ACCESS EXCLUSIVE: no reads and no writes, for minutes or hours.

    ## Example
    ```sql
    VACUUM FULL orders;
    ```

    ## Use instead
    ```sql
    -- reclaim space online with pg_repack / pg_squeeze; for new columns, add a plain
    -- nullable column, backfill it in batches, then attach the default or sequence
    VACUUM orders;
    ```

    ## Migration
    Django / Alembic: never run `VACUUM FULL` or `CLUSTER` from a migration; for a new id
    column add it nullable and backfill with `RunPython` / batched `op.execute`.

    ## References
    - [VACUUM](https://www.postgresql.org/docs/current/sql-vacuum.html)
    - [ALTER TABLE: Notes](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES)
    - [squawk: adding-serial-primary-key-field](https://squawkhq.com/docs/adding-serial-primary-key-field)
    """

    code = "QL425"
    name = "rewrite-table"
    example_path = "migrations/0013_rewrite.sql"

    VALID = [Example("VACUUM orders;\n"), Example("CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN id bigserial;\n")]
    INVALID = [
        Example("VACUUM FULL orders;\n", line=1,
                message="`VACUUM FULL` takes an ACCESS EXCLUSIVE lock on `orders` and rewrites it: reads and writes "
                "are blocked until the rewrite finishes"),
        Example("ALTER TABLE orders ADD COLUMN seq bigserial;\n", line=1,
                message="`ALTER TABLE ... ADD COLUMN` takes an ACCESS EXCLUSIVE lock on `orders` and rewrites it to fill "
                "the serial column `seq`: reads and writes are blocked until the rewrite finishes"),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.add_column("orders", sa.Column("seq", sa.BigInteger(), sa.Identity()))


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="`ALTER TABLE ... ADD COLUMN` takes an ACCESS EXCLUSIVE lock on `orders` and rewrites it to fill the identity column `seq`: reads and writes are blocked until the rewrite finishes",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            why = ""
            if op.kind in (OpKind.VACUUM_FULL, OpKind.CLUSTER) and existing_table(op):
                why = "rewrites it"
            elif op.kind is OpKind.ADD_COLUMN and op.column is not None and existing_table(op):
                c = op.column
                kind = "serial" if c.serial else "identity" if c.identity else "stored generated" if c.generated_stored else ""
                if kind:
                    why = f"rewrites it to fill the {kind} column `{c.name}`"
            if not why:
                continue
            yield self.diagnostic(
                op.span,
                f"{lock_phrase(op)} and {why}: reads and writes are blocked until the rewrite finishes",
                help=by_framework(
                    op.framework,
                    sql="Use pg_repack/pg_squeeze instead of VACUUM FULL/CLUSTER; add new columns nullable and backfill in batches",
                    django="Do not rewrite tables in a migration; add the field nullable and backfill with `RunPython` in batches",
                    alembic="Do not rewrite tables in a revision; add the column nullable and backfill in batches",
                ),
            )
