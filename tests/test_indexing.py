"""Index needs, the serving check, implication, merge and names (no database, no front end)."""

from __future__ import annotations

from querylint.advise.naming import index_name
from querylint.diagnostics import IndexKey
from querylint.indexing import (
    NeedKind,
    Serve,
    Status,
    classify,
    derive_needs,
    implied,
    match,
    merge,
    norm_expression,
    predicate_terms,
    redundant_to,
)
from querylint.ir import (
    Join,
    Limit,
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
from querylint.schema import Column, Index, Schema
from querylint.source import Span

CONST = ValueKind.CONST


def schema() -> Schema:
    s = Schema()
    orders = s.ensure_table("orders")
    for name, typ in [("id", "bigint"), ("customer_id", "bigint"), ("status", "text"), ("created_at", "timestamptz"),
                      ("total", "numeric"), ("deleted_at", "timestamptz"), ("is_paid", "boolean"), ("email", "text")]:
        orders.columns[name] = Column(name, typ)
    orders.indexes.append(Index("orders", (IndexKey("id"),), unique=True, primary=True, implicit=True, name="orders_pkey"))
    customers = s.ensure_table("customers")
    for name in ("id", "name"):
        customers.columns[name] = Column(name, "text")
    customers.indexes.append(Index("customers", (IndexKey("id"),), unique=True, primary=True, implicit=True, name="customers_pkey"))
    return s


def q(*preds: Predicate, order: tuple[OrderKey, ...] = (), limit: int | Limit | None = None, start: int = 0,
      table: str = "orders", disj: bool = False, columns: tuple[str, ...] = (), joins: tuple[Join, ...] = (),
      tables: tuple[TableRef, ...] = ()) -> Query:
    return Query(Origin.SQL, QueryKind.SELECT, Span("q.sql", start, start + 5), tables=tables or (TableRef(table),),
                 predicates=preds, order_by=order, limit=limit, has_disjunction=disj, columns=columns, joins=joins)


def p(col: str, op: Op = Op.EQ, const: str | None = None, expr: str | None = None, table: str | None = None) -> Predicate:
    return Predicate(table, col, op, Value(CONST, const) if const is not None else Value(ValueKind.PARAM), expression=expr)


def test_need_equality_then_sort_with_partial_status() -> None:
    [n] = derive_needs(q(p("customer_id"), p("status", const="'open'"), order=(OrderKey(None, "created_at", True),), limit=20), schema())
    assert [k.text for k in n.candidate_keys()] == ["customer_id", "created_at DESC"]
    assert n.predicate == "status = 'open'"
    assert n.describe() == "filtered on (customer_id, status) and sorted by created_at DESC with a LIMIT"


def test_need_range_last_and_boolean_and_null_become_predicate() -> None:
    [n] = derive_needs(q(p("created_at", Op.GT), p("customer_id"), p("is_paid", const="true"), p("deleted_at", Op.IS_NULL)), schema())
    assert [k.text for k in n.candidate_keys()] == ["customer_id", "created_at"]
    assert n.predicate == "deleted_at IS NULL AND is_paid"


def test_need_expression_key_and_cap() -> None:
    [n] = derive_needs(q(p("email", expr="LOWER(email)")), schema())
    assert n.has_expression and [k.text for k in n.candidate_keys()] == ["(lower(email))"]
    [m] = derive_needs(q(p("customer_id"), p("total"), p("email"), p("created_at", Op.GT)), schema())
    assert len(m.candidate_keys()) == 3 and len(m.candidate_keys(2)) == 2


def test_no_need_when_unknown_or_unsure() -> None:
    s = schema()
    assert derive_needs(q(p("customer_id"), table="invoices"), s) == []
    assert derive_needs(q(p("customer_id"), disj=True), s) == []
    assert derive_needs(q(p("nope")), s) == []
    assert derive_needs(q(p("status", const="'open'")), s) == []  # only a partial slice
    assert derive_needs(q(order=(OrderKey(None, "created_at"),)), s) == []  # sort without LIMIT


def test_in_list_cannot_deliver_order() -> None:
    [n] = derive_needs(q(p("customer_id", Op.IN), order=(OrderKey(None, "created_at"),), limit=5), schema())
    assert n.multi_value and [k.text for k in n.candidate_keys()] == ["customer_id"]


def test_join_need_on_inner_side() -> None:
    query = q(p("id", table="c"), tables=(TableRef("customers", "c"), TableRef("orders", "o")),
              joins=(Join("c", "id", "o", "customer_id"),))
    needs = derive_needs(query, schema())
    assert [(n.table, n.kind, [k.text for k in n.equality]) for n in needs] == [
        ("customers", NeedKind.FILTER, ["id"]), ("orders", NeedKind.JOIN, ["customer_id"])]


def test_match_left_prefix_any_equality_order_and_reversed_sort() -> None:
    [n] = derive_needs(q(p("customer_id"), p("total"), order=(OrderKey(None, "created_at", True),), limit=10), schema())
    ok = Index("orders", (IndexKey("total"), IndexKey("customer_id"), IndexKey("created_at")))
    assert match(ok, n).serve is Serve.FULL  # ascending index scanned backwards
    bad = Index("orders", (IndexKey("customer_id"), IndexKey("created_at"), IndexKey("total")))
    assert match(bad, n).serve is Serve.USABLE
    mixed = q(p("customer_id"), order=(OrderKey(None, "created_at", True), OrderKey(None, "id")), limit=10)
    [m] = derive_needs(mixed, schema())
    assert match(Index("orders", (IndexKey("customer_id"), IndexKey("created_at"), IndexKey("id"))), m).serve is Serve.USABLE
    assert match(Index("orders", (IndexKey("customer_id"), IndexKey("created_at"), IndexKey("id", descending=True))), m).serve is Serve.FULL


def test_partial_index_serves_only_implying_queries() -> None:
    idx = Index("orders", (IndexKey("customer_id"),), predicate="(status = 'open'::text) AND deleted_at IS NULL")
    [yes] = derive_needs(q(p("customer_id"), p("status", const="'open'"), p("deleted_at", Op.IS_NULL)), schema())
    [no] = derive_needs(q(p("customer_id"), p("status", const="'closed'"), p("deleted_at", Op.IS_NULL)), schema())
    [param] = derive_needs(q(p("customer_id"), p("status")), schema())
    assert match(idx, yes).serve is Serve.FULL
    assert match(idx, no).serve is Serve.NONE
    assert match(idx, param).serve is Serve.NONE


def test_implication_normalisation() -> None:
    assert implied("is_paid = true", frozenset({"is_paid"}))
    assert implied("is_paid IS TRUE", frozenset({"is_paid"}))
    assert implied("NOT is_paid", frozenset({"not is_paid"}))
    assert implied("customer_id IS NOT NULL", frozenset({"customer_id is not null"}))
    assert not implied("a = 1 OR b = 2", frozenset({"a=1", "b=2"}))
    assert predicate_terms("((status)::text = 'open'::text)") == frozenset({"status='open'"})
    assert norm_expression("LOWER((email)::text)") == "lower(email)"


def test_unique_index_serves_equality_whatever_the_sort() -> None:
    s = schema()
    [n] = derive_needs(q(p("id"), order=(OrderKey(None, "created_at"),), limit=1), s)
    assert classify(n, s.tables["orders"]).status is Status.SERVED


def test_classify_wrong_order_and_missing() -> None:
    s = schema()
    t = s.tables["orders"]
    [n] = derive_needs(q(p("customer_id"), order=(OrderKey(None, "created_at", True),), limit=20), s)
    assert classify(n, t).status is Status.MISSING
    t.indexes.append(Index("orders", (IndexKey("customer_id"),), name="orders_customer_idx"))
    r = classify(n, t)
    assert (r.status, r.reason) == (Status.WRONG_ORDER, "it lacks the sort key created_at DESC, so every matching row is read and sorted before the LIMIT")
    [m] = derive_needs(q(p("customer_id"), p("total")), s)
    assert classify(m, t).status is Status.PARTLY  # an index on one equality column: quiet


def test_merge_one_index_serves_several_queries() -> None:
    s = schema()
    t = s.tables["orders"]
    t.indexes.append(Index("orders", (IndexKey("customer_id"),), name="orders_customer_idx"))
    queries = [
        q(p("customer_id"), order=(OrderKey(None, "created_at", True),), limit=20, start=0),
        q(p("total"), p("customer_id"), start=10),
        q(p("total"), start=20),
    ]
    results = [classify(n, t) for query in queries for n in derive_needs(query, s)]
    assert [r.status for r in results] == [Status.WRONG_ORDER, Status.PARTLY, Status.MISSING]
    merged = merge(results, s)
    assert [(m.text, len(m.needs)) for m in merged] == [("orders (customer_id, created_at DESC)", 1), ("orders (total)", 1)]
    assert merged[0].extends is not None and merged[0].extends.name == "orders_customer_idx"
    # two needs with the same equality set in different order and a shorter one: one index
    results = [classify(n, t) for query in [q(p("total"), p("email"), start=0), q(p("email"), p("total"), start=5), q(p("email"), start=9)] for n in derive_needs(query, s)]
    merged = merge(results, s)
    assert [(m.text, len(m.needs)) for m in merged] == [("orders (email, total)", 3)]


def test_redundant_index() -> None:
    s = schema()
    t = s.tables["orders"]
    a = Index("orders", (IndexKey("customer_id"),), name="a")
    b = Index("orders", (IndexKey("customer_id"), IndexKey("created_at")), name="b")
    c = Index("orders", (IndexKey("customer_id"),), name="c", predicate="status = 'open'")
    u = Index("orders", (IndexKey("customer_id"),), name="u", unique=True)
    t.indexes.extend([a, b, c, u])
    assert redundant_to(a, t) is b
    assert redundant_to(b, t) is None
    assert redundant_to(c, t) is None
    assert redundant_to(u, t) is None


def test_index_names_are_deterministic_and_short() -> None:
    assert index_name("orders", (IndexKey("customer_id"), IndexKey("created_at"))) == "orders_customer_id_created_at_idx"
    long = index_name("a_very_long_table_name_for_testing", tuple(IndexKey(f"column_number_{i}") for i in range(5)), "x = 1")
    assert len(long) <= 63 and long.endswith("_idx") and long == index_name("a_very_long_table_name_for_testing", tuple(IndexKey(f"column_number_{i}") for i in range(5)), "x = 1")
    assert index_name("orders", (IndexKey("created_at"),), "a") != index_name("orders", (IndexKey("created_at"),), "b")
    assert len(index_name("orders", (IndexKey("customer_id"), IndexKey("created_at")), max_len=30)) <= 30
    assert index_name("orders", (IndexKey(expression="lower(email)"),)) == "orders_lower_email_idx"


def test_low_cardinality_parameter_alone_needs_no_index() -> None:
    s = schema()
    assert derive_needs(q(p("status")), s) == []
    assert derive_needs(q(p("is_paid")), s) == []
    [n] = derive_needs(q(p("status"), order=(OrderKey(None, "created_at", True),), limit=10), s)
    assert [k.text for k in n.candidate_keys()] == ["status", "created_at DESC"]


def test_first_style_lookup_does_not_need_the_pk_order() -> None:
    [n] = derive_needs(q(p("email", expr="upper(email)"), order=(OrderKey(None, "id"),), limit=1), schema())
    assert [k.text for k in n.candidate_keys()] == ["(upper(email))"] and not n.sort_required
    [m] = derive_needs(q(order=(OrderKey(None, "created_at", True),), limit=1), schema())
    assert m.sort_required and [k.text for k in m.candidate_keys()] == ["created_at DESC"]


def test_queries_in_test_code_are_not_workload() -> None:
    from querylint.indexing import analyze
    from querylint.project import ProjectIndex

    s = schema()
    prod = q(p("email"))
    test = Query(Origin.SQL, QueryKind.SELECT, Span("app/tests/test_orders.py", 0, 5), tables=(TableRef("orders"),),
                 predicates=(p("total"),))
    project = ProjectIndex(root=".", schema=s, queries=[prod, test])
    assert [r.need.query.span.path for r in analyze(project).results] == ["q.sql"]


def test_the_string_constants_of_a_tree_are_those_ast_walk_finds() -> None:
    import ast

    from querylint.astwalk import string_constants

    source = (
        "@deco('d')\ndef f(a='x', *, b=b'bytes'):\n    t = f'{a!r:>{10}} and \"q\" {\"inner\"}'\n"
        "    return [s for s in ('orders', 'users') if s != 'tags'], {'k': lambda: 'v'}\n"
        "match f:\n    case {'key': [1, 'listed']}:\n        pass\n"
        "class C:\n    '''doc'''\n    x: 'Annotated' = ...\n"
    )
    tree = ast.parse(source)
    walked = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert sorted(string_constants(tree)) == sorted(walked)
    assert {"d", "x", "orders", "users", "tags", "k", "v", "key", "listed", "doc", "Annotated", "inner", " and \"q\" "} <= set(walked)
