from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Applicability, Diagnostic
from querylint.locks import by_framework, existing_table, keyword_fix, lock_sentence
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, FixAvailability, MigrationRule


class CreateIndexNotConcurrent(MigrationRule):
    """`CREATE INDEX` without `CONCURRENTLY` on an existing table blocks writes while it builds.

    ## Why is this bad?
    A plain `CREATE INDEX` takes a SHARE lock on the table for the whole build: every
    `INSERT`, `UPDATE` and `DELETE` waits, on a big table for minutes. `CREATE INDEX
    CONCURRENTLY` takes only SHARE UPDATE EXCLUSIVE, which lets reads and writes go on.
    An index on a table created in the same migration is fine: nobody uses it yet.

    ## Example
    ```sql
    CREATE INDEX orders_customer_id_idx ON orders (customer_id);
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);
    ```

    ## Migration
    Django: `AddIndexConcurrently` (`django.contrib.postgres.operations`) in a migration with
    `atomic = False`. Alembic: `op.create_index(..., postgresql_concurrently=True)` inside
    `with op.get_context().autocommit_block():`.

    ## Fix safety
    The fix adds `CONCURRENTLY`; it is unsafe because a concurrent build cannot run in a
    transaction block and leaves an INVALID index behind when it fails.

    ## References
    - [CREATE INDEX: Building Indexes Concurrently](https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY)
    - [squawk: require-concurrent-index-creation](https://squawkhq.com/docs/require-concurrent-index-creation)
    """

    code = "QL401"
    name = "create-index-not-concurrent"
    fix_availability = FixAvailability.SOMETIMES
    example_path = "migrations/0002_index.sql"

    VALID = [
        Example("CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\n"),
        Example("CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\nCREATE INDEX orders_customer_idx ON orders (customer_id);\n"),
    ]
    INVALID = [
        Example(
            "CREATE INDEX orders_customer_idx ON orders (customer_id);\n",
            line=1,
            message="`CREATE INDEX` takes a SHARE lock on `orders`: writes are blocked until the index is built",
            fixed="CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\n",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is not OpKind.CREATE_INDEX or op.concurrently or not existing_table(op):
                continue
            yield self.diagnostic(
                op.span,
                lock_sentence(op, "until the index is built"),
                help=by_framework(
                    op.framework,
                    sql="Use `CREATE INDEX CONCURRENTLY`, outside any transaction block",
                    django="Use `AddIndexConcurrently` in a migration with `atomic = False`",
                    alembic="Pass `postgresql_concurrently=True` inside `with op.get_context().autocommit_block():`",
                ),
                fix=keyword_fix(ctx.source.text, op, r"^CREATE\s+(UNIQUE\s+)?INDEX", " CONCURRENTLY",
                                "Add `CONCURRENTLY`", Applicability.UNSAFE),
            )
