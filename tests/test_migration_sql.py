"""SQL migration files -> MigrationOp: statement kinds, columns, indexes, transaction state."""

from __future__ import annotations

import pytest
from querylint.migration import ConstraintKind, Migration, MigrationFramework, OpKind
from querylint.migrations.sql import is_migration_sql_file, statements_to_ops
from querylint.source import Span
from querylint.sql.parse import parse_fragment
from querylint.sqlsource import SqlFragment
from querylint.testing import lint_files


def _migration(sql: str, path: str = "migrations/0001_x.sql", **config: object) -> tuple[Migration, object]:
    result = lint_files({path: sql}, select=["QL001"], **config)
    assert result.project is not None
    migs = result.project.migrations_in(path)
    assert len(migs) == 1
    return migs[0], result.sources[path]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("migrations/0001_init.sql", True),
        ("app/migration/0002.sql", True),
        ("alembic/versions/abc.sql", True),
        ("db/migrate/20240101_add.sql", True),
        ("sqitch/deploy/orders.sql", True),
        ("sql/V2_1__add_orders.sql", True),
        ("sql/R__views.sql", True),
        ("schema.sql", False),
        ("db/schema.sql", False),
        ("queries/report.sql", False),
        ("migrations/README.md", False),
    ],
)
def test_is_migration_sql_file(path: str, expected: bool) -> None:
    assert is_migration_sql_file(path) is expected


def test_non_migration_sql_file_has_no_migration() -> None:
    result = lint_files({"schema.sql": "CREATE INDEX i ON t (a);\n"}, select=["QL001"])
    assert result.project is not None and result.project.migrations == []


def test_create_table_columns() -> None:
    m, _ = _migration(
        "CREATE TABLE IF NOT EXISTS t (\n"
        "  id bigserial PRIMARY KEY,\n"
        "  a varchar(20) NOT NULL DEFAULT now(),\n"
        "  b int REFERENCES u (id),\n"
        "  c int GENERATED ALWAYS AS (b + 1) STORED,\n"
        "  d bigint GENERATED ALWAYS AS IDENTITY,\n"
        "  e uuid DEFAULT gen_random_uuid(),\n"
        "  f timestamp(3) UNIQUE\n"
        ");\n"
    )
    (op,) = m.ops
    assert op.kind is OpKind.CREATE_TABLE and op.table == "t" and op.if_exists and op.table_is_new
    cols = {c.name: c for c in op.columns}
    assert cols["id"].serial and cols["id"].primary_key and not cols["id"].nullable and cols["id"].type == "bigserial"
    assert cols["a"].type == "varchar(20)" and not cols["a"].nullable and cols["a"].default == "now()"
    assert not cols["a"].default_volatile  # now() is STABLE: one value for the whole statement
    assert cols["b"].type == "integer" and cols["b"].references == ("u", "id")
    assert cols["c"].generated_stored
    assert cols["d"].identity and cols["d"].type == "bigint"
    assert cols["e"].default_volatile
    assert cols["f"].type == "timestamp(3)" and cols["f"].unique


def test_alter_table_actions_and_old_type() -> None:
    m, _ = _migration(
        "ALTER TABLE orders ADD COLUMN note varchar(10);\n"
        "ALTER TABLE orders ALTER COLUMN note TYPE varchar(50), ALTER COLUMN total SET NOT NULL,\n"
        "  ALTER COLUMN status SET DEFAULT 'new', ALTER COLUMN status DROP DEFAULT, DROP COLUMN IF EXISTS legacy,\n"
        "  ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID,\n"
        "  VALIDATE CONSTRAINT fk, ADD CONSTRAINT uq UNIQUE USING INDEX uq_idx, DROP CONSTRAINT old,\n"
        "  ADD CONSTRAINT pos CHECK (total >= 0);\n"
        "ALTER TABLE orders RENAME COLUMN note TO memo;\n"
        "ALTER TABLE orders RENAME TO purchases;\n"
        "ALTER TABLE m DETACH PARTITION m_2020 CONCURRENTLY;\n"
    )
    kinds = [o.kind for o in m.ops]
    assert kinds == [
        OpKind.ADD_COLUMN, OpKind.ALTER_COLUMN_TYPE, OpKind.SET_NOT_NULL, OpKind.SET_DEFAULT, OpKind.DROP_DEFAULT,
        OpKind.DROP_COLUMN, OpKind.ADD_CONSTRAINT, OpKind.VALIDATE_CONSTRAINT, OpKind.ADD_CONSTRAINT,
        OpKind.DROP_CONSTRAINT, OpKind.ADD_CONSTRAINT, OpKind.RENAME_COLUMN, OpKind.RENAME_TABLE, OpKind.DETACH_PARTITION,
    ]
    alter = m.ops[1]
    assert (alter.name, alter.old_type, alter.new_type) == ("note", "varchar(10)", "varchar(50)")
    fk = m.ops[6]
    assert fk.constraint is ConstraintKind.FOREIGN_KEY and fk.not_valid and fk.ref_table == "customers"
    assert fk.constraint_columns == ("customer_id",) and fk.ref_columns == ("id",)
    assert m.ops[8].constraint is ConstraintKind.UNIQUE and m.ops[8].using_index
    check = m.ops[10]
    assert check.constraint is ConstraintKind.CHECK and not check.not_valid
    assert m.ops[5].if_exists
    assert (m.ops[11].name, m.ops[11].new_name) == ("note", "memo")
    assert (m.ops[12].table, m.ops[12].new_name) == ("orders", "purchases")
    assert m.ops[13].concurrently and m.ops[13].name == "m_2020"


