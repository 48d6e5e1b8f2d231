"""Facts the query-site analysis leaves for the QL2xx rules and the call graph.

The analyzer (:mod:`querylint.python.analyzer`) walks every function once in phase one and
records *events*: a database access, a lazy relation load, a write, a call to a project
function — each with the innermost unbounded loop it runs in. The rules only phrase these
events; :mod:`querylint.python.callgraph` decides which called functions always query.
"""

from __future__ import annotations

import functools
import pickle
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from querylint.diagnostics import Confidence, Fix
from querylint.ir import LoopRef
from querylint.slotstate import fast_pickle
from querylint.source import Span


class EventKind(Enum):
    QUERY = "query"  # a call that reaches the database (QL201)
    LAZY = "lazy"  # a lazy relation / deferred column load on a loop element (QL202)
    WRITE = "write"  # a single-row write (QL204)
    CALL = "call"  # a call to a project function or property (QL203)


@fast_pickle
@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    span: Span
    text: str  # the expression as written, shortened: "Book.objects.get(...)"
    loop: LoopRef | None  # innermost unbounded loop of the enclosing function
    conditional: bool  # under an if / except / loop body / short-circuit in its function
    function: str  # qualified name of the enclosing function ("" at module level)
    # QUERY / WRITE
    method: str = ""  # "get", "count", "save", "execute"...
    model: str | None = None  # model class name
    help: str = ""
    # LAZY (and relation-based QUERY inside methods: the relation of ``self`` it loads)
    relation: str | None = None  # "author", or a path "author__publisher"
    element: str = ""  # the loop element's name ("book")
    target_model: str | None = None
    reason: str = ""  # why it is not eager-loaded (ends the message)
    fix_help: str = ""
    fix: Fix | None = None
    related: tuple[tuple[Span, str], ...] = ()
    confidence: Confidence = Confidence.HIGH
    self_relation: str | None = None  # the query depends on ``self.<relation>`` being loaded
    param: int | None = None  # ... on ``<parameter>.<relation>`` instead (its position)
    #: a statement whose table name is this parameter (``f"SELECT ... FROM {table_name}"``): called
    #: with another table per iteration, it is one statement per table, not per row
    table_param: int | None = None
    # CALL
    callee: str | None = None  # qualified name of the called function
    receiver_eager: tuple[str, ...] | None = None  # eager loads of the receiver's queryset
    receiver_known: bool = False  # the receiver is a loop element from a queryset built here
    #: per positional argument: (eager loads of its queryset, is a loop element of a queryset built here)
    args: tuple[tuple[tuple[str, ...] | None, bool], ...] = ()
    #: positions of the positional arguments that change with each iteration of ``loop``
    varying_args: tuple[int, ...] = ()


@dataclass
class FunctionSummary:
    qualname: str
    path: str
    span: Span
    cached: bool = False  # decorated with a cache: a query in it is not "always"
    events: list[Event] = field(default_factory=list)


