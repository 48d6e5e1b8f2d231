"""Query sites, loops and calls inside each function, read from the stdlib ``ast``.

One :class:`FunctionWalker` per function walks the statements in order, binding names to
abstract values (:mod:`querylint.python.values`): querysets and selects with their eager
loads, model instances and the loop they are the element of, sessions, cursors. Along the
way it records :class:`~querylint.python.facts.Event` s (a query, a lazy load, a write, a call
into the project) with the innermost unbounded loop, and a :class:`~querylint.ir.Query` per
evaluated ORM queryset. The analysis is deliberately optimistic about eager loading: when a
branch adds ``select_related`` the name keeps it, so precision wins over recall.
"""

from __future__ import annotations

import ast
import gc
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from querylint.astwalk import body_fields as _body_fields
from querylint.astwalk import child_nodes
from querylint.astwalk import statements as _statements
from querylint.diagnostics import Confidence
from querylint.ir import LoopRef, Op, Origin, Predicate, Query, QueryKind, ValueKind
from querylint.models import Framework, Model, Relation, RelationKind
from querylint.project import ProjectIndex
from querylint.python import loops, queries_dbapi, queries_django, queries_sqlalchemy
from querylint.python.facts import Event, EventKind, FunctionSummary, PythonFacts
from querylint.python.values import (
    Bound,
    ColumnAttr,
    Cursor,
    Instance,
    ListOf,
    LoaderOption,
    ModelClass,
    QuerySetVal,
    Session,
    Via,
    Wrapped,
)
from querylint.slotstate import fast_pickle
from querylint.source import SourceFile, Span

if TYPE_CHECKING:
    from querylint.config import Config
    from querylint.python.split import Partner

FuncNode = ast.FunctionDef | ast.AsyncFunctionDef

_EVALUATORS = frozenset({"list", "tuple", "set", "sorted", "len", "bool", "sum", "any", "all", "dict", "frozenset", "max", "min"})
_PASSTHROUGH = frozenset({"list", "tuple", "sorted", "reversed", "iter", "set", "frozenset"})
#: related-manager methods answered from a prefetch_related cache
_CACHE_HITS = frozenset({"all", "count", "exists", "iter", "len", "bool", "list"})
_CACHE_DECORATORS = ("cache", "memoize", "lru_cache")


@lru_cache(maxsize=8192)  # a project's paths: asked for once per model per call site
def module_name(path: str) -> str:
    p = path[:-3] if path.endswith(".py") else path
    parts = [x for x in p.replace("\\", "/").split("/") if x]
    if parts and parts[-1] == "__init__":
        parts.pop()
    if len(parts) > 2 and parts[0] == "src":
        parts.pop(0)  # the src layout: ``src/oscar/apps/x.py`` is the module ``oscar.apps.x``
    return ".".join(parts)


@dataclass
class ClassInfo:
    qualname: str
    node: ast.ClassDef | ClassStub
    module: ModuleInfo
    bases: list[str]  # qualified (best effort) base names
    model: Model | None = None
    methods: dict[str, str] = field(default_factory=dict)  # name -> function qualname
    properties: set[str] = field(default_factory=set)


@dataclass
class ModuleInfo:
    path: str
    name: str
    source: SourceFile
    tree: ast.Module | None  # None: a stub (the module was parsed by another process)
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted target
    #: module-level ``Product = get_model("catalogue", "Product")`` (django-oscar, apps.get_model)
    model_aliases: dict[str, str] = field(default_factory=dict)
    db_module: bool = False
    #: name -> what it holds when no assignment in the function bound it (see FunctionWalker.name)
    free_names: dict[str, object] = field(default_factory=dict)

    def offset(self, lineno: int, col: int) -> int:
        return self.source.offset_from_ast(lineno, col)

    def span(self, node: ast.AST | ClassStub | FuncStub) -> Span:
        lineno = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        start = self.offset(lineno, col)
        end_l = getattr(node, "end_lineno", None) or lineno
        end_c = getattr(node, "end_col_offset", None)
        end = self.offset(end_l, end_c) if end_c is not None else start
        return Span(self.path, start, max(start, end))


# -- stubs: what the analysis reads of a module another process parsed ----------------------
#
# A tree cannot travel between processes cheaply (unpickling one costs more than parsing it),
# so when half of the project is parsed and walked by a forked partner (``querylint.python.split``)
# each side gets the other half's modules as stubs: their imports, top-level functions and
# classes, with no bodies. Walking a function reads other modules only through names (methods,
# bases), a class body's field annotations, the source text of classes and of QuerySet and
# Manager methods, and the ``return self.<chain>`` body of those methods: the stubs keep exactly
# that, so both sides build the same index (tests/test_split.py compares them).


@fast_pickle
@dataclass(slots=True)
class FuncStub:
    """A function or method of a module this process did not parse: its name and position."""
    name: str
    lineno: int
    col_offset: int
    end_lineno: int | None
    end_col_offset: int | None


@fast_pickle
@dataclass(slots=True)
class ClassStub:
    """A top-level class of a module this process did not parse."""
    name: str
    lineno: int
    col_offset: int
    end_lineno: int | None
    end_col_offset: int | None
    bases: list[str]
    #: ``attr: T`` of the class body (``ast.AnnAssign`` without value), in body order
    body: list[ast.stmt]
    #: (name, is a property, the method) in body order: the whole method for QuerySet and
    #: Manager classes (their ``return self.<chain>`` bodies are followed), else a FuncStub
    methods: list[tuple[str, bool, FuncNode | FuncStub]]


@fast_pickle
@dataclass(slots=True)
class ModuleStub:
    imports: dict[str, str]
    model_aliases: dict[str, str]
    db_module: bool
    #: top-level functions and classes in body order
    items: list[FuncStub | ClassStub]


def _func_stub(node: FuncNode) -> FuncStub:
    return FuncStub(node.name, node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)


def _is_qs_class(name: str) -> bool:
    return name.endswith("QuerySet") or name.endswith("Manager")


def module_info(source: SourceFile, tree: ast.Module) -> ModuleInfo:
    """A parsed module with its imports and model aliases (what :meth:`Analysis.index` reads
    of it before its functions and classes)."""
    mod = ModuleInfo(source.path, module_name(source.path), source, tree)
    Analysis._imports(mod)
    Analysis._aliases(mod)
    return mod


def stub_of(mod: ModuleInfo) -> ModuleStub:
    """The stub of a module indexed from its tree."""
    assert mod.tree is not None
    items: list[FuncStub | ClassStub] = []
    for node in mod.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            items.append(_func_stub(node))
        elif isinstance(node, ast.ClassDef):
            qs = _is_qs_class(node.name)
            body: list[ast.stmt] = [ast.AnnAssign(target=ast.Name(id=st.target.id), annotation=st.annotation, simple=1)
                                    for st in node.body if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)]
            methods: list[tuple[str, bool, FuncNode | FuncStub]] = [
                (name, prop, fn if qs else _func_stub(fn)) for name, prop, fn in _methods(node)]
            items.append(ClassStub(node.name, node.lineno, node.col_offset, node.end_lineno, node.end_col_offset,
                                   _bases(node, mod), body, methods))
    return ModuleStub(mod.imports, mod.model_aliases, mod.db_module, items)


def _bases(node: ast.ClassDef, mod: ModuleInfo) -> list[str]:
    """The class's bases, qualified (best effort): ``ClassInfo.bases``."""
    return [b for b in (Analysis._dotted(x, mod) for x in node.bases) if b]


