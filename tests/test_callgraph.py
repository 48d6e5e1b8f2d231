"""QL203 query-in-called-function: the call graph across functions, methods, properties and files."""

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


from querylint.python.facts import PythonFacts  # noqa: E402

SERVICES = textwrap.dedent("""\
    from functools import lru_cache

    from shop.models import Author, Book


    def book_count(author_id):
        return Book.objects.filter(author_id=author_id).count()


    def maybe_count(author_id, fast):
        if fast:
            return 0
        return Book.objects.filter(author_id=author_id).count()


    def wrapper(author_id):
        x = 1
        return book_count(author_id) + x


    @lru_cache
    def cached_count(author_id):
        return Book.objects.filter(author_id=author_id).count()


    def looped(ids):
        for i in ids:
            Book.objects.get(pk=i)


    def label(author_id):
        return "author %s" % author_id
    """)

MODELS = MODELS_PY + textwrap.dedent("""\


    class Author:
        def titles(self):
            return [b.title for b in self.books.all()]

        @property
        def latest(self):
            return self.books.order_by("-created_at").first()

        def cheap(self):
            return self.name
    """)


def test_function_in_another_module(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.services import book_count, cached_count, looped, maybe_count, wrapper


        def report(authors):
            for a in authors:
                print(book_count(a.id), maybe_count(a.id, True), cached_count(a.id), looped([a.id]))
            for a in authors:
                print(wrapper(a.id))
        """)
    res = run(monkeypatch, code, select=["QL203"], extra={"shop/services.py": SERVICES})
    assert found(res, "QL203") == [
        ("shop/views.py", 6, "`book_count(a.id)` runs a query on every iteration of `for a in authors`: `shop.services.book_count` -> `Book.objects.filter(author_id=author_id).count()` at shop/services.py:7"),
        ("shop/views.py", 8, "`wrapper(a.id)` runs a query on every iteration of `for a in authors`: `shop.services.wrapper` -> `book_count(author_id)` -> `Book.objects.filter(author_id=author_id).count()` at shop/services.py:7"),
    ]
    d = [d for d in res.diagnostics if d.code == "QL203"][1]
    assert [r.label for r in d.related] == ["the loop", "`shop.services.wrapper` calls `book_count(author_id)`", "runs the query"]
    facts = res.project.facts["python"]
    assert isinstance(facts, PythonFacts)
    assert facts.graph.has_edge("shop.services.wrapper", "shop.services.book_count")
    # a summary for each function with events, none for one with nothing to reach through it
    assert facts.functions["shop.services.cached_count"].cached and not facts.functions["shop.services.wrapper"].cached
    assert "shop.services.label" not in facts.functions


def test_methods_and_properties_on_loop_elements(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Author


        def report():
            for a in Author.objects.all():
                print(a.titles(), a.latest, a.cheap())
            for a in Author.objects.prefetch_related("books"):
                print(a.titles())
        """)
    res = run(monkeypatch, code, select=["QL203"], extra={"shop/models.py": MODELS})
    assert found(res, "QL203") == [
        ("shop/views.py", 6, "`a.titles()` runs a query on every iteration of `for a in Author.objects.all()`: `shop.models.Author.titles` -> `self.books.all()` at shop/models.py:10"),
        ("shop/views.py", 6, '`a.latest` runs a query on every iteration of `for a in Author.objects.all()`: `shop.models.Author.latest` -> `self.books.order_by("-created_at").first()` at shop/models.py:14'),
    ]
    d = next(d for d in res.diagnostics if d.code == "QL203")
    assert d.help == 'Add .prefetch_related("books") / .select_related("books") to the iterated queryset'


