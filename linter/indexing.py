"""Index needs: from a :class:`~querylint.ir.Query` to the index it needs, and whether one exists.

This module owns the index reasoning that the QL3xx rules and ``querylint advise`` share:

* :func:`derive_needs` turns one query into :class:`IndexNeed` records (the filtered table, and
  the inner side of each join). Equality / ``IN`` columns, one range column, sort keys with
  direction, LIMIT; constant predicates on low-cardinality columns (booleans, ``IS [NOT]
  NULL``, status-like columns compared with a literal) become the partial-index ``WHERE``
  instead of keys; wrapped columns (``lower(email)``) become expression keys.
* :func:`match` answers "does this existing index serve the need?" with the left-prefix rule:
  equality keys in any order, then the sort keys in order and direction (or all reversed), then
  the range key; a partial index serves only queries whose predicates imply its predicate
  (syntactic implication, see :func:`implied`).
* :func:`analyze` runs both over the whole project once (cached in ``project.facts``) and merges
  the candidate indexes: one index serving several queries beats several indexes.

Everything is static: there are no statistics, so the low-cardinality guess is a heuristic
(documented in ``docs/advisor.md``) and findings carry a confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING

from querylint.astwalk import string_constants
from querylint.diagnostics import Confidence, IndexKey, IndexSuggestion
from querylint.ir import Op, Origin, Predicate, Query, QueryKind, ValueKind
from querylint.schema import Index, Schema, Table
from querylint.slotstate import fast_pickle
from querylint.source import Span

if TYPE_CHECKING:
    from querylint.project import ProjectIndex

DEFAULT_MAX_KEYS = 3

# Column names whose values are a small closed set: comparing one with a literal selects a
# "slice" of the table that a partial index describes better than a key column does.
_LOW_CARD_NAMES = re.compile(
    r"^(status|state|kind|type|[a-z_]*_(status|state|type|kind)|is_[a-z0-9_]+|has_[a-z0-9_]+|"
    r"(active|enabled|disabled|deleted|archived|published|visible|hidden|approved|verified|"
    r"confirmed|processed|completed|paid|live|draft|locked|removed|cancelled|canceled))$"
)
_BOOL_TYPES = {"boolean", "bool"}
_BOOL_LITERALS = {"true": True, "false": False, "'t'": True, "'f'": False, "1": True, "0": False}


# -- normalisation -------------------------------------------------------------------------


# A cast to a string type is noise PostgreSQL adds when it prints an index (``lower((email)::text)``);
# any other cast changes the value (``created_at::date``) and is part of the expression.
_CAST = re.compile(
    r"::\s*(timestamp\s+with(?:out)?\s+time\s+zone|time\s+with(?:out)?\s+time\s+zone|character\s+varying|"
    r"double\s+precision|[a-z_][a-z0-9_]*)(\s*\(\d+(\s*,\s*\d+)?\))?(\[\])?")
_NOISE_CASTS = {"text", "varchar", "character varying", "bpchar", "character", "char", "name", "unknown"}
_CAST_NAMES = {"timestamp with time zone": "timestamptz", "timestamp without time zone": "timestamp",
               "time with time zone": "timetz", "time without time zone": "time", "int": "integer", "int4": "integer",
               "int8": "bigint", "int2": "smallint", "bool": "boolean", "float8": "double precision"}


def _cast(m: re.Match[str]) -> str:
    typ = re.sub(r"\s+", " ", m.group(1))
    if typ in _NOISE_CASTS:
        return ""
    return "::" + _CAST_NAMES.get(typ, typ) + re.sub(r"\s+", "", m.group(2) or "") + (m.group(4) or "")


def norm_expression(sql: str) -> str:
    """Canonical text of an expression: lower-case outside literals, spaces only between words,
    no casts to string types."""
    out: list[str] = []
    for i, part in enumerate(re.split(r"('(?:[^']|'')*')", sql)):
        if i % 2 == 1:
            out.append(part)
            continue
        p = part.lower().replace('"', "")
        p = _CAST.sub(_cast, p)
        p = re.sub(r"\s+", " ", p)
        p = re.sub(r"\s*([^\w\s'])\s*", r"\1", p)  # ``extract(month from created_at)``, ``a+b``
        out.append(p)
    text = "".join(out).strip()
    # ``lower((email))`` -> ``lower(email)``: drop parentheses around a bare identifier.
    prev = None
    while prev != text:
        prev = text
        text = re.sub(r"(?<![\w)])\(([\w.]+)\)", r"\1", text)
        text = re.sub(r"\(\(([^()]*)\)\)", r"(\1)", text)
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1]
    return text


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def key_ident(key: IndexKey) -> str:
    if key.column is not None:
        return str(key.column).lower().strip('"')
    return "(" + norm_expression(key.expression or "") + ")"


def _split_and(sql: str) -> list[str] | None:
    """Top-level ``AND`` terms of a predicate; None when it has a top-level ``OR``."""
    terms: list[str] = []
    depth = 0
    start = 0
    i = 0
    text = sql.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    in_str = False
    while i < len(text):
        ch = text[i]
        if ch == "'":
            in_str = not in_str
        elif not in_str:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif depth == 0:
                m = re.match(r"\s(and|or)\s", text[i:], re.IGNORECASE)
                if m:
                    if m.group(1).lower() == "or":
                        return None
                    terms.append(text[start:i])
                    i += m.end()
                    start = i
                    continue
        i += 1
    terms.append(text[start:])
    return [t for t in (t.strip() for t in terms) if t]


def norm_term(term: str) -> str:
    """One predicate term in canonical form: ``status='open'``, ``deleted_at isnull``, ``is_active``."""
    t = term.strip()
    while t.startswith("(") and t.endswith(")") and _balanced(t[1:-1]):
        t = t[1:-1].strip()
    t = re.sub(r"\bis\s+not\s+null\b", " isnotnull", t, flags=re.IGNORECASE)
    t = re.sub(r"\bis\s+null\b", " isnull", t, flags=re.IGNORECASE)
    t = re.sub(r"\bnotnull\b", " isnotnull", t, flags=re.IGNORECASE)
    t = re.sub(r"\bis\s+true\b", "=true", t, flags=re.IGNORECASE)
    t = re.sub(r"\bis\s+false\b", "=false", t, flags=re.IGNORECASE)
    t = t.replace("!=", "<>")
    n = norm_expression(t).replace(" ", "")  # a term's canonical form has no spaces at all
    n = re.sub(r"^[a-z_][\w]*\.", "", n)  # drop a table qualifier on the leading column
    n = n.replace("isnotnull", " is not null").replace("isnull", " is null")
    m = re.fullmatch(r"([\w]+)=(true|'t')", n)
    if m:
        return m.group(1)
    m = re.fullmatch(r"([\w]+)=(false|'f')", n) or re.fullmatch(r"not([\w]+)", n)
    if m:
        return "not " + m.group(1)
    return n


def predicate_terms(sql: str | None) -> frozenset[str] | None:
    """The canonical AND-terms of a partial-index predicate (None: no predicate)."""
    if sql is None or not sql.strip():
        return None
    parts = _split_and(sql)
    if parts is None:
        return frozenset({"<or>" + norm_expression(sql)})
    return frozenset(norm_term(p) for p in parts)


# -- needs -----------------------------------------------------------------------------------


class NeedKind(Enum):
    FILTER = "filter"
    JOIN = "join"
    SORT = "sort"


@fast_pickle
@dataclass(frozen=True, slots=True)
class IndexNeed:
    """What one query needs from an index on one table."""

    table: str
    query: Query
    kind: NeedKind
    equality: tuple[IndexKey, ...] = ()
    sort: tuple[IndexKey, ...] = ()  # already without keys fixed by equality
    range: IndexKey | None = None
    partial: tuple[str, ...] = ()  # terms for the partial WHERE (SQL, sorted)
    conditions: frozenset[str] = frozenset()  # canonical terms the query guarantees
    fixed: frozenset[str] = frozenset()  # key idents pinned to one value by the query
    limit: bool = False
    limit_one: bool = False  # ``LIMIT 1`` (``.first()``): with equality keys, a lookup
    multi_value: bool = False  # an IN list on a key: the index cannot deliver the order
    include: tuple[str, ...] = ()
    has_expression: bool = False
    # why no index can serve the expression as written (``created_at::date`` on a timestamptz
    # column depends on the session's TimeZone: PostgreSQL refuses to index it); no suggestion then
    not_indexable: str = ""
    confidence: Confidence = Confidence.HIGH

    @property
    def predicate(self) -> str | None:
        return " AND ".join(self.partial) if self.partial else None

    @property
    def sort_required(self) -> bool:
        # ``.first()`` adds ``ORDER BY pk LIMIT 1`` to a lookup: the order is not the point
        return bool(self.sort) and self.limit and not self.multi_value and not (self.limit_one and bool(self.equality))

    def candidate_keys(self, max_keys: int = DEFAULT_MAX_KEYS) -> tuple[IndexKey, ...]:
        """Equality keys, then the sort keys the index can deliver, then at most one range key."""
        keys: list[IndexKey] = list(self.equality)
        if self.sort_required:
            keys.extend(self.sort)  # the range (if any) is then checked inside the index scan
        elif self.range is not None:
            keys.append(self.range)
        elif self.sort and keys and not self.multi_value and not self.limit_one:
            keys.extend(self.sort)  # delivering the order costs nothing here
        return tuple(keys[:max_keys])

    def describe(self) -> str:
        """``filtered on (customer_id, status) and sorted by created_at DESC``."""
        cols = [k.text for k in self.equality]
        if self.range is not None:
            cols.append(self.range.text)
        cols.extend(t for t in self.partial)
        parts: list[str] = []
        if self.kind is NeedKind.JOIN:
            parts.append(f"joined on ({', '.join(k.text for k in self.equality)})")
        elif cols:
            parts.append(f"filtered on ({', '.join(_short(c) for c in cols)})")
        if self.sort:
            parts.append("sorted by " + ", ".join(k.text for k in self.sort) + (" with a LIMIT" if self.limit else ""))
        return " and ".join(parts)


def _short(term: str) -> str:
    return term.split(" ", 1)[0] if re.match(r"^\w+ (=|IS|<>)", term) else term


def _resolve_tables(query: Query) -> dict[str, str]:
    names: dict[str, str] = {}
    for t in query.tables:
        names[t.name.lower()] = t.name.lower()
        if t.alias:
            names[t.alias.lower()] = t.name.lower()
    return names


def _pred_table(p: Predicate, query: Query, names: dict[str, str]) -> str | None:
    if p.table is None:
        return query.tables[0].name.lower() if len(query.tables) == 1 else None
    return names.get(p.table.lower())


def is_low_cardinality(table: Table | None, column: str, value_text: str | None) -> bool:
    """Booleans and status-like columns compared with a literal (no statistics: a guess)."""
    col = table.column(column) if table is not None else None
    if col is not None and col.type is not None and col.type.split("(")[0].strip() in _BOOL_TYPES:
        return True
    if value_text is not None and value_text.lower() in ("true", "false"):
        return True
    return bool(_LOW_CARD_NAMES.match(column.lower()))


def _const_sql(column: str, op: Op, text: str | None) -> str | None:
    value = (text or "").strip()
    if op is Op.IS_NULL:
        return f"{column} IS NULL"
    if op is Op.IS_NOT_NULL:
        return f"{column} IS NOT NULL"
    if op is Op.EQ and value:
        b = _BOOL_LITERALS.get(value.lower()) if value.lower() in ("true", "false") else None
        if b is True:
            return column
        if b is False:
            return f"NOT {column}"
        return f"{column} = {value}"
    return None


_TZ_TYPES = {"timestamptz", "timestamp with time zone"}
# date/time arithmetic whose result on a timestamptz depends on the session's TimeZone setting:
# STABLE, not IMMUTABLE, so ``CREATE INDEX`` refuses it
_TZ_DEPENDENT = re.compile(r"::(date|time|timetz|timestamp)\b|\b(extract|date_part|date_trunc|to_char|age)\(")
_DJANGO_YEAR = re.compile(r"extract\((year|iso_year|isoyear) from (\w+)\)")


_NOW = re.compile(r"\b(now|clock_timestamp|statement_timestamp|transaction_timestamp|random|timeofday)\(|"
                  r"\b(current_date|current_timestamp|localtimestamp|localtime|current_time)\b|\bage\([^,()]*\)")


def _not_indexable(expression: str, table: Table) -> str | None:
    """Why no index can hold ``expression`` on this table ("" when it can, None when we cannot tell)."""
    if _NOW.search(expression):
        return f"{expression} changes with the clock, so PostgreSQL cannot index it"
    if not _TZ_DEPENDENT.search(expression) or "at time zone" in expression:
        return ""
    for name in re.findall(r"[a-z_][a-z0-9_]*", expression):
        col = table.column(name)
        if col is None:
            continue
        if col.type is None:
            return None  # a date function on a column of unknown type: say nothing
        if col.type.lower() in _TZ_TYPES:
            return (f"{name} is a timestamptz, so {expression} depends on the time zone and PostgreSQL cannot "
                    f"index it as written")
    return ""


def derive_needs(query: Query, schema: Schema) -> list[IndexNeed]:
    """The index needs of one query; empty when it is unknowable or needs nothing."""
    if query.kind not in (QueryKind.SELECT, QueryKind.UPDATE, QueryKind.DELETE) or not query.tables:
        return []
    if query.has_disjunction:  # OR / NOT dropped some atoms: any guess could be wrong
        return []
    names = _resolve_tables(query)
    main = query.tables[0].name.lower()
    needs: list[IndexNeed] = []
    main_need = _table_need(query, schema, main, names, NeedKind.FILTER, ())
    if main_need is not None:
        needs.append(main_need)
    selective = main_need is not None and (bool(main_need.equality) or main_need.limit)
    for j in query.joins:
        left, right = j.left_table.lower(), j.right_table.lower()
        left, right = names.get(left, left), names.get(right, right)
        if left == main and right != main:
            inner, col = right, j.right_column
        elif right == main and left != main:
            inner, col = left, j.left_column
        else:
            continue
        if not selective:  # joining whole tables: a hash join needs no index
            continue
        jn = _table_need(query, schema, inner, names, NeedKind.JOIN, (col.lower(),))
        if jn is not None:
            needs.append(jn)
    return needs


def _table_need(query: Query, schema: Schema, table_name: str, names: dict[str, str], kind: NeedKind, join_cols: tuple[str, ...]) -> IndexNeed | None:
    table = schema.table(table_name)
    if table is None or not table.columns:  # unknown table: stay quiet (precision)
        return None
    equality: list[IndexKey] = [IndexKey(column=c) for c in join_cols]
    partial: list[str] = []
    conditions: set[str] = set()
    fixed: set[str] = set(join_cols)
    range_key: IndexKey | None = None
    multi = False
    has_expr = False
    not_indexable = ""
    for p in query.predicates:
        if _pred_table(p, query, names) != table_name:
            continue
        column = p.column.lower()
        if p.expression is None and table.column(column) is None:
            return None  # a column we do not know: the schema is incomplete, say nothing
        if p.value.kind is ValueKind.COLUMN:
            continue  # a join condition, handled through joins
        expression = norm_expression(p.expression) if p.expression is not None else None
        year = _DJANGO_YEAR.fullmatch(expression or "")
        if query.origin is Origin.DJANGO and year and table.column(year.group(2)) is not None and (p.op is Op.EQ or p.op.is_range):
            # Django turns ``created__year=2024`` (and gt/gte/lt/lte) into a range on the bare
            # column (``BETWEEN '2024-01-01' AND '2024-12-31...'``): no EXTRACT reaches PostgreSQL
            if range_key is None:
                range_key = IndexKey(column=year.group(2))
                conditions.add(f"{year.group(2)} is not null")
            continue
        if expression is not None:
            reason = _not_indexable(expression, table)
            if reason is None:
                return None
            not_indexable = not_indexable or reason
            key = IndexKey(expression=expression)
            if p.op in (Op.EQ, Op.IN):
                has_expr = True
                equality.append(key)
                fixed.add(key_ident(key))
            elif p.op.is_range and range_key is None:
                has_expr = True
                range_key = key
            continue
        key = IndexKey(column=column)
        const = p.value.kind is ValueKind.CONST
        term = _const_sql(column, p.op, p.value.text) if (const or p.op in (Op.IS_NULL, Op.IS_NOT_NULL)) else None
        if term is not None:
            conditions.add(norm_term(term))
        if p.op in (Op.EQ, Op.IN) or p.op.is_range:
            conditions.add(f"{column} is not null")
        if term is not None and (p.op in (Op.IS_NULL, Op.IS_NOT_NULL) or is_low_cardinality(table, column, p.value.text)):
            partial.append(term)
            if p.op is not Op.IS_NOT_NULL:
                fixed.add(column)
            continue
        if p.op is Op.EQ:
            if column not in fixed:
                equality.append(key)
                fixed.add(column)
        elif p.op is Op.IN:
            if column not in fixed:
                equality.append(key)
                fixed.add(column)
                multi = True
        elif p.op.is_range:
            if range_key is None:
                range_key = key
    sort: list[IndexKey] = []
    if kind is NeedKind.FILTER and query.order_by:
        ok = True
        for o in query.order_by:
            ot = names.get(o.table.lower(), o.table.lower()) if o.table else table_name
            if ot != table_name or (o.expression is None and table.column(o.column) is None):
                ok = False
                break
            k = IndexKey(column=o.column.lower()) if o.expression is None else IndexKey(expression=norm_expression(o.expression))
            if key_ident(k) in fixed:
                continue  # a column pinned by equality is already "sorted"
            sort.append(IndexKey(column=k.column, expression=k.expression, descending=o.descending, nulls_first=o.nulls_first))
        if not ok:
            sort = []
    limit = query.limit is not None
    if not equality and range_key is None and not (sort and limit):
        return None  # nothing an index key would serve (a bare partial slice, a full scan)
    if (kind is NeedKind.FILTER and range_key is None and not (sort and limit)
            and all(k.column is not None and is_low_cardinality(table, k.column, None) for k in equality)):
        # ``status = %s`` alone: a few distinct values, so an index on it rarely beats a scan
        return None
    include: tuple[str, ...] = ()
    keycols = {k.column for k in equality + sort + ([range_key] if range_key else []) if k.column}
    if query.columns and kind is NeedKind.FILTER:
        extra = [c.lower() for c in query.columns if c.lower() not in keycols]
        if 0 < len(extra) <= 2 and all(re.fullmatch(r"\w+", c) and table.column(c) is not None for c in extra):
            include = tuple(extra)
    confidence = Confidence.HIGH if kind is NeedKind.FILTER else Confidence.MEDIUM
    if query.confidence is not Confidence.HIGH:
        confidence = query.confidence
    return IndexNeed(
        table=table_name,
        query=query,
        kind=kind if (equality or range_key is not None) else NeedKind.SORT,
        equality=tuple(equality),
        sort=tuple(sort),
        range=range_key,
        partial=tuple(sorted(set(partial))),
        conditions=frozenset(conditions),
        fixed=frozenset(fixed),
        limit=limit,
        limit_one=query.limit == 1,
        multi_value=multi,
        include=include,
        has_expression=has_expr,
        not_indexable=not_indexable,
        confidence=confidence,
    )


# -- serving ---------------------------------------------------------------------------------


def implied(index_predicate: str | None, conditions: frozenset[str]) -> bool:
    """Does the query (its canonical condition terms) imply the partial index's predicate?

    Syntactic: every AND-term of the index predicate must appear among the query's terms, after
    normalisation (``= true`` / ``IS TRUE`` / a bare boolean column are the same term; an
    equality or range on a column implies ``column IS NOT NULL``). A predicate with OR never
    matches.
    """
    terms = predicate_terms(index_predicate)
    if terms is None:
        return True
    return terms <= conditions


class Serve(Enum):
    FULL = "full"  # every equality key, the sort (when it matters) and the range are served
    USABLE = "usable"  # the leading key is useful: the planner has a reasonable index path
    NONE = "none"


@fast_pickle
@dataclass(frozen=True, slots=True)
class Match:
    serve: Serve
    eq_prefix: int = 0  # leading keys consumed by equality
    eq_complete: bool = False  # all equality keys of the need are in that prefix
    sort_ok: bool = False
    range_ok: bool = False
    covers: bool = False  # the index holds every key column of the need, in some order


def _sort_matches(keys: tuple[IndexKey, ...], sort: tuple[IndexKey, ...]) -> bool:
    if len(keys) < len(sort):
        return False
    same = all(key_ident(a) == key_ident(b) for a, b in zip(keys, sort, strict=False))
    if not same:
        return False
    fwd = all(a.descending == b.descending and (b.nulls_first is None or (a.nulls_first if a.nulls_first is not None else a.descending) == b.nulls_first) for a, b in zip(keys, sort, strict=False))
    rev = all(a.descending != b.descending and (b.nulls_first is None or (a.nulls_first if a.nulls_first is not None else a.descending) != b.nulls_first) for a, b in zip(keys, sort, strict=False))
    return fwd or rev


def match(index: Index, need: IndexNeed) -> Match:
    """How well an existing (or suggested) index serves a need."""
    if index.method not in ("btree", "hash"):
        return Match(Serve.NONE)
    if not implied(index.predicate, need.conditions):
        return Match(Serve.NONE)
    keys = index.keys
    if index.method == "hash":
        ok = len(keys) == 1 and key_ident(keys[0]) in {key_ident(k) for k in need.equality}
        return Match(Serve.USABLE if ok else Serve.NONE)
    eq_idents = {key_ident(k) for k in need.equality}
    i = 0
    hit: set[str] = set()
    while i < len(keys) and key_ident(keys[i]) in need.fixed:
        hit.add(key_ident(keys[i]))
        i += 1
    eq_complete = eq_idents <= hit
    if (index.unique or index.primary) and i == len(keys) and i > 0:
        return Match(Serve.FULL, i, True, True, True, True)  # at most one row
    sort_ok = not need.sort
    j = i
    if need.sort and eq_complete and not need.multi_value and _sort_matches(keys[j:], need.sort):
        sort_ok = True
        j += len(need.sort)
    range_ok = need.range is not None and (
        (i < len(keys) and key_ident(keys[i]) == key_ident(need.range)) or (j < len(keys) and key_ident(keys[j]) == key_ident(need.range))
    )
    all_idents = {key_ident(k) for k in keys}
    wanted = eq_idents | {key_ident(k) for k in need.sort} | ({key_ident(need.range)} if need.range else set())
    covers = bool(wanted) and wanted <= all_idents
    if need.sort_required:
        full = eq_complete and sort_ok
    elif need.range is not None:
        full = eq_complete and range_ok
    else:
        full = eq_complete and i > 0
    if full:
        return Match(Serve.FULL, i, eq_complete, sort_ok, range_ok, covers)
    lead = key_ident(keys[0]) if keys else ""
    usable = bool(keys) and (
        lead in need.fixed
        or (need.range is not None and lead == key_ident(need.range))
        or (bool(need.sort) and _sort_matches(keys, need.sort) and not need.equality)
    )
    return Match(Serve.USABLE if usable else Serve.NONE, i, eq_complete, sort_ok, range_ok, covers)


# -- project analysis --------------------------------------------------------------------------


class Status(Enum):
    SERVED = "served"
    PARTLY = "partly"  # an index is usable though not ideal: quiet (precision)
    WRONG_ORDER = "wrong-order"  # QL302
    MISSING = "missing"  # QL301 / QL303 / QL306


@dataclass
class NeedResult:
    need: IndexNeed
    status: Status
    index: Index | None = None  # WRONG_ORDER: the index whose order is wrong; PARTLY: the usable one
    reason: str = ""
    suggestion: MergedSuggestion | None = None


@dataclass
class MergedSuggestion:
    """One index to create and every need it serves."""

    table: str
    keys: tuple[IndexKey, ...]
    predicate: str | None
    include: tuple[str, ...] = ()
    needs: list[IndexNeed] = field(default_factory=list)
    extends: Index | None = None  # an existing index that becomes a left prefix of this one
    name: str = ""
    model: str | None = None
    #: the table as the schema declares it (None: not in the schema): where the suggestion is
    #: written, names keep their declared case (``"Order"`` is not ``order``)
    declared: Table | None = None

    def as_index(self) -> Index:
        return Index(table=self.table, keys=self.keys, predicate=self.predicate, include=self.include, name=self.name)

    def to_suggestion(self) -> IndexSuggestion:
        spans: list[Span] = []
        for n in self.needs:
            if n.query.span not in spans:
                spans.append(n.query.span)
        table, keys, predicate, include = self.spelled()
        return IndexSuggestion(table=table, keys=keys, predicate=predicate, include=include, name=self.name, serves=tuple(spans), model=self.model)

    def spelled(self) -> tuple[str, tuple[IndexKey, ...], str | None, tuple[str, ...]]:
        """``(table, keys, predicate, include)`` with the names as the schema declares them."""
        t = self.declared
        if t is None:
            return self.table, self.keys, self.predicate, self.include
        return (t.declared, tuple(_respelled_key(k, t) for k in self.keys),
                respell(self.predicate, t) if self.predicate else self.predicate,
                tuple(t.column_spelling(c) for c in self.include))

    @property
    def text(self) -> str:
        return suggestion_text(self.table, self.keys, self.predicate, self.include)


def _respelled_key(key: IndexKey, table: Table) -> IndexKey:
    if key.column is not None:
        return replace(key, column=table.column_spelling(key.column))
    if key.expression is not None:
        return replace(key, expression=respell(key.expression, table))
    return key


def respell(sql: str, table: Table) -> str:
    """``sql`` (normalised: lower case, no quotes) with each column whose declared name is not
    lower case written as that name, quoted (``customerid`` -> ``"CustomerId"``)."""
    spelled = {c.lower(): c for c in table.columns if c != c.lower()}
    if not spelled:
        return sql
    out: list[str] = []
    for i, part in enumerate(re.split(r"('(?:[^']|'')*')", sql)):
        if i % 2 == 0:
            part = re.sub(r"\b[a-z_][a-z0-9_$]*\b",
                          lambda m: '"' + spelled[m.group(0)].replace('"', '""') + '"' if m.group(0) in spelled else m.group(0),
                          part)
        out.append(part)
    return "".join(out)


def suggestion_text(table: str, keys: tuple[IndexKey, ...], predicate: str | None, include: tuple[str, ...] = ()) -> str:
    out = f"{table} ({', '.join(k.text for k in keys)})"
    if include:
        out += f" INCLUDE ({', '.join(include)})"
    if predicate:
        out += f" WHERE {predicate}"
    return out


def index_text(index: Index) -> str:
    label = f"`{index.name}` " if index.name else ""
    return label + "(" + ", ".join(k.text for k in index.keys) + ")" + (f" WHERE {index.predicate}" if index.predicate else "")


@dataclass
class Analysis:
    results: list[NeedResult] = field(default_factory=list)
    suggestions: list[MergedSuggestion] = field(default_factory=list)

    _by_query: dict[Query, list[NeedResult]] | None = None

    def for_query(self, query: Query) -> list[NeedResult]:
        if self._by_query is None:  # one pass, not one scan per query (large projects)
            self._by_query = {}
            for r in self.results:
                self._by_query.setdefault(r.need.query, []).append(r)
        return self._by_query.get(query, [])


def classify(need: IndexNeed, table: Table) -> NeedResult:
    best: NeedResult | None = None
    for idx in table.indexes:
        m = match(idx, need)
        if m.serve is Serve.FULL:
            return NeedResult(need, Status.SERVED, idx)
    for idx in table.indexes:
        m = match(idx, need)
        if m.serve is Serve.NONE and not m.covers:
            continue
        if need.sort_required and m.eq_complete and not m.sort_ok and need.equality and m.eq_prefix == len(idx.keys) and not need.has_expression:
            missing = ", ".join(k.text for k in need.sort)
            best = best or NeedResult(need, Status.WRONG_ORDER, idx, f"it lacks the sort key {missing}, so every matching row is read and sorted before the LIMIT")
            continue
        if m.covers and implied(idx.predicate, need.conditions):
            reason = _order_reason(idx, need)
            if reason:
                best = best or NeedResult(need, Status.WRONG_ORDER, idx, reason)
                continue
        if m.serve is Serve.USABLE and best is None:
            best = NeedResult(need, Status.PARTLY, idx)
    return best or NeedResult(need, Status.MISSING)


def _order_reason(idx: Index, need: IndexNeed) -> str:
    idents = [key_ident(k) for k in idx.keys]
    eq = {key_ident(k) for k in need.equality}
    if need.range is not None:
        r = key_ident(need.range)
        if r in idents:
            later_eq = [idx.keys[i].text for i in range(idents.index(r) + 1, len(idents)) if idents[i] in eq]
            if later_eq:
                return f"its range key {need.range.text} comes before the equality key {later_eq[0]}"
    if need.sort_required:
        s0 = key_ident(need.sort[0])
        if s0 in idents:
            pos = idents.index(s0)
            before = [idx.keys[i].text for i in range(pos) if idents[i] not in need.fixed]
            if before:
                return f"{before[0]} comes before the sort key {need.sort[0].text}"
            after_eq = [idx.keys[i].text for i in range(pos + 1, len(idents)) if idents[i] in eq]
            if after_eq:
                return f"the sort key {need.sort[0].text} comes before the equality key {after_eq[0]}"
            seg = idx.keys[pos : pos + len(need.sort)]
            if not _sort_matches(seg, need.sort):
                return "its sort directions do not match ORDER BY " + ", ".join(k.text for k in need.sort)
    first = idents[0] if idents else ""
    if eq and first not in need.fixed and (need.range is None or first != key_ident(need.range)):
        return f"its leading key {idx.keys[0].text} is not filtered by this query"
    return ""


_TEST_PATH = re.compile(r"(^|/)(tests?|testing|test_[^/]*|[^/]*_tests?)(/|$)|(^|/)(test_[^/]*|[^/]*_test|tests|conftest)\.py$")


def is_test_path(path: str) -> bool:
    """Test code: its queries run on a handful of fixture rows, not a production workload."""
    return bool(_TEST_PATH.search(path.replace("\\", "/")))


#: migration code (a revision, a data migration, its helpers): it runs once, on deploy
_MIGRATION_PATH = re.compile(r"(^|/)(\w+_)?migrations?/|(^|/)alembic/versions/")


def analyze(project: ProjectIndex, max_keys: int = DEFAULT_MAX_KEYS) -> Analysis:
    """Every need of every query, classified against the schema and merged (cached)."""
    cache_key = f"indexing:{max_keys}"
    cached = project.facts.get(cache_key)
    if isinstance(cached, Analysis):
        return cached
    analysis = Analysis()
    uncertain = uncertain_tables(project)
    migration_files = {m.path for m in project.migrations}
    for q in project.queries:
        if is_test_path(q.span.path) or q.span.path in migration_files or _MIGRATION_PATH.search(q.span.path):
            continue  # a query in a test or a migration does not need an index
        try:
            needs = derive_needs(q, project.schema)
        except Exception:  # one odd query must not stop the index rules
            continue
        for n in needs:
            if n.table in uncertain:
                continue
            table = project.schema.table(n.table)
            assert table is not None
            analysis.results.append(classify(n, table))
    analysis.suggestions = merge(analysis.results, project.schema, max_keys)
    models = _models_by_table(project)
    for s in analysis.suggestions:
        s.model = models.get(s.table)
    project.facts[cache_key] = analysis
    return analysis


def _models_by_table(project: ProjectIndex) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in project.models.models.values():
        if not m.abstract and not m.proxy:
            out.setdefault(m.table.lower(), m.key)
    for t in project.schema.tables.values():
        if t.model:
            out.setdefault(t.name, t.model)
    return out


def merge(results: list[NeedResult], schema: Schema, max_keys: int = DEFAULT_MAX_KEYS) -> list[MergedSuggestion]:
    """Merge the candidate indexes of unserved needs: one index for every need it can serve.

    Needs are grouped by table and partial predicate; longer candidates go first so a shorter
    one is absorbed when the longer index serves it (its keys are a left prefix, equality keys
    in any order). When equality keys only differ in order, the merged index's equality prefix
    is reordered if every need it already serves stays served.
    """
    from querylint.advise.naming import index_name

    todo = [r for r in results if r.status in (Status.MISSING, Status.WRONG_ORDER) and not r.need.not_indexable]
    groups: dict[tuple[str, str | None], list[NeedResult]] = {}
    for r in todo:
        groups.setdefault((r.need.table, r.need.predicate), []).append(r)
    out: list[MergedSuggestion] = []
    for (table, predicate), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        merged: list[MergedSuggestion] = []
        ordered = sorted(rs, key=lambda r: (-len(r.need.candidate_keys(max_keys)), r.need.query.span.path, r.need.query.span.start))
        for r in ordered:
            keys = r.need.candidate_keys(max_keys)
            if not keys:
                continue
            target = None
            for m in merged:
                if match(m.as_index(), r.need).serve is Serve.FULL:
                    target = m
                    break
                reordered = _try_reorder(m, r.need)
                if reordered is not None:
                    m.keys = reordered
                    target = m
                    break
            if target is None:
                target = MergedSuggestion(table, keys, predicate, r.need.include)
                merged.append(target)
            elif r.need.include and set(r.need.include) - set(target.include):
                inc = tuple(dict.fromkeys(target.include + r.need.include))
                target.include = inc if len(inc) <= 2 else ()
            target.needs.append(r.need)
            r.suggestion = target
        tbl = schema.table(table)
        for m in merged:
            if tbl is not None:
                m.extends = _extended_index(m, tbl)
            m.name = index_name(table, m.keys, predicate)
            m.declared = tbl
        out.extend(merged)
    return out


def _try_reorder(m: MergedSuggestion, need: IndexNeed) -> tuple[IndexKey, ...] | None:
    """Reorder the merged index's equality prefix so ``need``'s equality keys lead, if all still fit."""
    if not need.equality or not m.needs:
        return None
    current = m.as_index()
    prefix = min(match(current, n).eq_prefix for n in m.needs)
    lead = list(m.keys[:prefix])
    want_ids = {key_ident(e) for e in need.equality}
    if not want_ids <= {key_ident(k) for k in lead}:
        return None
    want = [k for k in lead if key_ident(k) in want_ids]
    rest = [k for k in lead if key_ident(k) not in want_ids]
    keys = tuple(want + rest) + m.keys[prefix:]
    if keys == m.keys:
        return None
    trial = replace(current, keys=keys)
    if match(trial, need).serve is Serve.FULL and all(match(trial, n).serve is Serve.FULL for n in m.needs):
        return keys
    return None


def _extended_index(m: MergedSuggestion, table: Table) -> Index | None:
    for idx in table.indexes:
        if idx.unique or idx.primary or idx.method != "btree" or (idx.predicate or None) != (m.predicate or None):
            continue
        n = len(idx.keys)
        if 0 < n < len(m.keys) and all(key_ident(a) == key_ident(b) and a.descending == b.descending for a, b in zip(idx.keys, m.keys, strict=False)):
            return idx
    return None


# -- how well do we know a table? ----------------------------------------------------------------


_COLUMN_ONLY = re.compile(r"\b(add_columns?|alter_column|drop_column|create_engine)\b")


def uncertain_tables(project: ProjectIndex) -> frozenset[str]:
    """Tables whose indexes we may not fully know: every index rule stays quiet on them.

    * a table with no known primary key: nearly every real table has one, so its absence
      means the schema sources were only partly understood (a model whose ``__table_args__``
      the gatherer could not read, a table created by a helper function);
    * a table named (as a string literal) in a migration file that has operations the
      migration readers did not understand (``project.facts["migration_unknown_ops"]``):
      ``for table in ("params", "tags"): op.create_index(f"index_{table}_run_uuid", ...)``.
    """
    cached = project.facts.get("indexing:uncertain")
    if isinstance(cached, frozenset):
        return cached
    out: set[str] = set()
    for t in project.schema.tables.values():
        if not any(i.primary for i in t.indexes):
            out.add(t.name)
    unknown = project.facts.get("migration_unknown_ops")
    if isinstance(unknown, dict):
        names = set(project.schema.tables)
        for path, ops in unknown.items():
            if all(_COLUMN_ONLY.search(str(op)) for op in ops):
                continue  # column changes the readers skipped cannot add or drop an index
            pf = project.files.get(path)
            if pf is None or pf.tree is None:
                continue
            out.update(v for v in (s.lower() for s in string_constants(pf.tree)) if v in names)
    result = frozenset(out)
    project.facts["indexing:uncertain"] = result
    return result


def opaque_definition(project: ProjectIndex, index: Index) -> bool:
    """The index was declared with ``**options`` we cannot read (a predicate, INCLUDE...)."""
    texts = [k.expression for k in index.keys if k.expression] + ([index.predicate] if index.predicate else [])
    if any(t.startswith("sqlalchemy:") or "{" in t for t in texts):
        return True  # the model gatherer kept Python it could not translate to SQL
    if index.provenance is None:
        return False
    src = project.source(index.provenance.path)
    return src is not None and "**" in src.text[index.provenance.start : index.provenance.end]


# -- schema-only checks (QL304, QL305) ----------------------------------------------------------


def fk_is_indexed(table: Table, columns: tuple[str, ...]) -> bool:
    """Some btree index leads with the FK's columns (in any order), without a partial predicate."""
    want = {c.lower() for c in columns}
    for idx in table.indexes:
        if idx.method not in ("btree", "hash") or idx.predicate:
            continue
        lead = {key_ident(k) for k in idx.keys[: len(want)]}
        if lead == want:
            return True
    return False