def _methods(node: ast.ClassDef) -> list[tuple[str, bool, FuncNode]]:
    """(name, is a property, the method) of the class body, in body order."""
    return [(item.name, _is_property(item), item) for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _is_property(item: FuncNode) -> bool:
    return any(_decorator_name(d) in ("property", "cached_property") for d in item.decorator_list)


def unread_test(config: Config | None) -> Callable[[str], bool]:
    """Whether the walk leaves out the functions of the module at a path (:meth:`Analysis.jobs`):
    a test module, when no rule has ``check-tests`` on."""
    from querylint.indexing import is_test_path as index_test_path
    from querylint.python.facts import is_test_path

    if config is None or any(opts.get("check-tests") for opts in config.rule_options.values()):
        return lambda path: False
    return lambda path: is_test_path(path) and index_test_path(path)


class Analysis:
    """Project-wide: modules, classes, functions; runs one walker per function."""

    def __init__(self, project: ProjectIndex) -> None:
        self.project = project
        self.registry = project.models
        self.facts = PythonFacts()
        self.modules: dict[str, ModuleInfo] = {}
        self.classes: dict[str, ClassInfo] = {}
        self.functions: dict[str, tuple[FuncNode | FuncStub, ModuleInfo, ClassInfo | None]] = {}
        self._suffix_cache: dict[str, str | None] = {}
        self._custom_manager_cache: dict[str, bool] = {}
        self._suffixes: dict[str, list[str]] | None = None
        self._qs_methods: dict[str, bool | None] = {}
        self._by_class: dict[str, list[Model]] | None = None
        self._resolved: dict[tuple[str, str | None], Model | None] = {}
        self._classes_by_name: dict[str, list[ClassInfo]] | None = None
        self._qs_classes: list[ClassInfo] | None = None
        self._methods_found: dict[tuple[int, str], tuple[str, bool] | None] = {}
        self._method_steps: dict[str, tuple[tuple[str, ast.Call], ...] | None] = {}
        self._unique_keys: dict[str, list[tuple[str, ...]]] = {}

    # -- phase: index --------------------------------------------------------------------
    def index(self, stubs: Mapping[str, ModuleStub] | None = None, order: Iterable[str] | None = None,
              sources: Mapping[str, SourceFile] | None = None, infos: Mapping[str, ModuleInfo] | None = None) -> None:
        """Modules, classes and functions of the project, in file order (``order``, else the
        project's files). A path in ``stubs`` is read from its stub (its ``source`` from
        ``sources``, else the project's file); the others from their trees, by way of their
        :func:`module_info` when ``infos`` has it already."""
        files = self.project.files
        for path in order if order is not None else files:
            if not path.endswith(".py"):
                continue
            stub = stubs.get(path) if stubs else None
            if stub is not None:
                source = sources[path] if sources is not None else files[path].source
                self._add_stub(path, source, stub)
                continue
            mod = infos.get(path) if infos else None
            if mod is None:
                pf = files.get(path)
                if pf is None or pf.tree is None:
                    continue
                mod = module_info(pf.source, pf.tree)
            self._add_module(mod)

    def _add_module(self, mod: ModuleInfo) -> None:
        """:meth:`index` of one module from its tree."""
        assert mod.tree is not None
        self.modules[mod.path] = mod
        for node in mod.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[f"{mod.name}.{node.name}"] = (node, mod, None)
            elif isinstance(node, ast.ClassDef):
                self._add_class(mod, node, _bases(node, mod), _methods(node))

    def adopt(self, path: str, tree: ast.Module, jobs: list[_Job], indices: list[int]) -> list[_Job]:
        """A module indexed from its stub, indexed again from ``tree`` (parsed here to take over
        its walk from the process that has it): the jobs ``indices`` of ``jobs`` (its jobs), with
        its functions' nodes. The index holds the same names either way; only the tree is new."""
        self._add_module(module_info(self.modules[path].source, tree))
        return [(qual, *self.functions[qual]) if qual else ("", None, self.modules[path], None)
                for qual, _node, _mod, _cls in (jobs[i] for i in indices)]

    def _add_stub(self, path: str, source: SourceFile, stub: ModuleStub) -> None:
        """:meth:`index` of one module from its stub: the same modules, classes and functions,
        in the same order, as its tree gives."""
        mod = ModuleInfo(path, module_name(path), source, None, dict(stub.imports), dict(stub.model_aliases), stub.db_module)
        self.modules[path] = mod
        for item in stub.items:
            if isinstance(item, FuncStub):
                self.functions[f"{mod.name}.{item.name}"] = (item, mod, None)
                continue
            self._add_class(mod, item, list(item.bases), item.methods)

    @staticmethod
    def _imports(mod: ModuleInfo) -> None:
        assert mod.tree is not None
        pkg = mod.name if mod.path.endswith("__init__.py") else mod.name.rpartition(".")[0]
        for node in _statements(mod.tree.body):
            if isinstance(node, ast.Import):
                for a in node.names:
                    mod.imports[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
                    if a.name.split(".")[0] in ("sqlalchemy", "psycopg", "psycopg2", "sqlite3", "asyncpg"):
                        mod.db_module = True
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".") if pkg else []
                    if node.level > 1:
                        parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                if any(base == m or base.startswith(m + ".") for m in queries_dbapi.DB_MODULES):
                    mod.db_module = True
                for a in node.names:
                    mod.imports[a.asname or a.name] = f"{base}.{a.name}" if base else a.name

    @staticmethod
    def _aliases(mod: ModuleInfo) -> None:
        assert mod.tree is not None
        for node in mod.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                call = node.value
                if isinstance(call, ast.Call) and loops.last_name(call.func) == "get_model" and len(call.args) == 2:
                    app, cls = (_str(a) for a in call.args)
                    if app and cls:
                        mod.model_aliases[node.targets[0].id] = f"{app}.{cls}"

    def _add_class(self, mod: ModuleInfo, node: ast.ClassDef | ClassStub, bases: list[str],
                   methods: Iterable[tuple[str, bool, FuncNode | FuncStub]]) -> None:
        """A top-level class, from its tree or its stub, and its methods."""
        qual = f"{mod.name}.{node.name}"
        model = next((m for m in self.by_class_name(node.name) if m.path == mod.path), None)
        info = ClassInfo(qual, node, mod, bases, model)
        for name, is_property, fn in methods:
            fq = f"{qual}.{name}"
            info.methods[name] = fq
            self.functions[fq] = (fn, mod, info)
            if is_property:
                info.properties.add(name)
        self.classes[qual] = info

    @staticmethod
    def _dotted(node: ast.expr, mod: ModuleInfo) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in mod.imports:
                return mod.imports[node.id]
            return f"{mod.name}.{node.id}"
        if isinstance(node, ast.Attribute):
            left = Analysis._dotted(node.value, mod)
            return f"{left}.{node.attr}" if left else None
        return None

    def resolve(self, dotted: str) -> str | None:
        """A function / class qualname for an import target, tolerating a ``src.`` prefix."""
        if dotted in self.functions or dotted in self.classes:
            return dotted
        if dotted in self._suffix_cache:
            return self._suffix_cache[dotted]
        if self._suffixes is None:
            # every proper dotted suffix of every qualname, built once (``a.b.c`` -> ``b.c``, ``c``)
            self._suffixes = {}
            for q in (*self.functions, *self.classes):
                parts = q.split(".")
                for i in range(1, len(parts)):
                    self._suffixes.setdefault(".".join(parts[i:]), []).append(q)
        found = self._suffixes.get(dotted, [])
        out = found[0] if len(found) == 1 else None
        self._suffix_cache[dotted] = out
        return out

    def class_for_model(self, model: Model) -> ClassInfo | None:
        return self.classes.get(f"{module_name(model.path)}.{model.class_name}")

    def find_method(self, cls: ClassInfo | None, name: str, depth: int = 0) -> tuple[str, bool] | None:
        """(qualname, is_property) of ``name`` on ``cls`` or its project bases."""
        if cls is None or depth > 5:
            return None
        if depth == 0:
            # the classes are all known once the walk starts: one lookup per class and name
            key = (id(cls), name)
            if key in self._methods_found:
                return self._methods_found[key]
            found = self._find_method(cls, name, 0)
            self._methods_found[key] = found
            return found
        return self._find_method(cls, name, depth)

    def _find_method(self, cls: ClassInfo, name: str, depth: int) -> tuple[str, bool] | None:
        if name in cls.methods:
            return cls.methods[name], name in cls.properties
        for b in cls.bases:
            q = self.resolve(b)
            if q is not None and q in self.classes:
                r = self.find_method(self.classes[q], name, depth + 1)
                if r is not None:
                    return r
        return None

    def resolve_model(self, name: str, *, from_app: str | None = None) -> Model | None:
        key = (name, from_app)
        if key not in self._resolved:
            self._resolved[key] = self.registry.resolve(name, from_app=from_app)
        return self._resolved[key]

    def by_class_name(self, name: str) -> list[Model]:
        if self._by_class is None:
            self._by_class = {}
            for m in self.registry.models.values():
                self._by_class.setdefault(m.class_name, []).append(m)
        return self._by_class.get(name, [])

    def model_for_name(self, name: str, mod: ModuleInfo) -> Model | None:
        if name in mod.model_aliases:
            app, _, cls = mod.model_aliases[name].partition(".")
            return self.resolve_model(cls, from_app=app)
        if name in mod.imports:
            return self.model_for_target(mod.imports[name])
        for m in self.by_class_name(name):
            if m.path == mod.path:
                return m
        return None

    def model_for_target(self, target: str, *, exact: bool = False) -> Model | None:
        """The model a dotted import target names (``shop.models.Order``), if any; the one
        model of that class name when no module matches, unless ``exact``."""
        cands = self.by_class_name(target.rsplit(".", 1)[-1])
        if not cands:
            return None
        tmod = target.rpartition(".")[0]
        for m in cands:
            if m.module == tmod or module_name(m.path) == tmod or module_name(m.path).endswith("." + tmod) or tmod.endswith("." + m.module):
                return m
        return cands[0] if len(cands) == 1 and not exact else None

    def custom_manager_eager(self, manager_class: str) -> bool:
        """Does a custom manager / queryset class add eager loads (select_related in its body)?"""
        if manager_class in self._custom_manager_cache:
            return self._custom_manager_cache[manager_class]
        names = {n for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", manager_class) if n[0].isupper()}
        names |= {n.replace("Manager", "QuerySet") for n in names}
        result = False
        if self._classes_by_name is None:
            self._classes_by_name = {}
            for c in self.classes.values():
                self._classes_by_name.setdefault(c.node.name, []).append(c)
        for n in names:
            for cls in self._classes_by_name.get(n, ()):
                text = _segment(cls.module, cls.node)
                if "select_related" in text or "prefetch_related" in text:
                    result = True
        self._custom_manager_cache[manager_class] = result
        return result

    def queryset_method(self, name: str) -> bool | None:
        """None if no project QuerySet/Manager class defines ``name``; else whether it eager-loads."""
        if name in self._qs_methods:
            return self._qs_methods[name]
        found: bool | None = None
        if self._qs_classes is None:
            self._qs_classes = [c for c in self.classes.values() if _is_qs_class(c.node.name)]
        for cls in self._qs_classes:
            if name in cls.methods:
                fn = self.functions[cls.methods[name]][0]
                text = _segment(cls.module, fn)
                found = bool(found) or "select_related" in text or "prefetch_related" in text
        self._qs_methods[name] = found
        return found

    def queryset_method_steps(self, name: str, depth: int = 0) -> tuple[tuple[str, ast.Call], ...] | None:
        """The steps a custom QuerySet / Manager method adds to ``self`` when its whole body is
        one ``return self.<chain>`` (``def by_value(self, v): return self.filter(hash=v)``),
        custom methods in the chain expanded too; None when it does anything else, or when
        several classes define it differently."""
        if depth == 0 and name in self._method_steps:
            return self._method_steps[name]
        if self._qs_classes is None:
            self._qs_classes = [c for c in self.classes.values() if _is_qs_class(c.node.name)]
        found: tuple[tuple[str, ast.Call], ...] | None = None
        for cls in self._qs_classes:
            if name not in cls.methods:
                continue
            fn = self.functions[cls.methods[name]][0]
            steps = self._chain_on_self(fn, depth) if depth < 3 and not isinstance(fn, FuncStub) else None
            if steps is None or (found is not None and [n for n, _ in found] != [n for n, _ in steps]):
                found = None
                break
            found = steps
        if depth == 0:
            self._method_steps[name] = found
        return found

    def _chain_on_self(self, fn: FuncNode, depth: int) -> tuple[tuple[str, ast.Call], ...] | None:
        body = [st for st in fn.body if not (isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant))]
        if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
            return None
        calls: list[tuple[str, ast.Call]] = []
        node: ast.expr = body[0].value
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            calls.append((node.func.attr, node))
            node = node.func.value
        if not (isinstance(node, ast.Name) and node.id == "self") or not calls:
            return None
        out: list[tuple[str, ast.Call]] = []
        for meth, call in reversed(calls):
            if meth in queries_django.CHAIN or (meth == "get_queryset" and not out):
                out.append((meth, call))
                continue
            inner = self.queryset_method_steps(meth, depth + 1)
            if inner is None:
                return None
            out.extend(inner)
        return tuple(out)

    def unique_keys(self, table: str) -> list[tuple[str, ...]]:
        """The column lists of ``table``'s unique indexes that hold for every row (primary key,
        ``unique=True``, unique_together, a UniqueConstraint without a condition)."""
        if table not in self._unique_keys:
            t = self.project.schema.table(table)
            keys: list[tuple[str, ...]] = []
            for ix in t.indexes if t is not None else ():
                cols = ix.columns
                if (ix.unique or ix.primary) and ix.predicate is None and cols and all(c is not None for c in cols):
                    keys.append(tuple(c for c in cols if c is not None))
            self._unique_keys[table] = keys
        return self._unique_keys[table]

    # -- phase: walk ---------------------------------------------------------------------
    def jobs(self) -> list[_Job]:
        """What the walk does: every function, then every module's top level (test modules
        left out, see :meth:`_unread_paths`)."""
        unread = self._unread_paths()
        jobs: list[_Job] = [(qual, node, mod, cls) for qual, (node, mod, cls) in self.functions.items() if mod.path not in unread]
        jobs += [("", None, mod, None) for mod in self.modules.values() if mod.path not in unread]
        return jobs

    @staticmethod
    def units(jobs: list[_Job], here: bool) -> list[list[int]]:
        """The jobs of each module whose tree is here (``here``), or is not, by module: largest
        first (the smallest are left to the end, where the other process may take them over)."""
        by_path: dict[str, list[int]] = {}
        for i, job in enumerate(jobs):
            if (job[2].tree is not None) == here:
                by_path.setdefault(job[2].path, []).append(i)
        return sorted(by_path.values(), key=len, reverse=True)

    def run(self) -> None:
        self.index()
        jobs = self.jobs()
        self._apply(jobs, _walk_parallel(self, jobs))

    def run_split(self, partner: Partner) -> bool:
        """:meth:`run` with the partner process walking its half (see ``querylint.python.split``).
        False when the partner failed: nothing was applied, the caller runs a whole analysis."""
        self.index(stubs=partner.stubs, infos=partner.infos)
        jobs = self.jobs()
        records: dict[int, _Record] = partner.walk(self, jobs)
        theirs = partner.records()
        if theirs is None or len(theirs) + len(records) != len(jobs):
            return False
        records.update(theirs)
        self._apply(jobs, records)
        if partner.record_chunks is not None:
            self.facts.made_of(partner.record_chunks)
        return True

    def _apply(self, jobs: list[_Job], records: dict[int, _Record]) -> None:
        # applied in the order of the jobs, wherever they ran: the facts are the same as one
        # process walking them one after the other
        facts = self.facts
        for i, job in enumerate(jobs):
            rec = records.get(i)
            if rec is None:
                rec = self.walk(job)
            path, events, queries, summary, error = rec
            facts.add(path, events, summary, error)
            if error is None:
                self.project.queries.extend(queries)

    def _unread_paths(self) -> frozenset[str]:
        """Test modules whose function bodies nothing reads: every QL2xx rule skips tests unless
        its ``check-tests`` option is on, and the index rules ignore queries in tests. Their
        classes and functions stay in the index (names still resolve); only the walk is saved,
        two thirds of it on a project like wagtail. A file counts as a test only when both
        test-path tests agree (the N+1 rules' and the index rules')."""
        unread = unread_test(self.project.config)
        return frozenset(p for p in self.modules if unread(p))

    def walk(self, job: _Job) -> _Record:
        """One function (or a module's top level) walked; its facts, not yet applied."""
        qual, node, mod, cls = job
        assert not isinstance(node, FuncStub), "a stub's function is walked where its tree is"
        # one function the analysis cannot follow must not cost the rest of the project its
        # findings: the error is kept in ``facts.errors`` (shown by --verbose runs and tests)
        try:
            w = FunctionWalker(self, mod, node, cls, qual)
            summary = w.run()
        except Exception as exc:
            where = qual if node is not None else f"{mod.path} (module level)"
            return mod.path, [], [], None, f"{where}: {type(exc).__name__}: {exc}"
        return mod.path, w.events, w.queries, summary, None


#: (qualname, function node or None for a module's top level, module, class)
_Job = tuple[str, "FuncNode | FuncStub | None", ModuleInfo, "ClassInfo | None"]
#: (path, events, queries, function summary, error)
_Record = tuple[str, list[Event], list[Query], "FunctionSummary | None", "str | None"]

#: processes walking functions besides this one: None = one per further CPU (at most 3), 0 = none
WORKERS: int | None = None
#: below this many functions and modules everything is walked here: a fork and the pickled
#: facts would cost more than they save
PARALLEL_MIN_JOBS = 4000

#: what a forked worker walks: the parent's analysis, inherited (never pickled)
_FORKED: tuple[Analysis, list[_Job]] | None = None


def _walk_share(indices: list[int]) -> list[tuple[int, _Record]]:
    assert _FORKED is not None
    analysis, jobs = _FORKED
    return [(i, analysis.walk(jobs[i])) for i in indices]


def _walk_parallel(analysis: Analysis, jobs: list[_Job]) -> dict[int, _Record]:
    """The records of the jobs that forked workers walked (the rest is walked by the caller).

    The trees cannot go to a worker (unpickling one costs more than parsing it), so workers are
    forked once the trees and the index exist and inherit them; only their records come back.
    Any failure leaves the jobs to this process."""
    global _FORKED
    if WORKERS is not None:
        workers = WORKERS
    else:
        from querylint.parallel import available_cpus

        workers = min(available_cpus() - 1, 3)
    if workers <= 0 or len(jobs) < PARALLEL_MIN_JOBS or threading.active_count() > 1:
        return {}  # forking a process with other threads running can deadlock the child
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return {}
    # the largest jobs first, each to the least loaded process; workers count a bit heavier
    # (their records are pickled, and they start later)
    size = [(n.end_lineno or n.lineno) - n.lineno + 1 if n is not None else len(m.tree.body if m.tree is not None else ()) for _q, n, m, _c in jobs]
    load = [0.0] * (workers + 1)
    shares: list[list[int]] = [[] for _ in range(workers + 1)]
    for i in sorted(range(len(jobs)), key=lambda i: -size[i]):
        k = min(range(workers + 1), key=lambda k: load[k])
        shares[k].append(i)
        load[k] += size[i] * (1.0 if k == 0 else 1.4)
    out: dict[int, _Record] = {}
    _FORKED = (analysis, jobs)
    try:
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(_walk_share, sorted(share)) for share in shares[1:] if share]
            for i in sorted(shares[0]):
                out[i] = analysis.walk(jobs[i])
            for fut in futures:
                try:
                    out.update(fut.result())
                except Exception:
                    pass  # a worker that failed: its jobs are walked here
    except Exception:
        pass  # no processes here (sandbox, no /dev/shm...): the caller walks what is missing
    finally:
        _FORKED = None
    return out