@dataclass
class PythonFacts:
    """``project.facts["python"]``."""

    events: dict[str, list[Event]] = field(default_factory=dict)  # path -> events
    #: qualname -> summary, of the functions with events (for the others nothing is to be found
    #: through them; half the functions of a project, left out of the cache and the messages)
    functions: dict[str, FunctionSummary] = field(default_factory=dict)
    callers: dict[str, list[Event]] = field(default_factory=dict)  # callee -> CALL events
    errors: list[str] = field(default_factory=list)  # functions the analysis had to skip
    _graph: Any = field(default=None, repr=False, compare=False)
    #: what these facts were made of, when a partner process walked part of the project: the
    #: walk's records (by job number), in chunks pickled as they were made, by both processes.
    #: Pickled instead of the facts (nothing is pickled again at the end of the run) and
    #: applied again when read back (:meth:`__reduce__`)
    _made_of: list[bytes] | None = field(default=None, repr=False, compare=False)

    def add(self, path: str, events: list[Event], summary: FunctionSummary | None, error: str | None) -> None:
        """The facts of one walked function (or module top level), in walk order."""
        if error is not None:
            self.errors.append(error)
            return
        self.events.setdefault(path, []).extend(events)
        if summary is not None:
            self.functions[summary.qualname] = summary

    def made_of(self, chunks: list[bytes]) -> None:
        """Pickle these facts as the records they were applied from (see ``_made_of``)."""
        self._made_of = chunks

    def __reduce__(self) -> Any:
        if self._made_of is None:
            return (_facts, (self.events, self.functions, self.callers, self.errors))
        return (_facts_made_of, (self._made_of,))

    @property
    def graph(self) -> Any:
        """A networkx.DiGraph over qualified names (function -> called function), built on first
        use: no rule needs it to decide, and networkx costs a tenth of a second to import."""
        if self._graph is None:
            import networkx as nx

            g = nx.DiGraph()
            for qual, summary in self.functions.items():
                g.add_node(qual, path=summary.path)
                for ev in summary.events:
                    if ev.kind is EventKind.CALL and ev.callee:
                        g.add_edge(qual, ev.callee)
            self._graph = g
        return self._graph

    def link_callers(self) -> None:
        """Fill ``callers`` (callee -> the CALL events that reach it) from every file's events."""
        for events in self.events.values():
            for ev in events:
                if ev.kind is EventKind.CALL and ev.callee:
                    self.callers.setdefault(ev.callee, []).append(ev)

    def events_in(self, path: str, kind: EventKind) -> list[Event]:
        return [e for e in self.events.get(path, ()) if e.kind is kind]

    def uneager_caller(self, function: str, param: int, relation: str, *, fk: bool) -> Event | None:
        """A call of ``function`` whose argument ``param`` is a queryset built at the call site
        that does not eager-load ``relation`` (evidence for an N+1 in the callee), if any.
        Any caller that does eager-load it, or passes something unknown, wins: None."""
        found: Event | None = None
        for call in self.callers.get(function, ()):
            if param >= len(call.args):
                return None
            eager, known = call.args[param]
            if not known or eager is None:
                return None
            if any(e == relation or e.startswith(relation + "__") for e in eager) or (fk and "__" not in relation and "*" in eager):
                return None
            found = found or call
        return found


def _facts(events: dict[str, list[Event]], functions: dict[str, FunctionSummary], callers: dict[str, list[Event]],
           errors: list[str]) -> PythonFacts:
    return PythonFacts(events, functions, callers, errors)


def _facts_made_of(chunks: list[bytes]) -> PythonFacts:
    """:class:`PythonFacts` applied again from their records, in job order (as the analysis did)."""
    records: dict[int, Any] = {}
    for chunk in chunks:
        records.update(pickle.loads(chunk))
    facts = PythonFacts()
    for i in sorted(records):
        path, events, _queries, summary, error = records[i]
        facts.add(path, events, summary, error)
    facts.link_callers()
    facts.made_of(chunks)
    return facts


_TEST_DIR = re.compile(r"^(tests?|testing)$|(^|[-_.])tests?([-_.]|$)")


def is_test_path(path: str) -> bool:
    """Test code: round trips there cost test time, not production latency."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    return (
        any(_TEST_DIR.search(p) for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name in ("tests.py", "conftest.py", "factories.py")
    )


def is_migration_path(path: str) -> bool:
    """Django / Alembic migrations run once per deploy: a loop there is not a hot path.
    ``db_migrations/versions/`` (an Alembic tree under another name) counts too."""
    parts = path.replace("\\", "/").split("/")
    return any(p.endswith("migrations") for p in parts[:-1]) or ("versions" in parts[:-1] and "alembic" in parts)


def is_script_path(path: str) -> bool:
    """One-off scripts an operator runs by hand or from cron: Django management commands and
    the example-data loaders under ``examples/`` or in an ``examples.py`` module (superset's
    ``commands/importers/v1/examples.py``). Their loops walk a table once, not per request: a
    round trip per row there is not what the N+1 rules are about."""
    parts = path.replace("\\", "/").split("/")
    folders = parts[:-1]
    return "/management/commands/" in "/" + "/".join(folders) + "/" or "examples" in folders or parts[-1] == "examples.py"


def skipped(path: str, opts: dict[str, Any]) -> bool:
    """The QL2xx rules skip tests, migrations and scripts unless ``check-tests`` /
    ``check-migrations`` / ``check-scripts``."""
    test, script, migration = _kinds(path)
    if test and not opts.get("check-tests", False):
        return True
    if script and not opts.get("check-scripts", False):
        return True
    return migration and not opts.get("check-migrations", False)


@functools.lru_cache(maxsize=1 << 16)
def _kinds(path: str) -> tuple[bool, bool, bool]:
    """(test, script, migration) of a path: each QL2xx rule asks about every checked file."""
    return is_test_path(path), is_script_path(path), is_migration_path(path)


#: options every QL2xx rule accepts
PATH_OPTIONS: dict[str, Any] = {"check-tests": False, "check-migrations": False, "check-scripts": False}
