"""Add an index to a model's source with libcst: Django ``Meta.indexes``, SQLAlchemy ``__table_args__``.

Each function takes the module text and returns the edited text, or None when the class or
its existing declaration has a shape we cannot edit safely (then the advisor says so and the
user adds the line by hand). Formatting and comments elsewhere are preserved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _cst() -> Any:
    import libcst

    return libcst


def _append(lst: Any, expr: str) -> Any:
    cst = _cst()
    new_value = cst.parse_expression(expr)
    elements = list(lst.elements)
    if not elements:
        return lst.with_changes(elements=[cst.Element(new_value)])
    last = elements[-1]
    ws = lst.lbracket.whitespace_after if hasattr(lst, "lbracket") else lst.lpar[0].whitespace_after
    if isinstance(ws, cst.SimpleWhitespace):
        ws = cst.SimpleWhitespace(" ")
    last_comma = last.comma
    elements[-1] = last.with_changes(comma=cst.Comma(whitespace_after=ws))
    elements.append(cst.Element(new_value, comma=last_comma))
    return lst.with_changes(elements=elements)


def _find_class(module: Any, name: str) -> Any:
    cst = _cst()
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef) and stmt.name.value == name:
            return stmt
    return None


def _assign_value(stmt: Any, target: str) -> Any:
    cst = _cst()
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        node = stmt.body[0]
        if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name) and node.targets[0].target.value == target:
            return node.value
        if isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name) and node.target.value == target:
            return node.value
    return None


def _replace_assign_value(stmt: Any, value: Any) -> Any:
    node = stmt.body[0]
    return stmt.with_changes(body=[node.with_changes(value=value)])


def _add_imports(module: Any, imports: Sequence[tuple[str, str]]) -> Any:
    """``from <module> import <name>`` for each name the module does not bind yet."""
    cst = _cst()
    bound: set[str] = set()
    last_import = -1
    for i, stmt in enumerate(module.body):
        if isinstance(stmt, cst.SimpleStatementLine):
            for node in stmt.body:
                if isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
                    last_import = i
                    for alias in node.names:
                        bound.add(alias.evaluated_alias or alias.evaluated_name)
                elif isinstance(node, cst.Import):
                    last_import = i
                    for alias in node.names:
                        bound.add((alias.evaluated_alias or alias.evaluated_name).split(".")[0])
    new = [cst.parse_statement(f"from {mod} import {name}\n") for mod, name in imports if name not in bound]
    if not new:
        return module
    body = list(module.body)
    body[last_import + 1 : last_import + 1] = new
    return module.with_changes(body=body)


def add_django_index(text: str, class_name: str, index_expr: str, imports: Sequence[tuple[str, str]] = (), *, meta_base: str | None = None) -> str | None:
    """Append ``index_expr`` to ``class Meta: indexes = [...]`` of ``class_name`` (creating them)."""
    cst = _cst()
    try:
        module = cst.parse_module(text)
        cst.parse_expression(index_expr)  # the emitters build it from quoted parts; never splice broken code
    except Exception:
        return None
    cls = _find_class(module, class_name)
    if cls is None:
        return None
    body = list(cls.body.body)
    meta_i = next((i for i, s in enumerate(body) if isinstance(s, cst.ClassDef) and s.name.value == "Meta"), None)
    if meta_i is None:
        head = f"class Meta({meta_base}):" if meta_base else "class Meta:"
        meta = cst.parse_statement(f"{head}\n    indexes = [{index_expr}]\n")
        body.append(meta.with_changes(leading_lines=[cst.EmptyLine(indent=False)]))
    else:
        meta = body[meta_i]
        mbody = list(meta.body.body)
        idx_i = next((i for i, s in enumerate(mbody) if _assign_value(s, "indexes") is not None), None)
        if idx_i is None:
            mbody.append(cst.parse_statement(f"indexes = [{index_expr}]\n"))
        else:
            value = _assign_value(mbody[idx_i], "indexes")
            if not isinstance(value, (cst.List, cst.Tuple)) or (isinstance(value, cst.Tuple) and not value.lpar):
                return None  # ``indexes = base.indexes + [...]``: not ours to rewrite
            mbody[idx_i] = _replace_assign_value(mbody[idx_i], _append(value, index_expr))
        body[meta_i] = meta.with_changes(body=meta.body.with_changes(body=mbody))
    module = module.with_changes(body=[cls.with_changes(body=cls.body.with_changes(body=body)) if s is cls else s for s in module.body])
    module = _add_imports(module, imports)
    return str(module.code)


def add_sqlalchemy_index(text: str, class_name: str, index_expr: str, imports: Sequence[tuple[str, str]] = ()) -> str | None:
    """Add ``index_expr`` to ``__table_args__`` of ``class_name`` (tuple, dict or absent)."""
    cst = _cst()
    try:
        module = cst.parse_module(text)
        cst.parse_expression(index_expr)  # the emitters build it from quoted parts; never splice broken code
    except Exception:
        return None
    cls = _find_class(module, class_name)
    if cls is None:
        return None
    body = list(cls.body.body)
    ta_i = next((i for i, s in enumerate(body) if _assign_value(s, "__table_args__") is not None), None)
    if ta_i is None:
        pos = next((i + 1 for i, s in enumerate(body) if _assign_value(s, "__tablename__") is not None), len(body))
        body.insert(pos, cst.parse_statement(f"__table_args__ = ({index_expr},)\n"))
    else:
        value = _assign_value(body[ta_i], "__table_args__")
        if isinstance(value, cst.Dict):
            new = cst.parse_expression(f"({index_expr}, {cst.Module([]).code_for_node(value)})")
        elif isinstance(value, cst.Tuple) and value.lpar:
            elements = list(value.elements)
            if elements and isinstance(elements[-1].value, cst.Dict):
                tail = elements.pop()
                tmp = _append(value.with_changes(elements=elements), index_expr) if elements else value.with_changes(
                    elements=[cst.Element(cst.parse_expression(index_expr))])
                new = tmp.with_changes(elements=[*tmp.elements[:-1], tmp.elements[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), tail])
            else:
                new = _append(value, index_expr)
                last = new.elements[-1]
                if len(new.elements) == 1 and last.comma is cst.MaybeSentinel.DEFAULT:
                    new = new.with_changes(elements=[last.with_changes(comma=cst.Comma())])
        else:
            return None
        body[ta_i] = _replace_assign_value(body[ta_i], new)
    module = module.with_changes(body=[cls.with_changes(body=cls.body.with_changes(body=body)) if s is cls else s for s in module.body])
    module = _add_imports(module, imports)
    return str(module.code)


def module_alias(text: str, module_name: str) -> str | None:
    """The name ``module_name`` is imported as (``import sqlalchemy as sa`` -> ``sa``), if any."""
    import ast

    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == module_name:
                    return a.asname or a.name
    return None


def unified_diff(path: str, old: str, new: str) -> str:
    """The edit as a unified diff for the terminal, one physical line per line of the file.

    Lines are split on LF only (``splitlines`` also splits on CR, NEL, U+2028...), and what a
    line holds is escaped for a log read line by line: a lone CR, a ``##[`` or a context line
    starting with ``::`` would otherwise be a GitHub runner command
    (:mod:`querylint.reporters._escape`). ``--write`` writes the files themselves, unescaped.
    """
    import difflib
    import re

    from querylint.reporters._escape import line_text

    def lines(text: str) -> list[str]:
        return [x for x in re.split(r"(?<=\n)", text) if x]

    out = []
    for line in difflib.unified_diff(lines(old), lines(new), f"a/{path}", f"b/{path}"):
        body = line[:-1] if line.endswith("\n") else line
        eol = "\n" if line.endswith("\n") else ""
        if body.endswith("\r") and eol:
            body, eol = body[:-1], "\r\n"  # a CRLF file keeps its line ends
        out.append(line_text(body) + eol)
    return "".join(out)
