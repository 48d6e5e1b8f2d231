"""QL301-QL306 on hand-built Query records (independent of the front ends) and on SQL projects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from querylint.config import Config
from querylint.diagnostics import Confidence, Diagnostic, IndexKey
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
from querylint.project import ProjectIndex
from querylint.rule import FileContext, ProjectContext, ProjectRule, QueryRule, Rule
from querylint.rules.index_column_order import IndexColumnOrder
from querylint.rules.missing_expression_index import MissingExpressionIndex
from querylint.rules.missing_index import MissingIndex
from querylint.rules.missing_partial_index import MissingPartialIndex
from querylint.rules.redundant_index import RedundantIndex
from querylint.rules.unindexed_foreign_key import UnindexedForeignKey
from querylint.schema import Column, ForeignKey, Index, Schema
from querylint.source import Language, SourceFile, Span
from querylint.testing import lint_files

TEXT = "".join(f"SELECT {i};\n" for i in range(10))
SRC = SourceFile("app.sql", TEXT, Language.SQL)


def _schema() -> Schema:
    s = Schema()
    t = s.ensure_table("orders", Span("schema.sql", 0, 10))
    for name, typ in [("id", "bigint"), ("customer_id", "bigint"), ("status", "text"), ("created_at", "timestamptz"),
                      ("email", "text"), ("deleted_at", "timestamptz")]:
        t.columns[name] = Column(name, typ)
    t.indexes.append(Index("orders", (IndexKey("id"),), unique=True, primary=True, implicit=True, name="orders_pkey"))
    return s


def _q(line: int, *preds: Predicate, order: tuple[OrderKey, ...] = (), limit: int | None = None, table: str = "orders") -> Query:
    start = SRC.offset(line, 1)
    return Query(Origin.SQL, QueryKind.SELECT, Span("app.sql", start, start + 8), tables=(TableRef(table),),
                 predicates=preds, order_by=order, limit=limit)


def _p(col: str, op: Op = Op.EQ, const: str | None = None, expr: str | None = None) -> Predicate:
    return Predicate(None, col, op, Value(ValueKind.CONST, const) if const else Value(ValueKind.PARAM), expression=expr)


def _run(rule: Rule, schema: Schema, queries: Sequence[Query]) -> list[Diagnostic]:
    project = ProjectIndex(root=".", schema=schema, queries=list(queries))
    out: list[Diagnostic] = []
    if isinstance(rule, QueryRule):
        ctx = FileContext(SRC, project, Config())
        for query in queries:
            out.extend(rule.check_query(query, ctx))
    elif isinstance(rule, ProjectRule):
        out.extend(rule.check_project(ProjectContext(project, Config(), frozenset({"app.sql", "schema.sql"}))))
    return out


def _line(d: Diagnostic) -> int:
    return SRC.location(d.span.start)[0]


def test_missing_index_message_help_related_and_suggestion() -> None:
    queries = [
        _q(1, _p("customer_id"), _p("status", const="'open'"), order=(OrderKey(None, "created_at", True),), limit=20),
        _q(3, _p("customer_id"), _p("status", const="'closed'")),
    ]
    ds = _run(MissingIndex(), _schema(), queries)
    assert [(d.code, _line(d), d.message) for d in ds] == [
        ("QL301", 1, "`orders` is filtered on (customer_id, status) and sorted by created_at DESC with a LIMIT, but no index serves it"),
        ("QL301", 3, "`orders` is filtered on (customer_id, status), but no index serves it"),
    ]
    assert ds[0].help == "Add index orders (customer_id, created_at DESC) WHERE status = 'open'"
    assert ds[0].suggestion is not None and ds[0].suggestion.predicate == "status = 'open'"
    assert [r.label for r in ds[0].related] == ["`orders` is defined here"]
    assert ds[0].confidence is Confidence.HIGH


def test_missing_index_quiet_when_served_or_unknown() -> None:
    s = _schema()
    s.tables["orders"].indexes.append(Index("orders", (IndexKey("customer_id"), IndexKey("created_at")), name="oc"))
    queries = [
        _q(1, _p("customer_id"), order=(OrderKey(None, "created_at", True),), limit=20),
        _q(2, _p("customer_id"), table="unknown_table"),
        _q(3, _p("id")),
    ]
    assert _run(MissingIndex(), s, queries) == []


def test_missing_index_related_spans_at_other_queries_served() -> None:
    queries = [_q(1, _p("email"), _p("customer_id")), _q(2, _p("email"))]
    ds = _run(MissingIndex(), _schema(), queries)
    assert [d.help for d in ds] == ["Add index orders (email, customer_id)"] * 2
    assert [(r.label, SRC.location(r.span.start)[0]) for r in ds[0].related[1:]] == [("the same index serves this query", 2)]


def test_index_column_order_sort_missing_and_range_first() -> None:
    s = _schema()
    s.tables["orders"].indexes.append(Index("orders", (IndexKey("customer_id"),), name="orders_customer_idx"))
    s.tables["orders"].indexes.append(Index("orders", (IndexKey("created_at"), IndexKey("email")), name="orders_created_email_idx"))
    queries = [
        _q(1, _p("customer_id"), order=(OrderKey(None, "created_at", True),), limit=20),
        _q(2, _p("email"), _p("created_at", Op.GT)),
    ]
    ds = _run(IndexColumnOrder(), s, queries)
    assert [(d.code, _line(d), d.message) for d in ds] == [
        ("QL302", 1, "`orders` is filtered on (customer_id) and sorted by created_at DESC with a LIMIT, but index `orders_customer_idx` (customer_id) cannot serve it: it lacks the sort key created_at DESC, so every matching row is read and sorted before the LIMIT"),
        ("QL302", 2, "`orders` is filtered on (email, created_at), but index `orders_created_email_idx` (created_at, email) cannot serve it: its range key created_at comes before the equality key email"),
    ]
    assert ds[0].help == "Add index orders (customer_id, created_at DESC); it extends `orders_customer_idx` (customer_id), which then becomes redundant"
    assert ds[1].help == "Add index orders (email, created_at)"


def test_missing_partial_index_recurring_predicate() -> None:
    queries = [
        _q(1, _p("customer_id"), _p("deleted_at", Op.IS_NULL)),
        _q(4, _p("customer_id"), _p("deleted_at", Op.IS_NULL), order=(OrderKey(None, "created_at"),), limit=5),
        _q(6, _p("email"), _p("deleted_at", Op.IS_NULL)),
    ]
    ds = _run(MissingPartialIndex(), _schema(), queries)
    assert [(d.code, _line(d), d.message, d.help) for d in ds] == [
        ("QL303", 1, "2 queries on `orders` repeat the constant predicate `deleted_at IS NULL`, but no partial index serves them",
         "Add partial index orders (customer_id, created_at) WHERE deleted_at IS NULL"),
    ]
    # the single-query partial suggestion is QL301's; the recurring one is not repeated there
    assert [(_line(d), d.help) for d in _run(MissingIndex(), _schema(), queries)] == [
        (6, "Add index orders (email) WHERE deleted_at IS NULL")]


def test_missing_expression_index() -> None:
    queries = [_q(1, _p("email", expr="lower(email)")), _q(2, _p("email"))]
    ds = _run(MissingExpressionIndex(), _schema(), queries)
    assert [(_line(d), d.message, d.help) for d in ds] == [
        (1, "`orders` is filtered on lower(email), which no index serves: an index on email cannot be used through the function",
         "Add index orders ((lower(email)))")]
    s = _schema()
    s.tables["orders"].indexes.append(Index("orders", (IndexKey(expression="lower((email)::text)"),), name="le"))
    assert _run(MissingExpressionIndex(), s, queries) == []
    assert [d.code for d in _run(MissingIndex(), _schema(), queries)] == ["QL301"]  # only the plain email one


def test_unindexed_foreign_key_on_built_schema() -> None:
    s = _schema()
    t = s.tables["orders"]
    t.foreign_keys.append(ForeignKey("orders", ("customer_id",), "customers", provenance=Span("schema.sql", 0, 5)))
    ds = _run(UnindexedForeignKey(), s, [])
    assert [d.message for d in ds] == ["Foreign key `orders` (customer_id) -> `customers` has no index leading with customer_id: deletes on `customers` and joins from it scan `orders`"]
    assert ds[0].suggestion is not None and ds[0].suggestion.name == "orders_customer_id_idx"
    t.indexes.append(Index("orders", (IndexKey("customer_id"), IndexKey("id")), unique=True, name="k"))
    assert _run(UnindexedForeignKey(), s, []) == []


def test_fk_and_redundant_from_sql_ddl() -> None:
    ddl = (
        "CREATE TABLE customers (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id), created_at timestamptz);\n"
        "CREATE INDEX orders_customer_idx ON orders (customer_id);\n"
        "CREATE INDEX orders_cc_idx ON orders (customer_id, created_at);\n"
        "CREATE TABLE items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));\n"
    )
    r = lint_files({"schema.sql": ddl}, select=["QL304", "QL305"])
    got = [(d.code, r.sources[d.span.path].location(d.span.start)[0]) for d in r.diagnostics]
    assert sorted(got) == [("QL304", 5), ("QL305", 3)]


def _rules() -> list[type[Rule]]:
    return [MissingIndex, IndexColumnOrder, MissingPartialIndex, UnindexedForeignKey, RedundantIndex, MissingExpressionIndex]


def test_codes_and_names() -> None:
    assert [(r.code, r.name) for r in _rules()] == [
        ("QL301", "missing-index"), ("QL302", "index-column-order"), ("QL303", "missing-partial-index"),
        ("QL304", "unindexed-foreign-key"), ("QL305", "redundant-index"), ("QL306", "missing-expression-index")]


QL3_NAMES = {"missing-index", "index-column-order", "missing-partial-index", "unindexed-foreign-key",
             "redundant-index", "missing-expression-index"}


def test_index_sql_fixture_expectations() -> None:
    """fixtures/index_sql: every ``-- expect: rule-name`` marker fires, and nothing else of QL3xx."""
    import os
    import re

    from querylint.config import Config
    from querylint.engine import Engine
    from querylint.registry import instantiate

    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "index_sql")
    expected: set[tuple[str, int, str]] = set()
    for rel in ("schema.sql", "queries/orders.sql"):
        with open(os.path.join(root, rel), encoding="utf-8") as fh:
            for no, line in enumerate(fh, 1):
                m = re.search(r"expect: ([a-z0-9, -]+)", line)
                for name in (n.strip() for n in (m.group(1).split(",") if m else [])):
                    if name in QL3_NAMES:
                        expected.add((rel, no, name))
    cfg = Config(root=root, cache=False, select=("QL3",))
    cwd = os.getcwd()
    try:
        os.chdir(root)
        res = Engine(cfg, instantiate(cfg)).run(["."])
    finally:
        os.chdir(cwd)
    got = {(d.span.path, res.sources[d.span.path].location(d.span.start)[0], d.name) for d in res.diagnostics}
    assert got == expected


def test_quiet_on_tables_we_only_partly_know() -> None:
    ddl = (
        "CREATE TABLE customers (id bigint PRIMARY KEY);\n"
        "CREATE TABLE visits (customer_id bigint REFERENCES customers (id), at timestamptz);\n"  # no PK known
        "CREATE INDEX visits_c_idx ON visits (customer_id, at);\nCREATE INDEX visits_c2_idx ON visits (customer_id, at);\n"
    )
    r = lint_files({"schema.sql": ddl}, select=["QL304", "QL305"])
    assert r.diagnostics == []
    mig = (
        "import sqlalchemy as sa\nfrom alembic import op\n\nrevision = 'b'\ndown_revision = 'a'\n\n\n"
        "def upgrade():\n    for table in ('orders',):\n        op.create_index(f'ix_{table}', table, ['customer_id'])\n"
    )
    orders = "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));\n"
    files = {"schema.sql": "CREATE TABLE customers (id bigint PRIMARY KEY);\n" + orders}
    assert [d.code for d in lint_files(files, select=["QL304"]).diagnostics] == ["QL304"]
    assert lint_files({**files, "alembic/versions/b_loop.py": mig}, select=["QL304"], check=["schema.sql"]).diagnostics == []


def test_unknown_column_ops_do_not_make_a_table_uncertain() -> None:
    mig = (
        "import sqlalchemy as sa\nfrom alembic import op\n\nrevision = 'b'\ndown_revision = 'a'\n\n\n"
        "def upgrade():\n    for table in ('orders',):\n        op.add_column(table, sa.Column('note', sa.Text()))\n"
    )
    files = {"schema.sql": "CREATE TABLE customers (id bigint PRIMARY KEY);\n"
             "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));\n",
             "alembic/versions/b_cols.py": mig}
    r = lint_files(files, select=["QL304"], check=["schema.sql"])
    assert r.project is not None and r.project.facts.get("migration_unknown_ops")
    assert [d.code for d in r.diagnostics] == ["QL304"]


def test_schema_declared_in_test_code_is_not_reported() -> None:
    ddl = "CREATE TABLE customers (id bigint PRIMARY KEY);\nCREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));\n"
    assert [d.code for d in lint_files({"db/schema.sql": ddl}, select=["QL304"]).diagnostics] == ["QL304"]
    assert lint_files({"tests/schema.sql": ddl}, select=["QL304"]).diagnostics == []


def test_a_primary_key_is_never_the_redundant_one() -> None:
    s = _schema()
    t = s.tables["orders"]
    # a unique index on the key created before the primary key constraint
    t.indexes.insert(0, Index("orders", (IndexKey("id"),), unique=True, name="ix_orders_id", provenance=Span("schema.sql", 0, 5)))
    t.indexes[1] = replace(t.indexes[1], provenance=Span("schema.sql", 6, 9))
    ds = _run(RedundantIndex(), s, [])
    assert [d.message for d in ds] == ["Index `ix_orders_id` on `orders` (id) duplicates `orders_pkey` (id)"]
