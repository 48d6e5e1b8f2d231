from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.migration import Migration
from querylint.migrations.sql import typed_columns
from querylint.rule import Example, FileContext, MigrationRule


class PreferText(MigrationRule):
    """`varchar(n)` makes every later length change a migration; prefer `text` with a CHECK (opt-in).

    ## Why is this bad?
    `varchar(n)` is no faster than `text` in PostgreSQL. Shrinking the limit later rewrites
    the table under an ACCESS EXCLUSIVE lock; a `CHECK (char_length(col) <= n)` constraint can
    be replaced `NOT VALID` without a rewrite.

    ## Example
    ```sql
    CREATE TABLE users (email varchar(255));
    ```

    ## Use instead
    ```sql
    CREATE TABLE users (email text CHECK (char_length(email) <= 255));
    ```

    ## Migration
    Django: `TextField` (with a `CheckConstraint` when the limit matters). Alembic: `sa.Text`.

    ## References
    - [Don't use varchar(n) by default](https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_varchar.28n.29_by_default)
    - [squawk: prefer-text-field](https://squawkhq.com/docs/prefer-text-field)
    """

    code = "QL421"
    name = "prefer-text"
    default_enabled = False
    example_path = "migrations/0001_init.sql"

    VALID = [Example("CREATE TABLE users (email text);\n")]
    INVALID = [
        Example("CREATE TABLE users (email varchar(255));\n", line=1,
                message="`users.email` is varchar(255): shrinking the limit later rewrites the table; use text with a CHECK constraint"),
        Example(
            """
                from django.db import migrations, models


                class Migration(migrations.Migration):
                    dependencies = [("shop", "0001_initial")]

                    operations = [
                        migrations.AddField(model_name="order", name="code", field=models.CharField(max_length=20, null=True)),
                    ]
            """,
            path="shop/migrations/0002_change.py",
            line=8,
            message="`shop_order.code` is varchar(20): shrinking the limit later rewrites the table; use text with a CHECK constraint",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op, col_name, typ, span in typed_columns(migration, ctx.source.text):
            if typ.startswith("varchar("):
                yield self.diagnostic(
                    span,
                    f"`{op.table}.{col_name}` is {typ}: shrinking the limit later rewrites the table; use text with a "
                    "CHECK constraint",
                    help=f"Declare `{col_name}` as text, with `CHECK (char_length({col_name}) <= n)` if the limit matters",
                )
