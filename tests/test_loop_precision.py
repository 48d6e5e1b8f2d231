"""QL2xx precision: loops whose round trips are not a per-row cost, and must stay quiet
(one statement per table, ...), next to the look-alikes that must still be reported."""

from __future__ import annotations

import ast
import textwrap

from querylint.python import loops
from querylint.python.queries_dbapi import interpolated_tables
from querylint.python.queries_sqlalchemy import dml_table
from querylint.testing import RunResult, lint_files


def lint(code: str, *, select: list[str], path: str = "app/jobs.py", extra: dict[str, str] | None = None) -> RunResult:
    code = textwrap.dedent(code)
    compile(code, path, "exec")  # a test input that does not parse would pass vacuously
    files = {"app/__init__.py": "", path: code, **(extra or {})}
    result = lint_files(files, select=select)
    assert result.project is not None and result.project.facts["python"].errors == []
    return result


def found(result: RunResult) -> list[tuple[str, int, str]]:
    return [(d.code, result.sources[d.span.path].location(d.span.start)[0], d.message) for d in result.diagnostics]


# -- one statement per table ------------------------------------------------------------------


def test_table_expressions_of_statements() -> None:
    def fstring(src: str) -> list[str]:
        return [ast.unparse(t) for t in interpolated_tables(ast.parse(src, mode="eval").body)]

    def core(src: str) -> str | None:
        t = dml_table(ast.parse(src, mode="eval").body)
        return ast.unparse(t) if t is not None else None

    assert fstring("""f'SELECT * FROM "{url}" LIMIT 1'""") == ["url"]
    assert fstring("text(f'UPDATE {t} SET a = 1 WHERE id = {i}')") == ["t"]  # the id is a value, not a table
    assert fstring("f'SELECT a FROM t WHERE id = {i}'") == [] and fstring("'SELECT 1'") == []
    assert core("_filtered(child.update().where(c), col)") == "child"
    assert core("sa.select(sa.func.count()).select_from(table).where(x)") == "table"
    assert core("insert(links).values(a=1)") == "links" and core("sa.delete(t)") == "t"
    assert core("select(model)") == "model" and core("select(User.id)") is None


def test_varying_names_follow_assignments_in_the_body() -> None:
    loop = ast.parse(textwrap.dedent("""\
        for entry in spec.child_tables:
            if isinstance(entry, tuple):
                name = entry[0]
            else:
                name = entry
            child = get_table(conn, name)
            other = conn
        """)).body[0]
    assert loops.varying_names(loop) == {"entry", "name", "child"}


def test_one_statement_per_table_is_quiet() -> None:
    res = lint("""\
        from sqlalchemy import text


        def probe(conn, catalog, tables, metadata):
            for name, url in catalog.items():
                conn.execute(f'SELECT * FROM "{url}" LIMIT 1')
            for entry in tables:
                child = metadata.tables[entry]
                conn.execute(child.update().where(child.c.ws == "a").values(ws="b"))
                conn.execute(text(f"DELETE FROM {entry}"))
        """, select=["QL201", "QL204"])
    assert found(res) == []


def test_same_table_per_iteration_is_still_reported() -> None:
    res = lint("""\
        import sqlalchemy


        def sync(conn, rows, table, name):
            for row in rows:
                conn.execute(f"SELECT * FROM {name} WHERE id = %s", [row.id])
                conn.execute(table.update().where(table.c.id == row.id).values(seen=True))
        """, select=["QL201", "QL204"])
    loop = "for row in rows"
    assert found(res) == [
        ("QL201", 6, f"`conn.execute(...)` runs a query on every iteration of `{loop}`"),
        ("QL204", 7, f"`conn.execute(...)` runs an UPDATE per iteration of `{loop}`"),
    ]


