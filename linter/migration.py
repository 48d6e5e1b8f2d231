"""One vocabulary for what a schema migration does, whatever wrote it.

SQL migration files (pglast statements), Django migration ``operations`` and Alembic ``op.*``
calls are all read into :class:`MigrationOp` records, grouped per file in a
:class:`Migration`. The migration-safety rules (QL4xx) read only these records, so one rule
covers all three formats; the schema builder applies the same records, in migration order, to
build the project's :class:`~querylint.schema.Schema`.

Each op carries the span of the statement or operation *in the file the user edits* (the
``.py`` migration, not generated SQL), and the transaction state it runs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from querylint.schema import Index
from querylint.slotstate import fast_pickle
from querylint.source import Span


class MigrationFramework(Enum):
    SQL = "sql"
    DJANGO = "django"
    ALEMBIC = "alembic"


class OpKind(Enum):
    CREATE_TABLE = "create-table"
    DROP_TABLE = "drop-table"
    RENAME_TABLE = "rename-table"
    ADD_COLUMN = "add-column"
    DROP_COLUMN = "drop-column"
    RENAME_COLUMN = "rename-column"
    ALTER_COLUMN_TYPE = "alter-column-type"
    SET_NOT_NULL = "set-not-null"
    DROP_NOT_NULL = "drop-not-null"
    SET_DEFAULT = "set-default"
    DROP_DEFAULT = "drop-default"
    CREATE_INDEX = "create-index"
    DROP_INDEX = "drop-index"
    REINDEX = "reindex"
    ADD_CONSTRAINT = "add-constraint"
    DROP_CONSTRAINT = "drop-constraint"
    VALIDATE_CONSTRAINT = "validate-constraint"
    TRUNCATE = "truncate"
    VACUUM_FULL = "vacuum-full"
    CLUSTER = "cluster"
    REFRESH_MATVIEW = "refresh-matview"
    DETACH_PARTITION = "detach-partition"
    SET = "set"  # SET [LOCAL] name = value (lock_timeout, statement_timeout)
    BEGIN = "begin"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    RUN_PYTHON = "run-python"
    RUN_SQL = "run-sql"  # a Django RunSQL / op.execute wrapper; its statements follow as ops
    OTHER = "other"


class ConstraintKind(Enum):
    FOREIGN_KEY = "foreign-key"
    CHECK = "check"
    UNIQUE = "unique"
    PRIMARY_KEY = "primary-key"
    EXCLUDE = "exclude"


@fast_pickle
@dataclass(frozen=True, slots=True)
class ColumnDef:
    name: str
    type: str | None = None  # SQL type, lower-cased ("varchar(255)", "bigint"); None if unknown
    nullable: bool = True
    default: str | None = None  # SQL text of a server-side default
    default_volatile: bool = False  # now()/random()/uuid... (clock_timestamp, gen_random_uuid)
    generated_stored: bool = False
    identity: bool = False
    serial: bool = False  # serial / bigserial pseudo-types
    primary_key: bool = False
    unique: bool = False
    references: tuple[str, str] | None = None  # (table, column) of an inline REFERENCES


@fast_pickle
@dataclass(frozen=True, slots=True)
class MigrationOp:
    kind: OpKind
    span: Span
    framework: MigrationFramework
    table: str | None = None
    column: ColumnDef | None = None  # ADD_COLUMN, ALTER_COLUMN_TYPE (new), SET_DEFAULT...
    columns: tuple[ColumnDef, ...] = ()  # CREATE_TABLE
    name: str | None = None  # index / constraint / column name the op targets
    new_name: str | None = None  # renames
    old_type: str | None = None  # ALTER_COLUMN_TYPE, when known
    new_type: str | None = None
    index: Index | None = None  # CREATE_INDEX
    constraint: ConstraintKind | None = None
    constraint_columns: tuple[str, ...] = ()
    ref_table: str | None = None  # FOREIGN_KEY
    ref_columns: tuple[str, ...] = ()
    not_valid: bool = False
    concurrently: bool = False
    if_exists: bool = False  # IF EXISTS / IF NOT EXISTS was written
    using_index: bool = False  # ADD CONSTRAINT ... USING INDEX
    cascade: bool = False
    in_transaction: bool = True  # runs inside a transaction block
    table_is_new: bool = False  # the table was created earlier in this same migration
    setting: str | None = None  # SET: parameter name (lock_timeout)
    value: str | None = None  # SET: value
    sql: str | None = None  # the SQL text, when the op came from SQL
    reversible: bool = True  # RunSQL with reverse_sql / RunPython with reverse_code


@fast_pickle
@dataclass(frozen=True, slots=True)
class Migration:
    path: str
    framework: MigrationFramework
    ops: tuple[MigrationOp, ...]
    span: Span  # the whole file, or the Migration class / upgrade() function
    name: str = ""  # "0002_add_index", an Alembic revision id, or the file stem
    app_label: str | None = None  # Django
    dependencies: tuple[tuple[str, str], ...] = ()  # Django (app_label, name)
    revision: str | None = None  # Alembic
    down_revision: tuple[str, ...] = ()  # Alembic (merge points have several)
    atomic: bool = True  # Django Migration.atomic / a SQL file wrapped by the runner
    has_downgrade: bool = True  # Alembic downgrade() that does something
    downgrade_span: Span | None = None
