"""The Query IR of Django and SQLAlchemy query sites: predicates, order, limits, eager loads."""

from __future__ import annotations

import textwrap

# -- a hand-built model registry, so these tests do not depend on the models gatherer -------
from querylint import python as pyfe
from querylint.models import Field, Framework, Model, ModelRegistry, Relation, RelationKind
from querylint.testing import lint_files

K = RelationKind


def _model(key: str, table: str, fields: tuple[str, ...], rels: dict[str, tuple[RelationKind, str, str]], *, fw: Framework = Framework.DJANGO, path: str = "shop/models.py", managers: dict[str, str] | None = None, deferred: tuple[str, ...] = ()) -> Model:
    fs = {"id": Field("id", "id", primary_key=True)}
    fs.update({f: Field(f, f, deferred=f in deferred) for f in fields})
    relations = {n: Relation(n, kind, target, column=f"{n}_id" if kind in (K.FORWARD_FK, K.FORWARD_O2O, K.SA_MANY_TO_ONE) else None, lazy=lazy) for n, (kind, target, lazy) in rels.items()}
    cls = key.rsplit(".", 1)[-1]
    return Model(key, cls, fw, table, path[:-3].replace("/", "."), path, fields=fs, relations=relations, managers=managers or {})


def shop_registry() -> ModelRegistry:
    r = ModelRegistry()
    r.add(_model("shop.Author", "shop_author", ("name",), {"books": (K.REVERSE_FK, "shop.Book", "select"), "profile": (K.REVERSE_O2O, "shop.Profile", "select")}))
    r.add(_model("shop.Profile", "shop_profile", ("bio",), {"author": (K.FORWARD_O2O, "shop.Author", "select")}))
    r.add(_model("shop.Publisher", "shop_publisher", ("name",), {}))
    r.add(_model("shop.Book", "shop_book", ("title", "created_at", "body"), {
        "author": (K.FORWARD_FK, "shop.Author", "select"),
        "publisher": (K.FORWARD_FK, "shop.Publisher", "select"),
        "tags": (K.M2M, "shop.Tag", "select"),
        "target": (K.GENERIC_FK, "shop.Author", "select"),
    }))
    r.add(_model("shop.Tag", "shop_tag", ("name",), {"books": (K.M2M, "shop.Book", "select")}))
    # SQLAlchemy
    sa = "app/models.py"
    r.add(_model("User", "users", ("name", "bio"), {"orders": (K.SA_COLLECTION, "Order", "select"), "groups": (K.SA_COLLECTION, "Group", "selectin")}, fw=Framework.SQLALCHEMY, path=sa, deferred=("bio",)))
    r.add(_model("Order", "orders", ("total",), {"user": (K.SA_MANY_TO_ONE, "User", "select"), "items": (K.SA_COLLECTION, "Item", "dynamic")}, fw=Framework.SQLALCHEMY, path=sa))
    r.add(_model("Item", "items", ("sku",), {}, fw=Framework.SQLALCHEMY, path=sa))
    r.add(_model("Group", "groups", ("name",), {}, fw=Framework.SQLALCHEMY, path=sa))
    return r


MODELS_PY = "class Author: pass\nclass Profile: pass\nclass Publisher: pass\nclass Book: pass\nclass Tag: pass\n"
SA_MODELS_PY = "class User: pass\nclass Order: pass\nclass Item: pass\nclass Group: pass\n"


def run(monkeypatch, code: str, *, select: list[str], extra: dict[str, str] | None = None, path: str = "shop/views.py"):
    def fake_index_models(project):  # type: ignore[no-untyped-def]
        project.models = shop_registry()

    monkeypatch.setattr(pyfe, "index_models", fake_index_models)
    compile(code, path, "exec")  # a test input that does not parse would pass vacuously
    files = {"shop/__init__.py": "", "shop/models.py": MODELS_PY, "app/__init__.py": "", "app/models.py": SA_MODELS_PY, path: code, **(extra or {})}
    result = lint_files(files, select=select, check=[path, *(extra or {})])
    assert result.project is not None and result.project.facts["python"].errors == []
    return result


def found(result, code: str) -> list[tuple[str, int, str]]:
    out = []
    for d in result.diagnostics:
        if d.code == code:
            out.append((d.span.path, result.sources[d.span.path].location(d.span.start)[0], d.message))
    return out


from querylint.ir import Op, Origin, QueryKind, ValueKind  # noqa: E402


def queries(monkeypatch, code: str, path: str = "shop/views.py"):
    res = run(monkeypatch, code, select=["QL201"], path=path)
    assert res.project is not None
    return [q for q in res.project.queries if q.span.path == path and q.origin in (Origin.DJANGO, Origin.SQLALCHEMY)]


