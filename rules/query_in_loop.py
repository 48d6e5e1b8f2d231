from __future__ import annotations

import ast
from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.python.facts import PATH_OPTIONS, EventKind, PythonFacts, skipped
from querylint.rule import Example, PythonContext, PythonRule
from querylint.source import RelatedSpan

_MODELS = """\
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
"""


class QueryInLoop(PythonRule):
    """A query runs once per loop iteration: one database round trip per row.

    ## Why is this bad?
    `.get()`, an evaluated `.filter(...)`, `.count()`, `.exists()`, `.first()`,
    `session.execute()` / `session.get()` or `cursor.execute()` inside a loop each cost a
    round trip to PostgreSQL. With a hundred rows that is a hundred queries where one would
    do; latency adds up linearly and the database spends its time parsing and planning the
    same statement. Loops over a literal handful of constants are not reported, nor a
    statement whose table changes with the loop (`f"SELECT ... FROM {table}"` per table):
    that is one statement per table, which no single query could replace. A loop over a
    queryset whose filters pin every column of a unique key (the primary key, `unique=True`,
    `unique_together`, or a short literal `__in` list for one of them) walks at most a few
    rows, and is not reported either; nor is a lookup whose first hit ends the loop
    (`entry = find(key)` then `if entry: break`): candidates tried in order of preference.
    A collection typed as a closed set of choices (`formats: list[Literal["url", "table"]]`,
    a list of an Enum) is bounded too.

    ## Example
    ```python
    for order in orders:
        customer = Customer.objects.get(pk=order.customer_id)
    ```

    ## Use instead
    ```python
    customers = Customer.objects.in_bulk({o.customer_id for o in orders})
    for order in orders:
        customer = customers[order.customer_id]
    ```
    With SQLAlchemy: `select(Customer).where(Customer.id.in_(ids))`; with SQL:
    `SELECT ... WHERE id = ANY(%s)`.

    ## Options
    Test files, migrations and one-off scripts (Django management commands, `examples/`)
    are skipped: set `check-tests` / `check-migrations` / `check-scripts` to `true` to
    include them.

    ## References
    - [Django: Database access optimization](https://docs.djangoproject.com/en/stable/topics/db/optimization/)
    - [SQLAlchemy: ColumnOperators.in_](https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.ColumnOperators.in_)
    """

    code = "QL201"
    name = "query-in-loop"
    options = PATH_OPTIONS
    example_path = "shop/views.py"

    VALID = [
        Example(
            """\
            from shop.models import Author, Book


            def titles(ids):
                authors = Author.objects.in_bulk(ids)
                for book in Book.objects.filter(author_id__in=ids):
                    print(authors[book.author_id].name)
                for kind in ("new", "old"):
                    print(Book.objects.filter(title=kind).count())
            """,
            files={"shop/models.py": _MODELS, "shop/__init__.py": ""},
        ),
    ]
    INVALID = [
        Example(
            """\
            def prices(conn, skus):
                with conn.cursor() as cursor:
                    for sku in skus:
                        cursor.execute("SELECT price FROM products WHERE sku = %s", [sku])
            """,
            line=4,
            message='`cursor.execute(...)` runs a query on every iteration of `for sku in skus`',
        ),
        Example(
            """\
            from shop.models import Author


            def names(books):
                for book in books:
                    author = Author.objects.get(pk=book.author_id)
                    print(author.name)
            """,
            files={"shop/models.py": _MODELS, "shop/__init__.py": ""},
            line=6,
            message="`Author.objects.get(pk=book.author_id)` runs a query on every iteration of `for book in books`",
        ),
    ]

    def visit_Module(self, node: ast.Module, ctx: PythonContext) -> Iterator[Diagnostic]:
        facts = ctx.project.facts.get("python")
        if not isinstance(facts, PythonFacts) or skipped(ctx.path, self.opts):
            return
        for ev in facts.events_in(ctx.path, EventKind.QUERY):
            if ev.loop is None or ev.loop.bounded or ev.self_relation is not None:
                continue
            yield self.diagnostic(
                ev.span,
                f"`{ev.text}` runs a query on every iteration of `{ev.loop.description}`",
                help=ev.help or "Run one query for all rows before the loop and look the results up in a dict",
                related=[RelatedSpan(ev.loop.span, "the loop")],
                confidence=ev.confidence,
            )
