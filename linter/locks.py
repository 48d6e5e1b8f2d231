"""Which PostgreSQL lock each migration operation takes, and what that lock blocks.

This table is the single source for the migration-safety rules' messages ("`CREATE INDEX`
takes a SHARE lock on `orders`: ..."), and ``tests/test_locks_pg.py`` checks every claim
against a real server by reading ``pg_locks``. Modes are those of the table the operation
targets (``ALTER TABLE ... ADD FOREIGN KEY`` also takes SHARE ROW EXCLUSIVE on the referenced
table; :func:`referenced_lock` says so).

References: https://www.postgresql.org/docs/current/explicit-locking.html and the "Notes" of
each command's page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from querylint.diagnostics import Applicability, Edit, Fix
from querylint.migration import ConstraintKind, MigrationFramework, MigrationOp, OpKind
from querylint.slotstate import fast_pickle


class LockMode(Enum):
    ACCESS_SHARE = "ACCESS SHARE"
    ROW_SHARE = "ROW SHARE"
    ROW_EXCLUSIVE = "ROW EXCLUSIVE"
    SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
    SHARE = "SHARE"
    SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
    EXCLUSIVE = "EXCLUSIVE"
    ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"

    @property
    def pg_name(self) -> str:
        """The name ``pg_locks.mode`` shows ("ShareLock")."""
        return "".join(w.capitalize() for w in self.value.split()) + "Lock"

    @property
    def blocks(self) -> str:
        return _BLOCKS[self]

    @property
    def blocks_writes(self) -> bool:
        """True for the modes that stop INSERT/UPDATE/DELETE (ROW EXCLUSIVE conflicts)."""
        return self in (LockMode.SHARE, LockMode.SHARE_ROW_EXCLUSIVE, LockMode.EXCLUSIVE, LockMode.ACCESS_EXCLUSIVE)


_BLOCKS: dict[LockMode, str] = {
    LockMode.ACCESS_SHARE: "blocks only ACCESS EXCLUSIVE (DDL), not reads or writes",
    LockMode.ROW_SHARE: "blocks only EXCLUSIVE and ACCESS EXCLUSIVE locks, not reads or writes",
    LockMode.ROW_EXCLUSIVE: "blocks SHARE and stronger locks, not reads or writes",
    LockMode.SHARE_UPDATE_EXCLUSIVE: "blocks other schema changes and VACUUM, but not reads or writes",
    LockMode.SHARE: "blocks writes (INSERT/UPDATE/DELETE) but not reads",
    LockMode.SHARE_ROW_EXCLUSIVE: "blocks writes (INSERT/UPDATE/DELETE) but not reads",
    LockMode.EXCLUSIVE: "blocks writes (INSERT/UPDATE/DELETE) but not reads",
    LockMode.ACCESS_EXCLUSIVE: "blocks reads and writes",
}


@fast_pickle
@dataclass(frozen=True, slots=True)
class LockInfo:
    statement: str  # "CREATE INDEX", "ALTER TABLE ... ADD COLUMN"
    mode: LockMode

    @property
    def blocks(self) -> str:
        return self.mode.blocks


A = LockMode.ACCESS_EXCLUSIVE

#: (kind, concurrently) -> (statement text, lock mode on the target table)
_TABLE: dict[tuple[OpKind, bool], tuple[str, LockMode]] = {
    (OpKind.CREATE_INDEX, False): ("CREATE INDEX", LockMode.SHARE),
    (OpKind.CREATE_INDEX, True): ("CREATE INDEX CONCURRENTLY", LockMode.SHARE_UPDATE_EXCLUSIVE),
    (OpKind.DROP_INDEX, False): ("DROP INDEX", A),
    (OpKind.DROP_INDEX, True): ("DROP INDEX CONCURRENTLY", LockMode.SHARE_UPDATE_EXCLUSIVE),
    (OpKind.REINDEX, False): ("REINDEX", LockMode.SHARE),
    (OpKind.REINDEX, True): ("REINDEX CONCURRENTLY", LockMode.SHARE_UPDATE_EXCLUSIVE),
    (OpKind.ADD_COLUMN, False): ("ALTER TABLE ... ADD COLUMN", A),
    (OpKind.DROP_COLUMN, False): ("ALTER TABLE ... DROP COLUMN", A),
    (OpKind.RENAME_COLUMN, False): ("ALTER TABLE ... RENAME COLUMN", A),
    (OpKind.RENAME_TABLE, False): ("ALTER TABLE ... RENAME TO", A),
    (OpKind.DROP_TABLE, False): ("DROP TABLE", A),
    (OpKind.ALTER_COLUMN_TYPE, False): ("ALTER TABLE ... ALTER COLUMN TYPE", A),
    (OpKind.SET_NOT_NULL, False): ("ALTER TABLE ... SET NOT NULL", A),
    (OpKind.DROP_NOT_NULL, False): ("ALTER TABLE ... DROP NOT NULL", A),
    (OpKind.SET_DEFAULT, False): ("ALTER TABLE ... SET DEFAULT", A),
    (OpKind.DROP_DEFAULT, False): ("ALTER TABLE ... DROP DEFAULT", A),
    (OpKind.DROP_CONSTRAINT, False): ("ALTER TABLE ... DROP CONSTRAINT", A),
    (OpKind.VALIDATE_CONSTRAINT, False): ("ALTER TABLE ... VALIDATE CONSTRAINT", LockMode.SHARE_UPDATE_EXCLUSIVE),
    (OpKind.TRUNCATE, False): ("TRUNCATE", A),
    (OpKind.VACUUM_FULL, False): ("VACUUM FULL", A),
    (OpKind.CLUSTER, False): ("CLUSTER", A),
    (OpKind.REFRESH_MATVIEW, False): ("REFRESH MATERIALIZED VIEW", A),
    (OpKind.REFRESH_MATVIEW, True): ("REFRESH MATERIALIZED VIEW CONCURRENTLY", LockMode.EXCLUSIVE),
    (OpKind.DETACH_PARTITION, False): ("ALTER TABLE ... DETACH PARTITION", A),
    (OpKind.DETACH_PARTITION, True): ("ALTER TABLE ... DETACH PARTITION CONCURRENTLY", LockMode.SHARE_UPDATE_EXCLUSIVE),
}

_CONSTRAINT: dict[ConstraintKind, tuple[str, LockMode]] = {
    # ADD FOREIGN KEY takes SHARE ROW EXCLUSIVE on both tables (not ACCESS EXCLUSIVE)
    ConstraintKind.FOREIGN_KEY: ("ALTER TABLE ... ADD FOREIGN KEY", LockMode.SHARE_ROW_EXCLUSIVE),
    ConstraintKind.CHECK: ("ALTER TABLE ... ADD CHECK", A),
    ConstraintKind.UNIQUE: ("ALTER TABLE ... ADD UNIQUE", A),
    ConstraintKind.PRIMARY_KEY: ("ALTER TABLE ... ADD PRIMARY KEY", A),
    ConstraintKind.EXCLUDE: ("ALTER TABLE ... ADD EXCLUDE", A),
}


def lock_for(op: MigrationOp) -> LockInfo | None:
    """The lock ``op`` takes on ``op.table`` (None for ops that lock nothing we model)."""
    if op.kind is OpKind.ADD_CONSTRAINT:
        if op.constraint is None:
            return None
        stmt, mode = _CONSTRAINT[op.constraint]
        if op.using_index:
            stmt += " USING INDEX"
        elif op.not_valid:
            stmt += " NOT VALID"
        return LockInfo(stmt, mode)
    entry = _TABLE.get((op.kind, op.concurrently)) or _TABLE.get((op.kind, False))
    if entry is None:
        return None
    return LockInfo(entry[0], entry[1])


def referenced_lock(op: MigrationOp) -> LockMode | None:
    """The lock an ADD FOREIGN KEY takes on the *referenced* table."""
    if op.kind is OpKind.ADD_CONSTRAINT and op.constraint is ConstraintKind.FOREIGN_KEY:
        return LockMode.SHARE_ROW_EXCLUSIVE
    return None


def table_label(op: MigrationOp) -> str:
    return f"`{op.table}`" if op.table else "its table"


def lock_phrase(op: MigrationOp, statement: str | None = None) -> str:
    """"`CREATE INDEX` takes a SHARE lock on `orders`, which blocks writes (...)"."""
    info = lock_for(op)
    if info is None:
        return f"`{statement or op.kind.value}` locks {table_label(op)}"
    return f"`{statement or info.statement}` takes an {info.mode.value} lock on {table_label(op)}" if info.mode.value[0] in "AE" else f"`{statement or info.statement}` takes a {info.mode.value} lock on {table_label(op)}"


def lock_sentence(op: MigrationOp, until: str, statement: str | None = None) -> str:
    """Lock phrase plus what it blocks and for how long: the body of most QL4xx messages."""
    info = lock_for(op)
    blocked = _blocked_words(info.mode) if info else "other sessions wait"
    return f"{lock_phrase(op, statement)}: {blocked} {until}"


def _blocked_words(mode: LockMode) -> str:
    if mode is LockMode.ACCESS_EXCLUSIVE:
        return "reads and writes are blocked"
    if mode.blocks_writes:
        return "writes are blocked"
    return "other schema changes and VACUUM are blocked"


def by_framework(framework: MigrationFramework, *, sql: str, django: str, alembic: str) -> str:
    """Pick the help text for the user's migration framework."""
    if framework is MigrationFramework.DJANGO:
        return django
    if framework is MigrationFramework.ALEMBIC:
        return alembic
    return sql


