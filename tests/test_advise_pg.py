"""``querylint advise`` proven on PostgreSQL: the SQL applies, the Django migration migrates with
``makemigrations --check`` clean, the Alembic revision upgrades, downgrades and upgrades again,
and EXPLAIN of the flagged query uses the suggested index once it exists (and not before).

The queries are the Query records the front ends produce for the fixtures' main cases; they
are built here so these tests prove the advisor and the emitters on their own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

from querylint.advise.cli import load_project, render, write
from querylint.advise.plan import IndexPlan, build_plan
from querylint.ir import (
    Op,
    OrderKey,
    Origin,
    Predicate,
    Query,
    QueryKind,
    TableRef,
    Value,
    ValueKind,
)
from querylint.source import Span

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures")


def _url(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    d = conninfo_to_dict(dsn)
    user = d.get("user", "postgres")
    return f"postgresql://{user}@{d.get('host', '127.0.0.1')}:{d.get('port', 5432)}/{d['dbname']}"


def _run(cmd: list[str], cwd: str, dsn: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QUERYLINT_TEST_DSN": _url(dsn), "PYTHONPATH": cwd}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _orders_query(table: str, path: str = "app/services.py") -> Query:
    """``filter(customer=c, status="open").order_by("-created_at")[:20]`` as the ORM front end records it."""
    return Query(
        Origin.SQL, QueryKind.SELECT, Span(path, 0, 1), tables=(TableRef(table),),
        predicates=(Predicate(None, "customer_id", Op.EQ), Predicate(None, "status", Op.EQ, Value(ValueKind.CONST, "'open'"))),
        order_by=(OrderKey(None, "created_at", descending=True),), limit=20,
    )


def _explain(conn: Any, sql: str) -> str:
    plan = conn.execute("EXPLAIN (FORMAT JSON) " + sql).fetchone()[0]
    return json.dumps(plan)


def _statements(script: str) -> list[str]:
    """What ``psql -f`` would run: one statement per ``;`` line, comments skipped."""
    out: list[str] = []
    cur: list[str] = []
    for line in script.splitlines():
        if line.startswith("--") or not line.strip():
            continue
        cur.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(cur))
            cur = []
    return out


def _fill_orders(conn: Any, table: str, extra: str = "") -> None:
    conn.execute(
        f"INSERT INTO {table} (customer_id, status, created_at{extra and ', ' + extra.split('=')[0]}) "
        f"SELECT 1 + i % 200, CASE WHEN i % 10 = 0 THEN 'open' ELSE 'paid' END, now() - i * interval '1 minute'"
        f"{extra and ', ' + extra.split('=')[1]} FROM generate_series(1, 20000) AS i"
    )
    conn.execute(f"ANALYZE {table}")


def test_sql_output_applies_and_is_used(scratch_db: str, tmp_path: Any) -> None:
    import psycopg

    ddl = (
        "CREATE TABLE customers (id bigint PRIMARY KEY, name text);\n"
        "CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id),\n"
        "    status text NOT NULL, created_at timestamptz NOT NULL);\n"
    )
    (tmp_path / "schema.sql").write_text(ddl)
    (tmp_path / "pyproject.toml").write_text("[tool.querylint]\n")
    project, max_keys = load_project([str(tmp_path)], config_file=str(tmp_path / "pyproject.toml"))
    project.queries.append(_orders_query("orders", "schema.sql"))
    plans = build_plan(project, max_keys)
    # the partial index does not serve the FK checks (any status): the FK keeps its own index
    assert [(p.table, [k.text for k in p.keys], p.predicate) for p in plans] == [
        ("orders", ["customer_id", "created_at DESC"], "status = 'open'"), ("orders", ["customer_id"], None)]
    script, _ = render(project, plans, "sql")
    assert script.splitlines()[2] == "SET lock_timeout = '5s';"
    assert "BEGIN" not in script
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0002_indexes.sql").write_text(script)
    assert _lint_written(str(tmp_path), ["migrations/0002_indexes.sql"]) == []
    query = "SELECT * FROM orders WHERE customer_id = 7 AND status = 'open' ORDER BY created_at DESC LIMIT 20"
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        for st in _statements(ddl):
            conn.execute(st)
        conn.execute("INSERT INTO customers SELECT i, 'c' || i FROM generate_series(1, 200) AS i")
        _fill_orders(conn, "orders")
        assert plans[0].name not in _explain(conn, query)
        for st in _statements(script):
            conn.execute(st)
        conn.execute("ANALYZE orders")
        assert f'"Index Name": "{plans[0].name}"' in _explain(conn, query)
        rollback = [line[3:] for line in script.splitlines() if line.startswith("-- DROP INDEX")]
        for st in rollback:
            conn.execute(st)
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s", (plans[0].name,)).fetchone()[0] == 0


def _copy(name: str, tmp_path: Any) -> str:
    dst = os.path.join(str(tmp_path), name)
    shutil.copytree(os.path.join(FIXTURES, name), dst, ignore=shutil.ignore_patterns("__pycache__", ".querylint_cache"))
    return dst


def _lint_written(root: str, paths: list[str]) -> list[str]:
    """querylint's own migration-safety rules (QL4xx) on what advise wrote."""
    from querylint.config import Config
    from querylint.engine import Engine
    from querylint.registry import instantiate

    cfg = Config(root=root, cache=False, select=("QL4",))
    cwd = os.getcwd()
    try:
        os.chdir(root)
        res = Engine(cfg, instantiate(cfg)).run(paths)
    finally:
        os.chdir(cwd)
    return [f"{d.code} {d.span.path}: {d.message}" for d in res.diagnostics]


