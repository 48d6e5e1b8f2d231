"""QL202 n-plus-one: lazy relation loads on loop elements, Django and SQLAlchemy."""

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


def test_forward_fk_without_select_related(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def titles():
            for book in Book.objects.filter(title__startswith="a"):
                print(book.author.name, book.author_id)
                print(book.author.name)
        """)
    res = run(monkeypatch, code, select=["QL202"])
    assert found(res, "QL202") == [
        ("shop/views.py", 6, '`book.author` lazily loads `Author` once per book: the queryset iterated at line 5 has no select_related("author")'),
    ]
    d = next(d for d in res.diagnostics if d.code == "QL202")
    assert d.help == 'Add .select_related("author") to the queryset'
    assert res.sources["shop/views.py"].location(d.related[0].span.start)[0] == 5


def test_select_related_followed_through_variables(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def titles(q):
            qs = Book.objects.filter(title=q)
            qs = qs.select_related("author__profile", "publisher")
            for book in qs:
                print(book.author.name, book.author.profile.bio, book.publisher.name)
        """)
    assert found(run(monkeypatch, code, select=["QL202"]), "QL202") == []


def test_chain_deeper_than_select_related(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def titles():
            for book in Book.objects.select_related("author"):
                print(book.author.profile.bio)
        """)
    assert found(run(monkeypatch, code, select=["QL202"]), "QL202") == [
        ("shop/views.py", 6, '`book.author.profile` lazily loads `Profile` once per book: the queryset iterated at line 5 has no select_related("author__profile")'),
    ]


def test_reverse_collection_and_prefetch_cache(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Author


        def report():
            for author in Author.objects.all():
                print([b.title for b in author.books.all()])
            for author in Author.objects.prefetch_related("books"):
                print(author.books.all(), author.books.count())
                print(list(author.books.filter(title="x")))
        """)
    assert found(run(monkeypatch, code, select=["QL202"]), "QL202") == [
        ("shop/views.py", 6, '`author.books.all()` queries `Book` once per author: the queryset iterated at line 5 has no prefetch_related("books")'),
        ("shop/views.py", 9, '`list(author.books.filter(title="x"))` queries `Book` once per author: `.filter()` bypasses the prefetch_related("books") cache and queries again'),
    ]


def test_values_rows_and_bounded_loops_are_quiet(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def rows():
            for row in Book.objects.values("title", "author__name"):
                print(row["author__name"])
            for title, author_id in Book.objects.values_list("title", "author_id"):
                print(title, author_id)
        """)
    assert found(run(monkeypatch, code, select=["QL202"]), "QL202") == []


def test_enumerate_zip_and_comprehensions(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def rows():
            for i, book in enumerate(Book.objects.all()):
                print(i, book.publisher.name)
            names = [b.author.name for b in Book.objects.all()]
            return names
        """)
    assert [(ln, m.split(":")[0]) for _, ln, m in found(run(monkeypatch, code, select=["QL202"]), "QL202")] == [
        (6, "`book.publisher` lazily loads `Publisher` once per book"),
        (7, "`b.author` lazily loads `Author` once per b"),
    ]


def test_annotated_parameter_needs_a_caller_without_the_eager_load(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def render(books: list[Book]) -> list[str]:
            return [book.author.name for book in books]


        def render_tags(books: list[Book]) -> list[str]:
            return [book.author.name for book in books]


        def page():
            return render(Book.objects.filter(title="x")) + render_tags(Book.objects.select_related("author"))
        """)
    res = run(monkeypatch, code, select=["QL202"])
    assert found(res, "QL202") == [
        ("shop/views.py", 5, "`book.author` lazily loads `Author` once per book: `render(Book.objects.filter(title=\"x\"))` at shop/views.py:13 passes a queryset without select_related(\"author\")"),
    ]
    d = next(d for d in res.diagnostics if d.code == "QL202")
    assert d.confidence.value == "medium" and d.fix is None


def test_annotated_parameter_without_callers_is_quiet(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def render(books: list[Book]) -> list[str]:
            return [book.author.name for book in books]
        """)
    assert found(run(monkeypatch, code, select=["QL202"]), "QL202") == []


def test_generic_foreign_key_and_deferred_column(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def rows():
            for book in Book.objects.only("title"):
                print(book.title, book.body)
            for book in Book.objects.prefetch_related("target"):
                print(book.target)
            for book in Book.objects.all():
                print(book.target)
        """)
    assert found(run(monkeypatch, code, select=["QL202"]), "QL202") == [
        ("shop/views.py", 6, "`book.body` is a deferred column and loads once per book: the queryset iterated at line 5 defers it with .only()"),
        ("shop/views.py", 10, '`book.target` lazily loads `Author` once per book: the queryset iterated at line 9 has no prefetch_related("target")'),
    ]


def test_unknown_iterables_are_skipped(monkeypatch) -> None:
    code = textwrap.dedent("""\
        def rows(books, helper):
            for book in books:
                print(book.author.name)
            for book in helper.get_queryset():
                print(book.author.name)
        """)
    assert found(run(monkeypatch, code, select=["QL202"]), "QL202") == []


def test_sqlalchemy_relationships(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from sqlalchemy import select
        from sqlalchemy.orm import Session, joinedload

        from app.models import Order, User


        def report(session: Session):
            for order in session.scalars(select(Order)):
                print(order.user.name)
            for order in session.scalars(select(Order).options(joinedload(Order.user))):
                print(order.user.name)
            for user in session.query(User).all():
                print(len(user.orders), user.groups)
            for order in session.scalars(select(Order)).all():
                print(order.items.count())
        """)
    assert found(run(monkeypatch, code, select=["QL202"], path="app/services.py"), "QL202") == [
        ("app/services.py", 9, "`order.user` lazily loads `User` once per order: the query at line 8 has no joinedload(Order.user)"),
        ("app/services.py", 13, "`user.orders` lazily loads `Order` once per user: the query at line 12 has no selectinload(User.orders)"),
        ("app/services.py", 15, "`order.items.count()` queries `Item` once per order: the query at line 14 has no selectinload(Order.items)"),
    ]