def test_called_function_on_the_table_the_loop_names_is_quiet() -> None:
    # superset's SecretsMigrator: one SELECT per encrypted table, then one UPDATE per row
    res = lint("""\
        import sqlalchemy


        class Migrator:
            @staticmethod
            def _select(conn, columns, table_name):
                return conn.execute(f"SELECT id, {','.join(columns)} FROM {table_name}")

            def _update(self, conn, row, table_name):
                conn.execute(f"UPDATE {table_name} SET a = 1 WHERE id = :id", id=row["id"])

            def run(self, conn, meta, table_name):
                for name, columns in meta.items():
                    rows = self._select(conn, columns, name)
                    for row in rows:
                        self._update(conn, row, name)
                for columns in meta.values():
                    self._select(conn, columns, table_name)
        """, select=["QL203"])
    assert [(c, ln) for c, ln, _ in found(res)] == [("QL203", 16), ("QL203", 18)]
    assert found(res)[0][2].startswith("`self._update(conn, row, name)` writes to the database on every iteration of `for row in rows`")


# -- a loop over the rows a unique key pins -------------------------------------------------

_TOKENS = """\
from django.db import models


class TokenQuerySet(models.QuerySet):
    def by_value(self, value):
        \"\"\"The tokens of one value.\"\"\"
        return self.filter(hash=value)

    def opaque(self, value):
        return self.model.objects.filter(hash=value) | self.none()


class Token(models.Model):
    objects = TokenQuerySet.as_manager()

    class Type(models.TextChoices):
        ACCESS = "at", "Access"
        REFRESH = "rt", "Refresh"

    type = models.CharField(max_length=2, choices=Type.choices)
    hash = models.CharField(max_length=255)
    code = models.CharField(max_length=20, unique=True)
    client = models.CharField(max_length=20)

    class Meta:
        unique_together = (("type", "hash"),)
"""


def test_loop_over_rows_a_unique_key_pins_is_bounded() -> None:
    res = lint("""\
        from shop.models import Token


        def revoke(value, hint, kinds, code, pk):
            if hint == "access":
                types = [Token.Type.ACCESS]
            else:
                types = [Token.Type.ACCESS, Token.Type.REFRESH]
            for token in Token.objects.by_value(value).filter(client="c", type__in=types):
                token.delete()
            for token in Token.objects.filter(code=code):
                token.delete()
            for token in Token.objects.filter(pk=pk).order_by("hash"):
                token.delete()
            for token in Token.objects.filter(type=Token.Type.ACCESS, hash=value):
                token.delete()
        """, select=["QL204"], path="shop/tokens.py", extra={"shop/__init__.py": "", "shop/models.py": _TOKENS})
    assert found(res) == []


def test_loop_over_rows_no_unique_key_pins_is_reported() -> None:
    res = lint("""\
        from shop.models import Token


        def revoke(value, kinds, code):
            for token in Token.objects.by_value(value):
                token.delete()
            for token in Token.objects.by_value(value).filter(type__in=kinds):
                token.delete()
            for token in Token.objects.opaque(value).filter(type="at"):
                token.delete()
            for token in Token.objects.filter(code__iexact=code):
                token.delete()
        """, select=["QL204"], path="shop/tokens.py", extra={"shop/__init__.py": "", "shop/models.py": _TOKENS})
    assert [(c, ln) for c, ln, _ in found(res)] == [("QL204", 6), ("QL204", 8), ("QL204", 10), ("QL204", 12)]
    assert found(res)[1][2] == "`token.delete()` runs a DELETE per iteration of `for token in Token.objects.by_value(value).filter(...`"


# -- a search: the first hit ends the loop -------------------------------------------------

_AUTHORS = """\
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=100)
"""


def test_lookup_whose_first_hit_ends_the_loop_is_quiet() -> None:
    res = lint("""\
        from shop.models import Author


        def find(emails, names):
            for email in emails:
                author = Author.objects.filter(email=email).first()
                if author:
                    return author
            for name in names:
                found = Author.objects.filter(name=name).first()
                if found is not None:
                    print(name)
                    break
            return None
        """, select=["QL201"], path="shop/lookup.py", extra={"shop/__init__.py": "", "shop/models.py": _AUTHORS})
    assert found(res) == []


