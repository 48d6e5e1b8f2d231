"""What ``querylint advise`` will create: the merged index suggestions plus unindexed foreign keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from querylint.advise.naming import index_name
from querylint.advise.quoting import quote_ident, single_statement
from querylint.diagnostics import IndexKey
from querylint.indexing import (
    DEFAULT_MAX_KEYS,
    analyze,
    fk_is_indexed,
    is_test_path,
    key_ident,
    uncertain_tables,
)
from querylint.schema import Index
from querylint.source import Span

if TYPE_CHECKING:
    from querylint.project import ProjectIndex


@dataclass
class IndexPlan:
    table: str
    keys: tuple[IndexKey, ...]
    predicate: str | None = None
    include: tuple[str, ...] = ()
    name: str = ""
    reason: str = ""  # "serves 3 queries", "foreign key orders.customer_id"
    serves: list[Span] = field(default_factory=list)
    extends: Index | None = None


def build_plan(project: ProjectIndex, max_keys: int = DEFAULT_MAX_KEYS) -> list[IndexPlan]:
    """Every index to create, merged project-wide, in a stable order (table, name)."""
    analysis = analyze(project, max_keys)
    plans: list[IndexPlan] = []
    for s in analysis.suggestions:
        spans: list[Span] = []
        for n in s.needs:
            if n.query.span not in spans:
                spans.append(n.query.span)
        plural = "query" if len(spans) == 1 else "queries"
        declared, keys, predicate, include = s.spelled()  # "Order" is not order
        plans.append(IndexPlan(declared, keys, predicate, include, s.name, f"serves {len(spans)} {plural}", spans, s.extends))
    uncertain = uncertain_tables(project)
    for table in project.schema.tables.values():
        if table.name in uncertain:
            continue
        for fk in table.foreign_keys:
            if not fk.columns or fk_is_indexed(table, fk.columns) or (fk.provenance is not None and is_test_path(fk.provenance.path)):
                continue
            want = [c.lower() for c in fk.columns]
            if any(p.table.lower() == table.name and not p.predicate and sorted(key_ident(k) for k in p.keys[: len(want)]) == sorted(want) for p in plans):
                continue  # a suggested index already leads with the FK columns
            keys = tuple(IndexKey(column=c) for c in want)
            spans = [fk.provenance] if fk.provenance else []
            declared_keys = tuple(IndexKey(column=table.column_spelling(c)) for c in want)
            plans.append(IndexPlan(table.declared, declared_keys, None, (), index_name(table.name, keys),
                                   f"foreign key {table.name} ({', '.join(want)}) -> {fk.ref_table}", spans))
    seen: set[str] = set()
    out: list[IndexPlan] = []
    for p in sorted(plans, key=lambda p: (p.table, p.name)):
        if p.name not in seen:
            seen.add(p.name)
            out.append(p)
    return out


def key_sql(key: IndexKey) -> str:
    if key.column is not None:
        base = quote_ident(key.column)
    else:
        base = f"({key.expression})"
    if key.opclass:
        base += f" {key.opclass}"
    if key.descending:
        base += " DESC"
    if key.nulls_first is not None and key.nulls_first != key.descending:
        base += " NULLS FIRST" if key.nulls_first else " NULLS LAST"
    return base


def create_sql(p: IndexPlan) -> str:
    sql = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote_ident(p.name)} ON {quote_ident(p.table)} ({', '.join(key_sql(k) for k in p.keys)})"
    if p.include:
        sql += f" INCLUDE ({', '.join(quote_ident(c) for c in p.include)})"
    if p.predicate:
        sql += f" WHERE {p.predicate}"
    return sql + ";"


def drop_sql(p: IndexPlan) -> str:
    return f"DROP INDEX CONCURRENTLY IF EXISTS {quote_ident(p.name)};"


def checked_sql(p: IndexPlan) -> tuple[str, str] | None:
    """``(create, drop)`` when both are exactly the one statement meant, on one line; else None.

    Identifiers are quoted here, but an expression key, an operator class and a partial
    predicate are SQL text taken from the project: a plan whose text would not stay inside its
    own statement is not written at all (the emitters say so).
    """
    create, drop = create_sql(p), drop_sql(p)
    if single_statement(create, "IndexStmt") and single_statement(drop, "DropStmt"):
        return create, drop
    return None