def test_sqlalchemy_deferred_column(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from sqlalchemy import select

        from app.models import User


        def names(session):
            for user in session.scalars(select(User)):
                print(user.name, user.bio)
        """)
    res = found(run(monkeypatch, code, select=["QL202"], path="app/services.py"), "QL202")
    assert [(ln, m.split(":")[0]) for _, ln, m in res] == [(8, "`user.bio` is a deferred column and loads once per user")]


def test_relation_of_a_nested_collection_element_follows_the_outer_prefetch(monkeypatch) -> None:
    # mlflow: ``selectinload(SqlUser.user_role_assignments).selectinload(SqlUserRoleAssignment.role)``
    # then ``a.role`` for each assignment of each user was reported ("its type comes from an
    # annotation"); Django's prefetch_related("books__publisher") the same
    code = textwrap.dedent("""\
        from shop.models import Author


        def f():
            for a in Author.objects.prefetch_related("books__publisher"):
                for b in a.books.all():
                    print(b.publisher.name)
            for a in Author.objects.prefetch_related("books"):
                for b in a.books.select_related("publisher"):
                    print(b.publisher.name)
            for a in Author.objects.prefetch_related("books"):
                for b in a.books.all():
                    print(b.publisher.name)
        """)
    res = run(monkeypatch, code, select=["QL202"])
    # line 9 queries per author (its own finding), but its books do load their publisher
    assert found(res, "QL202") == [
        ("shop/views.py", 9, '`a.books.select_related("publisher")` queries `Book` once per a: `.select_related()` bypasses the prefetch_related("books") cache and queries again'),
        ("shop/views.py", 13, '`b.publisher` lazily loads `Publisher` once per b: the queryset iterated at line 11 has no prefetch_related("books__publisher")'),
    ]
    assert [d.help for d in res.diagnostics][1] == 'Add .prefetch_related("books__publisher") to the queryset iterated at line 11'


def test_relation_of_a_nested_sqlalchemy_collection_element(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from sqlalchemy.orm import selectinload

        from app.models import Order, User


        def f(session):
            users = session.query(User).options(selectinload(User.orders).selectinload(Order.user)).all()
            return [[o.user.name for o in u.orders] for u in users]


        def g(session):
            users = session.query(User).options(selectinload(User.orders)).all()
            return [[o.user.name for o in u.orders] for u in users]
        """)
    res = run(monkeypatch, code, select=["QL202"], path="app/services.py")
    assert found(res, "QL202") == [
        ("app/services.py", 13, "`o.user` lazily loads `User` once per o: the query at line 12 has no selectinload(User.orders).joinedload(Order.user)"),
    ]
    assert [d.help for d in res.diagnostics] == ["Add .options(selectinload(User.orders).joinedload(Order.user)) to the query at line 12"]


def test_sqlalchemy_many_to_one_pinned_by_the_filter_loads_once(monkeypatch) -> None:
    # mlflow: versions filtered on ``SqlScorerVersion.scorer_id == scorer.scorer_id`` all point
    # at one scorer: ``sv.scorer`` loads it once, then reads the session's identity map
    code = textwrap.dedent("""\
        from sqlalchemy import and_

        from app.models import Order


        def f(session, uid):
            for o in session.query(Order).filter(and_(Order.user_id == uid, Order.total > 0)).all():
                print(o.user.name)
            for o in session.query(Order).filter_by(user_id=uid):
                print(o.user.name)
            for o in session.query(Order).filter(Order.total > 0):
                print(o.user.name)
        """)
    res = run(monkeypatch, code, select=["QL202"], path="app/services.py")
    assert found(res, "QL202") == [
        ("app/services.py", 12, "`o.user` lazily loads `User` once per o: the query at line 11 has no joinedload(Order.user)"),
    ]


def test_a_model_named_through_its_module(monkeypatch) -> None:
    """``models.Book`` / ``shop.models.Book`` / ``m.Book``: the import binds the module, the model
    is its attribute (issue 14, names); a local name that shadows the import is not the module."""
    code = textwrap.dedent("""\
        import shop.models
        import shop.models as m
        from shop import models


        def by_module(ids):
            for pk in ids:
                models.Book.objects.get(pk=pk)


        def by_package(ids):
            for pk in ids:
                shop.models.Book.objects.get(pk=pk)


        def by_alias():
            return [b.author.name for b in m.Book.objects.all()]


        def eager():
            return [b.author.name for b in models.Book.objects.select_related("author")]


        def shadowed(models, ids):
            for pk in ids:
                models.Book.objects.get(pk=pk)
        """)
    result = run(monkeypatch, code, select=["QL201", "QL202"])
    assert found(result, "QL201") == [
        ("shop/views.py", 8, "`models.Book.objects.get(pk=pk)` runs a query on every iteration of `for pk in ids`"),
        ("shop/views.py", 13, "`shop.models.Book.objects.get(pk=pk)` runs a query on every iteration of `for pk in ids`"),
    ]
    assert found(result, "QL202") == [
        ("shop/views.py", 17, '`b.author` lazily loads `Author` once per b: the queryset iterated at line 17 has no '
                              'select_related("author")'),
    ]
