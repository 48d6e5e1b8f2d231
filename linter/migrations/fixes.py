"""Text-edit fixes for Django and Alembic migrations (the migration-safety rules' quick fixes).

Plain text edits at exact offsets of the ``.py`` file, computed from the op's span (the
operation call): ``AddIndex`` -> ``AddIndexConcurrently`` with its import and ``atomic = False``,
and an Alembic call moved into ``autocommit_block()`` with ``postgresql_concurrently=True``.
A fix that makes a migration with other schema operations non-atomic is display-only: the
right fix there is to split the migration, which we show but never apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from querylint.diagnostics import Applicability, Edit, Fix
from querylint.migration import Migration, MigrationFramework, MigrationOp, OpKind

_CLASS = re.compile(r"^class\s+\w+\s*\([^)]*Migration[^)]*\)\s*:[ \t]*(#[^\n]*)?\n", re.MULTILINE)
_IMPORT = "from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently\n"
_INDENT = re.compile(r"[ \t]*")
_FINE_OUTSIDE_TRANSACTION = frozenset({OpKind.CREATE_INDEX, OpKind.DROP_INDEX, OpKind.SET, OpKind.RUN_SQL, OpKind.OTHER})


def _only_index_ops(migration: Migration) -> bool:
    return all(op.kind in _FINE_OUTSIDE_TRANSACTION for op in migration.ops)


#: what the fixes of every op of one migration share, computed once for its text: one search of
#: the whole file per op was quadratic in the number of ops (320 KB of AddIndex: 24 s). One entry
#: (the rules fix a migration's ops one after another); it holds the text and the migration, so
#: an identity match cannot be another object at a reused address.
_SHARED: list[tuple[str, Migration, dict[str, object]]] = []


def _shared(text: str, migration: Migration, key: str, compute: Callable[[], object]) -> object:
    if not (_SHARED and _SHARED[0][0] is text and _SHARED[0][1] is migration):
        _SHARED[:] = [(text, migration, {})]
    memo = _SHARED[0][2]
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def atomic_false_edit(text: str, migration: Migration) -> Edit | None:
    """``atomic = False`` as the first statement of the Migration class body.

    The edit replaces the class line's newline (not a zero-width insert), so two fixes that
    both add it overlap and the fixer applies only one per round.
    """
    m = _CLASS.search(text)
    if m is None:
        return None
    indent = _INDENT.match(text, m.end())
    pad = indent.group(0) if indent and indent.group(0) else "    "
    return Edit(migration.path, m.end() - 1, m.end(), f"\n{pad}atomic = False\n")


def _import_edit(text: str, path: str) -> Edit | None:
    """The concurrent operations' import after the module's last top-level import line."""
    cls = _CLASS.search(text)
    limit = cls.start() if cls else len(text)
    last = None
    for m in re.finditer(r"^(?:from\s+\S+\s+import\s+[^\n(]+|import\s+[^\n]+)\n", text[:limit], re.MULTILINE):
        last = m
    if last is None:
        return None
    return Edit(path, last.end() - 1, last.end(), "\n" + _IMPORT)


def django_concurrent_index_fix(text: str, migration: Migration, op: MigrationOp) -> Fix | None:
    """``AddIndex``/``RemoveIndex`` -> the ``...Concurrently`` operation, non-atomic migration."""
    if op.framework is not MigrationFramework.DJANGO:
        return None
    call = text[op.span.start : op.span.end]
    m = re.match(r"(?:migrations\.|operations\.)?(AddIndex|RemoveIndex)\b(?!Concurrently)", call)
    if m is None:
        return None
    edits = [Edit(op.span.path, op.span.start, op.span.start + m.end(), f"{m.group(1)}Concurrently")]
    name = f"{m.group(1)}Concurrently"
    imported = _shared(text, migration, name, lambda: re.search(
        rf"^from django\.contrib\.postgres\.operations import [^\n]*\b{name}\b", text, re.M) is not None)
    if not imported:
        imp = _shared(text, migration, "import", lambda: _import_edit(text, op.span.path))
        if imp is None:
            return None
        assert isinstance(imp, Edit)
        edits.append(imp)
    if migration.atomic:
        atomic = _shared(text, migration, "atomic", lambda: atomic_false_edit(text, migration))
        if atomic is None:
            return None
        assert isinstance(atomic, Edit)
        edits.append(atomic)
    only_index = _shared(text, migration, "only-index", lambda: _only_index_ops(migration))
    safe = Applicability.UNSAFE if only_index else Applicability.DISPLAY_ONLY
    return Fix(f"Use `{m.group(1)}Concurrently` in a non-atomic migration", tuple(edits), safe)


def django_non_atomic_fix(text: str, migration: Migration) -> Fix | None:
    """``atomic = False`` for a migration whose concurrent operations cannot run in a transaction."""
    if migration.framework is not MigrationFramework.DJANGO or not migration.atomic:
        return None
    edit = atomic_false_edit(text, migration)
    if edit is None:
        return None
    safe = Applicability.UNSAFE if _only_index_ops(migration) else Applicability.DISPLAY_ONLY
    return Fix("Set `atomic = False` on the migration", (edit,), safe)


def alembic_autocommit_fix(text: str, op: MigrationOp, *, add_concurrently: bool) -> Fix | None:
    """Move an ``op.create_index``/``op.drop_index`` (or ``op.execute``) statement into ``autocommit_block()``."""
    if op.framework is not MigrationFramework.ALEMBIC:
        return None
    call = text[op.span.start : op.span.end]
    m = re.match(r"op\.(create_index|drop_index|execute)\(", call)
    if m is None or not call.endswith(")"):
        return None
    if m.group(1) == "execute":
        add_concurrently = False  # the SQL says CONCURRENTLY itself
    line_start = text.rfind("\n", 0, op.span.start) + 1
    indent = text[line_start : op.span.start]
    if indent.strip():  # not a statement of its own (assigned, nested...): leave it to the user
        return None
    body = call
    if add_concurrently and "postgresql_concurrently" not in call:
        inner = call[:-1].rstrip()
        sep = "" if inner.endswith(",") else ","
        body = f"{inner}{sep} postgresql_concurrently=True)"
    body = body.replace("\n", "\n    ")
    replacement = f"with op.get_context().autocommit_block():\n{indent}    {body}"
    return Fix(
        "Run it in `autocommit_block()` with `postgresql_concurrently=True`",
        (Edit(op.span.path, op.span.start, op.span.end, replacement),),
        Applicability.UNSAFE,
    )
