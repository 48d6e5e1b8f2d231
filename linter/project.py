"""The project index: everything phase one learns before any file is checked.

Phase one reads and parses every project file once (:class:`ParsedFile`), then the front ends
fill a :class:`ProjectIndex`: models, the schema, every query, every migration, and the
Python call graph. Phase two checks the requested files against it, so a pre-commit run on
three files still knows every model in the project.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from querylint.ir import Query
from querylint.migration import Migration
from querylint.models import ModelRegistry
from querylint.schema import Schema
from querylint.slotstate import fast_pickle
from querylint.source import SourceFile, Span
from querylint.sqlsource import SqlFragment, SqlStatement

if TYPE_CHECKING:
    from querylint.config import Config


#: facts that phase one builds and consumes itself (the migration states replayed into
#: ``schema``); phase two never reads them, so the index cache leaves them out
INDEX_ONLY_FACTS = frozenset({"django_state", "alembic_state"})


@fast_pickle
@dataclass(frozen=True, slots=True)
class ParseProblem:
    """A file or fragment that could not be read or parsed (becomes a parse-error finding)."""

    span: Span
    message: str


@dataclass
class ParsedFile:
    source: SourceFile
    tree: ast.Module | None = None
    fragments: list[SqlFragment] = field(default_factory=list)
    statements: list[SqlStatement] = field(default_factory=list)
    problems: list[ParseProblem] = field(default_factory=list)


class TreeOnDemand(ParsedFile):
    """A file of an index read back from the cache: its ``ast`` tree (left out of the cache) is
    parsed again the first time anything asks for it."""

    @property
    def tree(self) -> ast.Module | None:
        d = self.__dict__
        if d.get("tree") is None and d.pop("_tree_left_out", False):
            d["tree"] = ast.parse(self.source.text, filename=self.source.path)
        tree: ast.Module | None = d.get("tree")
        return tree

    @tree.setter
    def tree(self, value: ast.Module | None) -> None:
        self.__dict__["tree"] = value

    @staticmethod
    def adopt(pf: ParsedFile) -> None:
        """Make ``pf`` (whose tree was left out) parse its tree on demand."""
        pf.__class__ = TreeOnDemand
        pf.__dict__["_tree_left_out"] = True

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (into the index cache) without the flag: whether the tree was parsed in this
        process means nothing to a reader, which adopts every file stored without its tree."""
        state = dict(self.__dict__)
        state.pop("_tree_left_out", None)
        return state


def tree_left_out(pf: ParsedFile) -> bool:
    """``pf`` has a tree that was not parsed here (yet): asking for ``pf.tree`` parses it."""
    return type(pf) is TreeOnDemand and bool(pf.__dict__.get("_tree_left_out"))


def has_tree(pf: ParsedFile) -> bool:
    """``pf`` parsed: its tree is here or left out to be parsed on demand (this asks for none)."""
    return tree_left_out(pf) or pf.tree is not None


@dataclass
class ProjectIndex:
    root: str
    files: dict[str, ParsedFile] = field(default_factory=dict)  # display path -> parsed file
    schema: Schema = field(default_factory=Schema)
    models: ModelRegistry = field(default_factory=ModelRegistry)
    queries: list[Query] = field(default_factory=list)
    migrations: list[Migration] = field(default_factory=list)
    #: front-end specific facts (the Python call graph, function summaries...), by owner
    facts: dict[str, Any] = field(default_factory=dict)
    #: the run's configuration (front ends read e.g. ``sql_migrations_in_transaction``)
    config: Config | None = None

    #: ``queries_in`` / ``migrations_in`` indexes by path, rebuilt when their list changed
    _by_path: dict[str, tuple[list[Any], int, dict[str, list[Any]]]] = field(default_factory=dict, repr=False, compare=False)

    def _index(self, name: str, items: list[Any], path_of: Any) -> dict[str, list[Any]]:
        stamp = self._by_path.get(name)
        if stamp is None or stamp[0] is not items or stamp[1] != len(items):
            by: dict[str, list[Any]] = {}
            for item in items:
                by.setdefault(path_of(item), []).append(item)
            stamp = (items, len(items), by)
            self._by_path[name] = stamp
        return stamp[2]

    def queries_in(self, path: str) -> list[Query]:
        return list(self._index("queries", self.queries, lambda q: q.span.path).get(path, ()))

    def migrations_in(self, path: str) -> list[Migration]:
        return list(self._index("migrations", self.migrations, lambda m: m.path).get(path, ()))

    def source(self, path: str) -> SourceFile | None:
        pf = self.files.get(path)
        return pf.source if pf is not None else None