#: an UPDATE / DELETE statement (or a Core ``insert(t)``, maybe multi-row) per iteration: QL204
#: names the statement, and the help how to batch it
_WRITE_METHOD = {"UPDATE": "update", "DELETE": "delete"}
_WRITE_HELP = {
    "UPDATE": "Update all rows in one statement (`WHERE id = ANY(...)` / `.where(t.c.id.in_(ids))`), or send the parameter sets at once (executemany)",
    "DELETE": "Delete all rows in one statement: `WHERE id = ANY(...)` / `.where(t.c.id.in_(ids))`",
}


#: steps on a related manager that make it query again instead of reading the prefetch cache
_REFETCH = frozenset({"filter", "exclude", "order_by", "annotate", "values", "values_list", "distinct", "select_related", "only", "defer", "prefetch_related", "aggregate"})


def _pinned(src: QuerySetVal, column: str) -> bool:
    """The query keeps only rows whose ``column`` equals one value (``filter(T.col == x)``,
    ``filter_by(col=x)``, also inside ``and_``)."""
    for name, call in src.steps:
        if name == "filter_by" and any(k.arg == column for k in call.keywords):
            return True
        if name not in ("filter", "where"):
            continue
        conds = list(call.args)
        while conds:
            c = conds.pop()
            if isinstance(c, ast.Call) and isinstance(c.func, (ast.Name, ast.Attribute)) and (c.func.id if isinstance(c.func, ast.Name) else c.func.attr) == "and_":
                conds.extend(c.args)
            elif (isinstance(c, ast.Compare) and len(c.ops) == 1 and isinstance(c.ops[0], ast.Eq)
                  and any(isinstance(side, ast.Attribute) and side.attr == column for side in (c.left, c.comparators[0]))):
                return True
    return False


def _few_literal(node: ast.AST | None) -> bool:
    """``[a, b]`` / ``(a,)`` / ``{a}`` written out, with at most a few items."""
    return isinstance(node, (ast.List, ast.Tuple, ast.Set)) and len(node.elts) <= loops.MAX_BOUNDED_ITEMS and not any(isinstance(e, ast.Starred) for e in node.elts)


def _catches_integrity_error(handler: ast.ExceptHandler) -> bool:
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type] if handler.type is not None else []
    return any(loops.last_name(t) == "IntegrityError" for t in types)


def _class_like(node: ast.expr) -> bool:
    """``User`` / ``models.User``: what ``Session.get`` takes first (a dict's ``get`` takes a key)."""
    name = loops.last_name(node)
    return name[:1].isupper() and not name.isupper()


def _segment(mod: ModuleInfo, node: ast.AST | ClassStub | FuncStub) -> str:
    """The source text of ``node`` (``ast.get_source_segment`` re-splits the file every call)."""
    span = mod.span(node)
    return str(mod.source.text[span.start : span.end])


def _decorator_name(d: ast.expr) -> str:
    if isinstance(d, ast.Call):
        d = d.func
    if isinstance(d, ast.Attribute):
        return d.attr
    if isinstance(d, ast.Name):
        return d.id
    return ""


@dataclass
class _Loop:
    id: int
    ref: LoopRef
    bounded: bool
    #: ``while`` loops mostly walk levels of a tree, pages or batches, where one query per
    #: round is the design: they are tracked (elements, nesting) but never reported
    is_while: bool = False
    added: bool = False  # session.add()/add_all()/merge() ran in this loop's body
    target_names: frozenset[str] = frozenset()  # names bound by the loop target
    node: ast.AST | None = None
    _varying: frozenset[str] | None = None
    #: assignments whose hit ends the loop (see loops.search_steps)
    searches: frozenset[int] = frozenset()

    def varying(self) -> frozenset[str]:
        """Names that change with each iteration (worked out on first use: rarely needed)."""
        if self._varying is None:
            self._varying = loops.varying_names(self.node) if self.node is not None else self.target_names
        return self._varying


