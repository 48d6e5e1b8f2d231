from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.locks import by_framework, existing_table, lock_phrase, not_valid_fix, table_label
from querylint.migration import ConstraintKind, Migration, MigrationFramework, OpKind
from querylint.rule import Example, FileContext, FixAvailability, MigrationRule


class ForeignKeyNotValid(MigrationRule):
    """Adding a foreign key without `NOT VALID` blocks writes on both tables while every row is checked.

    ## Why is this bad?
    `ALTER TABLE ... ADD FOREIGN KEY` takes a SHARE ROW EXCLUSIVE lock on the table *and* on
    the referenced table, then scans the whole table to validate every row: writes to both
    tables wait for the scan. Adding the constraint `NOT VALID` is instant; a later
    `VALIDATE CONSTRAINT` (in its own transaction) takes only SHARE UPDATE EXCLUSIVE, which
    lets reads and writes go on.

    A foreign key declared inline on a column added in the same statement (`ADD COLUMN
    customer_id bigint REFERENCES customers`, which is what Django's `AddField(ForeignKey)`
    runs) is not validated: the new column is all NULL. The rule stays quiet there.

    ## Example
    ```sql
    ALTER TABLE orders ADD CONSTRAINT orders_customer_fk
        FOREIGN KEY (customer_id) REFERENCES customers (id);
    ```

    ## Use instead
    ```sql
    ALTER TABLE orders ADD CONSTRAINT orders_customer_fk
        FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
    -- in a separate transaction / migration:
    ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;
    ```

    ## Migration
    Django has no `NOT VALID` option: add the field with `db_constraint=False`, then add the
    constraint with `RunSQL` (`NOT VALID`) and validate in a later migration. Alembic:
    `op.execute("ALTER TABLE ... NOT VALID")`, then `VALIDATE CONSTRAINT` in a later revision.

    ## Fix safety
    The fix appends `NOT VALID` and a `VALIDATE CONSTRAINT` statement; unsafe because, inside
    one transaction, the VALIDATE keeps the lock (see validate-in-same-transaction).

    ## References
    - [ALTER TABLE: ADD CONSTRAINT ... NOT VALID](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT)
    - [squawk: adding-foreign-key-constraint](https://squawkhq.com/docs/adding-foreign-key-constraint)
    """

    code = "QL406"
    name = "foreign-key-not-valid"
    fix_availability = FixAvailability.SOMETIMES
    example_path = "migrations/0002_fk.sql"

    VALID = [
        Example("ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;\n"),
        Example("CREATE TABLE orders (id bigint, customer_id bigint);\n"
                "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);\n"),
    ]
    INVALID = [
        Example(
            "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);\n",
            line=1,
            message="`ALTER TABLE ... ADD FOREIGN KEY` takes a SHARE ROW EXCLUSIVE lock on `orders` and on `customers`: "
            "writes to both are blocked while every row of `orders` is validated",
            fixed="ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;\n"
            "ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;\n",
        ),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.create_foreign_key("orders_customer_fk", "orders", "customers", ["customer_id"], ["id"])


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="`ALTER TABLE ... ADD FOREIGN KEY` takes a SHARE ROW EXCLUSIVE lock on `orders` and on `customers`: writes to both are blocked while every row of `orders` is validated",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        added: set[tuple[str | None, str]] = set()
        for op in migration.ops:
            if op.kind is OpKind.ADD_COLUMN and op.column is not None and op.column.default is None:
                added.add((op.table, op.column.name))
            if op.kind is not OpKind.ADD_CONSTRAINT or op.constraint is not ConstraintKind.FOREIGN_KEY:
                continue
            if op.not_valid or not existing_table(op):
                continue
            if op.framework is MigrationFramework.DJANGO and len(op.constraint_columns) == 1 and (
                (op.table, op.constraint_columns[0]) in added
            ):
                # Django adds a ForeignKey column with its constraint inline (ADD COLUMN ...
                # REFERENCES): PostgreSQL knows the new column is all NULL and skips validation.
                continue
            # the referenced table may be a name the reader could not evaluate
            ref = f"`{op.ref_table}`" if op.ref_table else "the referenced table"
            yield self.diagnostic(
                op.span,
                f"{lock_phrase(op)} and on {ref}: writes to both are blocked while every row of "
                f"{table_label(op)} is validated",
                help=by_framework(
                    op.framework,
                    sql="Add the constraint `NOT VALID`, then `VALIDATE CONSTRAINT` in a separate transaction",
                    django="Add the constraint with `RunSQL(... NOT VALID)` and validate it in a later migration",
                    alembic="Add it with `op.execute(... NOT VALID)` and validate it in a later revision",
                ),
                fix=not_valid_fix(ctx.source.text, op),
            )