def existing_table(op: MigrationOp) -> bool:
    """The op touches a table that existed before this migration (so it may be big and busy)."""
    return not op.table_is_new


def keyword_fix(text: str, op: MigrationOp, pattern: str, insert: str, title: str, applicability: Applicability) -> Fix | None:
    """Insert ``insert`` right after the first match of ``pattern`` in an SQL op's statement.

    Only for ops read from ``.sql`` files, where the op's span is the statement itself.
    """
    if op.framework is not MigrationFramework.SQL:
        return None
    m = re.search(pattern, text[op.span.start : op.span.end], re.IGNORECASE | re.DOTALL)
    if m is None:
        return None
    pos = op.span.start + m.end()
    return Fix(title, (Edit(op.span.path, pos, pos, insert),), applicability)


def not_valid_fix(text: str, op: MigrationOp) -> Fix | None:
    """`NOT VALID` at the end of a one-action, named ADD CONSTRAINT, plus a VALIDATE statement."""
    if op.framework is not MigrationFramework.SQL or op.name is None or op.sql is None or "," in _outside_parens(op.sql):
        return None
    stmt = text[op.span.start : op.span.end]
    end = op.span.start + len(stmt.rstrip().rstrip(";").rstrip())
    semi = text.find(";", end, op.span.end + 2)
    after = semi + 1 if semi != -1 else end
    validate = f"\nALTER TABLE {op.table} VALIDATE CONSTRAINT {op.name};"
    if semi == -1:
        validate = ";" + validate
    return Fix(
        "Add `NOT VALID` and a separate `VALIDATE CONSTRAINT`",
        (Edit(op.span.path, end, end, " NOT VALID"), Edit(op.span.path, after, after, validate)),
        Applicability.UNSAFE if not op.in_transaction else Applicability.DISPLAY_ONLY,
    )


def _outside_parens(sql: str) -> str:
    depth, out = 0, []
    for ch in sql:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)
