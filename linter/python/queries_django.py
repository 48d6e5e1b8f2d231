"""Django QuerySet chains -> :class:`~querylint.ir.Query`.

The analyzer tracks a chain as a :class:`~querylint.python.values.QuerySetVal` (its steps
are the method calls from the manager on); this module turns the steps into the IR the index
rules read: predicates on *db columns* from field lookups (``author__name`` becomes a join
and a predicate on the author's table), ``Q`` objects (OR / NOT set ``has_disjunction``),
``order_by``, slicing, projections and eager loads.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from querylint.diagnostics import Confidence
from querylint.ir import (
    Join,
    Limit,
    LoopRef,
    Op,
    OrderKey,
    Origin,
    Predicate,
    Projection,
    Query,
    QueryKind,
    TableRef,
    Value,
    ValueKind,
)
from querylint.models import Model, ModelRegistry
from querylint.python.values import QuerySetVal, sql_literal, unparse
from querylint.source import Span

#: ``(ast node) -> Span`` of the file being analyzed
SpanFn = Callable[[ast.AST], Span | None]

#: terminal methods that run a query and what kind of statement they run
TERMINAL: dict[str, QueryKind] = {
    "get": QueryKind.SELECT, "first": QueryKind.SELECT, "last": QueryKind.SELECT,
    "count": QueryKind.SELECT, "exists": QueryKind.SELECT, "aggregate": QueryKind.SELECT,
    "in_bulk": QueryKind.SELECT, "earliest": QueryKind.SELECT, "latest": QueryKind.SELECT,
    "contains": QueryKind.SELECT, "explain": QueryKind.SELECT,
    "aget": QueryKind.SELECT, "afirst": QueryKind.SELECT, "alast": QueryKind.SELECT,
    "acount": QueryKind.SELECT, "aexists": QueryKind.SELECT, "aaggregate": QueryKind.SELECT,
    "get_or_create": QueryKind.SELECT, "update_or_create": QueryKind.UPDATE,
    "aget_or_create": QueryKind.SELECT, "aupdate_or_create": QueryKind.UPDATE,
}
WRITES: dict[str, QueryKind] = {
    "create": QueryKind.INSERT, "acreate": QueryKind.INSERT,
    "update": QueryKind.UPDATE, "aupdate": QueryKind.UPDATE,
    "delete": QueryKind.DELETE, "adelete": QueryKind.DELETE,
    "bulk_create": QueryKind.INSERT, "bulk_update": QueryKind.UPDATE,
    "abulk_create": QueryKind.INSERT, "abulk_update": QueryKind.UPDATE,
}
#: methods that return a new queryset (chainable, lazy)
CHAIN = frozenset({
    "all", "filter", "exclude", "order_by", "reverse", "distinct", "annotate", "alias",
    "select_related", "prefetch_related", "only", "defer", "values", "values_list", "using",
    "select_for_update", "none", "extra", "union", "intersection", "difference", "dates",
    "datetimes", "iterator", "complex_filter", "filter_by",
})

_LOOKUPS: dict[str, Op] = {
    "exact": Op.EQ, "iexact": Op.EQ, "in": Op.IN, "gt": Op.GT, "gte": Op.GE, "lt": Op.LT,
    "lte": Op.LE, "range": Op.BETWEEN, "contains": Op.LIKE, "icontains": Op.ILIKE,
    "startswith": Op.LIKE, "istartswith": Op.ILIKE, "endswith": Op.LIKE, "iendswith": Op.ILIKE,
    "regex": Op.OTHER, "iregex": Op.OTHER,
}
_DATE_PARTS = frozenset({"year", "month", "day", "week", "week_day", "iso_week_day", "quarter", "hour", "minute", "second", "date", "time", "iso_year"})


def _value(node: ast.expr) -> Value:
    literal = sql_literal(node)
    if literal is not None:
        return literal
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "F":
        return Value(ValueKind.COLUMN, _const_str(node.args[0]) if node.args else None)
    if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
        return Value(ValueKind.PARAM)
    return Value(ValueKind.EXPR, unparse(node))


def _const_str(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class _Builder:
    def __init__(self, registry: ModelRegistry, model: Model) -> None:
        self.registry = registry
        self.model = model
        self.tables: list[TableRef] = [TableRef(model.table, model=model.class_name)]
        self.preds: list[Predicate] = []
        self.joins: list[Join] = []
        self.disjunction = False

    def _target(self, model: Model, name: str) -> Model | None:
        rel = model.relations.get(name)
        if rel is None:
            return None
        return self.registry.resolve(rel.target, from_app=model.key.split(".", 1)[0])

    def lookup(self, key: str, value: ast.expr, span: Span | None) -> None:
        parts = key.split("__")
        model = self.model
        i = 0
        while i < len(parts):
            name = parts[i]
            rest = parts[i + 1 :]
            if name == "pk":
                pk_field = next((f for f in model.fields.values() if f.primary_key), None)
                self._add(model, pk_field.column if pk_field else "id", rest, value, span)
                return
            if name in model.fields:
                self._add(model, model.fields[name].column, rest, value, span)
                return
            rel = model.relations.get(name)
            if rel is None and name.endswith("_id") and (fk := model.relations.get(name[:-3])) is not None and fk.column:
                self._add(model, fk.column, rest, value, span)  # the attname: author_id=3
                return
            if rel is None:
                return  # an annotation, a transform we do not know: say nothing
            if rel.column and (not rest or rest[0] in _LOOKUPS or rest[0] == "isnull"):
                # author=x / author__in=... compare the FK column itself
                self._add(model, rel.column, rest, value, span)
                return
            target = self._target(model, name)
            if target is None:
                return
            if rel.column:
                pk = next((f.column for f in target.fields.values() if f.primary_key), "id")
                self.joins.append(Join(model.table, rel.column, target.table, pk))
            if all(t.name != target.table for t in self.tables):
                self.tables.append(TableRef(target.table, model=target.class_name))
            model = target
            i += 1

    def _add(self, model: Model, column: str, rest: list[str], value: ast.expr, span: Span | None) -> None:
        expression = None
        if rest and rest[0] in _DATE_PARTS:
            expression = f"EXTRACT({rest[0]} FROM {column})" if rest[0] not in ("date", "time") else f"({column})::{rest[0]}"
            rest = rest[1:]
        lookup = rest[0] if rest else "exact"
        if lookup == "isnull":
            truth = value.value if isinstance(value, ast.Constant) else None
            null_op = Op.IS_NULL if truth is True else Op.IS_NOT_NULL if truth is False else Op.OTHER
            self.preds.append(Predicate(model.table, column, null_op, Value(ValueKind.CONST, "NULL"), expression, span))
            return
        op = _LOOKUPS.get(lookup)
        if op is None:
            return
        if lookup.startswith("i") and lookup != "in":
            expression = f"upper({column})" if expression is None else expression
        val = _value(value)
        if op is Op.EQ and val.kind is ValueKind.CONST and val.text == "NULL":
            op = Op.IS_NULL
        self.preds.append(Predicate(model.table, column, op, val, expression, span))

    def q(self, node: ast.expr, span_of: SpanFn) -> None:
        """``Q(a=1) & Q(b=2)`` adds both atoms; ``|`` and ``~`` only mark a disjunction."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
            self.q(node.left, span_of)
            self.q(node.right, span_of)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Q":
            if len(node.keywords) > 1 and any(k.arg == "_connector" for k in node.keywords):
                self.disjunction = True
                return
            for kw in node.keywords:
                if kw.arg:
                    self.lookup(kw.arg, kw.value, span_of(kw))
            if node.args:
                for a in node.args:
                    self.q(a, span_of)
        else:
            self.disjunction = True


