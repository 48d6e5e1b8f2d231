"""Alembic: one new revision (``down_revision`` = the current head) plus ``__table_args__`` edits.

The revision creates the indexes inside ``op.get_context().autocommit_block()`` with
``postgresql_concurrently=True`` (``CREATE INDEX CONCURRENTLY`` cannot run in the migration's
transaction), and its ``downgrade()`` drops them the same way. The revision id is derived from
the content and the head, so rerunning ``advise`` gives the same file.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from querylint.advise.emit_django import EmitResult, Output, _read
from querylint.advise.model_edit import add_sqlalchemy_index, module_alias
from querylint.advise.plan import IndexPlan, checked_sql
from querylint.advise.quoting import py_comment, py_docstring_text, py_str, quote_ident
from querylint.migration import MigrationFramework

if TYPE_CHECKING:
    from querylint.project import ProjectIndex


def heads(project: ProjectIndex) -> list[str]:
    migs = [m for m in project.migrations if m.framework is MigrationFramework.ALEMBIC and m.revision]
    revs = {m.revision for m in migs if m.revision}
    downs = {d for m in migs for d in m.down_revision}
    return sorted(r for r in revs if r not in downs)


def versions_dir(project: ProjectIndex, head: str | None) -> str | None:
    for m in project.migrations:
        if m.framework is MigrationFramework.ALEMBIC and (head is None or m.revision == head):
            return str(os.path.dirname(m.path))
    return None


def _columns(p: IndexPlan, text_fn: str) -> str:
    """The index's keys for ``op.create_index`` / ``Index``: column names as strings (SQLAlchemy
    quotes them), anything else as ``text()`` whose column is quoted here (the plan's whole
    statement was checked by :func:`querylint.advise.plan.checked_sql`)."""
    parts: list[str] = []
    for k in p.keys:
        if k.column is not None and not k.descending and k.nulls_first is None and not k.opclass:
            parts.append(py_str(k.column))
        else:
            text = (quote_ident(k.column) if k.column is not None else f"{k.expression}")
            if k.opclass:
                text += f" {k.opclass}"
            if k.descending:
                text += " DESC"
            if k.nulls_first is not None and k.nulls_first != k.descending:
                text += " NULLS FIRST" if k.nulls_first else " NULLS LAST"
            parts.append(f"{text_fn}({py_str(text)})")
    return ", ".join(parts)


def _kwargs(p: IndexPlan, text_fn: str) -> list[str]:
    out: list[str] = []
    if p.predicate:
        out.append(f"postgresql_where={text_fn}({py_str(p.predicate)})")
    if p.include:
        out.append("postgresql_include=[" + ", ".join(py_str(c) for c in p.include) + "]")
    return out


def find_sqlalchemy_model(project: ProjectIndex, table: str) -> tuple[str, str] | None:
    """(models path, class name) of the declarative class whose ``__tablename__`` is ``table``."""
    for model in project.models.models.values():
        if model.framework.value == "sqlalchemy" and model.table.lower() == table.lower():
            return model.path, model.class_name
    for path, pf in sorted(project.files.items()):
        if not path.endswith(".py") or pf.tree is None or "__tablename__" not in pf.source.text:
            continue
        for node in pf.tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__tablename__" for t in stmt.targets)
                        and isinstance(stmt.value, ast.Constant) and stmt.value.value == table):
                    return path, node.name
    return None


def emit_alembic(project: ProjectIndex, plans: Sequence[IndexPlan], *, message: str = "querylint indexes") -> EmitResult:
    result = EmitResult()
    hs = heads(project)
    if len(hs) > 1:
        result.skipped.append(f"several Alembic heads ({', '.join(hs)}); run `alembic merge heads` first")
        return result
    head = hs[0] if hs else None
    folder = versions_dir(project, head)
    if folder is None:
        result.skipped.append("no Alembic versions folder found")
        return result
    unchecked = [p for p in plans if checked_sql(p) is None]
    for p in unchecked:
        keys = ", ".join(k.text for k in p.keys)
        result.skipped.append(f"{p.table} ({keys}): its SQL does not stay one CREATE INDEX statement; write this index by hand")
    plans = [p for p in plans if p not in unchecked]
    if not plans:
        return result
    digest = hashlib.sha1((str(head) + "|" + "|".join(p.name for p in plans)).encode()).hexdigest()[:12]
    up: list[str] = []
    down: list[str] = []
    for p in plans:
        up.append(f"        {py_comment(f'{p.table}: {p.reason}')}")
        kw = ", ".join([*_kwargs(p, "sa.text"), "postgresql_concurrently=True", "if_not_exists=True"])
        up.append(f'        op.create_index({py_str(p.name)}, {py_str(p.table)}, [{_columns(p, "sa.text")}], unique=False, {kw})')
        down.append(f"        op.drop_index({py_str(p.name)}, table_name={py_str(p.table)}, postgresql_concurrently=True, if_exists=True)")
    text = "\n".join([
        f'"""{py_docstring_text(message)}',
        "",
        f"Revision ID: {digest}",
        f"Revises: {py_docstring_text(head or '')}",
        "Generated by querylint advise.",
        '"""',
        "",
        "import sqlalchemy as sa",
        "from alembic import op",
        "",
        f'revision = "{digest}"',
        f"down_revision = {py_str(head) if head is not None else 'None'}",
        "branch_labels = None",
        "depends_on = None",
        "",
        "",
        "def upgrade() -> None:",
        "    # CREATE INDEX CONCURRENTLY cannot run inside the migration's transaction.",
        "    with op.get_context().autocommit_block():",
        "        op.execute(\"SET lock_timeout = '5s'\")",
        *up,
        "",
        "",
        "def downgrade() -> None:",
        "    with op.get_context().autocommit_block():",
        "        op.execute(\"SET lock_timeout = '5s'\")",
        *reversed(down),
        "",
    ])
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")
    result.files.append(Output(os.path.join(folder, f"{digest}_{slug}.py"), text))
    edits: dict[str, tuple[str, str]] = {}
    for p in plans:
        found = find_sqlalchemy_model(project, p.table)
        if found is None:
            continue
        path, cls = found
        old, cur = edits.get(path, (None, None))
        if cur is None:
            cur = _read(project, path)
            old = cur
        if cur is None:
            continue
        alias = module_alias(cur, "sqlalchemy")
        prefix = alias + "." if alias else ""
        args = [py_str(p.name), _columns(p, prefix + "text"), *_kwargs(p, prefix + "text")]
        imports: list[tuple[str, str]] = []
        if not alias:
            imports = [("sqlalchemy", "Index")] + ([("sqlalchemy", "text")] if any("text(" in a for a in args) else [])
        expr = f"{prefix}Index({', '.join(args)})"
        new = add_sqlalchemy_index(cur, cls, expr, imports)
        if new is None:
            result.skipped.append(f"{path}: add {expr} to {cls}.__table_args__ by hand")
            continue
        edits[path] = (old or cur, new)
    for path, (old, new) in sorted(edits.items()):
        result.files.append(Output(path, new, old))
    return result