class FunctionWalker:
    def __init__(self, analysis: Analysis, mod: ModuleInfo, func: FuncNode | None, cls: ClassInfo | None, qualname: str) -> None:
        self.a = analysis
        self.mod = mod
        self.func = func
        self.cls = cls
        self.qualname = qualname
        self._exit_memo: dict[int, bool] = {}  # _exits of this walk's statements
        self.env: dict[str, object] = {}
        self.loops: list[_Loop] = []
        self.cond = 0
        self.events: list[Event] = []
        self.queries: list[Query] = []
        self.seen_lazy: set[tuple[int, str]] = set()
        self.exiting = False  # evaluating a ``return``: the loop ends here, nothing repeats
        #: inside ``if n % batch == 0:`` or ``try: ... except IntegrityError:``: a flush there
        #: is a batch boundary or a per-row conflict check, on purpose
        self.deliberate = 0
        self.params: dict[str, int] = {}  # positional parameter -> its position in a call
        self._single_assignments: dict[str, ast.expr | None] = {}  # see _assigned
        self._local_names: set[str] | None = None  # see _is_local

    # -- entry ---------------------------------------------------------------------------
    def run(self) -> FunctionSummary | None:
        """Walk the body: ``self.events`` and ``self.queries``; the function's summary (None for
        a module's top level, and for a function with no event: no query, write or call)."""
        if self.func is None:
            assert self.mod.tree is not None, "a module is walked where its tree is"
            body = [s for s in self.mod.tree.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        else:
            self._bind_params(self.func)
            body = self.func.body
        self.block(body)
        if self.func is None or not self.events:  # nothing a caller could reach through it
            return None
        cached = any(any(c in _decorator_name(d).lower() for c in _CACHE_DECORATORS) for d in self.func.decorator_list)
        return FunctionSummary(self.qualname, self.mod.path, self.mod.span(self.func), cached, self.events)

    def _bind_params(self, func: FuncNode) -> None:
        positional = [*func.args.posonlyargs, *func.args.args]
        args = [*positional, *func.args.kwonlyargs]
        shift = 0
        for i, arg in enumerate(args):
            if i == 0 and self.cls is not None and arg.arg in ("self", "cls"):
                shift = 1
                if self.cls.model is not None and arg.arg == "self":
                    self.env["self"] = Instance(self.cls.model, is_self=True)
                continue
            if i < len(positional):
                self.params[arg.arg] = i - shift
            if arg.annotation is not None:
                v = self.annotation(arg.annotation, arg.arg)
                if isinstance(v, Instance) and i < len(positional):
                    v = replace(v, param=i - shift)
                elif isinstance(v, ListOf) and i < len(positional):
                    v = replace(v, param=i - shift)
                if v is not None:
                    self.env[arg.arg] = v
            elif queries_sqlalchemy.is_session_name(arg.arg):
                self.env[arg.arg] = Session()

    def annotation(self, ann: ast.expr, name: str) -> object:
        parsed = loops.unquoted(ann)
        if parsed is None:
            return None
        ann = parsed
        if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):  # X | None
            return self.annotation(ann.left, name) or self.annotation(ann.right, name)
        if isinstance(ann, ast.Subscript):
            head = loops.last_name(ann.value)
            inner = ann.slice
            if head == "Optional":
                return self.annotation(inner, name)
            if head in ("QuerySet", "list", "List", "Iterable", "Sequence", "Iterator", "Collection", "set", "tuple") and not isinstance(inner, ast.Tuple):
                el = self.annotation(inner, name)
                if isinstance(el, Instance):
                    return ListOf(replace(el, confidence=Confidence.MEDIUM))
            return None
        n = loops.last_name(ann)
        if n in queries_sqlalchemy.SESSION_ANNOTATIONS:
            return Session()
        if n and isinstance(ann, ast.Name):
            m = self.a.model_for_name(n, self.mod)
            if m is not None:
                return Instance(m, confidence=Confidence.MEDIUM, element=name)
        return None

    # -- helpers -------------------------------------------------------------------------
    def loop_id(self) -> int | None:
        return self.loops[-1].id if self.loops else None

    def unbounded_loop(self, upto: int | None = None) -> LoopRef | None:
        """Innermost unbounded loop, among loops up to (and including) loop id ``upto``."""
        if self.exiting:
            return None
        stack = self.loops
        if upto is not None:
            ids = [lp.id for lp in stack]
            if upto not in ids:
                return None
            stack = stack[: ids.index(upto) + 1]
        for lp in reversed(stack):
            if not lp.bounded and not lp.is_while:
                return lp.ref
        return None

    def _innermost_unbounded(self) -> _Loop | None:
        return next((lp for lp in reversed(self.loops) if not lp.bounded and not lp.is_while), None)

    def _assigned(self, arg: ast.expr | None) -> ast.expr | None:
        """What a local name passed as a statement was assigned (when assigned once)."""
        if isinstance(arg, ast.Name) and self.func is not None:
            if arg.id not in self._single_assignments:
                assigned = [a.value for a in ast.walk(self.func) if isinstance(a, ast.Assign) and len(a.targets) == 1
                            and isinstance(a.targets[0], ast.Name) and a.targets[0].id == arg.id]
                self._single_assignments[arg.id] = assigned[0] if len(assigned) == 1 else None
            return self._single_assignments[arg.id] or arg
        return arg

    def statement_tables(self, arg: ast.expr | None) -> tuple[bool, int | None]:
        """(the table of the statement ``execute`` gets changes with each iteration of the loop,
        the parameter of this function that names the table): ``f"... FROM {table}"`` or
        ``child.update()`` with ``table`` / ``child`` varying per iteration or a parameter."""
        arg = self._assigned(arg)
        if arg is None:
            return False, None
        tables = queries_dbapi.interpolated_tables(arg)
        core = queries_sqlalchemy.dml_table(arg)
        if core is not None:
            tables.append(core)
        if not tables:
            return False, None
        lp = self._innermost_unbounded()
        varying = lp is not None and loops.per_table(tables, lp.varying())
        names = {n.id for t in tables for n in ast.walk(t) if isinstance(n, ast.Name)}
        param = next((self.params[n] for n in sorted(names) if n in self.params), None)
        return varying, param

    def text(self, node: ast.AST, limit: int = 60, span: Span | None = None) -> str:
        """The expression as the user wrote it (whitespace collapsed), shortened; ``span`` is
        ``node``'s, when the caller has it already."""
        if span is None:
            span = self.mod.span(node)
        t = " ".join(self.mod.source.text[span.start : span.end].split())
        if len(t) > limit and isinstance(node, ast.Call):
            t = " ".join(_segment(self.mod, node.func).split()) + "(...)"
        if len(t) > limit:
            t = t[: limit - 3] + "..."
        return t.replace("( ", "(").replace(" )", ")").replace(", )", ")").replace(" .", ".")

    def emit(self, kind: EventKind, node: ast.AST, loop: LoopRef | None, **kw: Any) -> Event:
        span = self.mod.span(node)
        ev = Event(
            kind=kind,
            span=span,
            text=self.text(node, span=span),
            loop=loop,
            conditional=self.cond > 0 or bool(self.loops),
            function=self.qualname,
            **kw,
        )
        self.events.append(ev)
        return ev

    def record_query(self, qs: QuerySetVal, node: ast.AST, *, kind: QueryKind = QueryKind.SELECT, terminal: str | None = None, call: ast.Call | None = None, loop: LoopRef | None = None) -> None:
        span = self.mod.span(node)
        try:
            if qs.origin is Origin.DJANGO:
                q = queries_django.build_query(
                    qs, self.a.registry, span, kind=kind, terminal=terminal, terminal_call=call,
                    evaluated_at=span, loop=loop, span_of=self.mod.span, description=self.text(node, 80, span),
                )
            else:
                q = queries_sqlalchemy.build_query(
                    qs, span, kind=kind, evaluated_at=span, loop=loop, description=self.text(node, 80, span), registry=self.a.registry,
                    model_of=lambda n: v.model if isinstance(n, ast.Name) and isinstance(v := self.name(n), ModelClass) else None,
                    span_of=self.mod.span, terminal=terminal, terminal_call=call,
                )
        except (KeyError, ValueError, AttributeError):
            return
        self.queries.append(q)

    def few_rows(self, qs: QuerySetVal) -> bool:
        """At most a handful of rows: the filters pin every column of a unique key, each to one
        value or to a short literal list (``by_value(v).filter(type__in=[A, R])`` with
        unique_together (type, hash)). A loop over them is bounded like a loop over a literal."""
        steps: list[tuple[str, ast.Call]] = []
        for name, call in qs.steps:
            if name in ("union", "none", "difference"):
                return False
            if qs.origin is Origin.DJANGO and name not in queries_django.CHAIN and name != "subscript":
                inner = self.a.queryset_method_steps(name)  # ``Token.objects.by_value(v)``
                if inner is None:
                    return False  # a custom method we cannot see through may return other rows
                steps.extend(inner)
            else:
                steps.append((name, call))
        if not steps:
            return False
        # the Query here is only read, never recorded: its spans stand for the nodes they came from
        nodes: dict[int, ast.AST] = {}

        def span_of(n: ast.AST) -> Span:
            nodes[id(n)] = n
            return Span("", id(n), id(n))

        probe = replace(qs, steps=tuple(steps))
        try:
            if qs.origin is Origin.DJANGO:
                q = queries_django.build_query(probe, self.a.registry, Span("", 0, 0), evaluated_at=None, loop=None, span_of=span_of, description="")
            else:
                q = queries_sqlalchemy.build_query(
                    probe, Span("", 0, 0), kind=QueryKind.SELECT, evaluated_at=None, loop=None, description="", registry=self.a.registry,
                    model_of=lambda n: v.model if isinstance(n, ast.Name) and isinstance(v := self.name(n), ModelClass) else None,
                    span_of=span_of,
                )
        except (KeyError, ValueError, AttributeError):
            return False
        table = q.main_table
        if table is None:
            return False
        pinned = {p.column for p in q.predicates if p.table == table and p.expression is None and self._pins(p, nodes)}
        return any(set(key) <= pinned for key in self.a.unique_keys(table))

    def closed_choices(self, iterable: ast.expr) -> bool:
        """A collection whose type says its items come from a closed set of a few values:
        ``formats: list[Literal["url", "table"]]`` (a parameter, or a field of the parameter's
        class: ``request.formats``), or a list of an Enum. One query per choice is bounded."""
        ann: ast.expr | None = None
        if isinstance(iterable, ast.Name):
            ann = self._param_annotation(iterable.id)
        elif isinstance(iterable, ast.Attribute) and isinstance(iterable.value, ast.Name):
            owner = self._param_annotation(iterable.value.id)
            cls = self._class_of(owner) if owner is not None else None
            ann = self._field_annotation(cls, iterable.attr) if cls is not None else None
        el = loops.element_annotation(ann)
        if el is None:
            return False
        if loops.is_few_literals(el):
            return True
        cls = self._class_of(el)
        return cls is not None and self._is_enum(cls)

    def _param_annotation(self, name: str) -> ast.expr | None:
        if self.func is None:
            return None
        a = self.func.args
        return next((p.annotation for p in (*a.posonlyargs, *a.args, *a.kwonlyargs) if p.arg == name), None)

    def _class_of(self, ann: ast.expr) -> ClassInfo | None:
        parsed = loops.unquoted(ann)
        if not isinstance(parsed, (ast.Name, ast.Attribute)):
            return None
        dotted = self.a._dotted(parsed, self.mod)
        qual = self.a.resolve(dotted) if dotted else None
        return self.a.classes.get(qual) if qual else None

    def _field_annotation(self, cls: ClassInfo, attr: str, depth: int = 0) -> ast.expr | None:
        """The annotation of ``attr: T = ...`` in the class body (or a project base's)."""
        for st in cls.node.body:
            if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name) and st.target.id == attr:
                return st.annotation
        for b in cls.bases if depth < 5 else ():
            q = self.a.resolve(b)
            if q is not None and q in self.a.classes:
                found = self._field_annotation(self.a.classes[q], attr, depth + 1)
                if found is not None:
                    return found
        return None

    def _is_enum(self, cls: ClassInfo, depth: int = 0) -> bool:
        for b in cls.bases:
            last = b.rsplit(".", 1)[-1]
            if last.endswith("Enum") or last in ("Choices", "TextChoices", "IntegerChoices", "Flag", "IntFlag"):
                return True
            q = self.a.resolve(b)
            if depth < 5 and q is not None and q in self.a.classes and self._is_enum(self.a.classes[q], depth + 1):
                return True
        return False

    def _pins(self, p: Predicate, nodes: dict[int, ast.AST]) -> bool:
        """``col = value`` (not another column), or ``col IN`` a literal list of a few items."""
        if p.op is Op.EQ:
            return p.value.kind is not ValueKind.COLUMN
        if p.op is not Op.IN or p.span is None:
            return False
        node = nodes.get(p.span.start)
        value = node.value if isinstance(node, ast.keyword) else node.args[0] if isinstance(node, ast.Call) and len(node.args) == 1 else None
        if isinstance(value, ast.Name) and self.func is not None:
            # ``types = [Token.Type.ACCESS_TOKEN]`` in each branch, then ``type__in=types``
            found = [a.value for a in ast.walk(self.func) if isinstance(a, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                     and any(isinstance(t, ast.Name) and t.id == value.id for t in (a.targets if isinstance(a, ast.Assign) else [a.target]))]
            return bool(found) and all(_few_literal(v) for v in found) and value.id not in self.params
        return _few_literal(value)

    # -- statements ----------------------------------------------------------------------
    def block(self, stmts: list[ast.stmt]) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, s: ast.stmt) -> None:
        if type(s) is ast.Expr:  # the commonest statement: a bare call
            self.expr(s.value)
        elif isinstance(s, ast.Assign):
            search = self.loops[-1] if self.loops and id(s) in self.loops[-1].searches else None
            if search is not None:
                # a lookup whose first hit ends the loop: candidates tried in order of
                # preference, not one round trip per row (an outer loop still counts)
                search.bounded = True
            try:
                v = self.expr(s.value)
            finally:
                if search is not None:
                    search.bounded = False
            for t in s.targets:
                self.bind(t, v)
        elif isinstance(s, ast.AnnAssign):
            v = self.expr(s.value) if s.value is not None else None
            if v is None and isinstance(s.target, ast.Name):
                v = self.annotation(s.annotation, s.target.id)
            self.bind(s.target, v)
        elif isinstance(s, ast.AugAssign):
            self.expr(s.value)
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            it = self.expr(s.iter)
            self.iterate(it, s.iter, s)
            lp = self.push_loop(s, s.iter, it)
            self.bind(s.target, self.element(it, s.target, lp.id))
            self.block(s.body)
            self.loops.pop()
            self.cond += 1
            self.block(s.orelse)
            self.cond -= 1
        elif isinstance(s, ast.While):
            lp = self.push_loop(s, None)
            self.cond += 1
            self.expr(s.test)
            self.block(s.body)
            self.cond -= 1
            self.loops.pop()
            del lp
            self.block(s.orelse)
        elif isinstance(s, ast.If):
            self.expr(s.test)
            self.cond += 1
            # `if i % 100 == 0:` inside a loop: work done every n-th iteration (outside any
            # loop there is no iteration to count)
            every_nth = bool(self.loops) and _has_modulo(s.test)
            self.deliberate += every_nth
            self.block(s.body)
            self.deliberate -= every_nth
            self.block(s.orelse)
            if not _exits(s, self._exit_memo):
                self.cond -= 1  # after an early return/raise the rest is conditional too
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                v = self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, v)
            self.block(s.body)
        elif isinstance(s, ast.Try) or type(s).__name__ == "TryStar":
            conflict = any(_catches_integrity_error(h) for h in s.handlers)  # type: ignore[attr-defined]
            self.deliberate += conflict
            self.block(s.body)  # type: ignore[attr-defined]
            self.deliberate -= conflict
            self.cond += 1
            for h in s.handlers:  # type: ignore[attr-defined]
                self.block(h.body)
            self.block(s.orelse)  # type: ignore[attr-defined]
            self.cond -= 1
            self.block(s.finalbody)  # type: ignore[attr-defined]
        elif isinstance(s, ast.Return):
            if s.value is not None:
                self.exiting = bool(self.loops)
                try:
                    v = self.expr(s.value)
                finally:
                    self.exiting = False
                if isinstance(v, QuerySetVal) and v.built_here and not v.statement and not v.evaluated and v.via is None:
                    self.record_query(v, s.value)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return
        elif isinstance(s, ast.Match):
            self.expr(s.subject)
            self.cond += 1
            for case in s.cases:
                self.block(case.body)
            self.cond -= 1
        else:
            self._children(s)

    def push_loop(self, node: ast.AST, iterable: ast.expr | None, value: object = None) -> _Loop:
        target = getattr(node, "target", None)
        bounded = iterable is not None and (loops.is_bounded(iterable) or loops.is_configured_few(iterable, target) or loops.is_batched(iterable, target))
        if not bounded and isinstance(value, QuerySetVal) and value.rows != "other" and not value.statement:
            bounded = self.few_rows(value)
        if not bounded and iterable is not None and value is None:
            bounded = self.closed_choices(iterable)
        names = frozenset(loops.name_ids(target)) if target is not None else frozenset()
        lp = _Loop(id(node), loops.loop_ref(node, self.mod.path, self.mod.offset, bounded=bounded), bounded,
                   isinstance(node, ast.While), target_names=names, node=node,
                   searches=loops.search_steps(node) if not bounded else frozenset())
        self.loops.append(lp)
        return lp

    def bind(self, target: ast.expr, value: object) -> None:
        if isinstance(target, ast.Name):
            if value is None:
                self.env.pop(target.id, None)
            else:
                self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items: tuple[object, ...] = ()
            if isinstance(value, Wrapped):
                items = value.items
            for i, t in enumerate(target.elts):
                self.bind(t, items[i] if i < len(items) else None)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, None)

    # -- iteration -----------------------------------------------------------------------
    def iterate(self, it: object, node: ast.expr, loop_node: ast.AST) -> None:
        """Iterating a queryset runs it: a query per outer iteration if built inside the loop."""
        if isinstance(it, Wrapped):
            for x in it.items:
                self.iterate(x, node, loop_node)
            return
        if isinstance(it, ListOf) and isinstance(it.element, Instance) is False:
            return
        if isinstance(it, QuerySetVal) and not it.statement and not it.evaluated:
            self.evaluate(it, node, "iter")

    def element(self, it: object, target: ast.expr, loop_id: int) -> object:
        name = target.id if isinstance(target, ast.Name) else ""
        if isinstance(it, Wrapped):
            items = tuple(self.element(x, target.elts[i] if isinstance(target, ast.Tuple) and i < len(target.elts) else target, loop_id) for i, x in enumerate(it.items))
            return Wrapped(items)
        if isinstance(it, QuerySetVal) and it.rows == "instances" and not it.statement:
            if it.via is not None and it.origin is Origin.DJANGO:
                # the elements of a related collection: a loop nested in a per-row loop
                owner = it.via.owner
                rel_path = f"{owner.path}__{it.via.relation}" if owner.path else it.via.relation
                refetched = any(n in _REFETCH for n, _ in it.steps)  # .filter() etc. bypass the prefetch
                src = it if it.built_here else self._nested_source(owner, rel_path, it.model, extra=it.eager, keep=not refetched)
                return Instance(it.model, source=src, element=name, loop_id=loop_id, confidence=owner.confidence, path="")
            if it.custom_manager:
                return None
            return Instance(it.model, source=it, element=name, loop_id=loop_id,
                            confidence=Confidence.HIGH if it.built_here else Confidence.MEDIUM)
        if isinstance(it, ListOf) and isinstance(it.element, Instance):
            el = it.element
            return replace(el, element=name, loop_id=loop_id, path="", is_self=False, param=None, from_param=it.param)
        return None

    # -- evaluation of querysets -----------------------------------------------------------
    def evaluate(self, qs: QuerySetVal, node: ast.AST, how: str) -> None:
        """``qs`` runs at ``node`` (iteration, list(), len(), bool(), indexing)."""
        if qs.via is not None:
            self.relation_query(qs, node, how)
            return
        loop = self.unbounded_loop(qs.loop_id) if qs.loop_id is not None else None
        self.record_query(qs, node, loop=loop)
        if qs.loop_id is not None and (loop is not None or self.func is not None):
            self.emit(EventKind.QUERY, node, loop, method=how, model=qs.model.class_name, help=_batch_help(qs))
        elif self.func is not None:
            self.emit(EventKind.QUERY, node, None, method=how, model=qs.model.class_name)

    def relation_query(self, qs: QuerySetVal, node: ast.AST, how: str) -> None:
        """A related manager of an instance evaluated: N+1 when the instance is a loop element."""
        assert qs.via is not None
        owner = qs.via.owner
        rel = qs.via.relation
        path = f"{owner.path}__{rel}" if owner.path else rel
        src = owner.source
        prefetched = src is not None and src.loads(path) and path in src.prefetched | src.eager
        bypass = how not in _CACHE_HITS or any(n in ("filter", "exclude", "order_by", "annotate", "values", "values_list", "distinct", "select_related", "only", "defer", "prefetch_related", "aggregate") for n, _ in qs.steps)
        if owner.is_self or owner.param is not None:
            self.emit(EventKind.QUERY, node, self.unbounded_loop(), method=how, model=qs.model.class_name,
                      self_relation=None if bypass else path, param=owner.param)
            return
        if owner.loop_id is None or not any(lp.id == owner.loop_id for lp in self.loops):
            if owner.new:
                return
            # an instance fetched once: its relation queried per iteration of a loop here
            loop = self.unbounded_loop()
            if loop is not None and (bypass or not (src is not None and src.loads(path))):
                self.emit(EventKind.QUERY, node, loop, method=how, model=qs.model.class_name, help=_batch_help(qs))
            return
        if prefetched and not bypass:
            return
        loop = self.unbounded_loop(owner.loop_id)
        if loop is None:
            return
        if prefetched:
            reason = f"`.{_first_bypass(qs, how)}()` bypasses the prefetch_related(\"{path}\") cache and queries again"
            fix_help = f"Filter in Python over `{owner.element or 'obj'}.{rel}.all()`, or use Prefetch(\"{path}\", queryset=..., to_attr=...)"
        else:
            reason = self._missing_reason(owner, path, collection=True)
            fix_help = f"Add .prefetch_related(\"{path}\") to the queryset" if owner.source is None or owner.source.origin is Origin.DJANGO else ""
        self.lazy_event(node, owner, path, rel, qs.model, loop, reason, fix_help, collection=True, bypass=prefetched)

    def _nested_source(self, owner: Instance, path: str, model: Model, *, extra: frozenset[str] = frozenset(), keep: bool = True) -> QuerySetVal | None:
        """The elements of ``owner.<path>`` (a related collection): what the query ``owner``
        came from loads below that path (``prefetch_related("books__publisher")``)."""
        src = owner.source
        if src is None or src.outer is not None or not src.built_here:
            return None
        prefix = path + "__"
        below = frozenset(e[len(prefix):] for e in src.eager if e.startswith(prefix)) if keep else frozenset()
        pre = frozenset(e[len(prefix):] for e in src.prefetched if e.startswith(prefix)) if keep else frozenset()
        return QuerySetVal(model, src.origin, eager=below | extra, prefetched=pre, outer=(src, path), span=src.span)

    def _loader_chain(self, model: Model, path: str) -> str:
        """``selectinload(User.orders).joinedload(Order.user)`` for the path ``orders__user``."""
        out: list[str] = []
        m: Model | None = model
        for part in path.split("__"):
            rel = m.relations.get(part) if m is not None else None
            opt = "selectinload" if rel is not None and rel.is_collection else "joinedload"
            out.append(f"{opt}({m.class_name if m is not None else '?'}.{part})")
            m = self.a.resolve_model(rel.target, from_app=None) if rel is not None else None
        return ".".join(out)

    def _nested_help(self, src: QuerySetVal, path: str) -> str:
        """The help for a relation of a nested collection's element: extend the outer query."""
        assert src.outer is not None
        outer, prefix = src.outer
        full = f"{prefix}__{path}"
        line = self.mod.source.line_of(outer.span.start) if outer.span else 0
        if outer.origin is Origin.SQLALCHEMY:
            return f"Add .options({self._loader_chain(outer.model, full)}) to the query at line {line}"
        return f"Add .prefetch_related(\"{full}\") to the queryset iterated at line {line}"

    def _missing_reason(self, owner: Instance, path: str, *, collection: bool) -> str:
        src = owner.source
        if src is not None and src.outer is not None:
            outer, prefix = src.outer
            return self._missing_reason(replace(owner, source=outer), f"{prefix}__{path}", collection=True)
        if src is None or not src.built_here:
            origin = src.source_desc if src is not None and src.source_desc else "its type comes from an annotation"
            return f"{origin}, so nothing shows it is eager-loaded"
        line = self.mod.source.line_of(src.span.start) if src.span else 0
        if src.origin is Origin.SQLALCHEMY:
            if "__" in path:
                return f"the query at line {line} has no {self._loader_chain(src.model, path)}"
            opt = "selectinload" if collection else "joinedload"
            return f"the query at line {line} has no {opt}({src.model.class_name}.{path.replace('__', '.')})"
        fn = "prefetch_related" if collection else "select_related"
        return f"the queryset iterated at line {line} has no {fn}(\"{path}\")"

    def lazy_event(self, node: ast.AST, owner: Instance, path: str, attr: str, target: Model | None, loop: LoopRef, reason: str, fix_help: str, *, collection: bool, bypass: bool = False, deferred: bool = False, target_name: str | None = None) -> None:
        key = (id(loop), path + ("#bypass" if bypass else ""))
        if key in self.seen_lazy:
            return
        self.seen_lazy.add(key)
        fix = None
        src = owner.source
        if src is not None and src.built_here and not bypass and not deferred:
            from querylint.python import autofix

            try:
                fix = autofix.eager_fix(self.mod, src, path, collection=collection)
            except Exception:
                fix = None
        if src is not None and src.outer is not None:
            fix_help = self._nested_help(src, path)
        conf = owner.confidence if src is not None and src.built_here else Confidence.MEDIUM
        param = owner.from_param if src is None else None
        self.emit(
            EventKind.LAZY, node, loop, relation=path, element=owner.element or "obj",
            target_model=target.class_name if target else target_name, reason=reason, fix_help=fix_help,
            fix=fix, confidence=conf, model=owner.model.class_name,
            method="bypass" if bypass else ("deferred" if deferred else ("fk" if isinstance(node, ast.Attribute) else "collection")),
            related=((loop.span, f"loop: `{loop.description}`"),), param=param,
        )

    # -- expressions ---------------------------------------------------------------------
    def expr(self, node: ast.expr | None) -> object:
        if node is None:
            return None
        # the commonest kinds first, by exact type (the stdlib parser makes no subclasses)
        t = type(node)
        if t is ast.Name:
            return self.name(node)  # type: ignore[arg-type]
        if t is ast.Attribute:
            return self.attribute(node)  # type: ignore[arg-type]
        if t is ast.Call:
            return self.call(node)  # type: ignore[arg-type]
        if t is ast.Constant:
            return None  # no child expressions
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return self.comprehension(node)
        if isinstance(node, ast.Await):
            return self.expr(node.value)
        if isinstance(node, ast.IfExp):
            self.expr(node.test)
            self.cond += 1
            a = self.expr(node.body)
            b = self.expr(node.orelse)
            self.cond -= 1
            return a if a is not None else b
        if isinstance(node, ast.BoolOp):
            first = self.expr(node.values[0])
            self.cond += 1
            rest = [self.expr(v) for v in node.values[1:]]
            self.cond -= 1
            return first if first is not None else next((r for r in rest if r is not None), None)
        if isinstance(node, ast.Lambda):
            return None
        if isinstance(node, ast.NamedExpr):
            v = self.expr(node.value)
            self.bind(node.target, v)
            return v
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            v = self.expr(node.operand)
            self.truth(v, node.operand)
            return None
        self._children(node)
        return None

    def _children(self, node: ast.AST) -> None:
        """``expr`` of every child expression, in ``ast.iter_child_nodes`` order."""
        expr = self.expr
        for name in _expr_fields(type(node)):
            value = getattr(node, name, None)
            if isinstance(value, ast.expr):
                expr(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.expr):
                        expr(item)

    def truth(self, v: object, node: ast.AST) -> None:
        if isinstance(v, QuerySetVal) and not v.statement and not v.evaluated:
            self.evaluate(v, node, "bool")

    def name(self, node: ast.Name) -> object:
        name = node.id
        if name in self.env:
            return self.env[name]
        # what an unbound name means depends only on the module: worked out once per name
        free = self.mod.free_names
        if name in free:
            return free[name]
        v = free[name] = self._free_name(name)
        return v

    def _free_name(self, name: str) -> object:
        m = self.a.model_for_name(name, self.mod)
        if m is not None:
            return ModelClass(m)
        if queries_sqlalchemy.is_session_name(name) and (self.mod.db_module or name != "s"):
            return Session()
        if queries_dbapi.is_cursor_name(name) and name != "c":
            return Cursor()
        if name in ("connection", "conn") and self.mod.db_module:
            return Cursor()
        return None

    def attribute(self, node: ast.Attribute) -> object:
        base = self.expr(node.value)
        attr = node.attr
        if base is None and attr[:1].isupper():
            base = self._qualified_model(node)
            if base is not None:
                return base
        if isinstance(base, ModelClass):
            return self.class_attr(base.model, attr, node)
        if isinstance(base, Instance):
            return self.instance_attr(base, attr, node)
        if isinstance(base, (QuerySetVal, Session, Cursor)):
            return Bound(base, attr)
        if base is None and attr in queries_sqlalchemy.SESSION_NAMES:
            return Session()
        if base is None and attr in ("session",) :
            return Session()
        return None

    def _qualified_model(self, node: ast.Attribute) -> ModelClass | None:
        """``models.Order`` / ``shop.models.Order`` / ``m.Order``: a model named through the
        module an import bound (a name of this scope shadows the import)."""
        parts = [node.attr]
        value: ast.expr = node.value
        while isinstance(value, ast.Attribute):
            parts.append(value.attr)
            value = value.value
        if not isinstance(value, ast.Name) or value.id not in self.mod.imports or self._is_local(value.id):
            return None
        # only the model's own module names it (a module that merely has the class name does not)
        m = self.a.model_for_target(".".join([self.mod.imports[value.id], *reversed(parts)]), exact=True)
        return ModelClass(m) if m is not None else None

    def _is_local(self, name: str) -> bool:
        """Does this function bind ``name`` (a parameter, an assignment, a loop or ``with``
        target, an import)? Then it is not the module's import of that name."""
        if name in self.env:
            return True
        if self.func is None:
            return False
        if self._local_names is None:
            a = self.func.args
            names = {p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)}
            names.update(p.arg for p in (a.vararg, a.kwarg) if p is not None)
            for node in ast.walk(self.func):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    names.update((al.asname or al.name).split(".")[0] for al in node.names)
            self._local_names = names
        return name in self._local_names

    def class_attr(self, model: Model, attr: str, node: ast.Attribute) -> object:
        if model.framework is Framework.DJANGO:
            if attr == "objects" or attr in model.managers or attr == "_default_manager":
                mclass = model.managers.get(attr, "")
                custom = bool(mclass) and mclass not in ("Manager", "models.Manager") and self.a.custom_manager_eager(mclass)
                return QuerySetVal(model, built_here=True, root=node, loop_id=self.loop_id(), span=self.mod.span(node), custom_manager=custom)
            return None
        if attr == "query":  # Flask-SQLAlchemy Model.query
            return QuerySetVal(model, Origin.SQLALCHEMY, built_here=True, root=node, loop_id=self.loop_id(), span=self.mod.span(node))
        return ColumnAttr(model, attr)

    def instance_attr(self, inst: Instance, attr: str, node: ast.Attribute) -> object:
        model = inst.model
        rel = model.relations.get(attr)
        if rel is not None:
            return self.relation_access(inst, rel, node)
        if inst.source is not None and attr in model.fields and inst.loop_id is not None:
            self.deferred_access(inst, attr, node)
            return None
        cls = self.a.class_for_model(model)
        found = self.a.find_method(cls, attr)
        if found is not None:
            qual, is_prop = found
            if is_prop:
                self.call_event(node, qual, inst)
                return None
            return Bound(inst, attr)
        return None

    def deferred_access(self, inst: Instance, attr: str, node: ast.Attribute) -> None:
        src = inst.source
        if src is None or not src.built_here or inst.path:
            return
        fld = inst.model.fields.get(attr)
        if fld is None or fld.primary_key:
            return
        deferred = (src.only is not None and attr not in src.only) or (src.deferred is not None and attr in src.deferred)
        if src.origin is Origin.SQLALCHEMY and fld.deferred and not src.only:
            deferred = True
        if not deferred:
            return
        loop = self.unbounded_loop(inst.loop_id)
        if loop is None:
            return
        step = next((n for n, _ in reversed(src.steps) if n in ("only", "defer", "options")), "only")
        line = self.mod.source.line_of(src.span.start) if src.span else 0
        reason = f"the queryset iterated at line {line} defers it with .{step}()"
        self.lazy_event(node, inst, attr, attr, None, loop, reason, f"Add \"{attr}\" to the .only() fields, or remove it from .defer()", collection=False, deferred=True)

    def relation_access(self, inst: Instance, rel: Relation, node: ast.Attribute) -> object:
        model = inst.model
        if inst.new:
            return None  # built here: its relations are what the code assigned, already in memory
        target = self.a.resolve_model(rel.target, from_app=model.key.split(".", 1)[0] if "." in model.key else None)
        path = f"{inst.path}__{rel.name}" if inst.path else rel.name
        if model.framework is Framework.DJANGO:
            if rel.kind in (RelationKind.REVERSE_FK, RelationKind.M2M):
                if target is None:
                    return None
                return QuerySetVal(target, via=Via(inst, rel.name), loop_id=self.loop_id(), built_here=False, root=node)
            # forward FK / O2O / reverse O2O / generic FK: the attribute access loads the row
            if inst.is_self or inst.param is not None:
                self.emit(EventKind.QUERY, node, self.unbounded_loop(), method="attr", model=target.class_name if target else None, self_relation=path, param=inst.param)
            elif self.per_row(inst):
                src = inst.source
                covered = src is not None and (src.loads(path) or (src.select_all and rel.kind in (RelationKind.FORWARD_FK, RelationKind.FORWARD_O2O) and not inst.path) or (rel.kind is RelationKind.GENERIC_FK and path in src.prefetched))
                if not covered:
                    loop = self.unbounded_loop(inst.loop_id)
                    if loop is not None:
                        generic = rel.kind is RelationKind.GENERIC_FK
                        fn = "prefetch_related" if generic else "select_related"
                        reason = self._missing_reason(inst, path, collection=False) if not generic else self._missing_reason(inst, path, collection=True).replace("prefetch_related", fn)
                        self.lazy_event(node, inst, path, rel.name, target, loop, reason, f"Add .{fn}(\"{path}\") to the queryset", collection=generic,
                                        target_name=None if generic or not rel.target else rel.target.rsplit(".", 1)[-1])
            if target is None:
                return None
            return Instance(target, source=inst.source, path=path, element=inst.element, loop_id=inst.loop_id, confidence=inst.confidence)
        # SQLAlchemy
        lazy = (rel.lazy or "select").strip("'\"")
        if lazy in queries_sqlalchemy.NOT_LAZY or target is None:
            return Instance(target, source=inst.source, path=path, element=inst.element, loop_id=inst.loop_id, confidence=inst.confidence) if target is not None and not rel.is_collection else None
        if lazy == "dynamic":
            return QuerySetVal(target, Origin.SQLALCHEMY, via=Via(inst, rel.name), loop_id=self.loop_id(), dynamic=True)
        if inst.is_self or inst.param is not None:
            self.emit(EventKind.QUERY, node, self.unbounded_loop(), method="attr", model=target.class_name, self_relation=path, param=inst.param)
        elif self.per_row(inst):
            src = inst.source
            # all rows point at one object (``filter(Version.scorer_id == scorer.id)``): the first
            # access loads it, the rest read the session's identity map
            pinned = src is not None and not rel.is_collection and not inst.path and _pinned(src, rel.column or f"{rel.name}_id")
            if not (src is not None and src.loads(path)) and not pinned:
                loop = self.unbounded_loop(inst.loop_id)
                if loop is not None:
                    opt = "selectinload" if rel.is_collection else "joinedload"
                    chain = f"{model.class_name}.{rel.name}"
                    reason = self._missing_reason(inst, path, collection=rel.is_collection)
                    self.lazy_event(node, inst, path, rel.name, target, loop, reason, f"Add .options({opt}({chain})) to the query", collection=rel.is_collection)
        if rel.is_collection:
            return ListOf(Instance(target, source=self._nested_source(inst, path, target), confidence=Confidence.MEDIUM))
        return Instance(target, source=inst.source, path=path, element=inst.element, loop_id=inst.loop_id, confidence=inst.confidence)

    def verb(self, arg: ast.expr | None) -> tuple[str | None, bool]:
        """INSERT / UPDATE / DELETE / SELECT of what ``execute`` gets: literal SQL or an SQLAlchemy
        ``insert(t)`` / ``t.update()`` construct (second item True), also through a local name."""
        arg = self._assigned(arg)
        literal = queries_dbapi.sql_verb(arg)
        return (literal, False) if literal else (queries_sqlalchemy.dml_verb(arg), True)

    def _is_loop_target(self, arg: ast.expr) -> bool:
        if isinstance(arg, ast.Call) and arg.args:  # text(statement)
            arg = arg.args[0]
        return isinstance(arg, ast.Name) and any(arg.id in lp.target_names for lp in self.loops)

    def per_row(self, inst: Instance) -> bool:
        return not inst.new and inst.loop_id is not None and any(lp.id == inst.loop_id for lp in self.loops)

    def subscript(self, node: ast.Subscript) -> object:
        base = self.expr(node.value)
        if isinstance(node.slice, ast.Slice):
            for part in (node.slice.lower, node.slice.upper, node.slice.step):
                self.expr(part)
            if isinstance(base, QuerySetVal) and not base.evaluated:
                fake = ast.Call(func=ast.Name("slice"), args=[node.slice.lower or ast.Constant(None), node.slice.upper or ast.Constant(None)], keywords=[])
                return base.step("subscript", fake)
            return base
        self.expr(node.slice)
        if isinstance(base, QuerySetVal) and not base.statement and base.rows == "instances":
            if not base.evaluated and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int):
                self.evaluate_terminal(base, node, "index")
            return Instance(base.model, source=base, confidence=Confidence.MEDIUM)
        if isinstance(base, ListOf):
            return base.element
        if isinstance(base, Wrapped) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int):
            return base.items[node.slice.value] if node.slice.value < len(base.items) else None
        return None

    def comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> object:
        saved = dict(self.env)
        pushed = 0
        first_elem: object = None
        for gen in node.generators:
            it = self.expr(gen.iter)
            self.iterate(it, gen.iter, gen)
            lp = self.push_loop(gen, gen.iter, it)
            pushed += 1
            el = self.element(it, gen.target, lp.id)
            if first_elem is None:
                first_elem = el
            self.bind(gen.target, el)
            self.cond += 1
            for cond in gen.ifs:
                self.expr(cond)
            self.cond -= 1
        if isinstance(node, ast.DictComp):
            self.expr(node.key)
            self.expr(node.value)
            result: object = None
        else:
            v = self.expr(node.elt)
            result = ListOf(v) if isinstance(v, Instance) and v.source is not None else None
        for _ in range(pushed):
            self.loops.pop()
        self.env = saved
        return result

    # -- calls ---------------------------------------------------------------------------
    def call(self, node: ast.Call) -> object:
        func = node.func
        if isinstance(func, ast.Attribute):
            recv = self.expr(func.value)
            args = [self.expr(a) for a in node.args]
            kws = {k.arg: self.expr(k.value) for k in node.keywords}
            return self.method_call(recv, func.attr, node, args, kws)
        callee = self.expr(func) if not isinstance(func, ast.Name) else self.name(func)
        args = [self.expr(a) for a in node.args]
        kws = {k.arg: self.expr(k.value) for k in node.keywords}
        if isinstance(func, ast.Name):
            return self.name_call(func.id, callee, node, args, kws)
        return None

    def name_call(self, fname: str, callee: object, node: ast.Call, args: list[object], kws: dict[str | None, object]) -> object:
        first = args[0] if args else None
        if isinstance(callee, ModelClass):
            return Instance(callee.model, new=True, loop_id=self.loop_id())
        if isinstance(callee, Bound):
            return self.method_call(callee.owner, callee.name, node, args, kws)
        target = self.mod.imports.get(fname, "")
        if fname in _EVALUATORS and fname not in self.env and isinstance(first, QuerySetVal) and not first.statement and not first.evaluated:
            how = "len" if fname == "len" else "bool" if fname == "bool" else "list"
            self.evaluate(first, node, how)
            if fname in _PASSTHROUGH:
                return replace(first, evaluated=True)
            return None
        if fname in _PASSTHROUGH and isinstance(first, (QuerySetVal, ListOf)):
            return first
        if fname == "enumerate" and first is not None:
            return Wrapped((None, first), enumerate=True)
        if fname == "zip" and args:
            return Wrapped(tuple(args))
        if fname == "select" and (target.startswith("sqlalchemy") or not target) and isinstance(first, ModelClass) and len(args) == 1:
            m = first.model
            return QuerySetVal(m, Origin.SQLALCHEMY, built_here=True, statement=True, root=node, loop_id=self.loop_id(), span=self.mod.span(node))
        if fname in queries_sqlalchemy.LOADERS and (target.startswith("sqlalchemy") or not target):
            return self.loader_option(fname, args, node)
        if fname == "Prefetch":
            lookup = node.args[0] if node.args else None
            to_attr = next((k.value for k in node.keywords if k.arg == "to_attr"), None)
            paths = tuple(x for x in (_str(lookup), _str(to_attr)) if x)
            return LoaderOption(paths, "prefetch")
        if fname in ("Session", "sessionmaker") or fname.endswith("Session"):
            return Session()
        # a call into the project
        qual = self.a.resolve(target) if target else self.a.resolve(f"{self.mod.name}.{fname}")
        if qual is not None and qual in self.a.functions:
            self.call_event(node, qual, None, args=args)
        return None

    def loader_option(self, fname: str, args: list[object], node: ast.Call) -> LoaderOption:
        kind = queries_sqlalchemy.LOADERS[fname]
        paths: list[str] = []
        cols: list[str] = []
        for a, raw in zip(args, node.args, strict=False):
            if isinstance(a, ColumnAttr):
                (cols if kind in ("load_only", "defer", "undefer") else paths).append(a.name)
            elif (s := _str(raw)) is not None:
                (cols if kind in ("load_only", "defer", "undefer") else paths).append(s.replace(".", "__"))
        return LoaderOption(tuple(paths[:1]), kind, tuple(cols))

    def method_call(self, recv: object, meth: str, node: ast.Call, args: list[object], kws: dict[str | None, object]) -> object:
        if isinstance(recv, LoaderOption):
            # joinedload(A.b).joinedload(B.c): extend the path
            nxt = self.loader_option(meth, args, node) if meth in queries_sqlalchemy.LOADERS else None
            if nxt is not None and recv.paths and nxt.paths:
                return LoaderOption((recv.paths[0] + "__" + nxt.paths[0],), nxt.kind, nxt.columns)
            if nxt is not None and recv.paths and nxt.columns:
                return recv
            return recv
        if isinstance(recv, QuerySetVal):
            return self.qs_call(recv, meth, node, args)
        if isinstance(recv, Instance):
            return self.instance_call(recv, meth, node, args)
        if isinstance(recv, Session):
            return self.session_call(meth, node, args)
        if isinstance(recv, Cursor):
            if meth in ("execute", "executemany", "callproc"):
                verb, core = self.verb(node.args[0] if node.args else None)
                loop = self.unbounded_loop()
                if node.args and self._is_loop_target(node.args[0]):
                    # ``for statement in statements: cursor.execute(statement)`` runs a script
                    loop = None
                per_table, table_param = self.statement_tables(node.args[0] if node.args else None)
                if per_table:
                    loop = None  # one statement per table, not per row
                if verb in ("INSERT", "UPDATE", "DELETE") and meth == "execute":
                    self.emit(EventKind.WRITE, node, loop, method=_WRITE_METHOD.get(verb, "insert" if core else "execute"), help=_WRITE_HELP.get(verb, "Collect the rows and send them once with `cursor.executemany(...)` or a multi-row `INSERT ... VALUES`"), table_param=table_param)
                else:
                    self.emit(EventKind.QUERY, node, loop, method=meth, help="Fetch all rows in one query before the loop: `... WHERE id = ANY(%s)` with a list of ids", table_param=table_param)
                return None
            if meth == "cursor":
                return Cursor()
            return None
        if isinstance(recv, ModelClass):
            cls = self.a.class_for_model(recv.model)
            found = self.a.find_method(cls, meth)
            if found is not None:
                self.call_event(node, found[0], None, args=args)
            return None
        # self.method() in any class; module.function()
        func = node.func
        assert isinstance(func, ast.Attribute)
        if isinstance(func.value, ast.Name) and func.value.id == "self" and self.cls is not None:
            found = self.a.find_method(self.cls, meth)
            if found is not None:
                self.call_event(node, found[0], None, via_self=True, args=args)
            return None
        if isinstance(func.value, ast.Name) and func.value.id in self.mod.imports and func.value.id not in self.env:
            qual = self.a.resolve(f"{self.mod.imports[func.value.id]}.{meth}")
            if qual is not None and qual in self.a.functions:
                self.call_event(node, qual, None, args=args)
        if meth == "cursor":
            return Cursor()
        if meth in ("Session", "session") or (meth == "begin" and isinstance(recv, Session)):
            return Session()
        return None

    def qs_call(self, qs: QuerySetVal, meth: str, node: ast.Call, args: list[object]) -> object:
        if qs.origin is Origin.SQLALCHEMY:
            return self.sa_call(qs, meth, node, args)
        if meth in ("select_related", "prefetch_related"):
            paths: set[str] = set()
            pre: set[str] = set()
            for raw, v in zip(node.args, args, strict=False):
                if isinstance(v, LoaderOption):
                    paths.update(v.paths)
                    pre.update(v.paths)
                elif (s := _str(raw)) is not None:
                    paths.add(s)
                    if meth == "prefetch_related":
                        pre.add(s)
                else:
                    return replace(qs.step(meth, node), custom_manager=True)  # a dynamic list: unknown
            if meth == "select_related" and not node.args:
                return qs.step(meth, node, select_all=True)
            return qs.step(meth, node, eager=qs.eager | _with_prefixes(paths), prefetched=qs.prefetched | _with_prefixes(pre))
        if meth in ("values", "values_list"):
            flat = any(k.arg in ("flat", "named") for k in node.keywords)
            return qs.step(meth, node, rows="dicts" if meth == "values" else ("other" if flat else "tuples"))
        if meth == "only":
            names = frozenset(s.split("__")[0] for a in node.args if (s := _str(a)) is not None)
            return qs.step(meth, node, only=names if len(names) == len(node.args) else None)
        if meth == "defer":
            names = frozenset(s for a in node.args if (s := _str(a)) is not None)
            return qs.step(meth, node, deferred=(qs.deferred or frozenset()) | names)
        if meth in ("annotate", "extra", "alias") and qs.rows == "instances":
            return qs.step(meth, node)
        if meth in ("iterator", "aiterator"):
            return qs.step(meth, node)
        if meth in queries_django.CHAIN:
            return qs.step(meth, node)
        if meth in queries_django.TERMINAL:
            self.evaluate_terminal(qs, node, meth)
            if meth in ("get", "first", "last", "earliest", "latest", "aget", "afirst", "alast"):
                return Instance(qs.model, source=qs, confidence=Confidence.MEDIUM, loop_id=None)
            return None
        if meth in queries_django.WRITES:
            self.write(qs, meth, node)
            if meth in ("create", "acreate"):
                return Instance(qs.model, new=True, loop_id=self.loop_id())
            return None
        if qs.via is not None and meth in ("add", "remove", "set", "clear"):
            return None
        custom = self.a.queryset_method(meth)
        if custom is not None:
            # a custom QuerySet / Manager method (``Order.objects.open()``): still a queryset
            return qs.step(meth, node, custom_manager=qs.custom_manager or custom)
        return None

    def evaluate_terminal(self, qs: QuerySetVal, node: ast.AST, meth: str) -> None:
        if qs.via is not None:
            self.relation_query(qs, node, meth)
            return
        if qs.evaluated and meth in ("count", "exists", "index"):
            return  # answered from the list in memory
        loop = self.unbounded_loop()
        self.record_query(qs, node, terminal=meth if isinstance(node, ast.Call) else None, call=node if isinstance(node, ast.Call) else None, loop=loop)
        self.emit(EventKind.QUERY, node, loop, method=meth, model=qs.model.class_name, help=_batch_help(qs))

    def write(self, qs: QuerySetVal, meth: str, node: ast.Call) -> None:
        loop = self.unbounded_loop()
        kind = queries_django.WRITES[meth]
        if meth.startswith("bulk_") or meth.startswith("abulk_"):
            # already the batched form: a query for the call graph, never a per-row finding
            self.emit(EventKind.QUERY, node, None, method=meth, model=qs.model.class_name)
            return
        if qs.via is not None:
            self.emit(EventKind.QUERY, node, loop, method=meth, model=qs.model.class_name)
            return
        self.record_query(qs, node, kind=kind, terminal=meth, call=node, loop=loop)
        helps = {
            "create": f"Build the `{qs.model.class_name}` objects in the loop and insert them once with `{qs.model.class_name}.objects.bulk_create(objs)`",
            "update": "Update all rows in one statement with a filter on the ids (`.filter(id__in=ids).update(...)`), or use `bulk_update(objs, fields)`",
            "delete": "Delete all rows in one statement: `.filter(id__in=ids).delete()`",
        }
        self.emit(EventKind.WRITE, node, loop, method=meth, model=qs.model.class_name, help=helps.get(meth.lstrip("a") if meth.startswith("a") and meth[1:] in helps else meth, ""))

    def instance_call(self, inst: Instance, meth: str, node: ast.Call, args: list[object]) -> object:
        model = inst.model
        if model.framework is Framework.DJANGO and meth in ("save", "asave", "delete", "adelete", "refresh_from_db", "arefresh_from_db"):
            loop = self.unbounded_loop()
            if meth in ("refresh_from_db", "arefresh_from_db"):
                self.emit(EventKind.QUERY, node, loop, method=meth, model=model.class_name, help="Fetch the fresh rows in one query before the loop")
                return None
            in_loop = inst.loop_id is not None and any(lp.id == inst.loop_id for lp in self.loops)
            per_iteration = (inst.new and in_loop) or self.per_row(inst)
            if per_iteration:
                if meth.endswith("save"):
                    h = (f"Build the objects and insert them once with `{model.class_name}.objects.bulk_create(objs)`" if inst.new
                         else f"Collect the changed objects and write them once with `{model.class_name}.objects.bulk_update(objs, fields)`")
                else:
                    h = f"Delete all rows in one statement: `{model.class_name}.objects.filter(id__in=ids).delete()`"
                if self._custom_method(model, meth):
                    return None  # an overridden save()/delete() may need per-object work
                self.emit(EventKind.WRITE, node, loop, method=meth, model=model.class_name, help=h, element=inst.element)
            return None
        cls = self.a.class_for_model(model)
        found = self.a.find_method(cls, meth)
        if found is not None:
            self.call_event(node, found[0], inst, args=args)
        return None

    def _custom_method(self, model: Model, meth: str) -> bool:
        cls = self.a.class_for_model(model)
        return self.a.find_method(cls, meth.lstrip("a") if meth.startswith("a") else meth) is not None

    def session_call(self, meth: str, node: ast.Call, args: list[object]) -> object:
        loop = self.unbounded_loop()
        first = args[0] if args else None
        if meth == "query" and isinstance(first, ModelClass) and len(args) == 1:
            return QuerySetVal(first.model, Origin.SQLALCHEMY, built_here=True, root=node, loop_id=self.loop_id(), span=self.mod.span(node))
        if meth in ("execute", "scalars", "scalar"):
            help_ = "Run one query for all rows before the loop (`where(Model.id.in_(ids))`) and look them up in a dict"
            if isinstance(first, QuerySetVal) and first.statement:
                self.record_query(first, node, loop=loop)
                self.emit(EventKind.QUERY, node, loop, method=meth, model=first.model.class_name, help=help_)
                res = replace(first, statement=False, evaluated=True, rows="instances" if meth == "scalars" else "rows")
                if meth == "scalar":
                    return Instance(first.model, source=first, confidence=Confidence.MEDIUM)
                return res
            verb, core = self.verb(node.args[0] if node.args else None)
            if node.args and self._is_loop_target(node.args[0]):
                loop = None  # executing a list of statements, one by one
            per_table, table_param = self.statement_tables(node.args[0] if node.args else None)
            if per_table:
                loop = None  # one statement per table, not per row
            if verb in ("INSERT", "UPDATE", "DELETE") and meth == "execute" and len(node.args) < 2:
                self.emit(EventKind.WRITE, node, loop, method=_WRITE_METHOD.get(verb, "insert" if core else "execute"), help=_WRITE_HELP.get(verb, "Send all rows in one statement: `session.execute(insert(T), [row, ...])` (executemany)"), table_param=table_param)
            else:
                self.emit(EventKind.QUERY, node, loop, method=meth, help=help_, table_param=table_param)
            return None
        if meth in ("get", "get_one"):
            m = first.model if isinstance(first, ModelClass) else None
            if m is None and not (node.args and _class_like(node.args[0])):
                return None  # ``trace_to_session.get(tid, tid)``: a dict, not Session.get(Model, pk)
            self.emit(EventKind.QUERY, node, loop, method=meth, model=m.class_name if m else None,
                      help="Load all rows once before the loop (`select(Model).where(Model.id.in_(ids))`) and look them up in a dict")
            if m is not None:  # a primary-key lookup
                self.queries.append(queries_sqlalchemy.get_query(m, self.mod.span(node), evaluated_at=self.mod.span(node), loop=loop, description=self.text(node, 80)))
            return Instance(m, confidence=Confidence.MEDIUM) if m else None
        if meth in ("add", "add_all", "merge") and self.loops:
            self.loops[-1].added = True
            return None
        if meth in queries_sqlalchemy.SESSION_FLUSH:
            # session.add(...) + flush/commit per iteration: one round trip (and transaction) per
            # row. A commit with nothing added in the loop saves progress or state on purpose.
            if loop is not None and not self.deliberate and any(lp.added for lp in self.loops):
                self.emit(EventKind.WRITE, node, loop, method=meth, help=f"Add the objects in the loop and call `session.{meth}()` once after it, or insert them with `session.execute(insert(Model), rows)`")
            return None
        if meth == "begin":
            return Session()
        return None

    def sa_call(self, qs: QuerySetVal, meth: str, node: ast.Call, args: list[object]) -> object:
        if qs.via is not None and qs.dynamic:
            if meth in queries_sqlalchemy.QUERY_TERMINAL:
                self.relation_query(qs, node, meth if meth != "all" else "dynamic")
                return ListOf(Instance(qs.model, confidence=Confidence.MEDIUM)) if meth == "all" else None
            return qs.step(meth, node)
        if qs.evaluated:
            # a Result / ScalarResult: .scalars(), .all(), .unique() keep the rows; one-row methods
            if meth == "scalars":
                return replace(qs, rows="instances")
            if meth in ("all", "unique", "fetchall", "partitions"):
                return qs
            if meth in ("first", "one", "one_or_none", "scalar_one", "scalar_one_or_none", "scalar", "fetchone"):
                if qs.rows == "instances" or meth.startswith("scalar"):
                    return Instance(qs.model, source=qs, confidence=Confidence.MEDIUM)
            return None
        if meth == "options":
            eager: set[str] = set()
            pre: set[str] = set()
            only = qs.only
            for a in args:
                if isinstance(a, LoaderOption):
                    if a.kind in queries_sqlalchemy.EAGER_STRATEGIES:
                        eager.update(a.paths)
                        if a.kind in ("selectin", "subquery"):
                            pre.update(a.paths)
                    if a.kind == "load_only" and not a.paths:
                        only = frozenset(a.columns)
                elif a is None:
                    return replace(qs.step(meth, node), custom_manager=True)
            return qs.step(meth, node, eager=qs.eager | _with_prefixes(eager), prefetched=qs.prefetched | _with_prefixes(pre), only=only)
        if meth in queries_sqlalchemy.CHAIN:
            if meth in ("with_entities", "add_columns", "with_only_columns"):
                return qs.step(meth, node, rows="rows")
            return qs.step(meth, node)
        if not qs.statement and meth in queries_sqlalchemy.QUERY_TERMINAL:
            loop = self.unbounded_loop()
            meth = queries_sqlalchemy.FLASK_TERMINALS.get(meth, meth)
            if meth == "all":
                self.evaluate(qs, node, "all")
                return replace(qs, evaluated=True)
            kind = QueryKind.DELETE if meth == "delete" else QueryKind.UPDATE if meth == "update" else QueryKind.SELECT
            self.record_query(qs, node, kind=kind, terminal=meth, call=node, loop=loop)
            if kind is QueryKind.SELECT:
                self.emit(EventKind.QUERY, node, loop, method=meth, model=qs.model.class_name, help="Run one query for all rows before the loop (`filter(Model.id.in_(ids))`) and look them up in a dict")
            else:
                self.emit(EventKind.WRITE, node, loop, method=meth, model=qs.model.class_name, help="Update or delete all rows in one statement with `Model.id.in_(ids)`")
            if meth in ("first", "one", "one_or_none", "get", "scalar"):
                return Instance(qs.model, source=qs, confidence=Confidence.MEDIUM)
            return None
        return None

    def _arg_info(self, value: object) -> tuple[tuple[str, ...] | None, bool]:
        """(eager loads, is a loop element of a queryset built here) of an instance argument;
        for a queryset / list argument: (its eager loads, built here)."""
        if isinstance(value, ListOf) and isinstance(value.element, Instance):
            value = value.element.source
        if isinstance(value, QuerySetVal):
            if value.via is not None or value.rows != "instances" or value.custom_manager:
                return None, False
            return tuple(sorted(value.eager | ({"*"} if value.select_all else set()))), value.built_here
        if not isinstance(value, Instance) or value.path:
            return None, False
        src = value.source
        eager = tuple(sorted(src.eager)) if src is not None else None
        return eager, self.per_row(value) and src is not None and src.built_here

    def call_event(self, node: ast.AST, qual: str, receiver: Instance | None, *, via_self: bool = False, args: list[object] | None = None) -> None:
        eager, known = self._arg_info(receiver)
        loop = self.unbounded_loop()
        varying: tuple[int, ...] = ()
        if loop is not None and isinstance(node, ast.Call) and (lp := self._innermost_unbounded()) is not None:
            names = lp.varying()
            varying = tuple(i for i, a in enumerate(node.args) if isinstance(a, ast.Name) and a.id in names)
        self.emit(EventKind.CALL, node, loop, callee=qual, receiver_eager=eager, receiver_known=known,
                  args=tuple(self._arg_info(a) for a in (args or ())), varying_args=varying,
                  element=receiver.element if receiver else ("self" if via_self else ""),
                  method="self" if via_self else ("instance" if receiver is not None else "function"),
                  confidence=receiver.confidence if receiver is not None else Confidence.HIGH)


