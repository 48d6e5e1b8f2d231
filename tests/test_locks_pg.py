"""Every lock claim in ``querylint.locks`` checked against a real PostgreSQL, via ``pg_locks``.

Each statement is translated by the SQL migration front end (so the op kind and flags are the
ones the rules see), its claimed mode is looked up in the lock table, and the statement runs on
a scratch database: transactional statements inside ``BEGIN`` (then ``pg_locks`` of our own
backend), non-transactional ones (``CONCURRENTLY``, ``VACUUM FULL``) in a second session whose
lock request a first session keeps waiting, while a third reads ``pg_locks``. The asserted mode is the
*strongest* mode the backend holds or requests on the table.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from querylint.locks import LockMode, lock_for, referenced_lock
from querylint.migration import MigrationFramework, OpKind
from querylint.migrations.sql import statements_to_ops
from querylint.sql.parse import parse_fragment
from querylint.sqlsource import SqlFragment

psycopg = pytest.importorskip("psycopg")

_ORDER = [m.pg_name for m in LockMode]  # weakest .. strongest

SETUP = """
CREATE TABLE customers (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total integer, status text,
                     note varchar(10));
CREATE INDEX orders_customer_idx ON orders (customer_id);
INSERT INTO customers VALUES (1);
INSERT INTO orders VALUES (1, 1, 10, 'new', 'x');
ALTER TABLE orders ADD CONSTRAINT orders_total_nn CHECK (total IS NOT NULL) NOT VALID;
CREATE MATERIALIZED VIEW order_totals AS SELECT id AS customer_id FROM customers;
CREATE UNIQUE INDEX order_totals_customer ON order_totals (customer_id);
CREATE TABLE measurements (at date NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE measurements_2020 PARTITION OF measurements FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
"""

# statement, table whose lock we read
IN_TRANSACTION = [
    ("CREATE INDEX orders_total_idx ON orders (total)", "orders"),
    ("DROP INDEX orders_customer_idx", "orders"),
    ("REINDEX INDEX orders_customer_idx", "orders"),
    ("REINDEX TABLE orders", "orders"),
    ("ALTER TABLE orders ADD COLUMN extra text", "orders"),
    ("ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid()", "orders"),
    ("ALTER TABLE orders ADD COLUMN seq bigserial", "orders"),
    ("ALTER TABLE orders DROP COLUMN note", "orders"),
    ("ALTER TABLE orders RENAME COLUMN note TO memo", "orders"),
    ("ALTER TABLE orders RENAME TO purchases", "orders"),
    ("ALTER TABLE orders ALTER COLUMN total TYPE bigint", "orders"),
    ("ALTER TABLE orders ALTER COLUMN status SET NOT NULL", "orders"),
    ("ALTER TABLE orders ALTER COLUMN status DROP NOT NULL", "orders"),
    ("ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'new'", "orders"),
    ("ALTER TABLE orders ALTER COLUMN status DROP DEFAULT", "orders"),
    ("ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)", "orders"),
    ("ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID", "orders"),
    ("ALTER TABLE orders ADD CONSTRAINT orders_total_pos CHECK (total >= 0)", "orders"),
    ("ALTER TABLE orders ADD CONSTRAINT orders_total_pos CHECK (total >= 0) NOT VALID", "orders"),
    ("ALTER TABLE orders VALIDATE CONSTRAINT orders_total_nn", "orders"),
    ("ALTER TABLE orders ADD CONSTRAINT orders_status_key UNIQUE (status)", "orders"),
    ("ALTER TABLE orders DROP CONSTRAINT orders_total_nn", "orders"),
    ("DROP TABLE orders", "orders"),
    ("TRUNCATE orders", "orders"),
    ("CLUSTER orders USING orders_pkey", "orders"),
    ("REFRESH MATERIALIZED VIEW order_totals", "order_totals"),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals", "order_totals"),
    ("ALTER TABLE measurements DETACH PARTITION measurements_2020", "measurements"),
]

OUTSIDE_TRANSACTION = [
    ("CREATE INDEX CONCURRENTLY orders_total_idx ON orders (total)", "orders"),
    ("DROP INDEX CONCURRENTLY orders_customer_idx", "orders"),
    ("REINDEX INDEX CONCURRENTLY orders_customer_idx", "orders"),
    ("VACUUM FULL orders", "orders"),
    ("ALTER TABLE measurements DETACH PARTITION measurements_2020 CONCURRENTLY", "measurements"),
]


def _claim(sql: str) -> Any:
    stmts, problems = parse_fragment(SqlFragment.whole_file("migrations/x.sql", sql))
    assert not problems
    ops = [op for op in statements_to_ops(stmts, MigrationFramework.SQL, in_transaction=False) if op.kind is not OpKind.OTHER]
    assert len(ops) == 1, ops
    return ops[0]


def _strongest(modes: list[str]) -> str:
    return max(modes, key=_ORDER.index)


def _setup(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SETUP)


@pytest.mark.parametrize(("sql", "table"), IN_TRANSACTION, ids=[s for s, _ in IN_TRANSACTION])
def test_lock_mode_in_transaction(scratch_db: str, sql: str, table: str) -> None:
    op = _claim(sql)
    info = lock_for(op)
    assert info is not None
    _setup(scratch_db)
    with psycopg.connect(scratch_db) as conn:
        oid = conn.execute("SELECT %s::regclass::oid", (table,)).fetchone()[0]
        ref_oid = conn.execute("SELECT 'customers'::regclass::oid").fetchone()[0]
        conn.execute(sql)
        rows = conn.execute(
            "SELECT relation, mode FROM pg_locks WHERE pid = pg_backend_pid() AND granted AND relation IN (%s, %s)",
            (oid, ref_oid),
        ).fetchall()
        conn.rollback()
    on_table = [m for rel, m in rows if rel == oid]
    assert _strongest(on_table) == info.mode.pg_name
    ref = referenced_lock(op)
    if ref is not None:
        assert _strongest([m for rel, m in rows if rel == ref_oid]) == ref.pg_name


@pytest.mark.parametrize(("sql", "table"), OUTSIDE_TRANSACTION, ids=[s for s, _ in OUTSIDE_TRANSACTION])
def test_lock_mode_outside_transaction(scratch_db: str, sql: str, table: str) -> None:
    op = _claim(sql)
    info = lock_for(op)
    assert info is not None
    _setup(scratch_db)
    blocker = psycopg.connect(scratch_db)
    runner = psycopg.connect(scratch_db, autocommit=True)
    watcher = psycopg.connect(scratch_db, autocommit=True)
    try:
        oid = watcher.execute("SELECT %s::regclass::oid", (table,)).fetchone()[0]
        # SHARE UPDATE EXCLUSIVE conflicts with itself and every stronger mode, so the statement's
        # first lock request on the table queues and shows up, ungranted, in pg_locks
        blocker.execute(f"LOCK TABLE {table} IN SHARE UPDATE EXCLUSIVE MODE")
        pid = runner.execute("SELECT pg_backend_pid()").fetchone()[0]
        runner.execute("SET lock_timeout = '20s'")
        errors: list[BaseException] = []

        def run() -> None:
            try:
                runner.execute(sql)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        modes: list[str] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            modes = [r[0] for r in watcher.execute(
                "SELECT mode FROM pg_locks WHERE pid = %s AND relation = %s", (pid, oid)
            ).fetchall()]
            if modes and waiting and waiting[0] == "Lock":
                break
            time.sleep(0.05)
        blocker.rollback()
        thread.join(30)
        assert not errors, errors
        assert modes, f"no lock of {sql!r} seen on {table}"
        assert _strongest(modes) == info.mode.pg_name
    finally:
        for c in (blocker, runner, watcher):
            c.close()
