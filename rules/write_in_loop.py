from __future__ import annotations

import ast
from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.python.facts import PATH_OPTIONS, EventKind, PythonFacts, skipped
from querylint.rule import Example, PythonContext, PythonRule
from querylint.source import RelatedSpan

_MODELS = """\
from django.db import models


class Tag(models.Model):
    name = models.CharField(max_length=50)
"""


class WriteInLoop(PythonRule):
    """A single-row write (`save()`, `create()`, `delete()`, an `INSERT`) runs once per iteration.

    ## Why is this bad?
    Every `obj.save()`, `Model.objects.create()`, `queryset.update()`, `session.commit()`
    or `cursor.execute("INSERT ...")` in a loop is its own round trip (and with autocommit its
    own transaction and WAL flush). Importing a thousand rows this way takes a thousand round
    trips where one bulk statement would do.

    ## Example
    ```python
    for name in names:
        Tag.objects.create(name=name)
    ```

    ## Use instead
    ```python
    Tag.objects.bulk_create([Tag(name=name) for name in names])
    ```
    `bulk_update(objs, fields)` for changed objects; SQLAlchemy
    `session.execute(insert(Tag), [{"name": n} for n in names])`; DB-API `executemany`.

    ## Options
    Test files, migrations and one-off scripts (Django management commands, `examples/`)
    are skipped: set `check-tests` / `check-migrations` / `check-scripts` to `true` to
    include them.

    ## References
    - [Django: bulk_create](https://docs.djangoproject.com/en/stable/ref/models/querysets/#bulk-create)
    - [SQLAlchemy: ORM bulk INSERT](https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html#orm-bulk-insert-statements)
    """

    code = "QL204"
    name = "write-in-loop"
    options = PATH_OPTIONS
    example_path = "shop/imports.py"

    VALID = [
        Example(
            """\
            def import_tags(cursor, names):
                cursor.executemany("INSERT INTO tags (name) VALUES (%s)", [(n,) for n in names])
                for table in ("tags", "labels"):
                    cursor.execute(f"ANALYZE {table}")
            """,
        ),
        Example(
            """\
            from shop.models import Tag


            def import_tags(names):
                Tag.objects.bulk_create([Tag(name=n) for n in names])
            """,
            files={"shop/models.py": _MODELS, "shop/__init__.py": ""},
        ),
    ]
    INVALID = [
        Example(
            """\
            def import_tags(cursor, names):
                for name in names:
                    cursor.execute("INSERT INTO tags (name) VALUES (%s)", [name])
            """,
            line=3,
            message='`cursor.execute(...)` writes one row per iteration of `for name in names`',
        ),
        Example(
            """\
            from shop.models import Tag


            def import_tags(names):
                for name in names:
                    Tag.objects.create(name=name)
            """,
            files={"shop/models.py": _MODELS, "shop/__init__.py": ""},
            line=6,
            message="`Tag.objects.create(name=name)` writes one row per iteration of `for name in names`",
        ),
    ]

    def visit_Module(self, node: ast.Module, ctx: PythonContext) -> Iterator[Diagnostic]:
        facts = ctx.project.facts.get("python")
        if not isinstance(facts, PythonFacts) or skipped(ctx.path, self.opts):
            return
        for ev in facts.events_in(ctx.path, EventKind.WRITE):
            if ev.loop is None or ev.loop.bounded:
                continue
            what = {"commit": "commits", "flush": "flushes", "insert": "runs an INSERT", "update": "runs an UPDATE", "delete": "runs a DELETE"}.get(ev.method, "writes one row")
            yield self.diagnostic(
                ev.span,
                f"`{ev.text}` {what} per iteration of `{ev.loop.description}`",
                help=ev.help or "Collect the rows and write them once after the loop with a bulk operation",
                related=[RelatedSpan(ev.loop.span, "the loop")],
                confidence=ev.confidence,
            )
