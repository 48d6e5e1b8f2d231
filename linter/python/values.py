"""The abstract values the analyzer tracks for names and expressions inside one function.

A name is bound to what it holds as far as the ORM is concerned: a model class, a queryset
(Django) or select/query (SQLAlchemy) with its eager loads, a model instance and where it
came from, a session or a DB-API cursor. Everything else is ``None`` (unknown).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace

from querylint.diagnostics import Confidence
from querylint.ir import Origin, Value, ValueKind
from querylint.models import Model
from querylint.source import Span


def sql_literal(node: ast.expr) -> Value | None:
    """The SQL literal of a Python constant (``None`` -> NULL, ``True`` -> true), else None."""
    if isinstance(node, ast.Constant):
        v = node.value
        if v is None:
            return Value(ValueKind.CONST, "NULL")
        if isinstance(v, bool):
            return Value(ValueKind.CONST, "true" if v else "false")
        if isinstance(v, (int, float)):
            return Value(ValueKind.CONST, repr(v))
        if isinstance(v, str):
            return Value(ValueKind.CONST, "'" + v.replace("'", "''") + "'")
    return None


def unparse(node: ast.AST) -> str:
    """``ast.unparse`` for messages and expression keys; ``?`` for a node it cannot render."""
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover
        return "?"


@dataclass(frozen=True)
class ModelClass:
    model: Model


@dataclass(frozen=True)
class QuerySetVal:
    """A Django queryset / manager, or a SQLAlchemy select()/query() (``origin``)."""

    model: Model
    origin: Origin = Origin.DJANGO
    #: relation paths loaded eagerly ("author", "author__publisher"); SQLAlchemy uses "__" too
    eager: frozenset[str] = frozenset()
    prefetched: frozenset[str] = frozenset()  # the collections among ``eager``
    select_all: bool = False  # select_related() without arguments: every non-null FK
    rows: str = "instances"  # instances | dicts | tuples | other
    deferred: frozenset[str] | None = None  # fields not loaded (only()/defer()), None = all loaded
    only: frozenset[str] | None = None
    #: steps (method name, call node) from the root, for the Query IR and the autofix
    steps: tuple[tuple[str, ast.Call], ...] = ()
    root: ast.expr | None = None  # the manager / select(...) / query(...) expression
    built_here: bool = False  # built in this function from a manager / select()
    statement: bool = False  # a SQLAlchemy select() not yet executed
    evaluated: bool = False  # already a list (list(qs), .all() of a SQLAlchemy query)
    custom_manager: bool = False  # a custom manager whose get_queryset may add eager loads
    via: Via | None = None  # a related manager reached from an instance
    loop_id: int | None = None  # the innermost loop the value was created in
    span: Span | None = None  # where the iterated expression was built (for messages)
    dynamic: bool = False  # an SQLAlchemy lazy="dynamic" relationship (AppenderQuery)
    source_desc: str = ""  # how the value was obtained, for messages about annotations
    #: the elements of a related collection of a loop element: (the outer query, the collection's
    #: path in it); ``eager`` then holds the outer query's loads below that path
    outer: tuple[QuerySetVal, str] | None = None

    def step(self, name: str, call: ast.Call, **changes: object) -> QuerySetVal:
        return replace(self, steps=(*self.steps, (name, call)), **changes)  # type: ignore[arg-type]

    def loads(self, path: str) -> bool:
        """Is relation ``path`` (``author`` or ``author__publisher``) loaded eagerly?"""
        if path in self.eager:
            return True
        prefix = path + "__"
        return any(e.startswith(prefix) for e in self.eager)


@dataclass(frozen=True)
class Via:
    owner: Instance
    relation: str


@dataclass(frozen=True)
class Instance:
    """A model instance. ``source`` is the queryset it came from (eager loads), when known."""

    model: Model
    source: QuerySetVal | None = None
    path: str = ""  # relation path from the loop element: "" for the element, "author"...
    element: str = ""  # the loop element's name
    loop_id: int | None = None  # the loop it is the element of (or derived from)
    confidence: Confidence = Confidence.HIGH
    is_self: bool = False  # ``self`` inside a model method
    #: a parameter of the function (position among the call's positional arguments): its
    #: relations load per call unless the caller eager-loaded them
    param: int | None = None
    from_param: int | None = None  # an element of the iterable passed as this parameter
    new: bool = False  # constructed here: Model(...)


@dataclass(frozen=True)
class Session:
    """A SQLAlchemy session (or Connection)."""


@dataclass(frozen=True)
class Cursor:
    """A DB-API cursor (or Django ``connection``)."""


@dataclass(frozen=True)
class Wrapped:
    """``enumerate(x)`` / ``zip(a, b)``: tuples whose items are ``items``."""

    items: tuple[object, ...]
    enumerate: bool = False


@dataclass(frozen=True)
class Bound:
    """``obj.method`` before the call."""

    owner: object
    name: str


@dataclass(frozen=True)
class LoaderOption:
    """joinedload(Model.rel) / selectinload(...) / Prefetch(...) / load_only(...)."""

    paths: tuple[str, ...]
    kind: str  # joined | selectin | subquery | raise | noload | defer | load_only | contains_eager
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnAttr:
    """``Model.attr`` on a SQLAlchemy model: a column or a relationship."""

    model: Model
    name: str


@dataclass(frozen=True)
class ListOf:
    """A Python list / iterable of elements (annotated parameters, ``scalars().all()``)."""

    element: object
    items: tuple[object, ...] = field(default=())
    param: int | None = None  # the function parameter it is (position), when annotated
