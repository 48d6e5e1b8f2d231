"""The schema model: tables, columns, foreign keys and indexes, each fact with its provenance.

A :class:`Schema` is assembled from every source the project has — Django models and
migrations, SQLAlchemy metadata and Alembic revisions, SQL DDL files — by the builders in
``querylint.migrations`` / ``querylint.python``; the index rules ask it which index serves an
access (``querylint.indexing``). Facts are frozen; the container is mutable while it is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from querylint.diagnostics import IndexKey
from querylint.slotstate import fast_pickle
from querylint.source import Span


@fast_pickle
@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str | None = None  # SQL type as written, lower-cased: "bigint", "varchar(255)"
    nullable: bool = True
    default: str | None = None
    primary_key: bool = False
    provenance: Span | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class ForeignKey:
    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...] = ("id",)
    name: str | None = None
    provenance: Span | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class Index:
    table: str
    keys: tuple[IndexKey, ...]
    unique: bool = False
    predicate: str | None = None  # normalised SQL of the partial-index WHERE
    method: str = "btree"
    include: tuple[str, ...] = ()
    name: str | None = None
    primary: bool = False
    implicit: bool = False  # created by a PK / UNIQUE constraint / Django's FK index
    provenance: Span | None = None

    @property
    def columns(self) -> tuple[str | None, ...]:
        return tuple(k.column for k in self.keys)


@fast_pickle
@dataclass(slots=True)
class Table:
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    model: str | None = None  # ORM class ("app_label.Model" for Django, class name for SQLAlchemy)
    provenance: Span | None = None
    sources: set[str] = field(default_factory=set)  # "django-model", "migration", "sql", ...
    #: the name as declared where it differs from the lower-case key (``"Order"``): tables are
    #: looked up without case, but what querylint writes for PostgreSQL must name the real one
    spelled: str | None = None

    @property
    def declared(self) -> str:
        """The table's name as PostgreSQL knows it."""
        return self.spelled or self.name

    def column(self, name: str) -> Column | None:
        """Column ``name``, matched without case when no column has exactly that name."""
        col = self.columns.get(name)
        if col is None and self.columns:
            col = self.columns.get(self.column_spelling(name))
        return col

    def column_spelling(self, name: str) -> str:
        """The declared spelling of column ``name`` (matched without case), else ``name``."""
        if name in self.columns:
            return name
        low = name.lower()
        for declared in self.columns:
            if declared.lower() == low:
                return declared
        return name


@fast_pickle
@dataclass(slots=True)
class Schema:
    tables: dict[str, Table] = field(default_factory=dict)

    def table(self, name: str) -> Table | None:
        return self.tables.get(name.lower()) or self.tables.get(name)

    def ensure_table(self, name: str, provenance: Span | None = None) -> Table:
        key = name.lower()
        t = self.tables.get(key)
        if t is None:
            t = Table(name=key, provenance=provenance, spelled=name if name != key else None)
            self.tables[key] = t
        elif t.spelled is None and name != key:
            t.spelled = name
        return t

    def drop_table(self, name: str) -> None:
        self.tables.pop(name.lower(), None)

    def rename_table(self, old: str, new: str) -> None:
        t = self.tables.pop(old.lower(), None)
        if t is None:
            return
        t.name = new.lower()
        t.spelled = new if new != t.name else None
        t.indexes = [replace(i, table=t.name) for i in t.indexes]
        t.foreign_keys = [replace(f, table=t.name) for f in t.foreign_keys]
        self.tables[t.name] = t

    def add_index(self, index: Index) -> None:
        t = self.ensure_table(index.table)
        if index.name is not None:
            t.indexes = [i for i in t.indexes if i.name != index.name]
        t.indexes.append(index)

    def drop_index(self, name: str) -> None:
        for t in self.tables.values():
            t.indexes = [i for i in t.indexes if i.name != name]

    def all_indexes(self) -> list[Index]:
        return [i for t in self.tables.values() for i in t.indexes]
