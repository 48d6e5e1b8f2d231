"""The Query IR: one record per database access, whatever produced it.

Every front end — SQL files and SQL strings (pglast), the Django ORM and SQLAlchemy (``ast``
gatherers), and later a live database — describes each access it finds as a :class:`Query`.
The index and round-trip rules read only these records, never raw trees, so one rule serves
every origin.

A ``Query`` says:

* ``origin`` (django / sqlalchemy / sql / live) and ``kind`` (select, insert, update, delete);
* ``tables``: the relations read or written, each a :class:`TableRef` with its alias; for ORM
  queries the table name is the model's ``db_table`` / ``__tablename__`` and ``model`` names
  the model class;
* ``projection``: ``STAR`` (``SELECT *``, a whole ORM entity), ``COLUMNS`` (an explicit list:
  ``values()``, ``only()``, ``load_only``, a SQL select list) or ``UNKNOWN``;
* ``predicates``: the conjunctive atoms of WHERE (and of JOIN ... ON when they compare with a
  constant), each :class:`Predicate` a ``column op value`` where the column may be wrapped in
  an expression (``lower(email)``). Atoms under OR / NOT are *not* listed: ``has_disjunction``
  says some were dropped, so index rules stay quiet rather than guess;
* ``joins``: equi-join column pairs, ``order_by`` keys with direction, ``limit`` / ``offset``
  (an int, ``PARAM`` for a placeholder, or None);
* ``eager_loads``: relation paths loaded eagerly (``select_related``, ``prefetch_related``,
  ``joinedload``, ``selectinload``...);
* where it sits: ``span`` (the call or statement), ``evaluated_at`` (where an ORM query runs),
  ``loop`` (the innermost enclosing loop), and ``confidence``.

Column names are physical (db columns), table names unqualified and lower-cased unless they
were quoted.

From SQL (``querylint.sql.to_ir``): one ``Query`` per SELECT, plus one per CTE, per subquery in
``FROM`` and per sub-select in ``WHERE``, all with the statement's span; INSERT / UPDATE /
DELETE give their kind on the target table. Predicate tables are resolved through aliases
(``None`` for an unqualified column when several tables are joined; a CTE's name for a CTE
column). Constants in the ``ON`` of an inner join count as predicates, those of an outer join
do not. A column compared with another column is a ``Join``, not a predicate. ``value.text`` of
a constant is its SQL (``'open'``, ``('a', 'b')`` for ``IN`` / ``BETWEEN``); ``expression`` has
qualifiers removed and casts written ``col::type``. ORDER BY keys that reference no column
(``random()``, a constant, a position) are left out. ``description`` is the statement as compact
SQL, at most 200 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from querylint.diagnostics import Confidence
from querylint.slotstate import fast_pickle
from querylint.source import Span


class Origin(Enum):
    DJANGO = "django"
    SQLALCHEMY = "sqlalchemy"
    SQL = "sql"
    LIVE = "live"


class QueryKind(Enum):
    SELECT = "select"
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    OTHER = "other"


class Projection(Enum):
    STAR = "star"
    COLUMNS = "columns"
    UNKNOWN = "unknown"


class Op(Enum):
    EQ = "="
    NE = "<>"
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "IN"
    NOT_IN = "NOT IN"
    BETWEEN = "BETWEEN"
    IS_NULL = "IS NULL"
    IS_NOT_NULL = "IS NOT NULL"
    LIKE = "LIKE"
    ILIKE = "ILIKE"
    OTHER = "OTHER"

    @property
    def is_equality(self) -> bool:
        return self in (Op.EQ, Op.IN, Op.IS_NULL)

    @property
    def is_range(self) -> bool:
        return self in (Op.LT, Op.LE, Op.GT, Op.GE, Op.BETWEEN)


class ValueKind(Enum):
    CONST = "const"  # a literal: 'active', 42, true, NULL
    PARAM = "param"  # a placeholder or a Python variable
    COLUMN = "column"  # another column (a join condition)
    EXPR = "expr"  # anything else (now(), a subquery)


@fast_pickle
@dataclass(frozen=True, slots=True)
class Value:
    kind: ValueKind
    text: str | None = None  # SQL text of a constant ("'active'", "42", "true"), or of the expression


PARAM = Value(ValueKind.PARAM)


@fast_pickle
@dataclass(frozen=True, slots=True)
class TableRef:
    name: str
    alias: str | None = None
    schema: str | None = None
    model: str | None = None  # ORM class name when known


@fast_pickle
@dataclass(frozen=True, slots=True)
class Predicate:
    """``column op value``. ``expression`` holds the SQL of a wrapped column (``lower(email)``)."""

    table: str | None
    column: str
    op: Op
    value: Value = PARAM
    expression: str | None = None
    span: Span | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class OrderKey:
    table: str | None
    column: str
    descending: bool = False
    nulls_first: bool | None = None
    expression: str | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class Join:
    """An equi-join: ``left_table.left_column = right_table.right_column``."""

    left_table: str
    left_column: str
    right_table: str
    right_column: str
    kind: str = "inner"  # inner, left, right, full


class Limit(Enum):
    PARAM = "param"


@fast_pickle
@dataclass(frozen=True, slots=True)
class LoopRef:
    """The innermost loop enclosing an access: its header span and a readable description."""

    span: Span
    description: str  # e.g. "for order in orders"
    bounded: bool = False  # iterates a literal collection of a few constants


@fast_pickle
@dataclass(frozen=True, slots=True)
class Query:
    origin: Origin
    kind: QueryKind
    span: Span
    tables: tuple[TableRef, ...] = ()
    projection: Projection = Projection.UNKNOWN
    columns: tuple[str, ...] = ()  # the explicit projection, when COLUMNS
    predicates: tuple[Predicate, ...] = ()
    has_disjunction: bool = False
    joins: tuple[Join, ...] = ()
    order_by: tuple[OrderKey, ...] = ()
    limit: int | Limit | None = None
    offset: int | Limit | None = None
    group_by: tuple[str, ...] = ()
    eager_loads: tuple[str, ...] = ()
    evaluated_at: Span | None = None
    loop: LoopRef | None = None
    confidence: Confidence = Confidence.HIGH
    model: str | None = None
    description: str = ""  # short human text: "Order.objects.filter(status=...)" or the SQL

    @property
    def main_table(self) -> str | None:
        return self.tables[0].name if self.tables else None
