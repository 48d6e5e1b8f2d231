"""SQLAlchemy statements -> Query IR predicates, joins, order and limits, and the index rules on them.

The models go through the real SQLAlchemy gatherer, so attribute names differ from column
names where the models say so (``mapped_column("account_ref", ...)``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from typing import Any

from querylint.advise.cli import main as advise_main
from querylint.config import Config
from querylint.engine import Engine
from querylint.ir import Join, Limit, Origin, Query
from querylint.registry import instantiate
from querylint.testing import lint_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures")

MODELS = textwrap.dedent("""\
    from __future__ import annotations

    from datetime import datetime
    from typing import Optional

    from sqlalchemy import ForeignKey, Index, String, Text, func
    from sqlalchemy.ext.hybrid import hybrid_property
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


    class Base(DeclarativeBase):
        pass


    class Account(Base):
        __tablename__ = "accounts"

        id: Mapped[int] = mapped_column(primary_key=True)
        email: Mapped[str] = mapped_column(String(255), unique=True)
        name: Mapped[str] = mapped_column("display_name", String(100))
        is_active: Mapped[bool] = mapped_column(default=True)
        deleted_at: Mapped[Optional[datetime]] = mapped_column(nullable=True)

        orders: Mapped[list[Order]] = relationship(back_populates="account")

        @hybrid_property
        def domain(self) -> str:
            return self.email.split("@")[1]


    class Order(Base):
        __tablename__ = "orders"
        __table_args__ = (Index("ix_orders_account_created", "account_ref", "created_at"),)

        id: Mapped[int] = mapped_column(primary_key=True)
        account_id: Mapped[int] = mapped_column("account_ref", ForeignKey("accounts.id"))
        status: Mapped[str] = mapped_column(String(20))
        total: Mapped[int]
        note: Mapped[Optional[str]] = mapped_column(Text)
        tags: Mapped[Optional[dict]] = mapped_column()
        created_at: Mapped[datetime] = mapped_column(server_default=func.now())

        account: Mapped[Account] = relationship(back_populates="orders")
        items: Mapped[list[Item]] = relationship(back_populates="order")


    class Item(Base):
        __tablename__ = "items"

        id: Mapped[int] = mapped_column(primary_key=True)
        order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
        sku: Mapped[str] = mapped_column(String(40))

        order: Mapped[Order] = relationship(back_populates="items")
    """)

FLASK = textwrap.dedent("""\
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()


    class Tag(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        label = db.Column("tag_label", db.String(50))
        weight = db.Column(db.Integer)
    """)

HEADER = textwrap.dedent("""\
    from sqlalchemy import and_, asc, desc, func, not_, nullslast, or_, select
    from sqlalchemy.orm import Session, aliased

    from app.flaskapp import Tag, db
    from app.models import Account, Item, Order
    """)


def _queries(body: str, *, select: tuple[str, ...] = ("QL301",)) -> tuple[dict[int, Query], Any]:
    code = HEADER + "\n\n" + textwrap.dedent(body)
    compile(code, "app/services.py", "exec")  # a test input that does not parse would pass vacuously
    files = {"app/__init__.py": "", "app/models.py": MODELS, "app/flaskapp.py": FLASK, "app/services.py": code}
    result = lint_files(files, select=select)
    assert result.project is not None and result.project.facts["python"].errors == []
    src = result.sources["app/services.py"]
    out = {src.location(q.span.start)[0] - HEADER.count("\n") - 2: q for q in result.project.queries
           if q.span.path == "app/services.py" and q.origin is Origin.SQLALCHEMY}
    return out, result


def _preds(q: Query) -> list[tuple[str | None, str, str, str, str | None]]:
    return [(p.table, p.column, p.op.value, p.value.text or p.value.kind.value, p.expression) for p in q.predicates]


def test_comparisons_resolve_attributes_to_db_columns() -> None:
    qs, _ = _queries("""\
        def f(session: Session, acc, n, day):
            return session.scalars(select(Order).where(Order.account_id == acc.id, Order.status != "void", Order.total < 10, Order.total <= n, 5 < Order.total, Order.created_at >= day))
        """)
    q = qs[2]
    assert (q.main_table, q.has_disjunction) == ("orders", False)
    assert _preds(q) == [
        ("orders", "account_ref", "=", "param", None),
        ("orders", "status", "<>", "'void'", None),
        ("orders", "total", "<", "10", None),
        ("orders", "total", "<=", "param", None),
        ("orders", "total", ">", "5", None),  # flipped: 5 < total
        ("orders", "created_at", ">=", "param", None),
    ]


def test_in_null_and_boolean_forms() -> None:
    qs, _ = _queries("""\
        def f(session: Session, ids):
            a = session.scalars(select(Order).where(Order.id.in_(ids), Order.status.in_(["open", "paid"]))).all()
            b = session.scalars(select(Account).where(Account.deleted_at.is_(None), Account.email.isnot(None), Account.name.is_not(None))).all()
            c = session.scalars(select(Account).where(Account.deleted_at == None, Account.is_active == True, Account.email != None)).all()  # noqa: E711, E712
            d = session.scalars(select(Account).where(Account.is_active, not_(Account.deleted_at.is_(None)))).all()
            e = session.scalars(select(Account).where(~Account.is_active, ~Account.id.in_(ids))).all()
            return a, b, c, d, e
        """)
    assert _preds(qs[2]) == [("orders", "id", "IN", "param", None), ("orders", "status", "IN", "('open', 'paid')", None)]
    assert _preds(qs[3]) == [("accounts", "deleted_at", "IS NULL", "NULL", None), ("accounts", "email", "IS NOT NULL", "NULL", None),
                             ("accounts", "display_name", "IS NOT NULL", "NULL", None)]
    assert _preds(qs[4]) == [("accounts", "deleted_at", "IS NULL", "NULL", None), ("accounts", "is_active", "=", "true", None),
                             ("accounts", "email", "IS NOT NULL", "NULL", None)]
    assert _preds(qs[5]) == [("accounts", "is_active", "=", "true", None), ("accounts", "deleted_at", "IS NOT NULL", "NULL", None)]
    assert _preds(qs[6]) == [("accounts", "is_active", "=", "false", None), ("accounts", "id", "NOT IN", "param", None)]
    assert not any(qs[n].has_disjunction for n in (2, 3, 4, 5, 6))


def test_patterns_and_expression_keys() -> None:
    qs, _ = _queries("""\
        def f(session: Session, term, email):
            a = session.scalars(select(Account).where(Account.email.like("%@x.org"), Account.name.ilike(term))).all()
            b = session.scalars(select(Account).where(Account.name.startswith("Jo"), Account.email.contains("@"), Account.name.endswith(term))).all()
            c = session.scalars(select(Account).where(func.lower(Account.email) == email.lower())).first()
            d = session.scalars(select(Account).where(Account.name.istartswith("jo"), func.lower(Account.email).like(term))).all()
            return a, b, c, d
        """)
    assert _preds(qs[2]) == [("accounts", "email", "LIKE", "'%@x.org'", None), ("accounts", "display_name", "ILIKE", "param", None)]
    assert _preds(qs[3]) == [("accounts", "display_name", "LIKE", "'Jo%'", None), ("accounts", "email", "LIKE", "'%@%'", None),
                             ("accounts", "display_name", "LIKE", "'%' || ?", None)]
    assert _preds(qs[4]) == [("accounts", "email", "=", "param", "lower(email)")]
    assert _preds(qs[5]) == [("accounts", "display_name", "LIKE", "'jo%'", "lower(display_name)"),
                             ("accounts", "email", "LIKE", "param", "lower(email)")]


def test_and_or_not_and_unknown_criteria() -> None:
    qs, _ = _queries("""\
        def f(session: Session, a, b, cond, filters):
            q1 = session.scalars(select(Order).where(and_(Order.status == "open", Order.total > a))).all()
            q2 = session.scalars(select(Order).where((Order.status == "open") & (Order.total > a))).all()
            q3 = session.scalars(select(Order).where(or_(Order.status == "open", Order.total > a))).all()
            q4 = session.scalars(select(Order).where(Order.account_id == a, not_(Order.status == "open"))).all()
            q5 = session.scalars(select(Account).where(Account.domain == "x.org", Account.id == a)).all()
            q6 = session.scalars(select(Order).where(Order.account_id == a, cond)).all()
            q7 = session.scalars(select(Order).where(Order.account_id == a, *filters)).all()
            q8 = session.scalars(select(Order).where(Order.tags["k"].astext == "v", Order.account_id == a)).all()
            q9 = session.scalars(select(Order).where(Order.tags.contains({"k": 1}), Order.account_id == a)).all()
            o = aliased(Order)
            q10 = session.scalars(select(Order).join(o, o.id == Order.id).filter_by(status="x")).all()
            q11 = session.scalars(select(Order).where(or_(Order.status == "open"))).all()
            return q1, q2, q3, q4, q5, q6, q7, q8, q9, q10, q11
        """)
    assert _preds(qs[2]) == _preds(qs[3]) == [("orders", "status", "=", "'open'", None), ("orders", "total", ">", "param", None)]
    assert not qs[2].has_disjunction and not qs[3].has_disjunction
    assert qs[4].has_disjunction  # or_: marked like Django's `|`
    # not_(a == b), a hybrid property, a condition in a variable, *filters, a JSON path, JSONB
    # contains (@>), filter_by() after a join to an alias: each makes the filter incomplete
    assert [n for n in (5, 6, 7, 8, 9, 10, 12) if qs[n].has_disjunction] == [5, 6, 7, 8, 9, 10, 12]
    assert _preds(qs[13]) == [("orders", "status", "=", "'open'", None)] and not qs[13].has_disjunction  # or_ of one


def test_filter_by_follows_the_last_joined_entity() -> None:
    qs, _ = _queries("""\
        def f(session: Session, acc, email):
            a = session.query(Order).filter_by(account_id=acc, note=None).all()
            b = session.query(Order).filter_by(account=acc).first()
            c = session.query(Order).join(Order.account).filter_by(email=email).all()
            d = session.query(Order).filter_by(**{"status": "x"}).all()
            e = session.query(Order).filter_by(domain="x").all()
            return a, b, c, d, e
        """)
    assert _preds(qs[2]) == [("orders", "account_ref", "=", "param", None), ("orders", "note", "IS NULL", "NULL", None)]
    assert (_preds(qs[3]), qs[3].limit) == ([("orders", "account_ref", "=", "param", None)], 1)
    assert _preds(qs[4]) == [("accounts", "email", "=", "param", None)]
    assert qs[4].joins == (Join("orders", "account_ref", "accounts", "id"),)
    assert qs[5].has_disjunction and qs[6].has_disjunction
    assert not any(qs[n].has_disjunction for n in (2, 3))
    assert qs[4].has_disjunction  # a filter on the joined table: see test_joins


def test_joins() -> None:
    qs, _ = _queries("""\
        def f(session: Session, sku):
            a = session.scalars(select(Account).join(Account.orders).where(Order.status == "open")).all()
            b = session.scalars(select(Item).join(Order).join(Account).where(Account.email == sku)).all()
            c = session.scalars(select(Order).join(Item, Item.order_id == Order.id).where(Item.sku == sku)).all()
            d = session.scalars(select(Order).outerjoin(Item, and_(Item.order_id == Order.id, Item.sku == "x"))).all()
            e = session.scalars(select(Order).join(Item, Order.id == Item.order_id, isouter=True)).all()
            f_ = session.scalars(select(Order).join(Order.account).where(Order.status == "open", Order.account_id == 3)).all()
            return a, b, c, d, e, f_
        """)
    assert qs[2].joins == (Join("accounts", "id", "orders", "account_ref"),)
    assert [t.name for t in qs[2].tables] == ["accounts", "orders"]
    assert qs[3].joins == (Join("items", "order_id", "orders", "id"), Join("orders", "account_ref", "accounts", "id"))
    assert _preds(qs[3]) == [("accounts", "email", "=", "param", None)]
    assert qs[4].joins == (Join("items", "order_id", "orders", "id"),)
    assert _preds(qs[4]) == [("items", "sku", "=", "param", None)]
    # outer join: the ON's constant does not filter the orders; the column pair is a left join
    assert (qs[5].joins, qs[5].predicates, qs[5].has_disjunction) == ((Join("items", "order_id", "orders", "id", "left"),), (), False)
    assert qs[6].joins == (Join("orders", "id", "items", "order_id", "left"),)
    # a filter on a joined table: the planner may drive from that table through the join key, so
    # the main table's own predicates do not say which index it needs
    assert [n for n in range(2, 8) if qs[n].has_disjunction] == [2, 3, 4]
    assert (qs[7].joins, _preds(qs[7])) == ((Join("orders", "account_ref", "accounts", "id"),),
                                            [("orders", "status", "=", "'open'", None), ("orders", "account_ref", "=", "3", None)])


def test_order_by_limit_offset_and_terminals() -> None:
    qs, _ = _queries("""\
        def f(session: Session, acc, n, i):
            a = session.scalars(select(Order).where(Order.account_id == acc).order_by(Order.created_at.desc(), Order.id).limit(20).offset(40)).all()
            b = session.scalars(select(Order).order_by(desc(Order.total), asc(Order.id)).order_by(Order.note.asc().nullslast()).limit(n)).all()
            c = session.scalars(select(Order).order_by(nullslast(desc(Order.created_at)), func.lower(Order.status))).all()
            d = session.scalars(select(Order).order_by("total").order_by(Order.id)).all()
            e = session.query(Order).order_by(Order.id).order_by(None).first()
            f_ = session.query(Order).get(i)
            g = session.query(Order).filter(Order.account_id == acc).one()
            h = session.query(Order).filter(Order.status == "open").slice(10, 30).all()
            return a, b, c, d, e, f_, g, h
        """)
    keys = lambda q: [(o.table, o.column, o.descending, o.nulls_first, o.expression) for o in q.order_by]  # noqa: E731
    assert keys(qs[2]) == [("orders", "created_at", True, None, None), ("orders", "id", False, None, None)]
    assert (qs[2].limit, qs[2].offset) == (20, 40)
    assert keys(qs[3]) == [("orders", "total", True, None, None), ("orders", "id", False, None, None), ("orders", "note", False, False, None)]
    assert qs[3].limit is Limit.PARAM
    assert keys(qs[4]) == [("orders", "created_at", True, False, None), ("orders", "status", False, None, "lower(status)")]
    assert keys(qs[5]) == []  # a text key: no order from half the keys
    assert (keys(qs[6]), qs[6].limit) == ([], 1)
    assert (_preds(qs[7]), qs[7].limit) == ([("orders", "id", "=", "param", None)], None)
    assert (_preds(qs[8]), qs[8].limit) == ([("orders", "account_ref", "=", "param", None)], None)  # one() fetches all
    assert (qs[9].limit, qs[9].offset) == (20, 10)


def test_session_get_and_flask_sqlalchemy() -> None:
    qs, _ = _queries("""\
        def f(session: Session, i, label):
            a = session.get(Account, i)
            b = Tag.query.filter_by(label=label).first()
            c = db.session.query(Tag).filter(Tag.weight > 3).all()
            d = Tag.query.get(i)
            return a, b, c, d
        """)
    assert (qs[2].main_table, _preds(qs[2])) == ("accounts", [("accounts", "id", "=", "param", None)])
    assert (qs[3].main_table, _preds(qs[3]), qs[3].limit) == ("tag", [("tag", "tag_label", "=", "param", None)], 1)
    assert _preds(qs[4]) == [("tag", "weight", ">", "3", None)]
    assert _preds(qs[5]) == [("tag", "id", "=", "param", None)]


def test_flask_sqlalchemy_404_terminals_are_queries() -> None:
    qs, _ = _queries("""\
        def f(i, label):
            a = Tag.query.filter_by(label=label).first_or_404()
            b = Tag.query.get_or_404(i)
            c = Tag.query.filter(Tag.weight > 3).one_or_404()
            return a, b, c
        """)
    assert [(qs[n].main_table, _preds(qs[n]), qs[n].limit) for n in (2, 3, 4)] == [
        ("tag", [("tag", "tag_label", "=", "param", None)], 1),
        ("tag", [("tag", "id", "=", "param", None)], None),
        ("tag", [("tag", "weight", ">", "3", None)], None),
    ]


# -- the index rules on SQLAlchemy queries ---------------------------------------------------------------


def _found(result: Any, code: str) -> list[tuple[int, str]]:
    out = []
    for d in result.diagnostics:
        if d.code == code and d.span.path == "app/services.py":
            out.append((result.sources[d.span.path].location(d.span.start)[0] - HEADER.count("\n") - 2, d.message))
    return sorted(out)


def test_missing_index_on_a_sqlalchemy_filter_and_quiet_when_served() -> None:
    _, res = _queries("""\
        def latest(session: Session, acc):
            return session.scalars(select(Order).where(Order.account_id == acc).order_by(Order.created_at).limit(10)).all()


        def by_sku(session: Session, sku):
            return session.scalars(select(Item).where(Item.sku == sku)).all()


        def by_email(session: Session, email):
            return session.scalars(select(Account).where(Account.email == email)).one_or_none()


        def by_order(session: Session, oid):
            return session.query(Item).filter(Item.order_id == oid).all()


        def odd(session: Session, sku, cond):
            return session.scalars(select(Item).where(Item.sku == sku, cond)).all()


        def login(session: Session, email):
            return session.scalars(select(Account).where(func.lower(Account.email) == email.lower())).first()
        """, select=("QL301", "QL302", "QL306"))
    assert _found(res, "QL301") == [(6, "`items` is filtered on (sku), but no index serves it")]
    assert _found(res, "QL306") == [(22, "`accounts` is filtered on lower(email), which no index serves: an index on email cannot be used through the function")]
    assert _found(res, "QL302") == []


def test_index_column_order_on_a_sqlalchemy_query() -> None:
    _, res = _queries("""\
        def recent(session: Session, day):
            return session.scalars(select(Order).where(Order.created_at == day, Order.account_id > 3)).all()
        """, select=("QL301", "QL302"))
    assert _found(res, "QL301") == []
    assert _found(res, "QL302") == [(2, "`orders` is filtered on (created_at, account_ref), but index `ix_orders_account_created` "
                                         "(account_ref, created_at) cannot serve it: its range key account_ref comes before the equality key created_at")]


# -- the fixture project ----------------------------------------------------------------------------------


def _copy_app(tmp_path: Any) -> str:
    root = os.path.join(str(tmp_path), "sqlalchemy_app")
    shutil.copytree(os.path.join(FIXTURES, "sqlalchemy_app"), root, ignore=shutil.ignore_patterns("__pycache__", ".querylint_cache"))
    return root


def test_fixture_app_index_findings(tmp_path: Any) -> None:
    root = _copy_app(tmp_path)
    cfg = Config(root=root, cache=False, select=("QL301", "QL302", "QL303", "QL306"))
    cwd = os.getcwd()
    try:
        os.chdir(root)
        result = Engine(cfg, instantiate(cfg)).run([root])
    finally:
        os.chdir(cwd)
    got = sorted((d.code, d.span.path, result.sources[d.span.path].location(d.span.start)[0], d.message) for d in result.diagnostics)
    lines = open(os.path.join(root, "app/services.py"), encoding="utf-8").read().splitlines()
    at = {name: n for n, text in enumerate(lines, 1) for name in ("latest_comments", "user_by_login") if f"def {name}(" in text}
    assert got == [
        ("QL301", "app/services.py", at["latest_comments"] + 2,
         "`comments` is filtered on (post_id) and sorted by created_at DESC with a LIMIT, but no index serves it"),
        ("QL306", "app/services.py", at["user_by_login"] + 1,
         "`users` is filtered on lower(email), which no index serves: an index on email cannot be used through the function"),
    ]


def test_advise_alembic_on_the_fixture(tmp_path: Any, capsys: Any) -> None:
    root = _copy_app(tmp_path)
    assert advise_main([root, "--format", "alembic"]) == 0
    out = capsys.readouterr().out
    creates = [line.strip() for line in out.splitlines() if "op.create_index(" in line]
    assert creates == [
        'op.create_index("comments_post_id_created_at_32f52b_idx", "comments", ["post_id", sa.text("created_at DESC")], unique=False, postgresql_concurrently=True, if_not_exists=True)',
        'op.create_index("post_tags_tag_id_idx", "post_tags", ["tag_id"], unique=False, postgresql_concurrently=True, if_not_exists=True)',
        'op.create_index("users_lower_email_idx", "users", [sa.text("lower(email)")], unique=False, postgresql_concurrently=True, if_not_exists=True)',
    ]
    assert 'down_revision = "1a2b3c4d5e6f"' in out and "with op.get_context().autocommit_block():" in out


def test_advised_alembic_revision_applies_and_serves_the_query(scratch_db: str, tmp_path: Any) -> None:
    """The revision the fixture's own queries produce upgrades, and EXPLAIN then uses the index."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    root = _copy_app(tmp_path)
    d = conninfo_to_dict(scratch_db)
    env = {**os.environ, "QUERYLINT_TEST_DSN": f"postgresql://{d.get('user', 'postgres')}@{d.get('host', '127.0.0.1')}:{d.get('port', 5432)}/{d['dbname']}",
           "PYTHONPATH": root}

    def alembic(*args: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "alembic", *args], cwd=root, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr

    alembic("upgrade", "head")
    assert advise_main([root, "--format", "alembic", "--write"]) == 0
    query = "SELECT * FROM comments WHERE post_id = 7 ORDER BY created_at DESC LIMIT 10"
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email, name) SELECT 'u' || i || '@x.org', 'u' FROM generate_series(1, 50) AS i")
        conn.execute("INSERT INTO posts (author_id, title, body, status) SELECT 1 + i % 50, 't', 'b', 'draft' FROM generate_series(1, 400) AS i")
        conn.execute("INSERT INTO comments (post_id, text, created_at) SELECT 1 + i % 400, 'c', now() - i * interval '1 minute' FROM generate_series(1, 40000) AS i")
        conn.execute("ANALYZE comments")
        before = json.dumps(conn.execute("EXPLAIN (FORMAT JSON) " + query).fetchone()[0])  # type: ignore[index]
        alembic("upgrade", "head")
        conn.execute("ANALYZE comments")
        after = json.dumps(conn.execute("EXPLAIN (FORMAT JSON) " + query).fetchone()[0])  # type: ignore[index]
    assert "comments_post_id_created_at_32f52b_idx" not in before
    assert '"Index Name": "comments_post_id_created_at_32f52b_idx"' in after


