from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, lock_for
from querylint.migration import Migration, MigrationOp, OpKind
from querylint.rule import Example, FileContext, MigrationRule
from querylint.source import RelatedSpan


class ValidateInSameTransaction(MigrationRule):
    """`VALIDATE CONSTRAINT` in the same transaction as its `ADD ... NOT VALID` keeps the strong lock.

    ## Why is this bad?
    `NOT VALID` exists so that the slow validation runs under SHARE UPDATE EXCLUSIVE instead
    of the ADD's lock. In one transaction the ADD's lock (ACCESS EXCLUSIVE for CHECK, SHARE ROW
    EXCLUSIVE for FOREIGN KEY) is held until COMMIT, so the validation still blocks everyone.

    ## Example
    ```sql
    BEGIN;
    ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;
    ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
    COMMIT;
    ```

    ## Use instead
    ```sql
    BEGIN;
    ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;
    COMMIT;
    ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
    ```

    ## Migration
    Django: put the VALIDATE in the next migration (or set `atomic = False`). Alembic: put it
    in the next revision, or run it inside `autocommit_block()`.

    ## References
    - [ALTER TABLE: VALIDATE CONSTRAINT](https://www.postgresql.org/docs/current/sql-altertable.html)
    - [squawk: constraint-missing-not-valid](https://squawkhq.com/docs/constraint-missing-not-valid)
    """

    code = "QL418"
    name = "validate-in-same-transaction"
    example_path = "migrations/0010_validate.sql"

    VALID = [
        Example("ALTER TABLE orders ADD CONSTRAINT c CHECK (total >= 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT c;\n"),
    ]
    INVALID = [
        Example(
            "BEGIN;\nALTER TABLE orders ADD CONSTRAINT c CHECK (total >= 0) NOT VALID;\n"
            "ALTER TABLE orders VALIDATE CONSTRAINT c;\nCOMMIT;\n",
            line=3,
            message="`VALIDATE CONSTRAINT c` runs in the same transaction as the `ALTER TABLE ... ADD CHECK NOT VALID` "
            "on `orders`: its ACCESS EXCLUSIVE lock is held while every row is validated, so NOT VALID gains nothing",
        ),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.execute("ALTER TABLE orders ADD CONSTRAINT c CHECK (total >= 0) NOT VALID")
                    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT c")


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=10,
            message="`VALIDATE CONSTRAINT c` runs in the same transaction as the `ALTER TABLE ... ADD CHECK NOT VALID` on `orders`: its ACCESS EXCLUSIVE lock is held while every row is validated, so NOT VALID gains nothing",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        added: dict[tuple[str | None, str | None], MigrationOp] = {}
        for op in migration.ops:
            if op.kind in (OpKind.COMMIT, OpKind.ROLLBACK) or not op.in_transaction:
                added.clear()
            if op.kind is OpKind.ADD_CONSTRAINT and op.not_valid and op.in_transaction:
                added[(op.table, op.name)] = op
            elif op.kind is OpKind.VALIDATE_CONSTRAINT and (op.table, op.name) in added:
                add = added[(op.table, op.name)]
                info = lock_for(add)
                if info is None:
                    continue
                yield self.diagnostic(
                    op.span,
                    f"`VALIDATE CONSTRAINT {op.name}` runs in the same transaction as the `{info.statement}` on "
                    f"`{op.table}`: its {info.mode.value} lock is held while every row is validated, so NOT VALID gains nothing",
                    help=by_framework(
                        op.framework,
                        sql="COMMIT after the ADD ... NOT VALID and validate in a new transaction",
                        django="Move the VALIDATE to the next migration, or set `atomic = False`",
                        alembic="Move the VALIDATE to the next revision, or run it inside `autocommit_block()`",
                    ),
                    related=[RelatedSpan(add.span, "constraint added NOT VALID here")],
                )
