"""The rule framework: base classes by what a rule reads, and the contexts it reads them from.

The engine routes rules by base class, never by name:

* :class:`SqlRule` — ``visit_<PglastNode>(node, ctx)`` methods, called during one shared walk
  of every SQL statement (``.sql`` files and SQL found in Python strings);
* :class:`PythonRule` — ``visit_<AstNode>(node, ctx)`` methods, called during one shared walk
  of each Python module's stdlib ``ast`` tree;
* :class:`QueryRule` — ``check_query(query, ctx)`` for every :class:`~querylint.ir.Query` of a
  checked file (ORM and SQL alike);
* :class:`MigrationRule` — ``check_migration(migration, ctx)`` for every migration file;
* :class:`ProjectRule` — ``check_project(ctx)`` once per run, for findings that need the whole
  project (an index that no file owns, a constant predicate recurring across files); the
  engine keeps only the diagnostics that land in checked files;
* :class:`ToolRule` subclasses — diagnostics the engine itself raises (parse errors, internal
  errors, unused suppressions); the rule module only carries their docs and metadata.

Every method yields :class:`~querylint.diagnostics.Diagnostic` built with :meth:`Rule.diagnostic`.
A rule's docstring is its docs page; ``VALID`` / ``INVALID`` examples run as tests.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from querylint.diagnostics import (
    Confidence,
    Diagnostic,
    Fix,
    IndexSuggestion,
    Severity,
)
from querylint.source import RelatedSpan, SourceFile, Span

if TYPE_CHECKING:
    from querylint.config import Config
    from querylint.ir import Query
    from querylint.migration import Migration
    from querylint.project import ProjectIndex
    from querylint.sqlsource import SqlStatement


class FixAvailability(Enum):
    NONE = "none"
    SOMETIMES = "sometimes"
    ALWAYS = "always"


@dataclass(frozen=True)
class Example:
    """A VALID or INVALID example; INVALID ones state the first finding's line and message.

    ``path`` decides the language (``.sql`` or ``.py``) and matters for migrations
    (``app/migrations/0002_x.py``). ``files`` adds other project files (models for an N+1
    example). ``options`` are this rule's options; ``config`` other config keys.
    """

    code: str
    path: str = ""
    line: int | None = None
    message: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    fixed: str | None = None  # the text after applying the fix (unsafe fixes included)

    @property
    def text(self) -> str:
        return textwrap.dedent(self.code).lstrip("\n")


class Rule:
    """Base of every rule. Subclasses set the class attributes and one kind of check method."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    fix_availability: ClassVar[FixAvailability] = FixAvailability.NONE
    default_enabled: ClassVar[bool] = True
    #: option name -> default value; config values must have the same type
    options: ClassVar[Mapping[str, Any]] = {}
    #: integer options that may be negative (every other integer option counts something: >= 0)
    signed_options: ClassVar[frozenset[str]] = frozenset()
    VALID: ClassVar[Sequence[Example]] = ()
    INVALID: ClassVar[Sequence[Example]] = ()
    #: default path for examples without one
    example_path: ClassVar[str] = "example.sql"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.opts: dict[str, Any] = dict(self.options)
        if options:
            self.opts.update(options)

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        return cls.doc().split("\n", 1)[0].strip()

    def diagnostic(
        self,
        span: Span,
        message: str,
        *,
        help: str | None = None,
        related: Iterable[RelatedSpan] = (),
        fix: Fix | None = None,
        suggestion: IndexSuggestion | None = None,
        confidence: Confidence = Confidence.HIGH,
        details: str | None = None,
    ) -> Diagnostic:
        return Diagnostic(
            code=self.code,
            name=self.name,
            span=span,
            message=message,
            severity=self.severity,
            help=help,
            related=tuple(related),
            fix=fix,
            suggestion=suggestion,
            confidence=confidence,
            details=details,
        )


@dataclass
class FileContext:
    """What a rule sees while checking one file."""

    source: SourceFile
    project: ProjectIndex
    config: Config

    @property
    def path(self) -> str:
        return self.source.path

    def span(self, start: int, end: int) -> Span:
        return Span(self.source.path, start, end)


