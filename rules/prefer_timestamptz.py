from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.migration import Migration
from querylint.migrations.sql import typed_columns
from querylint.rule import Example, FileContext, MigrationRule


class PreferTimestamptz(MigrationRule):
    """`timestamp` (without time zone) loses the time zone; prefer `timestamptz` (opt-in).

    ## Why is this bad?
    `timestamp without time zone` stores wall-clock time: the same value means different
    instants for sessions in different time zones, and DST shifts become bugs. `timestamptz`
    stores an instant and costs the same 8 bytes. Converting later rewrites the table unless
    the session time zone is UTC.

    ## Example
    ```sql
    CREATE TABLE events (created_at timestamp NOT NULL);
    ```

    ## Use instead
    ```sql
    CREATE TABLE events (created_at timestamptz NOT NULL);
    ```

    ## Migration
    Django uses `timestamptz` when `USE_TZ = True`. Alembic: `sa.DateTime(timezone=True)`.

    ## References
    - [Don't use timestamp (without time zone)](https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_timestamp_.28without_time_zone.29)
    - [squawk: prefer-timestamptz](https://squawkhq.com/docs/prefer-timestamp-tz)
    """

    code = "QL420"
    name = "prefer-timestamptz"
    default_enabled = False
    example_path = "migrations/0001_init.sql"

    VALID = [Example("CREATE TABLE events (created_at timestamptz NOT NULL);\n")]
    INVALID = [
        Example("CREATE TABLE events (created_at timestamp NOT NULL);\n", line=1,
                message="`events.created_at` is timestamp without time zone: it stores wall-clock time, not an instant; use timestamptz"),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.add_column("orders", sa.Column("shipped_at", sa.DateTime()))


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="`orders.shipped_at` is timestamp without time zone: it stores wall-clock time, not an instant; use timestamptz",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op, col_name, typ, span in typed_columns(migration, ctx.source.text):
            if typ == "timestamp" or typ.startswith("timestamp("):
                yield self.diagnostic(
                    span,
                    f"`{op.table}.{col_name}` is timestamp without time zone: it stores wall-clock time, not an instant; "
                    "use timestamptz",
                    help=f"Declare `{col_name}` as timestamptz",
                )
