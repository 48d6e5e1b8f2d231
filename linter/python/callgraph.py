"""The call graph and the question QL203 asks of it: does this function *always* query?

Nodes are qualified names (``shop.services.price_for``, ``shop.models.Order.total``); an
edge is a call the analyzer resolved (same module, imports between project modules,
``self.method()``, methods and properties on model instances). A function always queries
when, on its straight-line path (not under an ``if``, an ``except``, a loop body or a
short-circuit), it runs a query or calls a function that always queries, to a depth limit.
Functions decorated with a cache are never "always": their result is reused.
"""

from __future__ import annotations

from dataclasses import dataclass

from querylint.python.facts import Event, EventKind, PythonFacts
from querylint.slotstate import fast_pickle

DEFAULT_DEPTH = 3


@fast_pickle
@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a chain: the event in ``function`` (a call, or the final query)."""

    function: str
    event: Event


def query_chain(facts: PythonFacts, qual: str, *, receiver_eager: tuple[str, ...] | None, receiver_known: bool,
                depth: int = DEFAULT_DEPTH, args: tuple[tuple[tuple[str, ...] | None, bool], ...] = (),
                varying_args: tuple[int, ...] = ()) -> list[Hop] | None:
    """The hops from ``qual`` down to a query it always runs, or None.

    A query that depends on ``self.<relation>`` (a lazy load, a related manager's ``.all()``)
    counts only when the receiver is a loop element of a queryset built at the call site
    that does not eager-load that relation (``receiver_known``). A statement on the table a
    parameter names does not count when the call passes a value that changes per iteration
    there (``varying_args``): that is one statement per table, not per row.
    """
    return _chain(facts, qual, receiver_eager, receiver_known, depth, set(), args, frozenset(varying_args))


def _chain(facts: PythonFacts, qual: str, eager: tuple[str, ...] | None, known: bool, depth: int, seen: set[str],
           args: tuple[tuple[tuple[str, ...] | None, bool], ...] = (), varying: frozenset[int] = frozenset()) -> list[Hop] | None:
    if depth <= 0 or qual in seen:
        return None
    summary = facts.functions.get(qual)
    if summary is None or summary.cached:
        return None
    seen = seen | {qual}
    for ev in summary.events:
        if ev.conditional:
            continue
        if ev.kind in (EventKind.QUERY, EventKind.WRITE):
            if ev.table_param is not None and ev.table_param in varying:
                continue
            if ev.self_relation is not None:
                # a relation of ``self`` (or of a parameter): a query only if the caller's
                # object comes from a queryset built there that does not eager-load it
                rel_eager, rel_known = (eager, known) if ev.param is None else (args[ev.param] if ev.param < len(args) else (None, False))
                if not rel_known or rel_eager is None:
                    continue
                if any(e == ev.self_relation or e.startswith(ev.self_relation + "__") for e in rel_eager):
                    continue
            return [Hop(qual, ev)]
        if ev.kind is EventKind.CALL and ev.callee:
            via_self = ev.method == "self"
            sub = _chain(facts, ev.callee, eager if via_self else None, known and via_self, depth - 1, seen)
            if sub is not None:
                return [Hop(qual, ev), *sub]
    return None
