"""Loops: which accesses repeat (QL201 query-in-loop, QL204 write-in-loop), bounded loops."""

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


import ast  # noqa: E402

from querylint.python import loops  # noqa: E402


def test_query_in_for_loop_and_comprehension(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Author, Book


        def names(books, ids):
            for book in books:
                print(Author.objects.filter(pk=book.author_id).exists())
            counts = {i: Book.objects.filter(author_id=i).count() for i in ids}
            firsts = [list(Book.objects.filter(author_id=i)) for i in ids]
            return counts, firsts
        """)
    res = run(monkeypatch, code, select=["QL201"])
    assert found(res, "QL201") == [
        ("shop/views.py", 6, "`Author.objects.filter(pk=book.author_id).exists()` runs a query on every iteration of `for book in books`"),
        ("shop/views.py", 7, "`Book.objects.filter(author_id=i).count()` runs a query on every iteration of `for i in ids`"),
        ("shop/views.py", 8, "`list(Book.objects.filter(author_id=i))` runs a query on every iteration of `for i in ids`"),
    ]
    d = next(d for d in res.diagnostics if d.code == "QL201")
    assert d.help == "Fetch the rows once before the loop: `Author.objects.in_bulk(ids)` or `.filter(id__in=ids)` into a dict, then look them up"
    assert res.sources["shop/views.py"].location(d.related[0].span.start) == (5, 5)


def test_queryset_built_outside_the_loop_is_cached(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Author, Book


        def names(books):
            authors = Author.objects.all()
            for book in books:
                for a in authors:
                    print(a)
                if authors:
                    print(len(authors))
        """)
    assert found(run(monkeypatch, code, select=["QL201"]), "QL201") == []


def test_bounded_while_and_return_are_quiet(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def f(ids, resolvers):
            for status in ("new", "old", "archived"):
                Book.objects.filter(title=status).count()
            for _ in range(3):
                Book.objects.first()
            while ids:
                ids = list(Book.objects.filter(id__in=ids).values_list("id", flat=True))
            for r in resolvers:
                return Book.objects.get(pk=r.id)
        """)
    assert found(run(monkeypatch, code, select=["QL201"]), "QL201") == []


def test_bounded_loop_inside_unbounded_reports_the_outer_loop(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book


        def f(authors):
            for author in authors:
                for kind in ("a", "b"):
                    Book.objects.filter(author=author, title=kind).count()
        """)
    assert found(run(monkeypatch, code, select=["QL201"]), "QL201") == [
        ("shop/views.py", 7, "`Book.objects.filter(author=author, title=kind).count()` runs a query on every iteration of `for author in authors`"),
    ]


def test_writes_in_loops(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Book, Tag


        def f(names, books):
            for name in names:
                Tag.objects.create(name=name)
            for book in Book.objects.filter(title=""):
                book.title = "untitled"
                book.save()
            for name in names:
                tag = Tag(name=name)
                tag.save()
            Tag.objects.bulk_create([Tag(name=n) for n in names])
            for book in books:
                book.tags.add(1)
        """)
    res = run(monkeypatch, code, select=["QL204"])
    assert found(res, "QL204") == [
        ("shop/views.py", 6, "`Tag.objects.create(name=name)` writes one row per iteration of `for name in names`"),
        ("shop/views.py", 9, "`book.save()` writes one row per iteration of `for book in Book.objects.filter(title='')`"),
        ("shop/views.py", 12, "`tag.save()` writes one row per iteration of `for name in names`"),
    ]
    helps = [d.help for d in res.diagnostics if d.code == "QL204"]
    assert helps[1] == "Collect the changed objects and write them once with `Book.objects.bulk_update(objs, fields)`"
    assert helps[2] == "Build the objects and insert them once with `Tag.objects.bulk_create(objs)`"


def test_sqlalchemy_and_dbapi_round_trips(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from sqlalchemy import select

        from app.models import Order, User


        def f(session, ids, conn):
            for i in ids:
                session.get(User, i)
                session.add(Order(total=i))
                session.commit()
            with conn.cursor() as cur:
                for i in ids:
                    cur.execute("INSERT INTO t VALUES (%s)", [i])
                    cur.execute("SELECT 1")
            session.add_all([Order(total=i) for i in ids])
            session.commit()
        """)
    res = run(monkeypatch, code, select=["QL201", "QL204"], path="app/services.py")
    assert [(c, ln) for c, ln in [(d.code, res.sources[d.span.path].location(d.span.start)[0]) for d in res.diagnostics]] == [
        ("QL201", 8), ("QL204", 10), ("QL204", 13), ("QL201", 14),
    ]
    assert found(res, "QL204")[0][2] == "`session.commit()` commits per iteration of `for i in ids`"


