from __future__ import annotations

import ast
from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.python.facts import PATH_OPTIONS, EventKind, PythonFacts, skipped
from querylint.rule import Example, FixAvailability, PythonContext, PythonRule
from querylint.source import RelatedSpan

_MODELS = """\
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
"""


class NPlusOne(PythonRule):
    """A relation of the loop element loads lazily: one query per row (N+1).

    ## Why is this bad?
    `book.author` on a Django `ForeignKey`, `author.book_set.all()`, a `GenericForeignKey`,
    or a SQLAlchemy `relationship()` with the default `lazy="select"`, runs one query the
    first time it is touched on each object. Iterating 100 books and reading `book.author`
    runs 101 queries. `select_related` / `prefetch_related` (Django) or `joinedload` /
    `selectinload` (SQLAlchemy) load the relation with the rows in one or two queries.
    `.filter()` / `.order_by()` on a prefetched relation bypasses the prefetch cache and
    queries again. A column deferred by `only()` / `defer()` / `load_only()` also loads per
    row when read.

    ## Example
    ```python
    for book in Book.objects.all():
        print(book.author.name)
    ```

    ## Use instead
    ```python
    for book in Book.objects.select_related("author"):
        print(book.author.name)
    ```

    ## Fix safety
    The fix adds `.select_related(...)` / `.prefetch_related(...)` or
    `.options(joinedload(...))` / `selectinload(...)` to the queryset built in the same
    function. It is unsafe: it changes the SQL that runs (a JOIN or an extra IN query) and
    the memory the loop holds.

    ## Options
    Test files, migrations and one-off scripts (Django management commands, `examples/`)
    are skipped: set `check-tests` / `check-migrations` / `check-scripts` to `true` to
    include them.

    ## References
    - [Django: select_related](https://docs.djangoproject.com/en/stable/ref/models/querysets/#select-related)
    - [Django: prefetch_related](https://docs.djangoproject.com/en/stable/ref/models/querysets/#prefetch-related)
    - [SQLAlchemy: relationship loading techniques](https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html)
    """

    code = "QL202"
    name = "n-plus-one"
    options = PATH_OPTIONS
    fix_availability = FixAvailability.SOMETIMES
    example_path = "shop/views.py"

    VALID = [
        Example(
            """\
            from shop.models import Book


            def titles():
                for book in Book.objects.select_related("author"):
                    print(book.title, book.author.name, book.author_id)
            """,
            files={"shop/models.py": _MODELS, "shop/__init__.py": ""},
        ),
    ]
    INVALID = [
        Example(
            """\
            from shop.models import Book


            def titles():
                for book in Book.objects.all():
                    print(book.author.name)
            """,
            files={"shop/models.py": _MODELS, "shop/__init__.py": ""},
            line=6,
            message='`book.author` lazily loads `Author` once per book: the queryset iterated at line 5 has no select_related("author")',
            fixed="""\
            from shop.models import Book


            def titles():
                for book in Book.objects.select_related("author").all():
                    print(book.author.name)
            """,
        ),
    ]

    def visit_Module(self, node: ast.Module, ctx: PythonContext) -> Iterator[Diagnostic]:
        facts = ctx.project.facts.get("python")
        if not isinstance(facts, PythonFacts) or skipped(ctx.path, self.opts):
            return
        for ev in facts.events_in(ctx.path, EventKind.LAZY):
            if ev.loop is None or ev.loop.bounded or ev.relation is None:
                continue
            reason = ev.reason
            if ev.param is not None:
                # the rows come from a parameter: report only when a caller passes a
                # queryset built without the eager load (else the caller may well have it)
                call = facts.uneager_caller(ev.function, ev.param, ev.relation, fk=ev.method == "fk")
                if call is None:
                    continue
                src = ctx.project.source(call.span.path)
                line = src.line_of(call.span.start) if src is not None else 0
                eager_fn = "prefetch_related" if ev.method in ("collection", "bypass") else "select_related"
                reason = f"`{call.text}` at {call.span.path}:{line} passes a queryset without {eager_fn}(\"{ev.relation}\")"
            dotted = f"{ev.element}.{ev.relation.replace('__', '.')}"
            target = f"`{ev.target_model}`" if ev.target_model else "the related object"
            if ev.method == "deferred":
                message = f"`{dotted}` is a deferred column and loads once per {ev.element}: {reason}"
            elif ev.method in ("collection", "bypass"):
                message = f"`{ev.text}` queries {target} once per {ev.element}: {reason}"
            else:
                message = f"`{dotted}` lazily loads {target} once per {ev.element}: {reason}"
            yield self.diagnostic(
                ev.span,
                message,
                help=ev.fix_help or None,
                related=[RelatedSpan(span, label) for span, label in ev.related],
                fix=ev.fix,
                confidence=ev.confidence,
            )