VIEWS = """\
from orders.models import Customer, Order


def latest_open_orders(customer):
    return list(Order.objects.filter(customer=customer, status="open").order_by("-created_at")[:20])


def customer_by_email(email):
    return Customer.objects.filter(email__iexact=email).first()
"""


def test_django_migration_applies_and_models_agree(scratch_db: str, tmp_path: Any) -> None:
    import psycopg

    root = _copy("django_shop", tmp_path)
    with open(os.path.join(root, "orders", "advise_views.py"), "w") as fh:
        fh.write(VIEWS)
    _run([sys.executable, "manage.py", "migrate", "--noinput"], root, scratch_db)
    project, max_keys = load_project([root])
    plans = build_plan(project, max_keys)
    by_table = {(p.table, tuple(k.text for k in p.keys), p.predicate): p for p in plans}
    main = by_table[("orders_order", ("customer_id", "created_at DESC"), "status = 'open'")]
    assert ("orders_customer", ("(upper(email))",), None) in by_table
    written = write(project, plans, "django")
    rel = sorted(os.path.relpath(p, root) for p in written)
    assert "orders/migrations/0002_querylint_indexes.py" in rel and "orders/models.py" in rel
    migration = open(os.path.join(root, "orders/migrations/0002_querylint_indexes.py")).read()
    assert "atomic = False" in migration and '("orders", "0001_initial")' in migration
    assert 'models.Index(fields=["customer", "-created_at"], condition=models.Q(status="open"), name=' in migration
    assert 'models.Index(Upper("email"), name=' in migration
    assert _lint_written(root, [r for r in rel if "/migrations/" in r]) == []
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute("INSERT INTO orders_customer (created_at, updated_at, name, email, is_active) "
                     "SELECT now(), now(), 'c' || i, 'c' || i || '@x.org', true FROM generate_series(1, 200) AS i")
        conn.execute("INSERT INTO orders_order (customer_id, status, created_at, reference) "
                     "SELECT (SELECT min(id) FROM orders_customer) + i % 200, CASE WHEN i % 10 = 0 THEN 'open' ELSE 'paid' END, "
                     "now() - i * interval '1 minute', 'r' || i FROM generate_series(1, 20000) AS i")
        conn.execute("ANALYZE orders_order")
        cid = conn.execute("SELECT min(id) + 7 FROM orders_customer").fetchone()[0]
        query = f"SELECT * FROM orders_order WHERE customer_id = {cid} AND status = 'open' ORDER BY created_at DESC LIMIT 20"
        before = _explain(conn, query)
        _run([sys.executable, "manage.py", "migrate", "--noinput"], root, scratch_db)
        conn.execute("ANALYZE orders_order")
        name = conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'orders_order' AND indexdef LIKE %s",
                            ("%(customer_id, created_at DESC) WHERE%",)).fetchone()[0]
        assert name not in before
        assert f'"Index Name": "{name}"' in _explain(conn, query)
        assert main.table == "orders_order"
    _run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], root, scratch_db)


def test_alembic_revision_upgrades_downgrades_upgrades(scratch_db: str, tmp_path: Any) -> None:
    import psycopg

    root = _copy("sqlalchemy_app", tmp_path)
    _run([sys.executable, "-m", "alembic", "upgrade", "head"], root, scratch_db)
    project, max_keys = load_project([root])
    # a post's latest comments, and a case-insensitive login: as the SQLAlchemy front end records them
    project.queries.append(Query(
        Origin.SQLALCHEMY, QueryKind.SELECT, Span("app/services.py", 0, 1), tables=(TableRef("comments"),),
        predicates=(Predicate(None, "post_id", Op.EQ),), order_by=(OrderKey(None, "created_at", descending=True),), limit=10))
    project.queries.append(Query(
        Origin.SQLALCHEMY, QueryKind.SELECT, Span("app/services.py", 2, 3), tables=(TableRef("users"),),
        predicates=(Predicate(None, "email", Op.EQ, expression="lower(email)"),)))
    plans: list[IndexPlan] = build_plan(project, max_keys)
    assert sorted((p.table, tuple(k.text for k in p.keys)) for p in plans) == [
        ("comments", ("post_id", "created_at DESC")),  # also serves the foreign key: no separate index
        ("post_tags", ("tag_id",)),  # SQLAlchemy adds no FK index
        ("users", ("(lower(email))",)),
    ]
    names = sorted(p.name for p in plans)
    written = write(project, plans, "alembic")
    rel = sorted(os.path.relpath(p, root) for p in written)
    assert len(rel) == 2 and rel[0].startswith("alembic/versions/") and rel[1] == "app/models.py"
    assert _lint_written(root, [rel[0]]) == []
    models = open(os.path.join(root, "app/models.py")).read()
    assert 'Index("users_lower_email_idx", text("lower(email)"))' in models

    def present() -> list[str]:
        with psycopg.connect(scratch_db, autocommit=True) as conn:
            rows = conn.execute("SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s) ORDER BY 1", (names,)).fetchall()
        return [r[0] for r in rows]

    _run([sys.executable, "-m", "alembic", "upgrade", "head"], root, scratch_db)
    assert present() == names
    _run([sys.executable, "-m", "alembic", "downgrade", "-1"], root, scratch_db)
    assert present() == []
    _run([sys.executable, "-m", "alembic", "upgrade", "head"], root, scratch_db)
    assert present() == names
    # the edited models still import and declare the index
    code = "from app.models import Comment, User; print(sorted(i.name for t in (Comment, User) for i in t.__table__.indexes))"
    proc = _run([sys.executable, "-c", code], root, scratch_db)
    assert all(n in proc.stdout for n in names if not n.startswith("post_tags"))


