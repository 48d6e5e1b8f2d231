"""Dotted module paths of project files and resolution of imported names.

A file's module path is found by walking up from its folder while the folder is a package
(has ``__init__.py`` among the project's files or on disk); ``Imports`` maps the names a
module binds by ``import`` to dotted paths, so ``models.ForeignKey`` reads as
``django.db.models.ForeignKey`` wherever it was imported from.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Container


def module_path(path: str, is_package: Callable[[str], bool]) -> str:
    """``shop/orders/models.py`` -> ``orders.models`` when only ``orders/`` is a package."""
    norm = path.replace("\\", "/")
    parts = norm.split("/")
    name = parts[-1]
    for ext in (".pyi", ".py"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    mod = [] if name == "__init__" else [name]
    folders = parts[:-1]
    while folders and is_package("/".join(folders)):
        mod.insert(0, folders.pop())
    return ".".join(mod) if mod else (folders[-1] if folders else name)


def package_checker(files: Container[str], root: str | None = None) -> Callable[[str], bool]:
    """``is_package(folder)``: the folder holds an ``__init__.py`` (known file, else on disk)."""
    cache: dict[str, bool] = {}

    def is_package(folder: str) -> bool:
        if folder not in cache:
            init = folder + "/__init__.py"
            found = init in files
            if not found and root is not None:
                found = os.path.isfile(os.path.join(root, init))
            cache[folder] = found
        return cache[folder]

    return is_package


def is_package_module(path: str) -> bool:
    return path.replace("\\", "/").rsplit("/", 1)[-1] in ("__init__.py", "__init__.pyi")


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else ``None``."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


#: modules that re-export another one whole: a name read through them is the original's
#: (GeoDjango's ``django.contrib.gis.db.models`` is ``django.db.models`` plus the spatial fields)
_REEXPORTS = (("django.contrib.gis.db.models", "django.db.models"),)


def _canonical(path: str) -> str:
    for alias, real in _REEXPORTS:
        if path == alias or path.startswith(alias + "."):
            return real + path[len(alias):]
    return path


def gather_imports(tree: ast.Module, module: str, is_pkg: bool) -> dict[str, str]:
    """Module-level (and ``if TYPE_CHECKING:`` / ``try:``) imports: local name -> dotted path."""
    out: dict[str, str] = {}
    package = module if is_pkg else module.rpartition(".")[0]

    def visit(stmts: list[ast.stmt]) -> None:
        for st in stmts:
            if isinstance(st, ast.Import):
                for a in st.names:
                    if a.asname:
                        out[a.asname] = a.name
                    else:
                        head = a.name.split(".", 1)[0]
                        out.setdefault(head, head)
            elif isinstance(st, ast.ImportFrom):
                base = st.module or ""
                if st.level:
                    pkg = package.split(".") if package else []
                    up = st.level - 1
                    pkg = pkg[: len(pkg) - up] if up <= len(pkg) else []
                    base = ".".join([*pkg, *([base] if base else [])])
                for a in st.names:
                    if a.name == "*":
                        continue
                    out[a.asname or a.name] = f"{base}.{a.name}" if base else a.name
            elif isinstance(st, ast.If):
                visit(st.body)
                visit(st.orelse)
            elif isinstance(st, ast.Try):
                visit(st.body)
                for h in st.handlers:
                    visit(h.body)
                visit(st.orelse)

    visit(tree.body)
    return {name: _canonical(path) for name, path in out.items()}


def resolve_name(text: str, imports: dict[str, str], local: Container[str], module: str) -> str:
    """A dotted name as written -> its full dotted path (imports, then this module's classes)."""
    head, _, rest = text.partition(".")
    if head in imports:
        full = imports[head]
    elif head in local:
        full = f"{module}.{head}" if module else head
    else:
        return text
    return f"{full}.{rest}" if rest else full