def test_queries_in_migrations_need_no_index() -> None:
    """A data migration runs once on deploy: its filters are not a workload to index for."""
    code = textwrap.dedent("""\
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from app.models import Item


        def by_sku(session: Session, sku):
            return session.scalars(select(Item).where(Item.sku == sku)).all()
        """)
    files = {"app/__init__.py": "", "app/models.py": MODELS, "app/services.py": code,
             "app/migrations/versions/0002_fill.py": code, "app/db_migrations/backfill.py": code}
    result = lint_files(files, select=("QL301",))
    assert [(d.span.path, d.code) for d in result.diagnostics] == [("app/services.py", "QL301")]


def test_more_forms_relations_between_subqueries_and_unions() -> None:
    qs, _ = _queries("""\
        def f(session: Session, acc, lo, hi, q2, Other):
            a = session.scalars(select(Order).where(Order.account == acc, Order.total.between(1, 9), Order.created_at.between(lo, hi))).all()
            b = session.scalars(select(Order).where(Order.account == None, Order.id.in_(select(Item.order_id)))).all()  # noqa: E711
            c = session.scalars(select(Account).where(Account.is_active == False, Account.is_active.is_(True))).all()  # noqa: E712
            d = session.query(Order).join(Account, Order.account).filter(Order.total > 3).all()
            e = session.query(Order).filter(Order.total > 3).union(q2).all()
            g = session.scalars(select(Order).where(Order.account != acc)).all()
            h = session.scalars(select(Order).where(Order.status == Kind.open)).all()
            i = session.scalars(select(Order).where(Order.total == Other.total)).all()
            return a, b, c, d, e, g, h, i


        class Kind:
            open = "open"
        """)
    assert _preds(qs[2]) == [("orders", "account_ref", "=", "param", None), ("orders", "total", "BETWEEN", "(1, 9)", None),
                             ("orders", "created_at", "BETWEEN", "param", None)]
    assert _preds(qs[3]) == [("orders", "account_ref", "IS NULL", "NULL", None), ("orders", "id", "IN", "(subquery)", None)]
    assert _preds(qs[4]) == [("accounts", "is_active", "=", "false", None), ("accounts", "is_active", "=", "true", None)]
    assert (qs[5].joins, _preds(qs[5]), qs[5].has_disjunction) == (
        (Join("orders", "account_ref", "accounts", "id"),), [("orders", "total", ">", "3", None)], False)
    assert qs[6].has_disjunction  # union(): other rows come back too
    assert qs[7].has_disjunction  # relation <> instance: NOT (fk = ?) OR fk IS NULL
    assert not any(qs[n].has_disjunction for n in (2, 3, 4))
    assert (_preds(qs[8]), qs[8].has_disjunction) == ([("orders", "status", "=", "param", None)], False)  # an enum member
    assert qs[9].has_disjunction  # a mapped attribute of a class we do not know: maybe a join
