from __future__ import annotations

import re
from collections.abc import Iterator

from querylint.diagnostics import Applicability, Diagnostic, Edit, Fix
from querylint.migration import Migration, MigrationFramework, MigrationOp, OpKind
from querylint.rule import Example, FileContext, FixAvailability, MigrationRule

#: kind -> (the clause to add, regex of the text it goes after)
_CLAUSES: dict[OpKind, tuple[str, str]] = {
    OpKind.CREATE_TABLE: ("IF NOT EXISTS", r"^CREATE\s+(?:UNLOGGED\s+)?TABLE"),
    OpKind.CREATE_INDEX: ("IF NOT EXISTS", r"^CREATE\s+(?:UNIQUE\s+)?INDEX(?:\s+CONCURRENTLY)?"),
    OpKind.DROP_INDEX: ("IF EXISTS", r"^DROP\s+INDEX(?:\s+CONCURRENTLY)?"),
    OpKind.DROP_TABLE: ("IF EXISTS", r"^DROP\s+TABLE"),
    OpKind.ADD_COLUMN: ("IF NOT EXISTS", r"ADD\s+(?:COLUMN\s+)?"),
    OpKind.DROP_COLUMN: ("IF EXISTS", r"DROP\s+(?:COLUMN\s+)?"),
}


class PreferRobustStatements(MigrationRule):
    """A migration that runs outside a transaction should be re-runnable: use `IF [NOT] EXISTS` (opt-in).

    ## Why is this bad?
    Outside a transaction (required for `CONCURRENTLY`), a migration that fails halfway leaves
    the first statements applied. Re-running it then fails on `CREATE INDEX` ("already
    exists"). `IF NOT EXISTS` / `IF EXISTS` make each step idempotent. Inside a transaction a
    failure rolls everything back, so the rule stays quiet there.

    ## Example
    ```sql
    CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);
    ```

    ## Migration
    Django and Alembic track applied migrations themselves; for `RunSQL` / `op.execute` in
    non-atomic migrations write the SQL with `IF [NOT] EXISTS`.

    ## Fix safety
    Unsafe: `IF NOT EXISTS` skips silently when an object of that name exists with a different
    definition (or an INVALID index left by a failed concurrent build).

    ## References
    - [squawk: prefer-robust-stmts](https://squawkhq.com/docs/prefer-robust-stmts)
    """

    code = "QL424"
    name = "prefer-robust-statements"
    default_enabled = False
    fix_availability = FixAvailability.SOMETIMES
    example_path = "migrations/0012_robust.sql"

    VALID = [
        Example("CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);\n"),
        Example("BEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;\n"),
    ]
    INVALID = [
        Example(
            "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\n",
            line=1,
            message="`CREATE INDEX` without `IF NOT EXISTS` runs outside a transaction: if the migration fails "
            "after it, re-running it fails here",
            fixed="CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);\n",
        )
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.framework is not MigrationFramework.SQL or op.in_transaction or op.if_exists or op.kind not in _CLAUSES:
                continue
            clause, _ = _CLAUSES[op.kind]
            what = op.kind.value.upper().replace("-", " ")
            yield self.diagnostic(
                op.span,
                f"`{what}` without `{clause}` runs outside a transaction: if the migration fails after it, "
                "re-running it fails here",
                help=f"Add `{clause}`",
                fix=_fix(ctx.source.text, op),
            )


def _fix(text: str, op: MigrationOp) -> Fix | None:
    clause, pattern = _CLAUSES[op.kind]
    stmt = text[op.span.start : op.span.end]
    if op.kind in (OpKind.ADD_COLUMN, OpKind.DROP_COLUMN) and len(re.findall(r"\b(ADD|DROP)\b", stmt, re.I)) != 1:
        return None
    m = re.search(pattern, stmt, re.IGNORECASE)
    if m is None:
        return None
    pos = op.span.start + m.end()
    insert = f" {clause}" if not stmt[m.end() - 1 : m.end()].isspace() else f"{clause} "
    return Fix(f"Add `{clause}`", (Edit(op.span.path, pos, pos, insert),), Applicability.UNSAFE)
