"""SQLAlchemy query sites: ``select(...)`` / ``session.query(...)`` chains and loader options.

Only the pieces the analyzer cannot express generically live here: which names are
sessions, which methods execute, how a loader option names its relation path, and the IR of
a statement. :func:`build_query` reads the chain's steps — ``where`` / ``filter`` criteria
(comparisons, ``in_``, ``is_(None)``, ``like``, ``func.lower(col)``, ``and_`` / ``or_`` /
``not_``), ``filter_by`` on the current entity, ``join`` / ``outerjoin``, ``order_by``,
``limit`` / ``offset`` and the terminal (``first()``, ``get()``) — into predicates on *db
columns* (a ``mapped_column("real_name")`` key differs from the attribute). Whatever it cannot
read for certain (a hybrid property, an aliased entity, a JSON path, a condition kept in a
variable) marks the filter incomplete (``has_disjunction``), so no index is suggested from
half of the WHERE clause.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

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
from querylint.models import Field, Model, ModelRegistry, Relation, RelationKind
from querylint.python.values import QuerySetVal, sql_literal, unparse
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
#: Flask-SQLAlchemy's Query methods that abort with 404 instead of returning None: what they run
FLASK_TERMINALS = {"first_or_404": "first", "get_or_404": "get", "one_or_404": "one"}
QUERY_TERMINAL = frozenset({"all", "first", "one", "one_or_none", "scalar", "count", "get", "exists", "delete", "update", "scalars",
                            *FLASK_TERMINALS})
#: Session methods that execute a statement
SESSION_EXECUTE = frozenset({"execute", "scalars", "scalar", "get", "refresh", "get_one", "merge"})
SESSION_FLUSH = frozenset({"flush", "commit"})

#: ``(ast node) -> Span`` of the file being analyzed
SpanFn = Callable[[ast.AST], Span | None]
#: ``(expression) -> the model class it names`` (``User`` -> the User model), from the analyzer
ModelOf = Callable[[ast.expr], Model | None]

_CMP: dict[type[ast.cmpop], Op] = {ast.Eq: Op.EQ, ast.NotEq: Op.NE, ast.Lt: Op.LT, ast.LtE: Op.LE, ast.Gt: Op.GT, ast.GtE: Op.GE}
_FLIP = {Op.LT: Op.GT, Op.LE: Op.GE, Op.GT: Op.LT, Op.GE: Op.LE}
#: ``Model.col.<method>(x)`` -> operator (the pattern methods are handled on their own)
_METHODS = {"in_": Op.IN, "not_in": Op.NOT_IN, "notin_": Op.NOT_IN, "between": Op.BETWEEN, "like": Op.LIKE,
            "ilike": Op.ILIKE, "not_like": Op.OTHER, "notlike": Op.OTHER, "not_ilike": Op.OTHER, "notilike": Op.OTHER,
            "is_distinct_from": Op.OTHER, "isnot_distinct_from": Op.OTHER, "is_not_distinct_from": Op.OTHER,
            "match": Op.OTHER, "regexp_match": Op.OTHER}
#: ``startswith`` & co: LIKE with the wildcard on the side(s) they name; ``i...``: lower() LIKE lower()
_PATTERNS = {"startswith": ("", "%"), "endswith": ("%", ""), "contains": ("%", "%"),
             "istartswith": ("", "%"), "iendswith": ("%", ""), "icontains": ("%", "%")}
_TEXT_TYPES = ("varchar", "char", "text", "citext")
#: calls whose result is SQL, not a Python value bound as a parameter
_SQL_CALLS = frozenset({"select", "text", "literal", "literal_column", "cast", "case", "null", "true", "false",
                        "exists", "scalar_subquery", "subquery", "as_scalar", "label", "coalesce", "tuple_"})
#: statement steps that do not change which rows are read
_NEUTRAL = frozenset({"options", "execution_options", "with_for_update", "populate_existing", "enable_eagerloads",
                      "yield_per", "params", "autoflush", "unique", "distinct", "group_by", "having", "correlate",
                      "add_columns", "with_only_columns", "with_entities"})


def is_session_name(name: str) -> bool:
    return name in SESSION_NAMES or name.endswith("_session") or name == "dbsession"


_DML = {"insert": "INSERT", "update": "UPDATE", "delete": "DELETE", "select": "SELECT"}


def dml_verb(node: ast.expr | None) -> str | None:
    """The verb of an SQLAlchemy Core statement: ``insert(t).values(...)``,
    ``delete(t).where(...)``, ``t.update().where(...)``, ``select(...)`` -> INSERT / DELETE /
    UPDATE / SELECT; None when the expression is not such a construct."""
    while isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Name):
            if f.id not in _DML and node.args:
                node = node.args[0]  # ``_scoped(t.update().where(...))``: a helper that refines it
                continue
            return _DML.get(f.id) if f.id != "select" or node.args else None
        if not isinstance(f, ast.Attribute):
            return None
        if f.attr in _DML and f.attr != "select" and not node.args and not isinstance(f.value, ast.Call):
            return _DML[f.attr]  # ``table.insert()``
        if f.attr in _DML and isinstance(f.value, ast.Name) and f.value.id in ("sa", "sqlalchemy"):
            return _DML[f.attr]  # ``sa.delete(t)``
        node = f.value  # ``.where(...)`` / ``.values(...)``: the statement it refines
    return None


def dml_table(node: ast.expr | None) -> ast.expr | None:
    """The table expression of an SQLAlchemy Core statement: ``t`` of ``t.update().where(...)``,
    ``insert(t)``, ``sa.select(...).select_from(t)``; None when it is not such a construct."""
    while isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Name):
            if f.id not in _DML:
                node = node.args[0] if node.args else None  # ``_scoped(t.update())``
                continue
            return _table_arg(node, f.id)
        if not isinstance(f, ast.Attribute):
            return None
        if f.attr == "select_from" and node.args:
            return node.args[0]
        if f.attr in _DML and f.attr != "select" and not node.args and not isinstance(f.value, ast.Call):
            return f.value  # ``table.insert()``
        if f.attr in _DML and isinstance(f.value, ast.Name) and f.value.id in ("sa", "sqlalchemy"):
            return _table_arg(node, f.attr)  # ``sa.delete(t)``
        node = f.value
    return None


def _table_arg(call: ast.Call, verb: str) -> ast.expr | None:
    """``t`` of ``insert(t)`` / ``delete(t)``; of ``select(...)`` only a bare name (``select(model)``),
    not a column list."""
    first = call.args[0] if call.args else None
    return first if first is not None and (verb != "select" or isinstance(first, ast.Name)) else None


def _const(node: ast.expr) -> Value | None:
    """The SQL literal of a Python constant (``None`` -> NULL) or a negative number, else None."""
    literal = sql_literal(node)
    if literal is not None:
        return literal
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        inner = _const(node.operand)
        if inner is not None and inner.text is not None and inner.text[:1].isdigit():
            return Value(ValueKind.CONST, "-" + inner.text)
    return None


def _call_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        f = node.func
        return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
    return ""


def _is_func(call: ast.Call) -> str | None:
    """``func.lower(...)`` / ``sa.func.lower(...)`` -> ``lower``."""
    f = call.func
    if isinstance(f, ast.Attribute):
        base = f.value
        if (isinstance(base, ast.Name) and base.id == "func") or (isinstance(base, ast.Attribute) and base.attr == "func"):
            return f.attr
    return None


def _has_core_columns(node: ast.expr) -> bool:
    """``table.c.id`` / ``alias.c.id`` anywhere: a Core column we cannot place."""
    return any(isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute) and n.value.attr in ("c", "columns")
               for n in ast.walk(node))


def _pk(model: Model) -> list[str]:
    return [f.column for f in model.fields.values() if f.primary_key] or ["id"]


@dataclass(frozen=True)
class _Col:
    """A column (or an expression over one column) of a mapped class."""

    model: Model
    column: str
    expression: str | None = None
    field: Field | None = None


@dataclass(frozen=True)
class _Rel:
    model: Model
    relation: Relation


class _Unknown(Exception):
    """A part of the statement this module cannot read for certain."""


class _Builder:
    def __init__(self, qs: QuerySetVal, registry: ModelRegistry | None, model_of: ModelOf, span_of: SpanFn) -> None:
        self.registry = registry
        self.model_of = model_of
        self.span_of = span_of
        self.main = qs.model
        self.tables: list[TableRef] = [TableRef(qs.model.table, model=qs.model.class_name)]
        self.entities: list[Model] = [qs.model]
        self.current: Model | None = qs.model  # what filter_by() filters: the last joined entity
        self.preds: list[Predicate] = []
        self.joins: list[Join] = []
        self.order: list[OrderKey] = []
        self.incomplete = False

    # -- names ------------------------------------------------------------------------------
    def model(self, node: ast.expr) -> Model | None:
        if isinstance(node, ast.Name):
            return self.model_of(node)
        return None

    def target(self, rel: Relation) -> Model | None:
        if self.registry is None:
            return None
        return self.registry.models.get(rel.target) or self.registry.resolve(rel.target)

    def attr(self, model: Model, name: str) -> Field | Relation | None:
        """A mapped attribute, inherited from a mapped parent on the same table (single-table)."""
        seen: set[str] = set()
        todo = [model]
        while todo:
            m = todo.pop()
            if m.key in seen:
                continue
            seen.add(m.key)
            if name in m.fields:
                return m.fields[name] if m.table == model.table else None
            if name in m.relations:
                return m.relations[name] if m.table == model.table else None
            if self.registry is not None:
                for b in m.bases:
                    parent = self.registry.resolve(b.rsplit(".", 1)[-1])
                    if parent is not None and parent.framework is m.framework:
                        todo.append(parent)
        return None

    def side(self, node: ast.expr) -> _Col | _Rel | None:
        """``Model.col`` / ``func.lower(Model.col)`` / ``Model.rel``; None when not one of ours.

        Raises :class:`_Unknown` for an attribute of a mapped class we cannot map to a column.
        """
        if isinstance(node, ast.Attribute):
            model = self.model(node.value)
            if model is None:
                return None
            found = self.attr(model, node.attr)
            if isinstance(found, Field):
                return _Col(model, found.column, None, found)
            if isinstance(found, Relation):
                return _Rel(model, found)
            raise _Unknown(node.attr)  # a hybrid property, a synonym, a query expression
        if isinstance(node, ast.Call) and (fname := _is_func(node)) is not None and node.args and not node.keywords:
            cols: list[_Col] = []
            parts: list[str] = []
            other = False
            for a in node.args:
                s = self.side(a)
                c = _const(a)
                if isinstance(s, _Col) and s.expression is None:
                    cols.append(s)
                    parts.append(s.column)
                elif s is None and c is not None and c.text is not None:
                    parts.append(c.text)
                else:
                    other = True
            if not cols:
                return None  # func.lower(email): a value
            if len(cols) != 1 or other:
                raise _Unknown(unparse(node))
            return _Col(cols[0].model, cols[0].column, f"{fname.lower()}({', '.join(parts)})", cols[0].field)
        return None

    def value(self, node: ast.expr) -> Value:
        c = _const(node)
        if c is not None:
            return c
        if _has_core_columns(node):
            raise _Unknown(unparse(node))
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id[:1].isupper()
                and node.attr[:1].islower() and self.is_mapped_name(node.attr)):
            # ``Other.attr`` of a class we do not know (an aliased() entity, a model of another
            # package) naming a mapped attribute: maybe a join. ``TagType.owner`` is an enum.
            raise _Unknown(unparse(node))
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            vals = [_const(e) for e in node.elts]
            if vals and all(v is not None for v in vals):
                return Value(ValueKind.CONST, "(" + ", ".join(v.text or "" for v in vals if v is not None) + ")")
            return Value(ValueKind.PARAM)
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if _is_func(node) is not None or name in _SQL_CALLS:
                return Value(ValueKind.EXPR, "(subquery)" if name in ("select", "subquery", "scalar_subquery", "as_scalar", "exists") else unparse(node))
            if isinstance(node.func, ast.Attribute) and self.contains_model(node.func.value):
                return Value(ValueKind.EXPR, unparse(node))  # Model.col.op(...) / session.query(...)...
        if isinstance(node, (ast.BinOp, ast.UnaryOp)) and self.contains_model(node):
            return Value(ValueKind.EXPR, unparse(node))
        return Value(ValueKind.PARAM)

    def is_mapped_name(self, name: str) -> bool:
        if self.registry is None:
            return True
        return name in ("id", "pk") or any(name in m.fields or name in m.relations for m in self.registry.models.values())

    def contains_model(self, node: ast.expr) -> bool:
        return any(isinstance(n, ast.Name) and self.model_of(n) is not None for n in ast.walk(node))

    def add_table(self, model: Model) -> None:
        if all(t.name != model.table for t in self.tables):
            self.tables.append(TableRef(model.table, model=model.class_name))
        if model not in self.entities:
            self.entities.append(model)

    # -- criteria ---------------------------------------------------------------------------
    def criterion(self, node: ast.expr, *, on: bool = False, outer: bool = False) -> None:
        """One WHERE (or inner-join ON) criterion; ``and_`` and ``&`` split into atoms."""
        try:
            self._criterion(node, on=on, outer=outer)
        except _Unknown:
            if not outer:
                self.incomplete = True

    def _criterion(self, node: ast.expr, *, on: bool, outer: bool) -> None:
        name = _call_name(node) if isinstance(node, ast.Call) and self._is_conj(node) else ""
        if name == "and_" and isinstance(node, ast.Call) and not node.keywords:
            for a in node.args:
                if isinstance(a, ast.Starred):
                    raise _Unknown("*args")
                self._criterion(a, on=on, outer=outer)
            return
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
            self._criterion(node.left, on=on, outer=outer)
            self._criterion(node.right, on=on, outer=outer)
            return
        if outer:
            return  # constants in an outer join's ON do not filter the main rows
        if name == "or_" and isinstance(node, ast.Call):
            if len(node.args) == 1 and not isinstance(node.args[0], ast.Starred):
                self._criterion(node.args[0], on=on, outer=outer)
            elif node.args:
                self.incomplete = True  # OR: its atoms are not conjunctive (the Django side's `|`)
            return
        if name == "not_" and isinstance(node, ast.Call) and len(node.args) == 1:
            self.negated(node.args[0], node)
            return
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            self.negated(node.operand, node)
            return
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            self.incomplete = True
            return
        if isinstance(node, ast.Compare):
            self.compare(node)
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_func(node) is None:
            self.method(node)
            return
        if isinstance(node, ast.Constant) and node.value is True:
            return  # where(True): no condition
        s = self.side(node)
        if isinstance(s, _Col) and s.expression is None and self.is_bool(s):
            self.add(s, Op.EQ, Value(ValueKind.CONST, "true"), node)
            return
        raise _Unknown(unparse(node))

    def _is_conj(self, node: ast.Call) -> bool:
        """``and_`` / ``or_`` / ``sa.and_`` / ``sqlalchemy.or_``, not some other object's method."""
        f = node.func
        return isinstance(f, ast.Name) or (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and self.model_of(f.value) is None)

    def is_bool(self, col: _Col) -> bool:
        t = (col.field.type or "") if col.field is not None else ""
        return t.startswith("bool")

    def negated(self, inner: ast.expr, node: ast.expr) -> None:
        """``not_(Model.is_active)`` / ``~Model.col.in_(...)``; anything else is not conjunctive."""
        s = self.side(inner)
        if isinstance(s, _Col) and s.expression is None and self.is_bool(s):
            self.preds.append(Predicate(s.model.table, s.column, Op.EQ, Value(ValueKind.CONST, "false"), None, self.span_of(node)))
            return
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and inner.func.attr in ("in_", "is_", "like", "ilike"):
            col = self.side(inner.func.value)
            if isinstance(col, _Col) and len(inner.args) == 1:
                arg = inner.args[0]
                op = {"in_": Op.NOT_IN, "like": Op.OTHER, "ilike": Op.OTHER}.get(inner.func.attr)
                if inner.func.attr == "is_":
                    if not (isinstance(arg, ast.Constant) and arg.value is None):
                        raise _Unknown(unparse(node))
                    self.add(col, Op.IS_NOT_NULL, Value(ValueKind.CONST, "NULL"), node)
                    return
                assert op is not None
                self.add(col, op, self.value(arg), node)
                return
        raise _Unknown(unparse(node))

    def add(self, col: _Col, op: Op, value: Value, node: ast.AST) -> None:
        self.add_table(col.model)
        self.preds.append(Predicate(col.model.table, col.column, op, value, col.expression, self.span_of(node)))

    def compare(self, node: ast.Compare) -> None:
        if len(node.ops) != 1:
            raise _Unknown("chained comparison")  # ``a < Model.x < b`` is Python's ``and``
        op = _CMP.get(type(node.ops[0]))
        if op is None:
            raise _Unknown("operator")  # ``is`` / ``in``: Python, not SQL
        left, right = node.left, node.comparators[0]
        ls, rs = self.side(left), self.side(right)
        if ls is None and rs is None:
            raise _Unknown(unparse(node))
        if ls is None:
            ls, rs, left, right = rs, None, right, left
            op = _FLIP.get(op, op)
        assert ls is not None
        if rs is not None:
            self.column_pair(ls, rs, op)
            return
        if isinstance(ls, _Rel):
            self.relation_compare(ls, op, right, node)
            return
        val = self.value(right)
        if val.kind is ValueKind.CONST and val.text == "NULL":
            if op is Op.EQ:
                self.add(ls, Op.IS_NULL, val, node)
                return
            if op is Op.NE:
                self.add(ls, Op.IS_NOT_NULL, val, node)
                return
            raise _Unknown("NULL comparison")
        self.add(ls, op, val, node)

    def column_pair(self, a: _Col | _Rel, b: _Col | _Rel, op: Op, kind: str = "inner") -> None:
        """``Model.a == Other.b``: a join condition (same table: no index use either way)."""
        if not (isinstance(a, _Col) and isinstance(b, _Col)) or op is not Op.EQ or a.expression or b.expression:
            raise _Unknown("column comparison")
        if a.model.table == b.model.table:
            if a.model is b.model:
                return
            raise _Unknown("self join")  # an aliased self-join reads as the same table
        self.add_table(a.model)
        self.add_table(b.model)
        self.joins.append(Join(a.model.table, a.column, b.model.table, b.column, kind))

    def relation_compare(self, rel: _Rel, op: Op, right: ast.expr, node: ast.AST) -> None:
        """``Post.author == user`` compares the foreign key; ``== None``: the FK IS NULL."""
        r = rel.relation
        if r.kind is not RelationKind.SA_MANY_TO_ONE or not r.column or op not in (Op.EQ, Op.NE):
            raise _Unknown("relation comparison")
        col = _Col(rel.model, r.column)
        c = _const(right)
        if c is not None:
            if c.text != "NULL":
                raise _Unknown("relation constant")
            self.add(col, Op.IS_NULL if op is Op.EQ else Op.IS_NOT_NULL, c, node)
            return
        if op is not Op.EQ:
            raise _Unknown("relation <>")
        self.add(col, Op.EQ, Value(ValueKind.PARAM), node)

    def method(self, node: ast.Call) -> None:
        assert isinstance(node.func, ast.Attribute)
        meth = node.func.attr
        col = self.side(node.func.value)
        if not isinstance(col, _Col):
            raise _Unknown(unparse(node))  # a relation's any()/has(), a value's method
        args = node.args
        if node.keywords and meth not in _PATTERNS:
            raise _Unknown(meth)
        if meth in ("is_", "isnot", "is_not") and len(args) == 1:
            c = _const(args[0])
            if c is None:
                raise _Unknown(meth)
            if c.text == "NULL":
                self.add(col, Op.IS_NULL if meth == "is_" else Op.IS_NOT_NULL, c, node)
            elif meth == "is_" and c.text in ("true", "false"):
                self.add(col, Op.EQ, c, node)
            else:
                raise _Unknown(meth)
            return
        if meth in _PATTERNS and len(args) == 1:
            if meth == "contains" and not (col.field is not None and (col.field.type or "").startswith(_TEXT_TYPES)):
                raise _Unknown("contains")  # ARRAY / JSONB ``@>``, or a type we do not know
            before, after = _PATTERNS[meth]
            c = _const(args[0])
            if c is not None and c.text is not None and c.text.startswith("'"):
                value = Value(ValueKind.CONST, "'" + before + c.text[1:-1] + after + "'")
            else:
                value = Value(ValueKind.EXPR, " || ".join(x for x in (f"'{before}'" if before else "", "?", f"'{after}'" if after else "") if x))
            if meth.startswith("i"):
                col = _Col(col.model, col.column, f"lower({col.column})", col.field)
            self.add(col, Op.LIKE, value, node)
            return
        op = _METHODS.get(meth)
        if op is None:
            raise _Unknown(meth)  # .op("@>")(...), .any_(), a JSON path...
        if op is Op.BETWEEN:
            if len(args) != 2:
                raise _Unknown(meth)
            vals = [self.value(a) for a in args]
            text = "(" + ", ".join(v.text or "" for v in vals) + ")" if all(v.kind is ValueKind.CONST for v in vals) else None
            self.add(col, op, Value(ValueKind.CONST, text) if text else Value(ValueKind.PARAM), node)
            return
        if len(args) != 1:
            raise _Unknown(meth)
        self.add(col, op, self.value(args[0]), node)

    # -- filter_by ----------------------------------------------------------------------------
    def filter_by(self, call: ast.Call) -> None:
        model = self.current
        if model is None or call.args or any(k.arg is None for k in call.keywords):
            self.incomplete = True  # an entity we lost track of, or **kwargs
            return
        for kw in call.keywords:
            assert kw.arg is not None
            found = self.attr(model, kw.arg)
            try:
                if isinstance(found, Field):
                    col = _Col(model, found.column, None, found)
                    val = self.value(kw.value)
                    op = Op.IS_NULL if val.text == "NULL" and val.kind is ValueKind.CONST else Op.EQ
                    self.add(col, op, val, kw)
                elif isinstance(found, Relation):
                    self.relation_compare(_Rel(model, found), Op.EQ, kw.value, kw)
                else:
                    raise _Unknown(kw.arg)
            except _Unknown:
                self.incomplete = True

    # -- joins --------------------------------------------------------------------------------
    def join(self, call: ast.Call, outer: bool) -> None:
        full = any(k.arg == "full" and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords)
        outer = outer or full or any(k.arg == "isouter" and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords)
        kind = "full" if full else "left" if outer else "inner"
        if not call.args:
            self.incomplete = True
            return
        target_node = call.args[0]
        onclause = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "onclause"), None)
        try:
            side = self.side(target_node)
        except _Unknown:
            side = None
        if isinstance(side, _Rel):  # join(Model.relation)
            target = self.target(side.relation)
            if target is None:
                self.lost()
                return
            self.add_table(target)
            self.relation_join(side.model, side.relation, target, kind)
            self.current = target
            if onclause is not None:
                self.criterion(onclause, on=True, outer=outer)
            return
        target = self.model(target_node)
        if target is None:
            self.lost()
            return
        self.add_table(target)
        try:
            on_rel = self.side(onclause) if onclause is not None else None
        except _Unknown:
            on_rel = None
        if isinstance(on_rel, _Rel):  # join(Other, Model.relation): the 1.x spelling
            other = self.target(on_rel.relation)
            if other is not None and other.key == target.key:
                self.relation_join(on_rel.model, on_rel.relation, target, kind)
            else:
                self.incomplete = self.incomplete or not outer
        elif onclause is not None:
            self.criterion(onclause, on=True, outer=outer)
            if outer:  # the ON of an outer join: only the column pairs, as joins
                self.on_pairs(onclause, kind)
        else:
            self.inferred_join(target, kind)
        self.current = target

    def lost(self) -> None:
        """A join target we cannot read (an alias, a subquery): filter_by() no longer knows its entity."""
        self.current = None

    def on_pairs(self, node: ast.expr, kind: str) -> None:
        atoms = node.args if isinstance(node, ast.Call) and _call_name(node) == "and_" else [node]
        for a in atoms:
            if isinstance(a, ast.Compare) and len(a.ops) == 1 and isinstance(a.ops[0], ast.Eq):
                try:
                    ls, rs = self.side(a.left), self.side(a.comparators[0])
                    if ls is not None and rs is not None:
                        self.column_pair(ls, rs, Op.EQ, kind)
                except _Unknown:
                    pass

    def relation_join(self, model: Model, rel: Relation, target: Model, kind: str) -> None:
        if rel.kind is RelationKind.SA_MANY_TO_ONE and rel.column:
            self.joins.append(Join(model.table, rel.column, target.table, _pk(target)[0], kind))
            return
        if rel.kind is RelationKind.SA_COLLECTION and not rel.through:
            back = [r for r in target.relations.values() if r.kind is RelationKind.SA_MANY_TO_ONE and r.column and (t := self.target(r)) is not None and t.key == model.key]
            cols = {r.column for r in back}
            if len(cols) == 1:
                self.joins.append(Join(model.table, _pk(model)[0], target.table, cols.pop() or "", kind))

    def inferred_join(self, target: Model, kind: str) -> None:
        """``join(Other)``: SQLAlchemy finds the foreign key between Other and the entities so far."""
        found: list[Join] = []
        for left in reversed(self.entities):
            if left is target:
                continue
            for r in left.relations.values():
                if r.kind is RelationKind.SA_MANY_TO_ONE and r.column and (t := self.target(r)) is not None and t.key == target.key:
                    found.append(Join(left.table, r.column, target.table, _pk(target)[0], kind))
            for r in target.relations.values():
                if r.kind is RelationKind.SA_MANY_TO_ONE and r.column and (t := self.target(r)) is not None and t.key == left.key:
                    found.append(Join(left.table, _pk(left)[0], target.table, r.column, kind))
            if found:
                break
        unique = list(dict.fromkeys(found))
        if len(unique) == 1:
            self.joins.append(unique[0])

    # -- order_by -----------------------------------------------------------------------------
    def order_key(self, node: ast.expr) -> OrderKey | None:
        desc = False
        nulls: bool | None = None
        for _ in range(4):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args and node.func.attr in ("desc", "asc", "nullsfirst", "nulls_first", "nullslast", "nulls_last"):
                a = node.func.attr
                if a in ("desc", "asc"):
                    desc = desc or a == "desc"
                else:
                    nulls = nulls if nulls is not None else a in ("nullsfirst", "nulls_first")
                node = node.func.value
                continue
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute) and _call_name(node) in ("desc", "asc", "nullsfirst", "nulls_first", "nullslast", "nulls_last") and len(node.args) == 1 and _is_func(node) is None:
                a = _call_name(node)
                if a in ("desc", "asc"):
                    desc = desc or a == "desc"
                else:
                    nulls = nulls if nulls is not None else a in ("nullsfirst", "nulls_first")
                node = node.args[0]
                continue
            break
        try:
            s = self.side(node)
        except _Unknown:
            return None
        if not isinstance(s, _Col):
            return None
        self.add_table(s.model)
        return OrderKey(s.model.table, s.column, desc, nulls, s.expression)


