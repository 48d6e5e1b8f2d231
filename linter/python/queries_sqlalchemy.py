"""SQLAlchemy query sites: ``select(...)`` / ``session.query(...)`` chains and loader options.

Only the pieces the analyzer cannot express generically live here: which names are
sessions, which methods execute, how a loader option names its relation path, and the IR of
a select.
"""

from __future__ import annotations

import ast

from querylint.diagnostics import Confidence
from querylint.ir import LoopRef, Origin, Projection, Query, QueryKind, TableRef
from querylint.python.values import QuerySetVal
from querylint.source import Span

#: loader option functions from sqlalchemy.orm -> strategy
LOADERS = {
    "joinedload": "joined", "selectinload": "selectin", "subqueryload": "subquery",
    "immediateload": "immediate", "lazyload": "select", "raiseload": "raise", "noload": "noload",
    "contains_eager": "contains_eager", "defaultload": "default", "load_only": "load_only",
    "defer": "defer", "undefer": "undefer",
}
#: loader strategies that load the relation with the parent rows (no per-row query)
EAGER_STRATEGIES = frozenset({"joined", "selectin", "subquery", "immediate", "contains_eager", "raise", "noload"})
#: relationship(lazy=...) values that never issue one query per parent on access
NOT_LAZY = frozenset({"joined", "selectin", "subquery", "immediate", "raise", "raise_on_sql", "noload", "False", "false", "write_only"})

SESSION_NAMES = frozenset({"session", "db_session", "dbsession", "sess", "async_session", "db_sess"})
SESSION_ANNOTATIONS = frozenset({"Session", "AsyncSession", "scoped_session", "Connection", "AsyncConnection"})

#: methods of a select() / Query that return a new statement
CHAIN = frozenset({
    "where", "filter", "filter_by", "join", "outerjoin", "order_by", "limit", "offset", "options",
    "distinct", "group_by", "having", "select_from", "execution_options", "correlate", "with_for_update",
    "add_columns", "with_only_columns", "join_from", "populate_existing", "enable_eagerloads", "yield_per",
    "params", "union", "union_all", "slice", "autoflush", "with_entities", "unique",
})
#: Query methods that execute
QUERY_TERMINAL = frozenset({"all", "first", "one", "one_or_none", "scalar", "count", "get", "exists", "delete", "update", "scalars"})
#: Session methods that execute a statement
SESSION_EXECUTE = frozenset({"execute", "scalars", "scalar", "get", "refresh", "get_one", "merge"})
SESSION_FLUSH = frozenset({"flush", "commit"})


def is_session_name(name: str) -> bool:
    return name in SESSION_NAMES or name.endswith("_session") or name == "dbsession"


def build_query(qs: QuerySetVal, span: Span, *, kind: QueryKind, evaluated_at: Span | None, loop: LoopRef | None, description: str) -> Query:
    """The IR of a SQLAlchemy statement (tables, limits, eager loads; predicates not extracted yet)."""
    limit: int | None = None
    offset: int | None = None
    for name, call in qs.steps:
        if name in ("limit", "offset") and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, int):
            if name == "limit":
                limit = call.args[0].value
            else:
                offset = call.args[0].value
    return Query(
        origin=Origin.SQLALCHEMY,
        kind=kind,
        span=span,
        tables=(TableRef(qs.model.table, model=qs.model.class_name),),
        projection=Projection.STAR if qs.rows == "instances" else Projection.UNKNOWN,
        limit=limit,
        offset=offset,
        eager_loads=tuple(sorted(qs.eager)),
        evaluated_at=evaluated_at,
        loop=loop,
        confidence=Confidence.HIGH if qs.built_here else Confidence.MEDIUM,
        model=qs.model.class_name,
        description=description,
    )
