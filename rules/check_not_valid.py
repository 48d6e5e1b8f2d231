from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, existing_table, lock_sentence, not_valid_fix
from querylint.migration import ConstraintKind, Migration, OpKind
from querylint.rule import Example, FileContext, FixAvailability, MigrationRule


class CheckNotValid(MigrationRule):
    """Adding a `CHECK` constraint without `NOT VALID` blocks reads and writes while every row is checked.

    ## Why is this bad?
    `ALTER TABLE ... ADD CHECK` takes an ACCESS EXCLUSIVE lock and scans the whole table.
    Added `NOT VALID`, it is instant (new rows are checked at once); `VALIDATE CONSTRAINT`
    later takes only SHARE UPDATE EXCLUSIVE.

    ## Example
    ```sql
    ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);
    ```

    ## Use instead
    ```sql
    ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;
    -- in a separate transaction / migration:
    ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
    ```

    ## Migration
    Django's `AddConstraint(CheckConstraint(...))` validates at once: use
    `RunSQL("... NOT VALID")` with `state_operations=[AddConstraint(...)]`, then validate
    in a later migration. Alembic: `op.execute("... NOT VALID")`, validate in a later revision.

    ## Fix safety
    Unsafe (display-only in a transaction): the VALIDATE must run in its own transaction.

    ## References
    - [ALTER TABLE](https://www.postgresql.org/docs/current/sql-altertable.html)
    - [squawk: constraint-missing-not-valid](https://squawkhq.com/docs/constraint-missing-not-valid)
    """

    code = "QL407"
    name = "check-not-valid"
    fix_availability = FixAvailability.SOMETIMES
    example_path = "migrations/0002_check.sql"

    VALID = [
        Example("ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\n"),
        Example("CREATE TABLE orders (total int);\nALTER TABLE orders ADD CONSTRAINT c CHECK (total >= 0);\n"),
    ]
    INVALID = [
        Example(
            "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);\n",
            line=1,
            message="`ALTER TABLE ... ADD CHECK` takes an ACCESS EXCLUSIVE lock on `orders`: "
            "reads and writes are blocked while every row is checked",
            fixed="ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\n"
            "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;\n",
        ),
        Example(
            """
                from django.db import migrations, models


                class Migration(migrations.Migration):
                    dependencies = [("shop", "0001_initial")]

                    operations = [
                        migrations.AddConstraint(model_name="order", constraint=models.CheckConstraint(check=models.Q(total__gte=0), name="order_total_positive")),
                    ]
            """,
            path="shop/migrations/0002_change.py",
            line=8,
            message="`ALTER TABLE ... ADD CHECK` takes an ACCESS EXCLUSIVE lock on `shop_order`: reads and writes are blocked while every row is checked",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is not OpKind.ADD_CONSTRAINT or op.constraint is not ConstraintKind.CHECK:
                continue
            if op.not_valid or not existing_table(op):
                continue
            yield self.diagnostic(
                op.span,
                lock_sentence(op, "while every row is checked"),
                help=by_framework(
                    op.framework,
                    sql="Add the constraint `NOT VALID`, then `VALIDATE CONSTRAINT` in a separate transaction",
                    django="Add it with `RunSQL(... NOT VALID)` (state_operations=[AddConstraint(...)]), validate later",
                    alembic="Add it with `op.execute(... NOT VALID)` and validate it in a later revision",
                ),
                fix=not_valid_fix(ctx.source.text, op),
            )