_FIELDS: dict[type, tuple[str, ...]] = {}


def _expr_fields(t: type) -> tuple[str, ...]:
    """The fields of a node type, but the operator ones (never an expression)."""
    fields = _FIELDS.get(t)
    if fields is None:
        fields = _FIELDS[t] = tuple(f for f in getattr(t, "_fields", ()) if f not in ("ctx", "op", "ops"))
    return fields


_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _has_modulo(node: ast.AST) -> bool:
    """An ``a % b`` anywhere in ``node`` (``ast.walk`` without its generators)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if type(n) is ast.BinOp and type(n.op) is ast.Mod:
            return True
        stack.extend(child_nodes(n, _expr_fields(type(n))))
    return False


def _exits(node: ast.stmt, memo: dict[int, bool]) -> bool:
    """A return / raise / continue / break anywhere in ``node``'s statements (nested functions
    too, as ``ast.walk`` did). These are statements, and statements only ever sit in statement
    bodies. ``memo`` (by node id, for one function's walk) makes nested ``if``s cost one pass."""
    key = id(node)
    got = memo.get(key)
    if got is not None:
        return got
    found = isinstance(node, _EXITS)
    if not found:
        for name in _body_fields(type(node)):
            for child in getattr(node, name, None) or ():
                if isinstance(child, ast.stmt):
                    found = _exits(child, memo)
                elif isinstance(child, (ast.ExceptHandler, ast.match_case)):
                    found = any(_exits(sub, memo) for sub in child.body)
                if found:
                    break
            if found:
                break
    memo[key] = found
    return found


def _with_prefixes(paths: set[str]) -> frozenset[str]:
    out: set[str] = set()
    for p in paths:
        parts = p.split("__")
        for i in range(1, len(parts) + 1):
            out.add("__".join(parts[:i]))
    return frozenset(out)


def _first_bypass(qs: QuerySetVal, how: str) -> str:
    for n, _ in qs.steps:
        if n != "all":
            return str(n)
    return how


def _batch_help(qs: QuerySetVal) -> str:
    if qs.origin is Origin.SQLALCHEMY:
        return "Run one query for all rows before the loop (`where(Model.id.in_(ids))`) and look them up in a dict"
    name = qs.model.class_name
    return f"Fetch the rows once before the loop: `{name}.objects.in_bulk(ids)` or `.filter(id__in=ids)` into a dict, then look them up"


def _str(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _has_kw(node: ast.Call, name: str) -> bool:
    return any(k.arg == name for k in node.keywords)


def analyze(project: ProjectIndex) -> PythonFacts:
    from querylint.python.split import PARTNER

    partner: Partner | None = project.facts.pop(PARTNER, None)
    a = Analysis(project)
    # the walk allocates a great many short-lived values and hardly any cycles, and every full
    # collection during it would walk all the project's facts again: collect after it instead
    enabled = gc.isenabled()
    gc.disable()
    try:
        if partner is None or not a.run_split(partner):
            if partner is not None:  # it failed: its half's trees are parsed here, on demand
                partner.close()
                a = Analysis(project)
            a.run()
    finally:
        # a run that froze its trees (engine._LongLivedTrees) keeps the facts as long: frozen
        # too, the next collections do not walk them three times over (~0.1 s on mlflow-skinny)
        from querylint.engine import freeze_more

        freeze_more()
        if enabled:
            gc.enable()
    project.facts["python"] = a.facts
    return a.facts
