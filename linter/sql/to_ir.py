"""SQL statements (pglast trees) -> :class:`~querylint.ir.Query` records.

A SELECT becomes one ``Query``; each CTE, each subquery in ``FROM`` and each sub-select in a
``WHERE`` (``IN (SELECT ...)``, ``EXISTS``) becomes its own ``Query`` too, with the same span
(the statement). ``INSERT`` / ``UPDATE`` / ``DELETE`` give a query of that kind on the target
table (plus the queries of an ``INSERT ... SELECT``). DDL and utility statements give none.
Aliases are resolved to table names; CTE names are not tables and are left out of ``tables``.
``ORDER BY`` keys that reference no column (``random()``, a constant, a position) are left out
of ``order_by``: no index can serve them.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from querylint.ir import (
    Join,
    Limit,
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
from querylint.sqlsource import SqlStatement

_CMP = {"=": Op.EQ, "<>": Op.NE, "!=": Op.NE, "<": Op.LT, "<=": Op.LE, ">": Op.GT, ">=": Op.GE}
_FLIP = {Op.LT: Op.GT, Op.LE: Op.GE, Op.GT: Op.LT, Op.GE: Op.LE}


def sql_text(node: Any) -> str:
    """Compact SQL of a pglast node (one line)."""
    from pglast.stream import RawStream

    try:
        text = _const_text(node)
        if text is None:
            text = RawStream()(node)
        text = re.sub(r"\s+", " ", text).strip()
    except Exception:
        return ""
    # ``CAST(created_at AS date)`` reads as the user wrote it: ``created_at::date``
    return _CAST.sub(r"\1::\2", text)


def _const_text(node: Any) -> str | None:
    """What pglast's RawStream prints for a plain constant or column, without one (a stream
    costs ~0.1 ms: an ``IN`` list of 64,000 numbers deparsed each of its values with its own)."""
    from pglast import ast
    from pglast.stream import maybe_double_quote_name

    if isinstance(node, ast.ColumnRef):
        fields = node.fields or ()
        if fields and all(isinstance(f, ast.String) and isinstance(f.sval, str) for f in fields[:-1]):
            last = fields[-1]
            if isinstance(last, ast.A_Star):
                return ".".join([*(maybe_double_quote_name(f.sval) for f in fields[:-1]), "*"])
            if isinstance(last, ast.String) and isinstance(last.sval, str):
                return ".".join(maybe_double_quote_name(f.sval) for f in fields)
        return None
    if not isinstance(node, ast.A_Const):
        return None
    if node.isnull:
        return "NULL"
    val = node.val
    if isinstance(val, ast.Integer):
        return str(val.ival or 0)
    if isinstance(val, ast.Float) and isinstance(val.fval, str):
        return val.fval
    if isinstance(val, ast.String) and isinstance(val.sval, str):
        return "'" + val.sval.replace("'", "''") + "'"
    return None


_CAST = re.compile(r"\bCAST\(('(?:[^']|'')*'|[\w.\"]+) AS ([\w ]+(?:\(\d+(?:, ?\d+)?\))?)\)")


def leftmost(node: Any) -> Any:
    """The node where an expression's text starts (pglast locates operators, not operands)."""
    from pglast import ast

    while True:
        if isinstance(node, ast.A_Expr) and node.lexpr is not None:
            node = node.lexpr
        elif isinstance(node, ast.TypeCast) and node.arg is not None:
            node = node.arg
        else:
            return node


def to_queries(statement: SqlStatement) -> list[Query]:
    return _Converter(statement).statement(statement.node)


def column_refs(node: Any) -> list[Any]:
    """Every ColumnRef inside ``node`` (not descending into sub-selects), in the order they are
    written; an explicit stack, as every walk over a pglast tree here."""
    from pglast import ast

    out: list[Any] = []
    stack: list[Any] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.ColumnRef):
            out.append(n)
        elif isinstance(n, tuple):
            stack.extend(reversed(n))
        elif isinstance(n, ast.Node) and not isinstance(n, (ast.SubLink, ast.SelectStmt)):
            stack.extend(getattr(n, name) for name in reversed(tuple(n)))
    return out


