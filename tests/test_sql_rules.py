"""QL101-QL106 beyond their docs examples: what fires, where, and what stays quiet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from querylint.diagnostics import Applicability
from querylint.testing import lint_files

SCHEMA = """\
CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, name text);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    status text NOT NULL,
    created_at timestamptz NOT NULL
);
"""


def _run(sql: str, code: str, *, path: str = "q.sql", options: Mapping[str, Any] | None = None, schema: bool = False) -> list[tuple[int, int, str]]:
    files = {path: sql}
    if schema:
        files["schema.sql"] = SCHEMA
    result = lint_files(files, select=[code], check=[path], rule_options={_name(code): options} if options else None)
    src = result.sources[path]
    return [(*src.location(d.span.start), d.message) for d in result.diagnostics if d.code == code]


def _name(code: str) -> str:
    return {"QL101": "select-star", "QL102": "leading-wildcard-like", "QL103": "offset-pagination",
            "QL104": "non-sargable-predicate", "QL105": "order-by-random", "QL106": "not-in-subquery"}[code]


STAR = "fetches every column, including ones the application may not use"


# -- QL101 select-star --------------------------------------------------------------------------


def test_select_star_reaching_the_application() -> None:
    sql = (
        "SELECT * FROM orders;\n"
        "SELECT o.*, c.email FROM orders o JOIN customers c ON c.id = o.customer_id;\n"
        "SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id;\n"
        "SELECT id FROM orders UNION ALL SELECT * FROM archived_orders;\n"
        "WITH x AS (SELECT * FROM orders) SELECT * FROM x;\n"
        "SELECT * FROM (SELECT * FROM orders) sub;\n"
    )
    assert _run(sql, "QL101") == [
        (1, 8, f"`SELECT *` on `orders` {STAR}"),
        (2, 8, f"`o.*` on `orders` {STAR}"),
        (3, 8, f"`SELECT *` on `orders`, `customers` {STAR}"),
        (4, 40, f"`SELECT *` on `archived_orders` {STAR}"),
        (5, 19, f"`SELECT *` on `orders` {STAR}"),
        (6, 23, f"`SELECT *` on `orders` {STAR}"),
    ]


def test_select_star_quiet_cases() -> None:
    sql = (
        "SELECT count(*) FROM orders;\n"
        "SELECT id FROM customers c WHERE EXISTS (SELECT * FROM orders o WHERE o.customer_id = c.id);\n"
        "WITH x AS (SELECT id, status FROM orders) SELECT * FROM x;\n"
        "SELECT s.* FROM (SELECT id, status FROM orders) s;\n"
        "SELECT id FROM (SELECT * FROM orders) s;\n"
        "INSERT INTO orders_archive SELECT * FROM orders;\n"
        "CREATE VIEW v AS SELECT * FROM orders;\n"
        "SELECT id FROM orders WHERE id IN (SELECT * FROM unnest($1::bigint[]));\n"
    )
    assert _run(sql, "QL101") == []


def test_select_star_fix_expands_known_columns() -> None:
    result = lint_files({"q.sql": "SELECT o.* FROM orders o WHERE o.id = $1;\nSELECT * FROM unknown_table;\n", "schema.sql": SCHEMA},
                        select=["QL101"], check=["q.sql"])
    known, unknown = result.diagnostics
    assert known.fix is not None and unknown.fix is None
    assert known.fix.applicability is Applicability.UNSAFE
    assert known.fix.title == "Expand `o.*` to the 4 columns of `orders`"
    [edit] = known.fix.edits
    assert (edit.start, edit.end, edit.replacement) == (7, 10, "o.id, o.customer_id, o.status, o.created_at")
    assert [r.label for r in known.related] == ["`orders` is defined here"]


def test_select_star_in_python() -> None:
    code = 'def load(cursor, pk):\n    cursor.execute(\n        "SELECT * FROM orders WHERE id = %s", [pk]\n    )\n'
    result = lint_files({"app/repo.py": code, "schema.sql": SCHEMA}, select=["QL101"], check=["app/repo.py"])
    [d] = result.diagnostics
    assert result.sources["app/repo.py"].location(d.span.start) == (3, 17)
    assert d.fix is not None and d.fix.edits[0].replacement == "id, customer_id, status, created_at"
    assert code[d.fix.edits[0].start : d.fix.edits[0].end] == "*"


# -- QL102 leading-wildcard-like ---------------------------------------------------------------


def test_leading_wildcard_variants() -> None:
    sql = (
        "SELECT id FROM customers WHERE email LIKE '%@example.com';\n"
        "SELECT id FROM customers WHERE name ILIKE '%' || $1 || '%';\n"
        "SELECT id FROM customers c JOIN orders o ON o.customer_id = c.id AND o.status LIKE '%paid';\n"
        "SELECT id FROM customers WHERE name LIKE '%';\n"
        "SELECT id FROM customers WHERE name NOT LIKE 'a%';\n"
        "SELECT id FROM customers WHERE $1 LIKE '%x';\n"
    )
    assert _run(sql, "QL102") == [
        (1, 32, "`email LIKE '%@example.com'` starts with a wildcard, so no btree index can serve it and every row of the table is tested"),
        (2, 32, "`name ILIKE '%' || ...` starts with a wildcard, so no btree index can serve it and every row of the table is tested"),
        (3, 70, "`o.status LIKE '%paid'` starts with a wildcard, so no btree index can serve it and every row of the table is tested"),
    ]


# -- QL103 offset-pagination --------------------------------------------------------------------


def test_offset_threshold_and_parameters() -> None:
    sql = (
        "SELECT id FROM orders ORDER BY id LIMIT 50 OFFSET 1000;\n"
        "SELECT id FROM orders ORDER BY id LIMIT 50 OFFSET 1001;\n"
        "SELECT id FROM orders LIMIT 50 OFFSET $1;\n"
        "SELECT id FROM orders ORDER BY created_at LIMIT 50 OFFSET $1;\n"
    )
    assert _run(sql, "QL103") == [
        (2, 44, "`OFFSET 1001` reads and discards 1001 rows before returning any"),
        (4, 52, "a parameterised `OFFSET` pages through a sorted result: every page reads and discards all rows before it"),
    ]
    assert _run(sql, "QL103", options={"threshold": 5000}) == [
        (4, 52, "a parameterised `OFFSET` pages through a sorted result: every page reads and discards all rows before it"),
    ]


def test_offset_in_python_maps_to_the_placeholder() -> None:
    code = 'def page(cursor, n):\n    cursor.execute("SELECT id FROM orders ORDER BY id LIMIT 20 OFFSET %s", [n * 20])\n'
    assert _run(code, "QL103", path="app/views.py") == [
        (2, 64, "a parameterised `OFFSET` pages through a sorted result: every page reads and discards all rows before it"),
    ]


# -- QL104 non-sargable-predicate ----------------------------------------------------------------


def test_non_sargable_forms() -> None:
    sql = (
        "SELECT id FROM orders WHERE date_trunc('day', created_at) = $1;\n"
        "SELECT o.id FROM orders o JOIN customers c ON lower(c.email) = o.status;\n"
        "SELECT id FROM orders WHERE $1 < created_at::date;\n"
        "SELECT id FROM orders WHERE coalesce(status, 'x') IN ('a', 'b');\n"
    )
    assert _run(sql, "QL104") == [
        (1, 29, "`date_trunc('day', created_at)` applies a function to column `created_at`, so an index on `created_at` cannot serve this comparison"),
        (2, 47, "`lower(email)` applies a function to column `email`, so an index on `email` cannot serve this comparison"),
        (3, 34, "`created_at::date` casts column `created_at`, so an index on `created_at` cannot serve this comparison"),
        (4, 29, "`coalesce(status, 'x')` applies a function to column `status`, so an index on `status` cannot serve this comparison"),
    ]


def test_non_sargable_quiet_cases() -> None:
    sql = (
        "SELECT lower(email) FROM customers;\n"
        "SELECT id FROM customers WHERE email = lower($1);\n"
        "SELECT customer_id FROM orders GROUP BY customer_id HAVING count(*) > 5;\n"
        "SELECT customer_id FROM orders GROUP BY customer_id HAVING max(created_at) > now();\n"
        "SELECT id FROM orders WHERE created_at > now() - interval '1 day';\n"
        "SELECT id, CASE WHEN lower(status) = 'x' THEN 1 END FROM orders;\n"
        "SELECT id FROM orders ORDER BY lower(status);\n"
        "SELECT id FROM orders WHERE lower(status);\n"
    )
    assert _run(sql, "QL104") == []


# -- QL105 / QL106 -------------------------------------------------------------------------------


def test_order_by_random_any_case() -> None:
    assert _run("SELECT id FROM orders ORDER BY RANDOM() LIMIT 1;\nSELECT id FROM orders ORDER BY random(), id;\n", "QL105") == [
        (1, 32, "`ORDER BY random()` computes and sorts a random value for every matching row to return a few"),
        (2, 32, "`ORDER BY random()` computes and sorts a random value for every matching row to return a few"),
    ]


def test_not_in_subquery_forms() -> None:
    sql = (
        "SELECT id FROM customers WHERE NOT (id IN (SELECT customer_id FROM orders));\n"
        "SELECT id FROM customers c WHERE c.id NOT IN (SELECT customer_id FROM orders) AND c.email <> '';\n"
        "SELECT id FROM customers WHERE id NOT IN ($1, $2);\n"
        "SELECT id FROM customers WHERE NOT EXISTS (SELECT 1 FROM orders WHERE customer_id = customers.id);\n"
    )
    msg = "NOT IN (SELECT ...)` is never true when the subquery returns a NULL, and PostgreSQL cannot run it as an anti-join"
    assert _run(sql, "QL106") == [(1, 37, f"`id {msg}"), (2, 34, f"`c.id {msg}")]


def test_migrations_get_no_query_shape_findings() -> None:
    sql = (
        "CREATE TABLE t (id bigint, email text);\n"
        "CREATE INDEX t_email ON t (lower(email));\n"
        "CREATE VIEW v AS SELECT * FROM t ORDER BY random();\n"
        "UPDATE t SET email = lower(email) WHERE lower(email) <> email;\n"
    )
    django = (
        "from django.db import migrations\n\n"
        "class Migration(migrations.Migration):\n"
        "    operations = [migrations.RunSQL(\"UPDATE t SET email = lower(email) WHERE lower(email) <> email\")]\n"
    )
    alembic = "from alembic import op\n\ndef upgrade():\n    op.execute(\"SELECT * FROM t WHERE id NOT IN (SELECT id FROM u)\")\n"
    result = lint_files({"migrations/0001.sql": sql, "shop/migrations/0002_data.py": django, "alembic/versions/abc_x.py": alembic}, select=["QL1"])
    assert result.diagnostics == []
    # the same statement in application code is checked
    app = "def f(cursor):\n    cursor.execute(\"UPDATE t SET email = lower(email) WHERE lower(email) <> email\")\n"
    assert [d.code for d in lint_files({"app.py": app}, select=["QL1"]).diagnostics] == ["QL104"]


def test_select_star_unsafe_fix_end_to_end(tmp_path: Any) -> None:
    from querylint import fix as fixmod
    from querylint.config import Config
    from querylint.engine import Engine
    from querylint.rules.select_star import SelectStar

    (tmp_path / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    q = tmp_path / "q.sql"
    q.write_text("SELECT * FROM customers WHERE id = $1;\n", encoding="utf-8")
    py = tmp_path / "repo.py"
    py.write_text('def f(cur):\n    cur.execute("SELECT c.* FROM customers c WHERE c.id = %s", [1])\n', encoding="utf-8")
    eng = Engine(Config(root=str(tmp_path), cache=False), rules=[SelectStar()])
    assert fixmod.fix_paths(eng, [str(tmp_path)]).fixed == 0  # unsafe: not applied by --fix alone
    out = fixmod.fix_paths(eng, [str(tmp_path)], unsafe=True)
    assert out.fixed == 2
    assert q.read_text(encoding="utf-8") == "SELECT id, email, name FROM customers WHERE id = $1;\n"
    assert py.read_text(encoding="utf-8") == (
        'def f(cur):\n    cur.execute("SELECT c.id, c.email, c.name FROM customers c WHERE c.id = %s", [1])\n'
    )
    assert out.result.diagnostics == []


def test_extra_where_and_rawsql_positions_map_into_python() -> None:
    code = (
        "from django.db.models.expressions import RawSQL\n"
        "def f(qs):\n"
        "    qs = qs.extra(where=[\"lower(name) = %s\"], params=['x'])\n"
        "    return qs.annotate(n=RawSQL(\"SELECT count(*) FROM orders o WHERE o.id NOT IN (SELECT order_id FROM refunds)\", ()))\n"
    )
    result = lint_files({"app/views.py": code}, select=["QL104", "QL106"])
    src = result.sources["app/views.py"]
    got = [(d.code, src.location(d.span.start), src.text[d.span.start : d.span.end]) for d in result.diagnostics]
    assert got == [("QL104", (3, 27), "lower(name)"), ("QL106", (4, 70), "o.id")]


def test_select_star_in_django_raw_is_fine() -> None:
    code = 'def f(pk):\n    return Order.objects.raw("SELECT * FROM orders WHERE id = %s", [pk])\n'
    assert _run(code, "QL101", path="shop/views.py") == []
    code = 'def f(cursor, pk):\n    cursor.execute("SELECT * FROM orders WHERE id = %s", [pk])\n'
    assert _run(code, "QL101", path="shop/views.py") == [(2, 28, f"`SELECT *` on `orders` {STAR}")]


def test_leading_wildcard_from_the_bound_parameter() -> None:
    code = (
        "def search(cursor, term):\n"
        '    cursor.execute("SELECT id FROM products WHERE title ILIKE %s AND sku = %s", [f"%{term}%", "x"])\n'
        '    cursor.execute("SELECT id FROM products WHERE title LIKE %(q)s", {"q": term + "%"})\n'
        '    cursor.execute("SELECT id FROM products WHERE title LIKE %(q)s", {"q": "%" + term})\n'
        '    cursor.execute("SELECT id FROM products WHERE title LIKE %s", ["%"])\n'
    )
    assert _run(code, "QL102", path="shop/search.py") == [
        (2, 51, "`title ILIKE %s` (bound to `'%...'`) starts with a wildcard, so no btree index can serve it and every row of the table is tested"),
        (4, 51, "`title LIKE %(q)s` (bound to `'%...'`) starts with a wildcard, so no btree index can serve it and every row of the table is tested"),
    ]
