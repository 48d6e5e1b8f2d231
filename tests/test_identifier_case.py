"""Quoted identifiers keep their case from the DDL to the advice: ``"Order"`` is not ``order``.

Tables are looked up without case (as before), but what advise writes for PostgreSQL names the
table and columns as declared, and a query on quoted mixed-case columns is checked like any other.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DDL = (
    'CREATE TABLE "Customer" ("Id" bigint PRIMARY KEY);\n'
    'CREATE TABLE "Order" ("Id" bigint PRIMARY KEY, "CustomerId" bigint, "Status" text, created_at timestamptz);\n'
    'ALTER TABLE "Order" ADD CONSTRAINT order_customer_fk FOREIGN KEY ("CustomerId") REFERENCES "Customer" ("Id") NOT VALID;\n'
)
QUERY = 'SELECT "Id" FROM "Order" WHERE "CustomerId" = $1 AND "Status" = \'open\' ORDER BY created_at DESC LIMIT 10;\n'
COMPOSITE = "order_customerid_created_at_fbb49c_idx"


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.querylint]\n")
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_init.sql").write_text(DDL)
    (tmp_path / "queries.sql").write_text(QUERY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_mixed_case_columns_are_checked(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from querylint.cli import main

    assert main(["check", "--no-cache", "--output-format", "concise", "--select", "QL301", "."]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "queries.sql:1:1: QL301 [missing-index] `order` is filtered on (customerid, status) and sorted by "
        "created_at DESC with a LIMIT, but no index serves it",
    ]


def test_advise_sql_names_the_declared_table_and_columns(project: Path, scratch_db: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess

    import psycopg
    from querylint.advise.cli import main as advise

    assert advise([".", "--format", "sql"]) == 0
    script = capsys.readouterr().out
    creates = [line for line in script.splitlines() if line.startswith("CREATE INDEX")]
    assert creates == [
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS {COMPOSITE} ON "Order" ("CustomerId", created_at DESC) '
        'INCLUDE ("Id") WHERE "Status" = \'open\';',
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS order_customerid_idx ON "Order" ("CustomerId");',
    ]
    (project / "advice.sql").write_text(script)
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute(DDL)
        proc = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", scratch_db, "-f", "advice.sql"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        rows = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'Order' AND indexname <> 'Order_pkey' "
                            "ORDER BY 1").fetchall()
    assert rows == [
        (COMPOSITE, f'CREATE INDEX {COMPOSITE} ON public."Order" USING btree ("CustomerId", created_at DESC) '
                    'INCLUDE ("Id") WHERE ("Status" = \'open\'::text)'),
        ("order_customerid_idx", 'CREATE INDEX order_customerid_idx ON public."Order" USING btree ("CustomerId")'),
    ]


def test_the_plan_names_the_declared_table_and_columns(project: Path) -> None:
    from querylint.advise.cli import load_project
    from querylint.advise.plan import build_plan

    plans = build_plan(load_project(["."])[0])
    assert [(p.table, [k.column for k in p.keys], p.predicate, p.include) for p in plans] == [
        ("Order", ["CustomerId", "created_at"], "\"Status\" = 'open'", ("Id",)),
        ("Order", ["CustomerId"], None, ()),
    ]