def redundant_to(index: Index, table: Table) -> Index | None:
    """Another index that makes ``index`` redundant: a duplicate, or ``index`` is its left prefix."""
    if index.primary:
        return None  # of two identical unique indexes, the primary key is the one to keep
    if index.unique:
        # A unique index enforces a constraint; only an identical unique index duplicates it.
        for other in table.indexes:
            if other is index or other.name == index.name:
                continue
            if (other.unique or other.primary) and _same_shape(index, other) and (other.primary or _earlier(other, index, table)):
                return other
        return None
    for other in table.indexes:
        if other is index or (other.name is not None and other.name == index.name):
            continue
        if other.method != index.method or norm_or_none(other.predicate) != norm_or_none(index.predicate):
            continue
        if index.include and set(index.include) - set(other.include) - {key_ident(k) for k in other.keys}:
            continue
        n = len(index.keys)
        if n == 0 or len(other.keys) < n:
            continue
        if not all(key_ident(a) == key_ident(b) and a.descending == b.descending for a, b in zip(index.keys, other.keys, strict=False)):
            continue
        if len(other.keys) == n and not (other.unique or other.primary) and not _earlier(other, index, table):
            continue  # exact duplicates: report only the later one
        if index.method == "hash" and len(other.keys) != n:
            continue
        return other
    return None


