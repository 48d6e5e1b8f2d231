from __future__ import annotations

import re
from collections.abc import Iterator

from querylint.diagnostics import Confidence, Diagnostic
from querylint.locks import by_framework, existing_table, lock_phrase
from querylint.migration import Migration, OpKind
from querylint.rule import Example, FileContext, MigrationRule

_TYPE = re.compile(r"^([a-z_ ]+?)\s*(?:\((\d+)(?:\s*,\s*(\d+))?\))?$")
_VARCHAR = {"varchar", "character varying"}
_TIME = {"timestamp", "timestamptz", "time", "timetz", "interval"}


def binary_coercible(old: str, new: str) -> bool:
    """True when PostgreSQL changes ``old`` to ``new`` without rewriting the table or its indexes."""
    old, new = old.strip().lower(), new.strip().lower()
    if old == new:
        return True
    mo, mn = _TYPE.match(old), _TYPE.match(new)
    if mo is None or mn is None:
        return False
    ob, on_, os_ = mo.group(1), mo.group(2), mo.group(3)
    nb, nn, ns = mn.group(1), mn.group(2), mn.group(3)
    if ob in _VARCHAR or ob == "text":
        if nb == "text" or (nb in _VARCHAR and nn is None):
            return True  # varchar(n) -> text / unbounded varchar; text -> varchar
        if ob in _VARCHAR and nb in _VARCHAR and on_ is not None and nn is not None:
            return int(nn) >= int(on_)  # widening
        return False
    if ob == "numeric" and nb == "numeric":
        if nn is None:
            return True  # numeric(p,s) -> numeric
        if on_ is None:
            return False
        return int(nn) >= int(on_) and (os_ or "0") == (ns or "0")  # more precision, same scale
    if ob == nb and ob in _TIME | {"varbit", "bit varying"}:
        return nn is None or (on_ is not None and int(nn) >= int(on_))
    return ob == "cidr" and nb == "inet"


class ColumnTypeChange(MigrationRule):
    """Changing a column's type rewrites the table under an ACCESS EXCLUSIVE lock, unless it is binary-coercible.

    ## Why is this bad?
    `ALTER COLUMN ... TYPE` rewrites every row and rebuilds every index on the table while
    holding ACCESS EXCLUSIVE — unless the change is binary-coercible: `varchar(n)` to a wider
    `varchar(m)`, to unbounded `varchar` or to `text`; `numeric(p,s)` to more precision with
    the same scale (or to unbounded `numeric`); a wider `timestamp`/`time`/`interval`
    precision; `cidr` to `inet`. `timestamp` to `timestamptz` skips the rewrite on
    PostgreSQL 12+ only when the session `TimeZone` is UTC, so it is flagged.

    ## Example
    ```sql
    ALTER TABLE orders ALTER COLUMN total TYPE bigint;
    ```

    ## Use instead
    ```sql
    -- add a new column, backfill in batches, switch reads and writes, drop the old one
    ALTER TABLE orders ADD COLUMN total_new bigint;
    ```

    ## Migration
    Django: add a new field, backfill with `RunPython` in batches, switch the code, then remove
    the old field in a later release. Alembic: the same with `op.add_column` / `op.execute`.

    ## References
    - [ALTER TABLE: Notes](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES)
    - [squawk: changing-column-type](https://squawkhq.com/docs/changing-column-type)
    """

    code = "QL409"
    name = "column-type-change"
    example_path = "migrations/0004_types.sql"

    VALID = [
        Example("CREATE TABLE orders (note varchar(50));\n"),
        Example("ALTER TABLE orders ADD COLUMN note varchar(50);\nALTER TABLE orders ALTER COLUMN note TYPE varchar(200);\n"),
        Example("ALTER TABLE orders ADD COLUMN note varchar(50);\nALTER TABLE orders ALTER COLUMN note TYPE text;\n"),
    ]
    INVALID = [
        Example(
            "ALTER TABLE orders ADD COLUMN total integer;\nALTER TABLE orders ALTER COLUMN total TYPE bigint;\n",
            line=2,
            message="`ALTER TABLE ... ALTER COLUMN TYPE` takes an ACCESS EXCLUSIVE lock on `orders`: changing `total` "
            "from integer to bigint rewrites the table and its indexes, and reads and writes are blocked until it finishes",
        ),
        Example(
            "ALTER TABLE orders ALTER COLUMN total TYPE bigint;\n",
            line=1,
            message="`ALTER TABLE ... ALTER COLUMN TYPE` takes an ACCESS EXCLUSIVE lock on `orders`: changing `total` "
            "to bigint rewrites the table and its indexes unless the old type is binary-coercible to it, "
            "and reads and writes are blocked until it finishes",
        ),
        Example(
            """
                import sqlalchemy as sa
                from alembic import op

                revision = "b2"
                down_revision = "a1"


                def upgrade():
                    op.alter_column("orders", "total", existing_type=sa.Integer(), type_=sa.BigInteger())


                def downgrade():
                    pass
            """,
            path="alembic/versions/b2_change.py",
            line=9,
            message="`ALTER TABLE ... ALTER COLUMN TYPE` takes an ACCESS EXCLUSIVE lock on `orders`: changing `total` from integer to bigint rewrites the table and its indexes, and reads and writes are blocked until it finishes",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        for op in migration.ops:
            if op.kind is not OpKind.ALTER_COLUMN_TYPE or not existing_table(op) or op.new_type is None:
                continue
            using = op.column.default if op.column is not None else None
            if op.old_type is not None and using is None and binary_coercible(op.old_type, op.new_type):
                continue
            if op.old_type is not None:
                what, conf = f"changing `{op.name}` from {op.old_type} to {op.new_type} rewrites the table and its indexes", Confidence.HIGH
            else:
                what = (f"changing `{op.name}` to {op.new_type} rewrites the table and its indexes unless the old type "
                        "is binary-coercible to it")
                conf = Confidence.MEDIUM
            yield self.diagnostic(
                op.span,
                f"{lock_phrase(op)}: {what}, and reads and writes are blocked until it finishes",
                help=by_framework(
                    op.framework,
                    sql="Add a new column, backfill it in batches, switch the code over, then drop the old column",
                    django="Add a new field, backfill it with `RunPython` in batches, switch the code, then remove the old field",
                    alembic="Add a new column, backfill it in batches, switch the code, then drop the old column",
                ),
                confidence=conf,
            )
