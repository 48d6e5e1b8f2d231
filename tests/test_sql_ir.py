"""SQL statements -> Query IR: tables, aliases, projection, predicates, joins, order, limits."""

from __future__ import annotations

import ast

from querylint.ir import (
    Join,
    Limit,
    Op,
    OrderKey,
    Origin,
    Predicate,
    Projection,
    Query,
    QueryKind,
    TableRef,
    Value,
    ValueKind,
)
from querylint.source import Language, SourceFile
from querylint.sql import find_sql_in_python, parse_fragment, to_queries
from querylint.sqlsource import SqlFragment


def _queries(sql: str) -> list[Query]:
    stmts, problems = parse_fragment(SqlFragment.whole_file("q.sql", sql))
    assert problems == []
    return [q for st in stmts for q in to_queries(st)]


def _preds(q: Query) -> list[tuple[str | None, str, Op, ValueKind, str | None, str | None]]:
    return [(p.table, p.column, p.op, p.value.kind, p.value.text, p.expression) for p in q.predicates]


def test_select_with_aliases_predicates_order_and_limits() -> None:
    sql = (
        "SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE c.email = $1 AND o.status IN ('open', 'paid') AND o.created_at BETWEEN $2 AND $3 "
        "AND o.deleted_at IS NULL AND lower(c.name) LIKE 'a%' AND 10 < o.total "
        "ORDER BY o.created_at DESC NULLS LAST, o.id LIMIT 20 OFFSET $4"
    )
    [q] = _queries(sql)
    assert q.origin is Origin.SQL and q.kind is QueryKind.SELECT
    assert q.tables == (TableRef("orders", "o"), TableRef("customers", "c"))
    assert q.projection is Projection.COLUMNS and q.columns == ("id", "total")
    assert _preds(q) == [
        ("customers", "email", Op.EQ, ValueKind.PARAM, None, None),
        ("orders", "status", Op.IN, ValueKind.CONST, "('open', 'paid')", None),
        ("orders", "created_at", Op.BETWEEN, ValueKind.PARAM, None, None),
        ("orders", "deleted_at", Op.IS_NULL, ValueKind.CONST, "NULL", None),
        ("customers", "name", Op.LIKE, ValueKind.CONST, "'a%'", "lower(name)"),
        ("orders", "total", Op.GT, ValueKind.CONST, "10", None),  # `10 < total` flipped
    ]
    assert q.joins == (Join("customers", "id", "orders", "customer_id"),)
    assert q.order_by == (OrderKey("orders", "created_at", True, False), OrderKey("orders", "id"))
    assert q.limit == 20 and q.offset is Limit.PARAM
    assert not q.has_disjunction
    assert q.description.startswith("SELECT o.id, o.total FROM orders AS o INNER JOIN customers AS c")
    assert len(q.description) == 200 and q.description.endswith("…")


def test_predicate_spans_point_at_the_column() -> None:
    sql = "SELECT id FROM users\nWHERE lower(email) = $1 AND active"
    [q] = _queries(sql)
    spans = [(p.span.start, p.span.end) if p.span else None for p in q.predicates]
    assert [sql[s:e] for s, e in spans if True] == ["lower(email)", "active"]
    assert q.predicates[1] == Predicate("users", "active", Op.EQ, Value(ValueKind.CONST, "true"), span=q.predicates[1].span)


def test_star_casts_and_or() -> None:
    [q] = _queries("SELECT * FROM events WHERE created_at::date = '2024-01-01' AND (kind = 'a' OR kind = 'b')")
    assert q.projection is Projection.STAR
    assert _preds(q) == [("events", "created_at", Op.EQ, ValueKind.CONST, "'2024-01-01'", "created_at::date")]
    assert q.has_disjunction


def test_unqualified_columns_with_several_tables_have_no_table() -> None:
    [q] = _queries("SELECT 1 FROM a, b WHERE x = 1 AND a.y = b.z")
    assert _preds(q) == [(None, "x", Op.EQ, ValueKind.CONST, "1", None)]
    assert q.joins == (Join("a", "y", "b", "z"),)


