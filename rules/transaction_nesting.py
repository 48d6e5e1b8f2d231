from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class TransactionNesting(MigrationRule):
    """`BEGIN` inside a transaction, or `COMMIT` inside a migration the runner already wraps.

    ## Why is this bad?
    PostgreSQL has no nested transactions: a second `BEGIN` only warns, and the first `COMMIT`
    ends the *runner's* transaction. What follows runs outside any transaction, so a failure
    leaves the migration half-applied and the runner's bookkeeping wrong.

    ## Example
    ```sql
    -- the runner wraps each file in a transaction
    BEGIN;
    ALTER TABLE orders ADD COLUMN note text;
    COMMIT;
    ```

    ## Use instead
    ```sql
    ALTER TABLE orders ADD COLUMN note text;
    ```

    ## Migration
    Django: never put `BEGIN`/`COMMIT` in `RunSQL`; use `atomic = False` for non-transactional
    steps. Alembic: use `op.get_context().autocommit_block()` instead of `COMMIT`.

    ## References
    - [BEGIN](https://www.postgresql.org/docs/current/sql-begin.html)
    - [squawk: transaction-nesting](https://squawkhq.com/docs/transaction-nesting)
    """

    code = "QL427"
    name = "transaction-nesting"
    example_path = "migrations/0015_tx.sql"

    VALID = [Example("BEGIN;\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;\n")]
    INVALID = [
        Example(
            "BEGIN;\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;\n",
            line=1,
            config={"sql_migrations_in_transaction": True},
            message="`BEGIN` inside a transaction that is already open: PostgreSQL ignores it, and the next COMMIT "
            "ends the outer transaction",
        ),
        Example(
            "ALTER TABLE orders ADD COLUMN note text;\nCOMMIT;\n",
            line=2,
            config={"sql_migrations_in_transaction": True},
            message="`COMMIT` inside a migration the runner wraps in a transaction: it commits the runner's "
            "transaction early, so a later failure leaves the migration half-applied",
        ),
        Example(
            """
                from django.db import migrations, models


                class Migration(migrations.Migration):
                    dependencies = [("shop", "0001_initial")]

                    operations = [
                        migrations.RunSQL("BEGIN; UPDATE shop_order SET status = 'new'; COMMIT;", migrations.RunSQL.noop),
                    ]
            """,
            path="shop/migrations/0002_change.py",
            line=8,
            message="`BEGIN` inside a transaction that is already open: PostgreSQL ignores it, and the next COMMIT ends the outer transaction",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        help_ = by_framework(
            migration.framework,
            sql="Remove the explicit BEGIN/COMMIT, or configure the runner not to wrap this file",
            django="Remove BEGIN/COMMIT from RunSQL; set `atomic = False` for steps that must not run in a transaction",
            alembic="Remove BEGIN/COMMIT; use `op.get_context().autocommit_block()`",
        )
        opened_by_file = False
        for op in migration.ops:
            if op.kind is OpKind.BEGIN:
                if op.in_transaction:
                    yield self.diagnostic(
                        op.span,
                        "`BEGIN` inside a transaction that is already open: PostgreSQL ignores it, and the next COMMIT "
                        "ends the outer transaction",
                        help=help_,
                    )
                else:
                    opened_by_file = True
            elif op.kind in (OpKind.COMMIT, OpKind.ROLLBACK):
                if migration.atomic and not opened_by_file:
                    word = op.kind.value.upper()
                    yield self.diagnostic(
                        op.span,
                        f"`{word}` inside a migration the runner wraps in a transaction: it {word.lower()}s the runner's "
                        "transaction early, so a later failure leaves the migration half-applied",
                        help=help_,
                    )
                opened_by_file = False