@dataclass
class PythonContext(FileContext):
    tree: ast.Module | None = None
    #: the parsed file, when ``tree`` was left out: its tree is parsed if a rule asks for parents
    parsed: Any = None
    _parents: dict[int, ast.AST] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def parents(self) -> dict[int, ast.AST]:
        """Child node id -> parent node of ``tree``, built on first use: most files are checked
        by rules that never ask for a parent, and the map costs a walk of the whole tree."""
        if self._parents is None:
            self._parents = {}
            if self.tree is None and self.parsed is not None:
                self.tree = self.parsed.tree
            for parent in ast.walk(self.tree) if self.tree is not None else ():
                for child in ast.iter_child_nodes(parent):
                    self._parents[id(child)] = parent
        return self._parents

    def node_span(self, node: ast.AST) -> Span:
        lineno = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        end_lineno = getattr(node, "end_lineno", None) or lineno
        end_col = getattr(node, "end_col_offset", None)
        start = self.source.offset_from_ast(lineno, col)
        end = self.source.offset_from_ast(end_lineno, end_col) if end_col is not None else start
        return Span(self.source.path, start, max(start, end))

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(id(node))


@dataclass
class SqlContext(FileContext):
    statement: SqlStatement | None = None
    ancestors: Any = None  # pglast.visitors.Ancestor of the visited node

    def node_span(self, node: Any, length: int | None = None) -> Span:
        """Span of a pglast node from its ``location`` (falls back to the whole statement)."""
        assert self.statement is not None
        st = self.statement
        loc = getattr(node, "location", None)
        if not isinstance(loc, int) or loc < 0:
            return st.span
        end = loc + length if length is not None else _token_end(st.fragment.sql, loc, st.end)
        return st.fragment.file_span(loc, end)

    def statement_span(self) -> Span:
        assert self.statement is not None
        return self.statement.span


def _token_end(sql: str, start: int, limit: int) -> int:
    """End of the word/token starting at ``start`` (identifiers, ``*``, quoted names)."""
    i = start
    if i < len(sql) and sql[i] == '"':
        j = sql.find('"', i + 1)
        return j + 1 if j != -1 else i + 1
    while i < min(len(sql), limit) and (sql[i].isalnum() or sql[i] in "_.$*\""):
        i += 1
    return max(i, start + 1)


class SqlRule(Rule):
    """Reads SQL trees: define ``visit_<NodeName>(self, node, ctx: SqlContext)`` methods."""

    example_path = "example.sql"


class PythonRule(Rule):
    """Reads Python ``ast`` trees: define ``visit_<AstClass>(self, node, ctx: PythonContext)``."""

    example_path = "example.py"


class QueryRule(Rule):
    """Reads the Query IR of a checked file."""

    def check_query(self, query: Query, ctx: FileContext) -> Iterator[Diagnostic]:
        raise NotImplementedError


class MigrationRule(Rule):
    """Reads the :class:`~querylint.migration.Migration` of a checked migration file."""

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        raise NotImplementedError


@dataclass
class ProjectContext:
    project: ProjectIndex
    config: Config
    checked_paths: frozenset[str]


class ProjectRule(Rule):
    """Reads the whole project once per run (schema-wide and cross-query findings)."""

    def check_project(self, ctx: ProjectContext) -> Iterator[Diagnostic]:
        raise NotImplementedError


class ToolRule(Rule):
    """A diagnostic the engine raises itself; the subclass holds the docs and metadata."""


class InternalErrorRule(ToolRule):
    """Marker base: an exception inside one rule on one file."""


class ParseErrorRule(ToolRule):
    """Marker base: a file or SQL fragment that cannot be parsed or read."""


class UnusedSuppressionRule(ToolRule):
    """Marker base: a suppression comment that suppresses nothing."""


def visitor_methods(rule: Rule) -> dict[str, Any]:
    """``{"SelectStmt": bound_method, ...}`` for a rule's ``visit_<Node>`` methods."""
    out: dict[str, Any] = {}
    for attr in dir(type(rule)):
        if attr.startswith("visit_"):
            out[attr[len("visit_") :]] = getattr(rule, attr)
    return out
