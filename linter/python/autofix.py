"""Autofixes for N+1 findings: add the missing eager load to the queryset / select.

Edits are character-offset :class:`~querylint.diagnostics.Edit` s computed from the ``ast``
positions of the chain the analyzer followed, so they touch only the call they extend and
keep the user's formatting. They are ``Applicability.UNSAFE``: eager loading changes the
queries that run (a JOIN, or one more IN query) and the memory held.

* Django: extend an existing ``select_related(...)`` / ``prefetch_related(...)`` call of the
  chain with the new path, or insert ``.select_related("x")`` / ``.prefetch_related("x")``
  right after the manager (``Book.objects``), where it is valid whatever follows.
* SQLAlchemy: extend an existing ``.options(...)`` or insert
  ``.options(joinedload(Model.rel))`` (many-to-one) / ``selectinload`` (collections) right
  after ``select(Model)`` / ``session.query(Model)``, adding
  ``from sqlalchemy.orm import ...`` when the name is not imported yet.

:func:`check_fix` re-parses the edited module so a fix that would break the file is dropped
rather than offered (the tests also re-parse every fixed fixture with libcst).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from querylint.diagnostics import Applicability, Edit, Fix
from querylint.ir import Origin
from querylint.python.values import QuerySetVal

if TYPE_CHECKING:
    from querylint.python.analyzer import ModuleInfo


def eager_fix(mod: ModuleInfo, qs: QuerySetVal, path: str, *, collection: bool) -> Fix | None:
    if qs.origin is Origin.DJANGO:
        fix = _django(mod, qs, path, collection=collection)
    else:
        fix = _sqlalchemy(mod, qs, path, collection=collection)
    if fix is None or not check_fix(mod.source.text, fix):
        return None
    return fix


def _end(mod: ModuleInfo, node: ast.AST) -> int:
    return int(mod.offset(getattr(node, "end_lineno", 1) or 1, getattr(node, "end_col_offset", 0) or 0))


def _django(mod: ModuleInfo, qs: QuerySetVal, path: str, *, collection: bool) -> Fix | None:
    method = "prefetch_related" if collection else "select_related"
    for name, call in qs.steps:
        if name == method and call.args and not any(isinstance(a, ast.Starred) for a in call.args) and hasattr(call, "lineno"):
            edit = _append_arg(mod, call.args[-1], f'"{path}"')
            return Fix(f"Add \"{path}\" to {method}()", (edit,), Applicability.UNSAFE)
    if qs.root is None or not hasattr(qs.root, "lineno"):
        return None
    at = _end(mod, qs.root)
    edit = Edit(mod.path, at, at, f'.{method}("{path}")')
    return Fix(f"Add .{method}(\"{path}\") to the queryset", (edit,), Applicability.UNSAFE)


def _append_arg(mod: ModuleInfo, last: ast.expr, arg: str) -> Edit:
    """``arg`` after the call's ``last`` argument, in its layout: ``("a", "b")`` on one line,
    or one argument per line (with the trailing comma, if the call has one)."""
    text = mod.source.text
    start = int(mod.offset(last.lineno, last.col_offset))
    line_start = text.rfind("\n", 0, start) + 1
    at = _end(mod, last)
    if text[line_start:start].strip() or "\n" in text[start:at]:
        return Edit(mod.path, at, at, f", {arg}")
    indent = text[line_start:start]
    rest = len(text[at:]) - len(text[at:].lstrip(" \t"))
    if text[at + rest : at + rest + 1] == ",":
        comma = at + rest + 1
        return Edit(mod.path, comma, comma, f"\n{indent}{arg},")
    return Edit(mod.path, at, at, f",\n{indent}{arg}")


def _sqlalchemy(mod: ModuleInfo, qs: QuerySetVal, path: str, *, collection: bool) -> Fix | None:
    if "__" in path or qs.root is None or not hasattr(qs.root, "lineno"):
        return None
    loader = "selectinload" if collection else "joinedload"
    # the name under which the model is reachable here: as written in select(Model)
    root = qs.root
    if not isinstance(root, ast.Call) or not root.args:
        return None
    arg = mod.span(root.args[0])
    model_text = mod.source.text[arg.start : arg.end] or qs.model.class_name
    option = f"{loader}({model_text}.{path})"
    edits: list[Edit] = []
    existing = next((call for name, call in qs.steps if name == "options" and call.args and hasattr(call, "lineno")), None)
    if existing is not None:
        edits.append(_append_arg(mod, existing.args[-1], option))
    else:
        at = _end(mod, root)
        edits.append(Edit(mod.path, at, at, f".options({option})"))
    imp = _import_edit(mod, loader)
    if imp is not None:
        edits.append(imp)
    return Fix(f"Add .options({option}) to the query", tuple(edits), Applicability.UNSAFE)


def _import_edit(mod: ModuleInfo, name: str) -> Edit | None:
    if name in mod.imports:
        return None
    tree = mod.tree
    assert tree is not None  # a fix is made where the walk is, on a module with its tree
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy.orm" and not node.level:
            if any(a.name == "*" for a in node.names):
                return None
            last = node.names[-1]
            # after the last imported name (inside parentheses if any)
            text = mod.source.text
            start = mod.offset(node.lineno, node.col_offset)
            end = _end(mod, node)
            segment = text[start:end]
            alias = f"{last.name} as {last.asname}" if last.asname else last.name
            idx = segment.rfind(alias)
            if idx == -1:
                break
            at = start + idx + len(alias)
            return Edit(mod.path, at, at, f", {name}")
    last_import = None
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last_import = node
        elif last_import is not None:
            break
    # next to the module's other SQLAlchemy imports (isort's place), else after the imports
    sa_imports = [n for n in tree.body if (isinstance(n, ast.ImportFrom) and not n.level and (n.module or "").split(".")[0] == "sqlalchemy")
                  or (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "sqlalchemy" for a in n.names))]
    if sa_imports:
        last_import = sa_imports[-1]
    if last_import is not None:
        at = _end(mod, last_import)
        return Edit(mod.path, at, at, f"\nfrom sqlalchemy.orm import {name}")
    return Edit(mod.path, 0, 0, f"from sqlalchemy.orm import {name}\n")


def apply_edits(text: str, edits: tuple[Edit, ...] | list[Edit]) -> str:
    """Apply non-overlapping edits (used to validate a fix; the CLI has its own applier)."""
    out = text
    for e in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        out = out[: e.start] + e.replacement + out[e.end :]
    return out


def check_fix(text: str, fix: Fix) -> bool:
    """Does the module still parse after the fix? (``ast``: phase one must stay fast.)"""
    new = apply_edits(text, fix.edits)
    try:
        ast.parse(new)
    except (SyntaxError, ValueError):
        return False
    return True