def test_outer_join_constants_are_not_filters() -> None:
    [q] = _queries("SELECT 1 FROM a LEFT JOIN b ON b.a_id = a.id AND b.kind = 'x' WHERE a.id = $1")
    assert q.joins == (Join("b", "a_id", "a", "id", "left"),)
    assert _preds(q) == [("a", "id", Op.EQ, ValueKind.PARAM, None, None)]


def test_ctes_and_subqueries_are_separate_queries() -> None:
    qs = _queries(
        "WITH recent AS (SELECT id, customer_id FROM orders WHERE created_at > now() - interval '1 day') "
        "SELECT r.id FROM recent r WHERE r.customer_id IN (SELECT id FROM customers WHERE vip) "
        "GROUP BY r.id"
    )
    assert [(q.tables, q.kind) for q in qs] == [
        ((TableRef("orders"),), QueryKind.SELECT),
        ((), QueryKind.SELECT),  # the CTE name is not a table
        ((TableRef("customers"),), QueryKind.SELECT),
    ]
    assert _preds(qs[0]) == [("orders", "created_at", Op.GT, ValueKind.EXPR, "now() - '1 day'::interval", None)]
    assert _preds(qs[1]) == [("recent", "customer_id", Op.IN, ValueKind.EXPR, "(subquery)", None)]
    assert qs[1].group_by == ("id",)
    assert _preds(qs[2]) == [("customers", "vip", Op.EQ, ValueKind.CONST, "true", None)]


def test_writes() -> None:
    upd, ins, sel, dele = _queries(
        "UPDATE orders SET status = 'done' WHERE id = $1;\n"
        "INSERT INTO archive (id) SELECT id FROM orders WHERE status = 'done';\n"
        "DELETE FROM sessions WHERE expires_at < now();\n"
    )
    assert (upd.kind, upd.tables, _preds(upd)) == (QueryKind.UPDATE, (TableRef("orders"),), [("orders", "id", Op.EQ, ValueKind.PARAM, None, None)])
    assert (ins.kind, ins.tables) == (QueryKind.INSERT, (TableRef("archive"),))
    assert (sel.kind, sel.tables, _preds(sel)) == (QueryKind.SELECT, (TableRef("orders"),), [("orders", "status", Op.EQ, ValueKind.CONST, "'done'", None)])
    assert (dele.kind, _preds(dele)) == (QueryKind.DELETE, [("sessions", "expires_at", Op.LT, ValueKind.EXPR, "now()", None)])


def test_ddl_and_values_give_no_queries() -> None:
    assert _queries("CREATE TABLE t (id int); CREATE INDEX t_idx ON t (id); VALUES (1)") == []


def test_union_gives_both_sides_and_limit_all() -> None:
    a, b = _queries("SELECT id FROM a UNION ALL SELECT id FROM b LIMIT ALL")
    assert (a.tables, b.tables) == ((TableRef("a"),), (TableRef("b"),))


def test_queries_from_python_have_python_spans() -> None:
    text = 'def f(cursor):\n    cursor.execute("SELECT id FROM users WHERE email = %s LIMIT 1", [e])\n'
    src = SourceFile("app.py", text, Language.PYTHON)
    [frag] = find_sql_in_python(src, ast.parse(text))
    stmts, _ = parse_fragment(frag)
    [q] = to_queries(stmts[0])
    assert q.limit == 1
    assert text[q.span.start : q.span.end] == "SELECT id FROM users WHERE email = %s LIMIT 1"
    assert q.predicates[0].span is not None and text[q.predicates[0].span.start : q.predicates[0].span.end] == "email"


def test_order_keys_without_columns_are_left_out() -> None:
    [q] = _queries("SELECT id, title FROM products ORDER BY random(), 1, lower(title) DESC LIMIT 4")
    assert q.order_by == (OrderKey("products", "title", True, None, "lower(title)"),)
