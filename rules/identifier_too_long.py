from __future__ import annotations

import re
from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.migration import Migration, MigrationFramework, MigrationOp, OpKind
from querylint.rule import Example, FileContext, MigrationRule

MAX_BYTES = 63  # NAMEDATALEN - 1


class IdentifierTooLong(MigrationRule):
    """An identifier longer than 63 bytes is silently truncated by PostgreSQL.

    ## Why is this bad?
    PostgreSQL cuts names to 63 bytes (NAMEDATALEN - 1) with only a NOTICE. Two long index
    names that share their first 63 bytes collide, and a later `DROP INDEX full_name` fails
    because the stored name is the truncated one.

    ## Example
    ```sql
    CREATE INDEX CONCURRENTLY orders_customer_id_created_at_status_shipping_country_code_fulfil_idx ON orders (customer_id);
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY orders_customer_created_status_idx ON orders (customer_id);
    ```

    ## Migration
    Django truncates and hashes generated names itself, but explicit `name=` values are passed
    through. Alembic: keep `op.f("...")` names within 63 bytes (or use a naming convention).

    ## References
    - [Identifiers and Key Words](https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS)
    """

    code = "QL423"
    name = "identifier-too-long"
    example_path = "migrations/0011_names.sql"

    VALID = [Example("CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\n")]
    INVALID = [
        Example(
            "CREATE INDEX CONCURRENTLY orders_customer_id_created_at_status_shipping_country_code_fulfil_idx ON orders (customer_id);\n",
            line=1,
            message="identifier `orders_customer_id_created_at_status_shipping_country_code_fulfil_idx` is 69 bytes: PostgreSQL "
            "truncates it to 63 bytes (`orders_customer_id_created_at_status_shipping_country_code_fulf`)",
        ),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.create_index("ix_orders_customer_id_created_at_status_channel_currency_and_more", "orders", ["customer_id"], postgresql_concurrently=True)


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="identifier `ix_orders_customer_id_created_at_status_channel_currency_and_more` is 65 bytes: PostgreSQL truncates it to 63 bytes (`ix_orders_customer_id_created_at_status_channel_currency_and_mo`)",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        seen: set[tuple[int, str]] = set()
        for op in migration.ops:
            for name in _names(op, ctx.source.text):
                raw = name.encode("utf-8")
                if len(raw) <= MAX_BYTES or (op.span.start, name) in seen:
                    continue
                seen.add((op.span.start, name))
                cut = raw[:MAX_BYTES].decode("utf-8", "ignore")
                yield self.diagnostic(
                    op.span,
                    f"identifier `{name}` is {len(raw)} bytes: PostgreSQL truncates it to {MAX_BYTES} bytes (`{cut}`)",
                    help="Choose a name of at most 63 bytes",
                )


# The PostgreSQL scanner (and so pglast) truncates identifiers before we see them: read SQL text.
# An unquoted identifier starts with a letter, `_` or any non-ASCII character and goes on with
# those, digits and `$` (the classes are written negated: a range up to U+FFFF takes the regex
# compiler 6 ms, at every start of the command)
_TOKEN = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/|\"((?:[^\"]|\"\")+)\"|"
                    r"([^\x00-\x40\x5b-\x5e\x60\x7b-\x7f][^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*)", re.DOTALL)


def _names(op: MigrationOp, text: str) -> list[str]:
    if op.framework is MigrationFramework.SQL:
        out = []
        for m in _TOKEN.finditer(text[op.span.start : op.span.end]):
            name = m.group(1) or m.group(2)
            if name:
                out.append(name.replace('""', '"'))
        return out
    names: list[str | None] = []
    if op.kind is OpKind.CREATE_TABLE:
        names = [op.table, *(c.name for c in op.columns)]
    elif op.kind in (OpKind.CREATE_INDEX, OpKind.ADD_CONSTRAINT):
        names = [op.name]
    elif op.kind is OpKind.ADD_COLUMN and op.column is not None:
        names = [op.column.name]
    elif op.kind in (OpKind.RENAME_COLUMN, OpKind.RENAME_TABLE):
        names = [op.new_name]
    return [n for n in names if n]
