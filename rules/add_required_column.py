from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic, Severity
from querylint.locks import by_framework, existing_table, lock_phrase
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class AddRequiredColumn(MigrationRule):
    """Adding a `NOT NULL` column without a default to an existing table fails or breaks inserts.

    ## Why is this bad?
    `ALTER TABLE ... ADD COLUMN x ... NOT NULL` with no default fails as soon as the table
    has a row ("column contains null values"). Even on an empty table, the code still running
    during the deploy inserts rows without `x` and starts failing.

    ## Example
    ```sql
    ALTER TABLE orders ADD COLUMN status text NOT NULL;
    ```

    ## Use instead
    ```sql
    -- PostgreSQL 11+: a constant default is instant
    ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';
    ```

    ## Migration
    Django: give the field a `default` (and on Django 5+ `db_default`), or add it with
    `null=True` and tighten later. Alembic: `op.add_column(..., sa.Column(..., nullable=False,
    server_default="new"))`.

    ## References
    - [ALTER TABLE: ADD COLUMN](https://www.postgresql.org/docs/current/sql-altertable.html)
    - [squawk: adding-required-field](https://squawkhq.com/docs/adding-required-field)
    """

    code = "QL404"
    name = "add-required-column"
    severity = Severity.ERROR
    example_path = "migrations/0002_status.sql"

    VALID = [
        Example("ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';\n"),
        Example("ALTER TABLE orders ADD COLUMN status text;\n"),
        Example("CREATE TABLE orders (id bigint);\nALTER TABLE orders ADD COLUMN status text NOT NULL;\n"),
        Example(
            """
            import sqlalchemy as sa
            from alembic import op

            revision = "b2"
            down_revision = "a1"


            def upgrade():
                op.add_column("orders", sa.Column("currency", sa.Text(), nullable=False, server_default="EUR"))


            def downgrade():
                op.drop_column("orders", "currency")
            """,
            path="alembic/versions/b2_currency.py",
        ),
    ]
    INVALID = [
        Example(
            "ALTER TABLE orders ADD COLUMN status text NOT NULL;\n",
            line=1,
            message="`ALTER TABLE ... ADD COLUMN` takes an ACCESS EXCLUSIVE lock on `orders` to add `status` NOT NULL "
            "without a default: it fails as soon as `orders` has a row, and inserts from running code that omit it fail",
        ),
        Example(
            """
            import sqlalchemy as sa
            from alembic import op

            revision = "b2"
            down_revision = "a1"


            def upgrade():
                op.add_column("orders", sa.Column("currency", sa.Text(), nullable=False))


            def downgrade():
                op.drop_column("orders", "currency")
            """,
            path="alembic/versions/b2_currency.py",
            line=9,
            message="`ALTER TABLE ... ADD COLUMN` takes an ACCESS EXCLUSIVE lock on `orders` to add `currency` NOT NULL "
            "without a default: it fails as soon as `orders` has a row, and inserts from running code that omit it fail",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            col = op.column
            if op.kind is not OpKind.ADD_COLUMN or col is None or not existing_table(op):
                continue
            if col.nullable or col.default is not None or col.identity or col.serial or col.generated_stored:
                continue
            yield self.diagnostic(
                op.span,
                f"{lock_phrase(op)} to add `{col.name}` NOT NULL without a default: it fails as soon as "
                f"`{op.table}` has a row, and inserts from running code that omit it fail",
                help=by_framework(
                    op.framework,
                    sql="Add a constant `DEFAULT`, or add the column nullable, backfill, then set NOT NULL",
                    django="Give the field a `default`/`db_default`, or add it with `null=True` and backfill first",
                    alembic="Pass `server_default=...` to the column, or add it `nullable=True` and backfill first",
                ),
            )