def outer_sublinks(node: Any) -> list[Any]:
    """The SubLinks in ``node`` that no other SubLink holds, in the order pglast's Visitor
    meets them (breadth first). Without a Visitor: building one (and its method table) for
    every selected column was most of the time of a 5,000-column SELECT, and its walk pops
    each list from the front (quadratic in a 64,000-value ``IN`` list)."""
    from pglast import ast

    out: list[Any] = []
    todo: deque[Any] = deque((node,))
    while todo:
        item = todo.popleft()
        for n in item if isinstance(item, tuple) else (item,):
            if isinstance(n, ast.SubLink):
                out.append(n)
            elif isinstance(n, ast.Node):
                todo.extend(v for v in (getattr(n, name) for name in n) if isinstance(v, (tuple, ast.Node)))
            elif isinstance(n, tuple):
                todo.append(n)
    return out


def colref_parts(ref: Any) -> tuple[str | None, str | None]:
    """(qualifier, column) of a ColumnRef; column None for ``*``."""
    from pglast import ast

    fields = ref.fields or ()
    names = [f.sval if isinstance(f, ast.String) else None for f in fields]
    column = names[-1] if names else None
    qual = names[-2] if len(names) >= 2 else None
    return qual, column


def _description(st: SqlStatement) -> str:
    """The statement as pglast prints it, on one line, cut at 200 characters. A long statement
    is described by its own text instead: deparsing all of it to keep 200 characters took
    0.2 s for 5,000 columns (and recursion as deep as the statement)."""
    if len(st.text) <= _DEPARSED_UP_TO:
        text = sql_text(st.node)
    else:
        text = ""
    if not text:
        text = re.sub(r"\s+", " ", st.text)
    return text if len(text) <= _DESCRIBED else text[: _DESCRIBED - 1].rstrip() + "…"


_DESCRIBED = 200
_DEPARSED_UP_TO = 4000


@dataclass
class _Acc:
    predicates: list[Predicate] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)
    disjunction: bool = False


