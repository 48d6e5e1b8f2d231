"""Eager-load autofixes for QL202: the edit, that it re-parses (libcst), and that a second run is clean."""

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


import libcst  # noqa: E402
from querylint.diagnostics import Applicability  # noqa: E402
from querylint.python.autofix import apply_edits  # noqa: E402


def fix_once(monkeypatch, code: str, path: str = "shop/views.py") -> str:
    res = run(monkeypatch, code, select=["QL202"], path=path)
    diags = [d for d in res.diagnostics if d.code == "QL202"]
    assert diags and diags[0].fix is not None
    fix = diags[0].fix
    assert fix.applicability is Applicability.UNSAFE
    assert all(e.path == path for e in fix.edits)
    fixed = apply_edits(code, fix.edits)
    libcst.parse_module(fixed)
    return fixed


def fix_all(monkeypatch, code: str, path: str = "shop/views.py") -> str:
    """Apply fixes one at a time to a fixpoint, as --fix does; then nothing is left to fix."""
    for _ in range(5):
        res = run(monkeypatch, code, select=["QL202"], path=path)
        fixes = [d.fix for d in res.diagnostics if d.code == "QL202" and d.fix is not None]
        if not fixes:
            return code
        code = apply_edits(code, fixes[0].edits)
        libcst.parse_module(code)
    raise AssertionError("fixes did not converge")


def test_django_select_related_inserted_after_the_manager(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def titles():
            for book in Book.objects.filter(title="x").order_by("title"):
                print(book.author.name)
        """)
    assert fix_once(monkeypatch, code) == code.replace('Book.objects.filter', 'Book.objects.select_related("author").filter')


def test_django_extends_existing_calls_and_converges(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Author, Book


        def titles():
            qs = Book.objects.select_related(
                "publisher",
            ).filter(title="x")
            for book in qs:
                print(book.author.name, book.publisher.name, [t.name for t in book.tags.all()])
        """)
    fixed = fix_all(monkeypatch, code)
    assert fixed == textwrap.dedent("""\
        from shop.models import Author, Book


        def titles():
            qs = Book.objects.prefetch_related("tags").select_related(
                "publisher",
                "author",
            ).filter(title="x")
            for book in qs:
                print(book.author.name, book.publisher.name, [t.name for t in book.tags.all()])
        """)
    assert found(run(monkeypatch, fixed, select=["QL202"]), "QL202") == []


def test_sqlalchemy_joinedload_with_import(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from sqlalchemy import select

        from app.models import Order, User


        def report(session):
            for order in session.scalars(select(Order).where(Order.total > 1)):
                print(order.user.name)
            for user in session.scalars(select(User)):
                print(len(user.orders))
        """)
    fixed = fix_all(monkeypatch, code, path="app/services.py")
    assert fixed == textwrap.dedent("""\
        from sqlalchemy import select
        from sqlalchemy.orm import joinedload, selectinload

        from app.models import Order, User


        def report(session):
            for order in session.scalars(select(Order).options(joinedload(Order.user)).where(Order.total > 1)):
                print(order.user.name)
            for user in session.scalars(select(User).options(selectinload(User.orders))):
                print(len(user.orders))
        """)
    assert found(run(monkeypatch, fixed, select=["QL202"], path="app/services.py"), "QL202") == []


def test_sqlalchemy_extends_options_and_import(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from sqlalchemy.orm import joinedload

        from app.models import Order, User


        def report(session):
            for user in session.query(User).options(joinedload(User.groups)).all():
                print(user.orders)
        """)
    assert fix_once(monkeypatch, code, path="app/services.py") == textwrap.dedent("""\
        from sqlalchemy.orm import joinedload, selectinload

        from app.models import Order, User


        def report(session):
            for user in session.query(User).options(joinedload(User.groups), selectinload(User.orders)).all():
                print(user.orders)
        """)