def norm_or_none(sql: str | None) -> frozenset[str] | None:
    return predicate_terms(sql)


def _same_shape(a: Index, b: Index) -> bool:
    return (
        [key_ident(k) for k in a.keys] == [key_ident(k) for k in b.keys]
        and norm_or_none(a.predicate) == norm_or_none(b.predicate)
        and a.method == b.method
    )


def _earlier(a: Index, b: Index, table: Table) -> bool:
    ids = [id(i) for i in table.indexes]
    return ids.index(id(a)) < ids.index(id(b))


# -- what the rules say ---------------------------------------------------------------------------


def recurring_predicate(s: MergedSuggestion) -> bool:
    """A partial index whose constant predicate recurs across >= 2 queries (QL303's case)."""
    return bool(s.predicate) and len({n.query.span for n in s.needs}) >= 2


def add_help(s: MergedSuggestion) -> str:
    text = f"Add index {s.text}"
    if s.extends is not None:
        text += f"; it extends {index_text(s.extends)}, which then becomes redundant"
    return text


def related_spans(s: MergedSuggestion, schema: Schema, query: Query) -> list[tuple[Span, str]]:
    """The table/model definition and the other queries the same index serves."""
    out: list[tuple[Span, str]] = []
    table = schema.table(s.table)
    if table is not None and table.provenance is not None:
        out.append((table.provenance, f"`{s.table}` is defined here"))
    seen = {query.span}
    for n in s.needs:
        if n.query.span not in seen:
            seen.add(n.query.span)
            out.append((n.query.span, "the same index serves this query"))
    return out