def build_query(
    qs: QuerySetVal,
    registry: ModelRegistry,
    span: Span,
    *,
    kind: QueryKind = QueryKind.SELECT,
    terminal: str | None = None,
    terminal_call: ast.Call | None = None,
    evaluated_at: Span | None,
    loop: LoopRef | None,
    span_of: SpanFn,
    description: str,
) -> Query:
    """The IR of a Django queryset evaluated (or returned) at ``span``."""
    b = _Builder(registry, qs.model)
    sp = span_of
    order: list[OrderKey] = []
    limit: int | Limit | None = None
    offset: int | Limit | None = None
    projection = Projection.STAR
    columns: list[str] = []
    steps = list(qs.steps)
    if terminal and terminal_call is not None:
        steps.append((terminal, terminal_call))
    for name, call in steps:
        if name in ("filter", "get", "get_or_create", "update_or_create", "exclude", "exists", "count", "first", "last") or name == "subscript":
            if name == "subscript":
                limit, offset = _slice(call)
                continue
            target = b
            if name == "exclude":
                b.disjunction = b.disjunction or bool(call.keywords or call.args)
                continue
            for kw in call.keywords:
                if kw.arg and kw.arg not in ("defaults", "create_defaults"):
                    target.lookup(kw.arg, kw.value, sp(kw))
            for a in call.args:
                target.q(a, sp)
            if name in ("get", "first", "last") and limit is None:
                limit = 1 if name != "get" else 21  # Django fetches at most 21 rows for get()
        elif name == "order_by":
            order = [k for a in call.args if (k := _order_key(a, qs.model)) is not None]
        elif name in ("values", "values_list", "only"):
            projection = Projection.COLUMNS
            columns = [_column_of(qs.model, c) for a in call.args if (c := _const_str(a)) is not None]
        elif name in ("count", "exists", "aggregate"):
            projection = Projection.COLUMNS
    if terminal in ("first", "last") and not order:
        order = [OrderKey(qs.model.table, "id", terminal == "last")]
    if kind is not QueryKind.SELECT:
        projection = Projection.UNKNOWN
    return Query(
        origin=Origin.DJANGO,
        kind=kind,
        span=span,
        tables=tuple(b.tables),
        projection=projection,
        columns=tuple(columns),
        predicates=tuple(b.preds),
        has_disjunction=b.disjunction,
        joins=tuple(b.joins),
        order_by=tuple(order),
        limit=limit,
        offset=offset,
        eager_loads=tuple(sorted(qs.eager)),
        evaluated_at=evaluated_at,
        loop=loop,
        confidence=Confidence.HIGH if qs.built_here else Confidence.MEDIUM,
        model=qs.model.class_name,
        description=description,
    )