def test_no_fix_when_the_queryset_comes_from_elsewhere(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def titles(books: list[Book]):
            for book in books:
                print(book.author.name)


        def page():
            titles(Book.objects.all())
        """)
    res = run(monkeypatch, code, select=["QL202"])
    assert [d.fix for d in res.diagnostics if d.code == "QL202"] == [None]


def fix_paths_all(monkeypatch, tmp_path, files: dict[str, str], path: str):  # type: ignore[no-untyped-def]
    """--fix --unsafe-fixes as the CLI runs it (rounds of fixes, to a fixpoint)."""
    import dataclasses

    from querylint import fix as fixmod
    from querylint.config import Config
    from querylint.engine import Engine

    def fake_index_models(project):  # type: ignore[no-untyped-def]
        project.models = shop_registry()

    monkeypatch.setattr(pyfe, "index_models", fake_index_models)
    base = {"shop/__init__.py": "", "shop/models.py": MODELS_PY, "app/__init__.py": "", "app/models.py": SA_MODELS_PY}
    for rel, text in {**base, **files}.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    cfg = dataclasses.replace(Config(root=str(tmp_path), cache=False), select=("QL202",))
    monkeypatch.chdir(tmp_path)
    out = fixmod.fix_paths(Engine(cfg), [path], unsafe=True, write=False)
    assert out.messages == []
    new = out.changes[path][1]
    libcst.parse_module(new)
    (tmp_path / path).write_text(new, encoding="utf-8")
    again = fixmod.fix_paths(Engine(cfg), [path], unsafe=True, write=False)
    assert again.changes == {}, "a second --fix changed the file again"
    return new, out.fixed


def test_two_fixes_on_one_queryset_make_one_select_related(monkeypatch, tmp_path) -> None:
    # wagtail workflows.py: ``.select_related("content_type").select_related("workflow")``
    code = textwrap.dedent("""\
        from shop.models import Book


        def titles():
            for book in Book.objects.filter(title="x"):
                print(book.author.name, book.publisher.name)
        """)
    new, fixed = fix_paths_all(monkeypatch, tmp_path, {"shop/views.py": code}, "shop/views.py")
    assert fixed == 2
    assert new == code.replace("Book.objects.filter", 'Book.objects.select_related("author", "publisher").filter')


def test_two_sqlalchemy_fixes_import_the_loader_once(monkeypatch, tmp_path) -> None:
    # superset tasks/cache.py: ``from sqlalchemy.orm import selectinload`` was added twice
    code = textwrap.dedent("""\
        from app.models import User


        def a(session):
            return [len(u.orders) for u in session.query(User).all()]


        def b(session):
            for u in session.query(User).filter(User.name == "x"):
                print(len(u.orders))
        """)
    new, fixed = fix_paths_all(monkeypatch, tmp_path, {"app/services.py": code}, "app/services.py")
    assert fixed == 2
    assert new == textwrap.dedent("""\
        from app.models import User
        from sqlalchemy.orm import selectinload


        def a(session):
            return [len(u.orders) for u in session.query(User).options(selectinload(User.orders)).all()]


        def b(session):
            for u in session.query(User).options(selectinload(User.orders)).filter(User.name == "x"):
                print(len(u.orders))
        """)


def test_a_path_added_to_a_one_per_line_call_gets_its_own_line(monkeypatch, tmp_path) -> None:
    # wagtail home.py: ``"workflow_state__workflow", "task",`` on one line of a one-per-line call
    code = textwrap.dedent("""\
        from shop.models import Book


        def titles():
            books = Book.objects.select_related(
                "publisher",
                "publisher",
            )
            for book in books:
                print(book.author.name)
            for book in Book.objects.prefetch_related(
                "tags"
            ):
                print(book.publisher.name, book.author.name)
        """)
    new, fixed = fix_paths_all(monkeypatch, tmp_path, {"shop/views.py": code}, "shop/views.py")
    assert fixed == 3
    assert new == textwrap.dedent("""\
        from shop.models import Book


        def titles():
            books = Book.objects.select_related(
                "publisher",
                "publisher",
                "author",
            )
            for book in books:
                print(book.author.name)
            for book in Book.objects.select_related("publisher", "author").prefetch_related(
                "tags"
            ):
                print(book.publisher.name, book.author.name)
        """)


def test_loader_import_goes_next_to_the_other_sqlalchemy_imports(monkeypatch, tmp_path) -> None:
    # superset tasks/cache.py: the import landed after the project's own imports
    code = textwrap.dedent("""\
        import logging

        from sqlalchemy import and_

        from app.models import User

        log = logging.getLogger(__name__)


        def a(session):
            return [len(u.orders) for u in session.query(User).filter(and_(User.name == "x")).all()]
        """)
    new, fixed = fix_paths_all(monkeypatch, tmp_path, {"app/services.py": code}, "app/services.py")
    assert fixed == 1
    assert new == code.replace("from sqlalchemy import and_\n", "from sqlalchemy import and_\nfrom sqlalchemy.orm import selectinload\n").replace(
        "session.query(User).filter", "session.query(User).options(selectinload(User.orders)).filter")
