from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.migration import Migration
from querylint.migrations.sql import typed_columns
from querylint.rule import Example, FileContext, MigrationRule

_SMALL = {"integer": "bigint", "int": "bigint", "smallint": "bigint", "serial": "bigint identity", "smallserial": "bigint identity", "serial4": "bigint identity", "serial2": "bigint identity"}


class PreferBigint(MigrationRule):
    """A new `integer`/`smallint` column can run out of values; prefer `bigint` (opt-in).

    ## Why is this bad?
    A 4-byte integer id runs out at 2,147,483,647; changing the type later rewrites the table
    under an ACCESS EXCLUSIVE lock. `bigint` costs 4 more bytes per row.

    ## Example
    ```sql
    CREATE TABLE events (id integer PRIMARY KEY);
    ```

    ## Use instead
    ```sql
    CREATE TABLE events (id bigint PRIMARY KEY);
    ```

    ## Migration
    Django: `BigAutoField` / `BigIntegerField` (`DEFAULT_AUTO_FIELD`). Alembic: `sa.BigInteger`.

    ## References
    - [squawk: prefer-bigint-over-int](https://squawkhq.com/docs/prefer-bigint-over-int)
    """

    code = "QL419"
    name = "prefer-bigint"
    default_enabled = False
    example_path = "migrations/0001_init.sql"

    VALID = [Example("CREATE TABLE events (id bigint PRIMARY KEY);\n")]
    INVALID = [
        Example("CREATE TABLE events (id integer PRIMARY KEY);\n", line=1,
                message="`events.id` is integer: it runs out at 2,147,483,647 and widening it later rewrites the table; use bigint"),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.add_column("orders", sa.Column("quantity", sa.Integer()))


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="`orders.quantity` is integer: it runs out at 2,147,483,647 and widening it later rewrites the table; use bigint",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op, col_name, typ, span in typed_columns(migration, ctx.source.text):
            if typ in _SMALL:
                limit = "32,767" if typ.startswith("small") or typ in ("serial2",) else "2,147,483,647"
                yield self.diagnostic(
                    span,
                    f"`{op.table}.{col_name}` is {typ}: it runs out at {limit} and widening it later rewrites the "
                    f"table; use {_SMALL[typ].split()[0]}",
                    help=f"Declare `{col_name}` as {_SMALL[typ]}",
                )