def test_filter_lookups_become_predicates_on_db_columns(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def recent(author, since):
            return list(Book.objects.filter(author=author, created_at__gte=since, title__icontains="x", publisher__isnull=True).order_by("-created_at")[:10])
        """)
    (q,) = queries(monkeypatch, code)
    assert q.kind is QueryKind.SELECT and q.model == "Book" and q.main_table == "shop_book"
    assert [(p.table, p.column, p.op, p.value.kind, p.expression) for p in q.predicates] == [
        ("shop_book", "author_id", Op.EQ, ValueKind.PARAM, None),
        ("shop_book", "created_at", Op.GE, ValueKind.PARAM, None),
        ("shop_book", "title", Op.ILIKE, ValueKind.CONST, "upper(title)"),
        ("shop_book", "publisher_id", Op.IS_NULL, ValueKind.CONST, None),
    ]
    assert [(k.column, k.descending) for k in q.order_by] == [("created_at", True)]
    assert q.limit == 10 and q.offset is None
    assert not q.has_disjunction


def test_relation_span_joins_and_filters_the_other_table(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def by_author(name):
            return Book.objects.filter(author__name=name, created_at__year=2024).count()
        """)
    (q,) = queries(monkeypatch, code)
    assert [(j.left_table, j.left_column, j.right_table, j.right_column) for j in q.joins] == [("shop_book", "author_id", "shop_author", "id")]
    assert [t.name for t in q.tables] == ["shop_book", "shop_author"]
    assert [(p.table, p.column, p.op, p.value.text, p.expression) for p in q.predicates] == [
        ("shop_author", "name", Op.EQ, None, None),
        ("shop_book", "created_at", Op.EQ, "2024", "EXTRACT(year FROM created_at)"),
    ]


def test_q_objects_and_exclude(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from django.db.models import Q

        from shop.models import Book


        def a():
            return Book.objects.filter(Q(title="a") & Q(publisher_id=3)).first()


        def b():
            return Book.objects.filter(Q(title="a") | Q(title="b")).exists()


        def c():
            return Book.objects.exclude(title="a").filter(pk__in=[1, 2]).get()
        """)
    a, b, c = queries(monkeypatch, code)
    assert [(p.column, p.op, p.value.text) for p in a.predicates] == [("title", Op.EQ, "'a'"), ("publisher_id", Op.EQ, "3")]
    assert not a.has_disjunction and a.limit == 1
    assert b.has_disjunction and b.predicates == ()
    assert c.has_disjunction and [(p.column, p.op) for p in c.predicates] == [("id", Op.IN)]


def test_refined_variable_projection_and_eager_loads(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def rows(q):
            qs = Book.objects.filter(title=q)
            qs = qs.select_related("author").prefetch_related("tags")
            for b in qs:
                print(b)
            return list(Book.objects.values("title", "author"))
        """)
    q1, q2 = queries(monkeypatch, code)
    assert q1.eager_loads == ("author", "tags") and [p.column for p in q1.predicates] == ["title"]
    assert q1.projection.value == "star"
    assert q2.projection.value == "columns" and q2.columns == ("title", "author_id")


def test_writes_and_related_managers(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def w(ids):
            Book.objects.filter(id__in=ids).update(title="x")
            Book.objects.create(title="y")
            Book.objects.filter(publisher_id=None).delete()
        """)
    kinds = [(q.kind, [(p.column, p.op) for p in q.predicates]) for q in queries(monkeypatch, code)]
    assert kinds == [
        (QueryKind.UPDATE, [("id", Op.IN)]),
        (QueryKind.INSERT, []),
        (QueryKind.DELETE, [("publisher_id", Op.IS_NULL)]),
    ]


def test_sqlalchemy_select_and_query(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from sqlalchemy import select
        from sqlalchemy.orm import selectinload

        from app.models import Order, User


        def a(session):
            return session.scalars(select(User).options(selectinload(User.orders)).limit(5)).all()


        def b(session):
            return session.query(Order).filter(Order.total > 3).first()
        """)
    a, b = queries(monkeypatch, code, path="app/services.py")
    assert (a.origin, a.main_table, a.eager_loads, a.limit) == (Origin.SQLALCHEMY, "users", ("orders",), 5)
    assert (b.origin, b.main_table, b.model) == (Origin.SQLALCHEMY, "orders", "Order")


def test_loop_is_recorded_on_the_query(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Author


        def names(books):
            for book in books:
                Author.objects.get(pk=book.author_id)
        """)
    (q,) = queries(monkeypatch, code)
    assert q.loop is not None and q.loop.description == "for book in books" and not q.loop.bounded