class _Converter:
    def __init__(self, st: SqlStatement) -> None:
        self.st = st
        self.span = st.span
        self.description = _description(st)
        self.ctes: set[str] = set()
        self.cte_aliases: dict[str, str] = {}  # alias of a CTE reference -> the CTE's name

    # -- statements ---------------------------------------------------------------------
    def statement(self, node: Any) -> list[Query]:
        from pglast import ast

        if isinstance(node, ast.SelectStmt):
            return self.select(node)
        if isinstance(node, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)):
            return self.write(node)
        if isinstance(node, ast.ExplainStmt):
            return self.statement(node.query)
        return []

    def _with(self, node: Any) -> list[Query]:
        out: list[Query] = []
        wc = getattr(node, "withClause", None)
        if wc is not None:
            for cte in wc.ctes or ():
                self.ctes.add(cte.ctename)
                out.extend(self.statement(cte.ctequery))
        return out

    def write(self, node: Any) -> list[Query]:
        from pglast import ast

        out = self._with(node)
        kind = {ast.InsertStmt: QueryKind.INSERT, ast.UpdateStmt: QueryKind.UPDATE, ast.DeleteStmt: QueryKind.DELETE}[type(node)]
        tables: list[TableRef] = [self.table_ref(node.relation)]
        subs: list[Query] = []
        for item in getattr(node, "fromClause", None) or getattr(node, "usingClause", None) or ():
            tables.extend(self.from_item(item, _Acc(), subs))
        acc = _Acc()
        aliases = self.alias_map(tables)
        where = getattr(node, "whereClause", None)
        if where is not None:
            self.conditions(where, aliases, tables, acc, subs)
        if kind is QueryKind.INSERT and node.selectStmt is not None and getattr(node.selectStmt, "valuesLists", None) is None:
            subs.extend(self.statement(node.selectStmt))
        out.append(Query(
            Origin.SQL, kind, self.span, tables=tuple(tables), projection=Projection.UNKNOWN,
            predicates=tuple(acc.predicates), has_disjunction=acc.disjunction, joins=tuple(acc.joins),
            description=self.description,
        ))
        return out + subs

    def select(self, sel: Any) -> list[Query]:
        from pglast import ast, enums

        out = self._with(sel)
        if sel.op != enums.SetOperation.SETOP_NONE:
            return out + self.select(sel.larg) + self.select(sel.rarg)
        if sel.valuesLists:
            return out
        subs: list[Query] = []
        acc = _Acc()
        tables: list[TableRef] = []
        for item in sel.fromClause or ():
            tables.extend(self.from_item(item, acc, subs))
        aliases = self.alias_map(tables)
        if sel.whereClause is not None:
            self.conditions(sel.whereClause, aliases, tables, acc, subs)
        projection, columns = self.projection(sel.targetList or ())
        order: list[OrderKey] = []
        for sb in sel.sortClause or ():
            # keys that reference no column (random(), a constant, a position) no index can serve
            if column_refs(sb.node):
                order.append(self.order_key(sb, aliases, tables))
        group: list[str] = []
        for g in sel.groupClause or ():
            if isinstance(g, ast.ColumnRef):
                _q, c = colref_parts(g)
                if c:
                    group.append(c)
            else:
                group.append(sql_text(g))
        for t in sel.targetList or ():
            if not isinstance(t.val, (ast.ColumnRef, ast.A_Const)):  # the common columns hold no sub-select
                self.sublinks(t, subs)
        query = Query(
            Origin.SQL, QueryKind.SELECT, self.span, tables=tuple(tables), projection=projection,
            columns=tuple(columns), predicates=tuple(acc.predicates), has_disjunction=acc.disjunction,
            joins=tuple(acc.joins), order_by=tuple(order), limit=self.limit(sel.limitCount),
            offset=self.limit(sel.limitOffset), group_by=tuple(group), description=self.description,
        )
        return [*out, query, *subs]

    # -- pieces -------------------------------------------------------------------------
    def table_ref(self, rv: Any) -> TableRef:
        alias = rv.alias.aliasname if rv.alias is not None else None
        return TableRef(rv.relname, alias, rv.schemaname)

    def from_item(self, item: Any, acc: _Acc, subs: list[Query]) -> list[TableRef]:
        from pglast import ast, enums

        if isinstance(item, ast.RangeVar):
            if item.schemaname is None and item.relname in self.ctes:
                if item.alias is not None and item.alias.aliasname:
                    self.cte_aliases[item.alias.aliasname] = item.relname
                return []
            return [self.table_ref(item)]
        if isinstance(item, ast.JoinExpr):
            tables = self.from_item(item.larg, acc, subs) + self.from_item(item.rarg, acc, subs)
            kind = {enums.JoinType.JOIN_LEFT: "left", enums.JoinType.JOIN_RIGHT: "right", enums.JoinType.JOIN_FULL: "full"}.get(item.jointype or enums.JoinType.JOIN_INNER, "inner")
            if item.quals is not None:
                join_acc = _Acc()
                self.conditions(item.quals, self.alias_map(tables), tables, join_acc, subs, join_kind=kind)
                acc.joins.extend(join_acc.joins)
                # constants in ON of an inner join filter like WHERE; of an outer join they do not
                if kind == "inner":
                    acc.predicates.extend(p for p in join_acc.predicates if p.value.kind is not ValueKind.COLUMN)
            return tables
        if isinstance(item, ast.RangeSubselect) and item.subquery is not None:
            subs.extend(self.statement(item.subquery))
        return []

    def alias_map(self, tables: list[TableRef]) -> dict[str, str]:
        m: dict[str, str] = dict(self.cte_aliases)
        for t in tables:
            m[t.name] = t.name
            if t.alias:
                m[t.alias] = t.name
        return m

    def resolve(self, ref: Any, aliases: dict[str, str], tables: list[TableRef]) -> tuple[str | None, str | None]:
        qual, col = colref_parts(ref)
        if qual is not None:
            return aliases.get(qual, qual), col
        return (tables[0].name if len(tables) == 1 else None), col

    def projection(self, targets: Any) -> tuple[Projection, list[str]]:
        from pglast import ast

        cols: list[str] = []
        for t in targets:
            v = t.val
            if isinstance(v, ast.ColumnRef):
                if v.fields and isinstance(v.fields[-1], ast.A_Star):
                    return Projection.STAR, []
                _q, c = colref_parts(v)
                if c:
                    cols.append(c)
        return Projection.COLUMNS, cols

    def limit(self, node: Any) -> int | Limit | None:
        from pglast import ast

        if node is None:
            return None
        if isinstance(node, ast.A_Const):
            if node.isnull:
                return None
            if isinstance(node.val, ast.Integer):
                return int(node.val.ival or 0)
        return Limit.PARAM

    def order_key(self, sb: Any, aliases: dict[str, str], tables: list[TableRef]) -> OrderKey:
        from pglast import ast, enums

        desc = sb.sortby_dir == enums.SortByDir.SORTBY_DESC
        nulls = {enums.SortByNulls.SORTBY_NULLS_FIRST: True, enums.SortByNulls.SORTBY_NULLS_LAST: False}.get(sb.sortby_nulls)
        if isinstance(sb.node, ast.ColumnRef):
            t, c = self.resolve(sb.node, aliases, tables)
            return OrderKey(t, c or "*", desc, nulls)
        refs = column_refs(sb.node)
        t, c = self.resolve(refs[0], aliases, tables) if len(refs) == 1 else (None, "")
        return OrderKey(t, c or "", desc, nulls, expression=sql_text(sb.node))

    def value(self, node: Any) -> Value:
        from pglast import ast

        if isinstance(node, ast.A_Const):
            return Value(ValueKind.CONST, sql_text(node))
        if isinstance(node, ast.ParamRef):
            return Value(ValueKind.PARAM)
        if isinstance(node, ast.ColumnRef):
            return Value(ValueKind.COLUMN, sql_text(node))
        if isinstance(node, ast.TypeCast) and isinstance(node.arg, (ast.A_Const, ast.ParamRef)):
            inner = self.value(node.arg)
            return Value(inner.kind, sql_text(node) if inner.kind is ValueKind.CONST else None)
        if isinstance(node, tuple):
            vals = [self.value(v) for v in node]
            if vals and all(v.kind is ValueKind.CONST for v in vals):
                return Value(ValueKind.CONST, "(" + ", ".join(v.text or "" for v in vals) + ")")
            if vals and all(v.kind in (ValueKind.CONST, ValueKind.PARAM) for v in vals):
                return Value(ValueKind.PARAM)
            return Value(ValueKind.EXPR)
        return Value(ValueKind.EXPR, sql_text(node))

    def column_side(self, node: Any, aliases: dict[str, str], tables: list[TableRef]) -> tuple[str | None, str, str | None] | None:
        """(table, column, expression) when ``node`` is a column or an expression over one column."""
        from pglast import ast

        if isinstance(node, ast.ColumnRef):
            t, c = self.resolve(node, aliases, tables)
            return (t, c, None) if c else None
        if isinstance(node, (ast.FuncCall, ast.TypeCast, ast.A_Expr, ast.CoalesceExpr)):
            refs = column_refs(node)
            keys = {colref_parts(r) for r in refs}
            if len(keys) == 1:
                t, c = self.resolve(refs[0], aliases, tables)
                if c:
                    qual = colref_parts(refs[0])[0]
                    text = sql_text(node)
                    return t, c, text.replace(f"{qual}.", "") if qual else text
        return None

    def sublinks(self, node: Any, subs: list[Query]) -> None:
        from pglast import ast

        for link in outer_sublinks(node):
            if isinstance(link.subselect, ast.SelectStmt):
                subs.extend(self.statement(link.subselect))

    def conditions(self, node: Any, aliases: dict[str, str], tables: list[TableRef], acc: _Acc, subs: list[Query], join_kind: str = "inner") -> None:
        from pglast import ast, enums

        if isinstance(node, ast.BoolExpr):
            args = tuple(node.args or ())
            if node.boolop == enums.BoolExprType.AND_EXPR:
                for a in args:
                    self.conditions(a, aliases, tables, acc, subs, join_kind)
                return
            if node.boolop == enums.BoolExprType.NOT_EXPR and len(args) == 1 and isinstance(args[0], ast.ColumnRef):
                t, c = self.resolve(args[0], aliases, tables)
                if c:
                    acc.predicates.append(Predicate(t, c, Op.EQ, Value(ValueKind.CONST, "false"), span=self._span(args[0])))
                return
            acc.disjunction = True
            self.sublinks(node, subs)
            return
        self.sublinks(node, subs)
        if isinstance(node, ast.ColumnRef):  # WHERE is_active
            t, c = self.resolve(node, aliases, tables)
            if c:
                acc.predicates.append(Predicate(t, c, Op.EQ, Value(ValueKind.CONST, "true"), span=self._span(node)))
            return
        if isinstance(node, ast.NullTest):
            side = self.column_side(node.arg, aliases, tables)
            if side:
                null_op = Op.IS_NULL if node.nulltesttype == enums.NullTestType.IS_NULL else Op.IS_NOT_NULL
                acc.predicates.append(Predicate(side[0], side[1], null_op, Value(ValueKind.CONST, "NULL"), side[2], self._span(node.arg)))
            return
        if isinstance(node, ast.SubLink) and node.subLinkType == enums.SubLinkType.ANY_SUBLINK and node.testexpr is not None:
            side = self.column_side(node.testexpr, aliases, tables)
            if side:
                acc.predicates.append(Predicate(side[0], side[1], Op.IN, Value(ValueKind.EXPR, "(subquery)"), side[2], self._span(node.testexpr)))
            return
        if not isinstance(node, ast.A_Expr):
            return
        kind = node.kind
        opname = node.name[-1].sval if node.name else ""
        K = enums.A_Expr_Kind
        op: Op | None = None
        if kind == K.AEXPR_OP:
            op = _CMP.get(opname)
        elif kind == K.AEXPR_IN:
            op = Op.IN if opname == "=" else Op.NOT_IN
        elif kind == K.AEXPR_LIKE:
            op = Op.LIKE if opname == "~~" else Op.OTHER
        elif kind == K.AEXPR_ILIKE:
            op = Op.ILIKE if opname == "~~*" else Op.OTHER
        elif kind == K.AEXPR_BETWEEN:
            op = Op.BETWEEN
        elif kind == K.AEXPR_OP_ANY and opname == "=":
            op = Op.IN
        if op is None:
            return
        left = self.column_side(node.lexpr, aliases, tables) if node.lexpr is not None else None
        right = self.column_side(node.rexpr, aliases, tables) if not isinstance(node.rexpr, tuple) and node.rexpr is not None else None
        # a plain column on each side: a join condition
        if (op is Op.EQ and left and right and left[2] is None and right[2] is None
                and isinstance(node.lexpr, ast.ColumnRef) and isinstance(node.rexpr, ast.ColumnRef)):
            if left[0] and right[0] and left[0] != right[0]:
                acc.joins.append(Join(left[0], left[1], right[0], right[1], join_kind))
            return
        if left is not None and (right is None or op not in _CMP.values()):
            value = self.value(node.rexpr)
            acc.predicates.append(Predicate(left[0], left[1], op, value, left[2], self._span(node.lexpr)))
        elif right is not None and op in _CMP.values() and node.lexpr is not None:
            value = self.value(node.lexpr)
            acc.predicates.append(Predicate(right[0], right[1], _FLIP.get(op, op), value, right[2], self._span(node.rexpr)))

    def _span(self, node: Any) -> Any:
        loc = getattr(leftmost(node), "location", None)
        if not isinstance(loc, int) or loc < 0:
            return None
        text = sql_text(node)
        return self.st.fragment.file_span(loc, loc + max(1, len(text)))


__all__ = ["colref_parts", "column_refs", "sql_text", "to_queries"]