def _column_of(model: Model, name: str) -> str:
    first = name.split("__", 1)[0]
    if first in model.fields:
        return str(model.fields[first].column)
    rel = model.relations.get(first)
    if rel is not None and rel.column and "__" not in name:
        return str(rel.column)
    return name


def _order_key(node: ast.expr, model: Model) -> OrderKey | None:
    text = _const_str(node)
    if text is None:
        return None
    desc = text.startswith("-")
    name = text.lstrip("-+?")
    if "__" in name:
        return None
    return OrderKey(model.table, _column_of(model, name), desc)


def _slice(call: ast.Call) -> tuple[int | Limit | None, int | Limit | None]:
    """The analyzer stores ``qs[a:b]`` as a fake call whose args are (lower, upper)."""
    lower = call.args[0] if call.args else None
    upper = call.args[1] if len(call.args) > 1 else None

    def num(n: ast.expr | None) -> int | Limit | None:
        if n is None or (isinstance(n, ast.Constant) and n.value is None):
            return None
        if isinstance(n, ast.Constant) and isinstance(n.value, int):
            return n.value
        return Limit.PARAM

    lo, up = num(lower), num(upper)
    if isinstance(lo, int) and isinstance(up, int):
        return up - lo, lo or None
    if up is not None:
        return (Limit.PARAM if lo is not None else up), lo
    return None, lo