def test_lookups_that_do_not_stop_at_a_hit_are_reported() -> None:
    res = lint("""\
        from shop.models import Author


        def find(emails, groups):
            out = []
            for email in emails:
                author = Author.objects.filter(email=email).first()
                if not author:
                    break
                out.append(author)
            for email in emails:
                author = Author.objects.filter(email=email).first()
                if author:
                    out.append(author)
            for group in groups:
                for email in group:
                    author = Author.objects.filter(email=email).first()
                    if author:
                        break
            return out
        """, select=["QL201"], path="shop/lookup.py", extra={"shop/__init__.py": "", "shop/models.py": _AUTHORS})
    assert [(c, ln) for c, ln, _ in found(res)] == [("QL201", 7), ("QL201", 12), ("QL201", 17)]
    # a search per group: one round trip per group at least, named by the outer loop
    assert found(res)[2][2].endswith("runs a query on every iteration of `for group in groups`")


# -- a collection of a closed set of choices --------------------------------------------------

_REQUESTS = """\
from enum import Enum
from typing import List, Literal


class Format(str, Enum):
    URL = "url"
    TABLE = "table"


class BaseRequest:
    formats: List[Literal["url", "ascii", "table"]] = ["url"]


class PreviewRequest(BaseRequest):
    chart_ids: list[int] = []
"""


def test_loop_over_a_closed_set_of_choices_is_bounded() -> None:
    res = lint("""\
        from typing import Literal, Optional

        from shop.models import Author
        from shop.requests import Format, PreviewRequest


        def preview(request: PreviewRequest, kinds: "list[Literal['a', 'b']]", fmts: Optional[set[Format]]):
            for fmt in request.formats:
                print(Author.objects.filter(name=fmt).count())
            for kind in kinds:
                print(Author.objects.filter(name=kind).count())
            for fmt in fmts:
                print(Author.objects.filter(name=fmt.value).count())
            for chart_id in request.chart_ids:
                print(Author.objects.filter(pk=chart_id).count())
        """, select=["QL201"], path="shop/preview.py",
        extra={"shop/__init__.py": "", "shop/models.py": _AUTHORS, "shop/requests.py": _REQUESTS})
    assert found(res) == [
        ("QL201", 15, "`Author.objects.filter(pk=chart_id).count()` runs a query on every iteration of `for chart_id in request.chart_ids`"),
    ]


def test_element_annotations() -> None:
    def el(src: str) -> str | None:
        e = loops.element_annotation(ast.parse(src, mode="eval").body)
        return ast.unparse(e) if e is not None else None

    assert el("list[Literal['a', 'b']]") == "Literal['a', 'b']" and el("'Sequence[Kind]'") == "Kind"
    assert el("Optional[set[Kind]]") == "Kind" and el("list[Kind] | None") == "Kind"
    assert el("dict[str, int]") is None and el("Kind") is None and el("tuple[int, str]") is None
    assert loops.is_few_literals(ast.parse("Literal['a', 'b']", mode="eval").body)
    assert not loops.is_few_literals(ast.parse("Literal[" + ", ".join(map(str, range(11))) + "]", mode="eval").body)


def test_a_string_annotation_that_is_no_expression_costs_nothing() -> None:
    # a NUL or a syntax error inside a string annotation: not an annotation, the walk goes on
    res = lint("""\
        from shop.models import Author


        def f(names: "list[\\\\x00]", other: "list[", ids: "list[int]"):
            x: "\\\\x00" = None
            for name in names:
                print(Author.objects.filter(name=name).count())
        """, select=["QL201"], path="shop/views.py",
        extra={"shop/__init__.py": "", "shop/models.py": _AUTHORS})
    assert res.project is not None and res.project.facts["python"].errors == []
    assert found(res) == [
        ("QL201", 7, "`Author.objects.filter(name=name).count()` runs a query on every iteration of `for name in names`"),
    ]