def test_tests_and_migrations_are_skipped_unless_asked(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from shop.models import Tag


        def test_tags():
            for n in range(50):
                Tag.objects.create(name=str(n))
        """)
    assert found(run(monkeypatch, code, select=["QL204"], path="shop/tests/test_tags.py"), "QL204") == []


def test_is_bounded() -> None:
    def b(src: str) -> bool:
        return loops.is_bounded(ast.parse(src, mode="eval").body)

    assert b("('a', 'b')") and b("[1, 2, 3]") and b("range(5)") and b("enumerate(['x', 'y'])") and b("{'a': 1}.items()")
    assert b("(Status.OPEN, Status.PAID)")
    assert not b("range(n)") and not b("range(1000)") and not b("names") and not b("[a, b]")


def test_batches_scripts_and_progress_commits_are_quiet(monkeypatch) -> None:
    code = textwrap.dedent("""\
        from sqlalchemy import text


        def prune(session, total, batch_size, statements, conn, query):
            for i in range(0, total, batch_size):
                session.execute(text("DELETE FROM logs WHERE id < :i"), {"i": i})
                session.commit()
            for statement in statements:
                session.execute(text(statement))
                query.progress += 1
                session.commit()
            with conn.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
            for kind in Status.__members__:
                session.execute(text("SELECT 1"))
        """)
    res = run(monkeypatch, code, select=["QL201", "QL204"], path="app/services.py")
    assert [d.code for d in res.diagnostics] == []


def test_language_loops_and_test_scripts() -> None:
    from querylint.python.facts import is_test_path

    def few(src: str) -> bool:
        loop = ast.parse(src).body[0]
        assert isinstance(loop, ast.For)
        return loops.is_configured_few(loop.iter, loop.target)

    assert few("for language in page.get_languages(): pass")
    assert few("for lang, slug in rows: pass")
    assert few("for code, name in settings.LANGUAGES: pass")
    assert not few("for book in books: pass") and not few("for slug in slugs: pass")
    assert is_test_path(".github/upgrade-test/check.py") and is_test_path("shop/tests/test_x.py")
    assert is_test_path("test_views.py") and not is_test_path("shop/contest/views.py")


def test_management_commands_examples_and_renamed_migration_trees_are_skipped(monkeypatch) -> None:
    # issue 3: wagtail's publish_scheduled / cms's delete_orphaned_plugins commands, superset's
    # examples/ loaders and mlflow's db_migrations/versions/ were reported as N+1s
    from querylint.python.facts import is_migration_path, is_script_path

    code = textwrap.dedent("""\
        from shop.models import Tag


        def handle(names):
            for name in names:
                Tag.objects.create(name=name)
        """)
    for path in ("shop/management/commands/load_tags.py", "shop/examples/tags.py", "shop/importers/examples.py",
                 "shop/db_migrations/versions/0001_tags.py"):
        assert found(run(monkeypatch, code, select=["QL204"], path=path), "QL204") == []
    assert found(run(monkeypatch, code, select=["QL204"], path="shop/commands/load_tags.py"), "QL204") == [
        ("shop/commands/load_tags.py", 6, "`Tag.objects.create(name=name)` writes one row per iteration of `for name in names`"),
    ]
    assert is_script_path("app/management/commands/x.py") and not is_script_path("app/management/x.py")
    assert not is_script_path("app/example.py") and not is_script_path("app/examples_view.py")
    assert is_migration_path("app/db_migrations/versions/1.py")
    assert not is_migration_path("app/migration_utils.py")


def test_check_scripts_option_reports_management_commands() -> None:
    from querylint.python.facts import skipped

    assert skipped("shop/management/commands/load.py", {})
    assert not skipped("shop/management/commands/load.py", {"check-scripts": True})


def test_constant_collections_batches_retries_and_sites_are_bounded() -> None:
    def b(src: str) -> bool:
        return loops.is_bounded(ast.parse(src, mode="eval").body)

    def loop(src: str) -> tuple[bool, bool]:
        node = ast.parse(src).body[0]
        assert isinstance(node, ast.For)
        return loops.is_configured_few(node.iter, node.target), loops.is_batched(node.iter, node.target)

    assert b("_WORKSPACE_TABLES") and b("settings.LANGUAGES") and b("sorted(_SPECS)") and b("COST_BY_KEY.items()")
    assert b("range(self.CREATE_RETRIES)") and not b("range(self.retries)") and not b("tables") and not b("X")
    assert loop("for site in get_sites(): pass") == (True, False)
    assert loop("for pk, urls in possible_sites.items(): pass") == (True, False)
    assert loop("for site_id in sites_to_add: pass") == (True, False)
    assert loop("for site_visit in visits: pass") == (False, False)
    assert loop("for batch in metric_key_batches: pass") == (False, True)
    assert loop("for ids in chunk_list(trace_ids, 100): pass") == (False, True)
    assert loop("for trace_id_batch in chunks: pass") == (False, True)
    assert loop("for batcher in batchers: pass") == (False, False)
    # django CMS: ``for title in translations.current_content()`` copies one row per language
    assert loop("for title in translations.current_content(): pass") == (True, False)
    assert loop("for t in page.translations.all(): pass") == (True, False)
    assert loop("for t in Translation.objects.all(): pass") == (False, False)


def test_constant_and_batch_loops_are_quiet(monkeypatch) -> None:
    # mlflow: ``for table_name in _WORKSPACE_TABLES`` and ``for batch in chunk_list(...)``
    code = textwrap.dedent("""\
        from sqlalchemy import select

        from app.models import Order

        _TABLES = ("orders", "items")


        def f(session, ids):
            for table in _TABLES:
                session.execute(select(Order).where(Order.id == 1))
            for batch in chunk_list(ids, 500):
                session.execute(select(Order).where(Order.id.in_(batch)))
            for i in ids:
                session.execute(select(Order).where(Order.id == i))
        """)
    res = run(monkeypatch, code, select=["QL201"], path="app/services.py")
    assert found(res, "QL201") == [
        ("app/services.py", 14, "`session.execute(select(Order).where(Order.id == i))` runs a query on every iteration of `for i in ids`"),
    ]


def test_dict_get_is_not_session_get(monkeypatch) -> None:
    # mlflow: ``trace_to_session.get(tid, tid)`` and ``for session in sessions: session.get("kernel")``
    code = textwrap.dedent("""\
        from app.models import User


        def f(trace_to_session, trace_ids, sessions, session):
            for tid in trace_ids:
                trace_to_session.get(tid, tid)
            for s in sessions:
                s.get("kernel", {})
            for tid in trace_ids:
                session.get(User, tid)
        """)
    res = run(monkeypatch, code, select=["QL201"], path="app/services.py")
    assert found(res, "QL201") == [
        ("app/services.py", 10, "`session.get(User, tid)` runs a query on every iteration of `for tid in trace_ids`"),
    ]


def test_batch_boundary_and_conflict_check_flushes_are_quiet(monkeypatch) -> None:
    # mlflow fs2db: ``if count % batch_size == 0: session.flush()``; a flush per row inside
    # ``try/except IntegrityError`` checks each row for a conflict on purpose
    code = textwrap.dedent("""\
        from sqlalchemy.exc import IntegrityError

        from app.models import Order


        def f(session, rows, batch_size):
            count = 0
            for row in rows:
                session.add(Order(total=row))
                count += 1
                if count % batch_size == 0:
                    session.flush()
            for row in rows:
                session.add(Order(total=row))
                try:
                    session.flush()
                except IntegrityError:
                    session.rollback()
            for row in rows:
                session.add(Order(total=row))
                session.flush()
        """)
    res = run(monkeypatch, code, select=["QL204"], path="app/services.py")
    assert found(res, "QL204") == [
        ("app/services.py", 21, "`session.flush()` flushes per iteration of `for row in rows`"),
    ]


def test_a_modulo_test_outside_any_loop_does_not_quiet_the_loops_inside(monkeypatch) -> None:
    # `if n % 2 == 0:` counts no iteration: a flush per row of the loop it holds is reported
    code = textwrap.dedent("""\
        from app.models import Order


        def f(session, rows, n):
            if n % 2 == 0:
                for row in rows:
                    session.add(Order(total=row))
                    session.flush()
        """)
    res = run(monkeypatch, code, select=["QL204"], path="app/services.py")
    assert found(res, "QL204") == [
        ("app/services.py", 8, "`session.flush()` flushes per iteration of `for row in rows`"),
    ]


def test_core_insert_update_delete_statements_are_writes(monkeypatch) -> None:
    # superset: ``db.session.execute(delete(dashboard_slices).where(...))`` per dashboard and
    # ``connection.execute(table.update().where(...))`` per dataset were called queries
    code = textwrap.dedent("""\
        from sqlalchemy import delete, insert


        def f(session, connection, dashboards, table, links):
            for d in dashboards:
                session.execute(delete(links).where(links.c.dashboard_id == d.id))
                stmt = insert(links).values(dashboard_id=d.id)
                session.execute(stmt)
                connection.execute(table.update().where(table.c.id == d.id).values(perm="x"))
        """)
    res = run(monkeypatch, code, select=["QL201", "QL204"], path="app/services.py")
    assert found(res, "QL201") == []
    loop = "for d in dashboards"
    assert found(res, "QL204") == [
        ("app/services.py", 6, f"`session.execute(...)` runs a DELETE per iteration of `{loop}`"),
        ("app/services.py", 8, f"`session.execute(stmt)` runs an INSERT per iteration of `{loop}`"),
        ("app/services.py", 9, f"`connection.execute(...)` runs an UPDATE per iteration of `{loop}`"),
    ]
    assert next(d.help for d in res.diagnostics if d.code == "QL204") == "Delete all rows in one statement: `WHERE id = ANY(...)` / `.where(t.c.id.in_(ids))`"


def test_dml_verb_of_core_statements() -> None:
    from querylint.python.queries_sqlalchemy import dml_verb

    def v(src: str) -> str | None:
        return dml_verb(ast.parse(src, mode="eval").body)

    assert v("insert(t).values(rows)") == "INSERT" and v("t.update().where(t.c.id == 1)") == "UPDATE"
    assert v("sa.delete(t).where(x)") == "DELETE"
    assert v("_filtered(child.update().where(c), col)") == "UPDATE"  # mlflow's workspace_move helper
    assert v("select(User.id)") == "SELECT" and v("stmt") is None and v("build(stmt)") is None
    assert v("d.update()") == "UPDATE"  # a no-argument ``.update()`` is Table.update(), not dict.update(other)