def test_old_type_carries_across_files_in_path_order() -> None:
    files = {
        "migrations/0001_init.sql": "CREATE TABLE orders (total integer);\n",
        "migrations/0002_widen.sql": "ALTER TABLE orders ALTER COLUMN total TYPE bigint;\n",
    }
    result = lint_files(files, select=["QL001"])
    assert result.project is not None
    (m2,) = result.project.migrations_in("migrations/0002_widen.sql")
    assert m2.ops[0].old_type == "integer" and not m2.ops[0].table_is_new


def test_index_details() -> None:
    m, _ = _migration(
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ix ON t USING btree (a DESC NULLS LAST, lower(b)) "
        "INCLUDE (c) WHERE d > 1;\nDROP INDEX CONCURRENTLY IF EXISTS ix;\n"
    )
    create, drop = m.ops
    idx = create.index
    assert idx is not None and idx.unique and idx.name == "ix" and idx.include == ("c",) and idx.predicate == "d > 1"
    assert idx.keys[0].column == "a" and idx.keys[0].descending and idx.keys[0].nulls_first is False
    assert idx.keys[1].expression == "lower(b)"
    assert create.concurrently and create.if_exists
    assert drop.kind is OpKind.DROP_INDEX and drop.concurrently and drop.if_exists and drop.table == "t"


def test_other_statements() -> None:
    m, _ = _migration(
        "REINDEX INDEX CONCURRENTLY ix;\nVACUUM FULL t;\nVACUUM t;\nCLUSTER t USING ix;\nTRUNCATE a, b CASCADE;\n"
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv;\nSET LOCAL lock_timeout = '5s';\nSET statement_timeout TO 1000;\n"
    )
    got = [(o.kind, o.table) for o in m.ops]
    assert got == [
        (OpKind.REINDEX, "ix"), (OpKind.VACUUM_FULL, "t"), (OpKind.OTHER, None), (OpKind.CLUSTER, "t"),
        (OpKind.TRUNCATE, "a"), (OpKind.TRUNCATE, "b"), (OpKind.REFRESH_MATVIEW, "mv"), (OpKind.SET, None), (OpKind.SET, None),
    ]
    assert m.ops[0].concurrently and m.ops[4].cascade and m.ops[6].concurrently
    assert (m.ops[7].setting, m.ops[7].value, m.ops[7].name) == ("lock_timeout", "5s", "local")
    assert (m.ops[8].setting, m.ops[8].value, m.ops[8].name) == ("statement_timeout", "1000", None)


def test_transaction_state_and_new_tables() -> None:
    m, src = _migration(
        "-- leading comment\n"
        "CREATE TABLE t (a int);\n"
        "CREATE INDEX t_a ON t (a);  -- trailing comment\n"
        "BEGIN;\n"
        "CREATE INDEX u_a ON u (a);\n"
        "COMMIT;\n"
        "CREATE INDEX v_a ON v (a);\n"
    )
    rows = [(o.kind, o.table, o.in_transaction, o.table_is_new, src.location(o.span.start)[0]) for o in m.ops]  # type: ignore[attr-defined]
    assert rows == [
        (OpKind.CREATE_TABLE, "t", False, True, 2),
        (OpKind.CREATE_INDEX, "t", False, True, 3),
        (OpKind.BEGIN, None, False, False, 4),
        (OpKind.CREATE_INDEX, "u", True, False, 5),
        (OpKind.COMMIT, None, True, False, 6),
        (OpKind.CREATE_INDEX, "v", False, False, 7),
    ]
    assert not m.atomic and m.framework is MigrationFramework.SQL


def test_runner_wrapped_file_starts_in_transaction() -> None:
    m, _ = _migration("CREATE INDEX i ON t (a);\n", sql_migrations_in_transaction=True)
    assert m.atomic and m.ops[0].in_transaction


def test_statements_to_ops_span_override_for_python_callers() -> None:
    frag = SqlFragment.whole_file("app/migrations/0002.py", "CREATE INDEX i ON t (a); DROP INDEX j;")
    stmts, problems = parse_fragment(frag)
    assert not problems
    call = Span("app/migrations/0002.py", 100, 140)
    ops = statements_to_ops(stmts, MigrationFramework.DJANGO, in_transaction=True, span=call)
    assert [(o.kind, o.span, o.framework, o.in_transaction) for o in ops] == [
        (OpKind.CREATE_INDEX, call, MigrationFramework.DJANGO, True),
        (OpKind.DROP_INDEX, call, MigrationFramework.DJANGO, True),
    ]


def test_each_column_finding_sits_on_its_definition() -> None:
    """The columns of a CREATE TABLE are located in one pass (a search per column was quadratic:
    14 s for 3,000 columns): after comments, quoted, with an escaped quote, mixed case."""
    sql = ('CREATE TABLE t (\n  id bigint PRIMARY KEY,\n  -- the count\n  n int,\n  "Mixed" int,\n  "a""b" integer,\n'
           '  total numeric(10, 2),\n  m int CHECK (n > 0)\n);\n')
    result = lint_files({"migrations/0001_t.sql": sql}, select=["QL419"])
    src = result.sources["migrations/0001_t.sql"]
    assert [(src.location(d.span.start), d.message.split(" is ")[0]) for d in result.diagnostics] == [
        ((4, 3), "`t.n`"), ((5, 3), "`t.Mixed`"), ((6, 3), '`t.a"b`'), ((8, 3), "`t.m`")]