def test_self_method_calls_and_depth_limit(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def level3(i):
            return Book.objects.get(pk=i)


        def level2(i):
            return level3(i)


        def level1(i):
            return level2(i)


        class Report:
            def row(self, i):
                return level3(i)

            def run(self, ids):
                return [self.row(i) for i in ids]


        def deep(ids):
            for i in ids:
                level1(i)
        """)
    res = run(monkeypatch, code, select=["QL203"])
    assert [(ln, m.split(":")[0]) for _, ln, m in found(res, "QL203")] == [
        (21, "`self.row(i)` runs a query on every iteration of `for i in ids`"),
        (26, "`level1(i)` runs a query on every iteration of `for i in ids`"),
    ]


def test_max_depth_option(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def level3(i):
            return Book.objects.get(pk=i)


        def level2(i):
            return level3(i)


        def level1(i):
            return level2(i)


        def level0(i):
            return level1(i)


        def deep(ids):
            for i in ids:
                level0(i)
        """)

    def fake_index_models(project):  # type: ignore[no-untyped-def]
        project.models = shop_registry()

    monkeypatch.setattr(pyfe, "index_models", fake_index_models)
    files = {"shop/__init__.py": "", "shop/models.py": MODELS_PY, "shop/views.py": code}
    shallow = lint_files(files, select=["QL203"], check=["shop/views.py"])
    assert found(shallow, "QL203") == []
    deep = lint_files(files, select=["QL203"], check=["shop/views.py"], rule_options={"query-in-called-function": {"max-depth": 4}})
    assert [ln for _, ln, _ in found(deep, "QL203")] == [22]


def test_relation_of_an_instance_parameter(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Author


        def titles(author: Author) -> list[str]:
            return [b.title for b in author.books.all()]


        def report():
            for a in Author.objects.all():
                print(titles(a))
            for a in Author.objects.prefetch_related("books"):
                print(titles(a))
        """)
    assert found(run(monkeypatch, code, select=["QL203"]), "QL203") == [
        ("shop/views.py", 10, "`titles(a)` runs a query on every iteration of `for a in Author.objects.all()`: `shop.views.titles` -> `author.books.all()` at shop/views.py:5"),
    ]


def test_src_layout_names_the_import_path(monkeypatch) -> None:
    # django-oscar: ``src.oscar.apps.communication.utils.Dispatcher.notify_user`` in the message;
    # the module is ``oscar.apps.communication.utils``
    prices = textwrap.dedent("""\
        def price_of(conn, sku):
            with conn.cursor() as cur:
                cur.execute("SELECT price FROM products WHERE sku = %s", [sku])
                return cur.fetchone()[0]
        """)
    code = textwrap.dedent("""\
        from store.prices import price_of


        def total(conn, skus):
            return sum(price_of(conn, sku) for sku in skus)
        """)
    res = run(monkeypatch, code, select=["QL203"], path="src/store/views.py",
              extra={"src/store/__init__.py": "", "src/store/prices.py": prices})
    assert found(res, "QL203") == [
        ("src/store/views.py", 5, "`price_of(conn, sku)` runs a query on every iteration of `for sku in skus`: `store.prices.price_of` -> `cur.execute(...)` at src/store/prices.py:3"),
    ]


def test_a_callee_that_writes_says_so(monkeypatch) -> None:
    # django-oscar: ``self.notify_user(user, ...)`` -> ``Notification.objects.create(...)`` was
    # "runs a query", with a help to fetch the data before the loop
    services = textwrap.dedent("""\
        from shop.models import Tag


        def tag(name):
            Tag.objects.create(name=name)
        """)
    code = textwrap.dedent("""\
        from shop.services import tag


        def tag_all(names):
            for name in names:
                tag(name)
        """)
    res = run(monkeypatch, code, select=["QL203"], extra={"shop/services.py": services})
    assert found(res, "QL203") == [
        ("shop/views.py", 6, "`tag(name)` writes to the database on every iteration of `for name in names`: `shop.services.tag` -> `Tag.objects.create(name=name)` at shop/services.py:5"),
    ]
    assert [d.help for d in res.diagnostics] == ["Collect the rows in the loop and write them once after it (bulk_create / bulk_update / one UPDATE or DELETE for all ids)"]