def _limit(node: ast.expr | None) -> int | Limit | None:
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    return Limit.PARAM


def build_query(
    qs: QuerySetVal,
    span: Span,
    *,
    kind: QueryKind,
    evaluated_at: Span | None,
    loop: LoopRef | None,
    description: str,
    registry: ModelRegistry | None = None,
    model_of: ModelOf | None = None,
    span_of: SpanFn | None = None,
    terminal: str | None = None,
    terminal_call: ast.Call | None = None,
) -> Query:
    """The IR of a SQLAlchemy statement: tables, predicates, joins, order, limits, eager loads.

    ``model_of`` resolves a name to the mapped class it holds (the analyzer's scope); without it
    no criterion can be read, so any filter marks the query incomplete.
    """
    b = _Builder(qs, registry, model_of or (lambda _n: None), span_of or (lambda _n: None))
    limit: int | Limit | None = None
    offset: int | Limit | None = None
    order_lost = False
    for name, call in qs.steps:
        try:
            if name in ("where", "filter"):
                for a in call.args:
                    if isinstance(a, ast.Starred):
                        b.incomplete = True
                    else:
                        b.criterion(a)
                if call.keywords:
                    b.incomplete = True
            elif name == "filter_by":
                b.filter_by(call)
            elif name in ("join", "outerjoin"):
                b.join(call, name == "outerjoin")
            elif name == "join_from":
                b.incomplete = True
            elif name == "select_from":
                m = b.model(call.args[0]) if len(call.args) == 1 else None
                b.current = m
                if m is None:
                    b.incomplete = True
            elif name == "order_by":
                if len(call.args) == 1 and isinstance(call.args[0], ast.Constant) and call.args[0].value in (None, False):
                    b.order, order_lost = [], False  # order_by(None) cancels the ORDER BY
                    continue
                keys = [b.order_key(a) for a in call.args]
                if all(k is not None for k in keys) and not order_lost:
                    b.order.extend(k for k in keys if k is not None)  # successive order_by() calls append
                else:
                    b.order, order_lost = [], True  # a key we cannot read (text, a label): no sort need from half the keys
            elif name == "limit":
                limit = _limit(call.args[0] if call.args else None)
            elif name == "offset":
                offset = _limit(call.args[0] if call.args else None)
            elif name == "slice" and len(call.args) == 2:
                lo, up = _limit(call.args[0]), _limit(call.args[1])
                offset = lo or None
                limit = up - lo if isinstance(up, int) and isinstance(lo, int) else Limit.PARAM
            elif name in ("union", "union_all"):
                b.incomplete = True
            elif name not in _NEUTRAL:
                b.incomplete = True
        except (RecursionError, ValueError, TypeError, AttributeError, IndexError):  # an odd node: say less
            b.incomplete = True
    if terminal == "first" and not qs.statement:
        limit = 1  # Query.first() is limit(1)
    elif terminal == "get" and terminal_call is not None:
        pk = [f for f in qs.model.fields.values() if f.primary_key]
        for f in pk:
            b.preds.append(Predicate(qs.model.table, f.column, Op.EQ, Value(ValueKind.PARAM), None, span_of(terminal_call) if span_of else None))
        if not pk:
            b.incomplete = True
    if any(p.table != qs.model.table for p in b.preds):
        # A filter on a joined table: the planner may start from that table and reach this one
        # through the join key (``roles.name = ?`` then ``role_permissions.role_id = roles.id``),
        # so this table's own predicates alone do not say which index it needs.
        b.incomplete = True
    projection = Projection.STAR if qs.rows == "instances" else Projection.UNKNOWN
    if terminal in ("count", "exists") or kind is not QueryKind.SELECT:
        projection = Projection.UNKNOWN
    return Query(
        origin=Origin.SQLALCHEMY,
        kind=kind,
        span=span,
        tables=tuple(b.tables),
        projection=projection,
        predicates=tuple(b.preds),
        has_disjunction=b.incomplete,
        joins=tuple(dict.fromkeys(b.joins)),
        order_by=tuple(b.order),
        limit=limit,
        offset=offset,
        eager_loads=tuple(sorted(qs.eager)),
        evaluated_at=evaluated_at,
        loop=loop,
        confidence=Confidence.HIGH if qs.built_here else Confidence.MEDIUM,
        model=qs.model.class_name,
        description=description,
    )


def get_query(model: Model, span: Span, *, evaluated_at: Span | None, loop: LoopRef | None, description: str) -> Query:
    """``session.get(Model, ident)``: a primary-key lookup (served by the primary key)."""
    pk = [f for f in model.fields.values() if f.primary_key]
    return Query(
        origin=Origin.SQLALCHEMY,
        kind=QueryKind.SELECT,
        span=span,
        tables=(TableRef(model.table, model=model.class_name),),
        projection=Projection.STAR,
        predicates=tuple(Predicate(model.table, f.column, Op.EQ, Value(ValueKind.PARAM), None, span) for f in pk),
        has_disjunction=not pk,
        evaluated_at=evaluated_at,
        loop=loop,
        confidence=Confidence.MEDIUM,
        model=model.class_name,
        description=description,
    )
