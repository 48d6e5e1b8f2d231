"""Build ``project.schema`` from migration ops, SQL DDL files and the models.

Order: SQL migration files and plain ``.sql`` files (``schema.sql``; every ``CREATE TABLE`` /
``CREATE INDEX`` / ``ALTER TABLE`` counts) in path order, then Django migrations in graph
order, then Alembic revisions along the ``down_revision`` chain — each op applied to the
schema as the database would: tables, columns, indexes (keys, direction, expressions,
predicate, unique, method, INCLUDE), foreign keys, and the implicit indexes of primary keys and
unique constraints (``Index.implicit``). Django's automatic foreign-key index arrives as an op
from the Django reader (absent with ``db_index=False``).

Then the models overlay (``project.facts["model_schema"]``, a :class:`Schema` from the ORM
gatherer): tables, columns, indexes and foreign keys the migrations do not know are added —
without migrations the models are the current truth — and an index is never added twice for
the same (table, keys, predicate, unique). ``Table.model`` comes from ``project.models``. Django's
built-in models that the project's relations point at (``auth_user``, ``django_content_type``...)
are added with their primary key only.
Every fact keeps its provenance span.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from querylint.diagnostics import IndexKey
from querylint.migration import ConstraintKind, MigrationFramework, MigrationOp, OpKind
from querylint.schema import Column, ForeignKey, Index, Schema, Table

if TYPE_CHECKING:
    from querylint.models import ModelRegistry
    from querylint.project import ProjectIndex
    from querylint.sqlsource import SqlStatement

_SOURCE = {MigrationFramework.SQL: "sql", MigrationFramework.DJANGO: "django-migration", MigrationFramework.ALEMBIC: "alembic"}


def build_schema(project: ProjectIndex) -> None:
    schema = project.schema
    for op in ordered_ops(project):
        try:
            apply_op(schema, op)
        except Exception:  # one odd op must not lose the rest of the schema
            continue
    _django_field_provenance(project)
    overlay_models(project)


def _django_field_provenance(project: ProjectIndex) -> None:
    """A column's (and an Alembic foreign key's) provenance is its field / ``sa.Column`` /
    ``ForeignKeyConstraint`` in the migration, not the whole op."""
    from querylint.migrations.alembic import AlembicState
    from querylint.migrations.django import DjangoState

    astate = project.facts.get("alembic_state")
    if isinstance(astate, AlembicState):
        for (table, column), span in astate.column_spans.items():
            at = project.schema.table(table)
            if at is not None and column in at.columns:
                at.columns[column] = replace(at.columns[column], provenance=span)
        for (table, columns), span in astate.fk_spans.items():
            at = project.schema.table(table)
            if at is not None:  # a foreign key of create_table: its constraint, not the whole call
                at.foreign_keys = [replace(f, provenance=span) if f.columns == columns and f.provenance is not None
                                   and f.provenance.path == span.path and f.provenance.start <= span.start < f.provenance.end
                                   else f for f in at.foreign_keys]
    state = project.facts.get("django_state")
    if not isinstance(state, DjangoState):
        return
    for ms in state.models.values():
        t = project.schema.table(ms.table)
        if t is None:
            continue
        for fs in ms.fields.values():
            if fs.span is not None and fs.known and fs.column in t.columns:
                t.columns[fs.column] = replace(t.columns[fs.column], provenance=fs.span)


def ordered_ops(project: ProjectIndex) -> list[MigrationOp]:
    """Every schema op of the project, in the order the schema is built."""
    from querylint.source import Language

    sql_paths = {m.path for m in project.migrations if m.framework is MigrationFramework.SQL}
    by_path: dict[str, list[MigrationOp]] = {}
    for m in project.migrations:
        if m.framework is MigrationFramework.SQL:
            by_path[m.path] = list(m.ops)
    for path, pf in project.files.items():
        if path in sql_paths or pf.source.language is not Language.SQL or not pf.statements:
            continue
        by_path[path] = _plain_sql_ops(pf.statements)
    out: list[MigrationOp] = []
    for path in sorted(by_path):
        out.extend(by_path[path])
    for fw in (MigrationFramework.DJANGO, MigrationFramework.ALEMBIC):
        for m in project.migrations:
            if m.framework is fw:
                out.extend(m.ops)
    return out


def _plain_sql_ops(statements: list[SqlStatement]) -> list[MigrationOp]:
    try:
        from querylint.migrations.sql import statements_to_ops
    except ImportError:  # pragma: no cover
        return []
    try:
        return list(statements_to_ops(statements, MigrationFramework.SQL, in_transaction=False))
    except Exception:
        return []


def _key_of(index: Index) -> tuple[str, tuple[IndexKey, ...], str | None, bool]:
    return (index.table, index.keys, index.predicate, index.unique)


def _add_index(schema: Schema, index: Index) -> None:
    t = schema.ensure_table(index.table, index.provenance)
    index = replace(index, table=t.name)
    if (index.name is None or index.implicit) and any(_key_of(i) == _key_of(index) for i in t.indexes):
        return  # the same index under another name (a UNIQUE column and its constraint)
    schema.add_index(index)


def apply_op(schema: Schema, op: MigrationOp) -> None:
    """Apply one op to the schema (ops that do not change the schema are ignored)."""
    k = op.kind
    span = op.span
    source = _SOURCE.get(op.framework, "migration")
    table = op.table.lower() if op.table else None
    if k is OpKind.CREATE_TABLE and table:
        t = schema.ensure_table(op.table or table, span)  # as declared: "Order" keeps its case
        t.sources.add(source)
        if t.provenance is None:
            t.provenance = span
        for c in op.columns:
            t.columns[c.name] = Column(c.name, c.type, nullable=c.nullable and not c.primary_key, default=c.default,
                                       primary_key=c.primary_key, provenance=span)
        pk = [c.name for c in op.columns if c.primary_key]
        pk_name = f"{t.declared}_pkey"  # PostgreSQL's name for an unnamed primary key
        if op.framework is MigrationFramework.SQL and op.sql:
            table_pk, named = _table_constraints(schema, table, op)
            pk = pk or table_pk
            pk_name = named or pk_name
        if pk:
            _add_index(schema, Index(table, tuple(IndexKey(column=c) for c in pk), unique=True, primary=True, implicit=True,
                                     name=pk_name, provenance=span))
        for c in op.columns:
            # Django emits a column's UNIQUE constraint as a separate (named) op, which AlterField
            # later drops by that name
            if c.unique and not c.primary_key and op.framework is not MigrationFramework.DJANGO:
                _add_index(schema, Index(table, (IndexKey(column=c.name),), unique=True, implicit=True,
                                         name=f"{table}_{c.name}_key", provenance=span))
            # Django emits its FK constraints as separate (named) ops
            if c.references is not None and op.framework is not MigrationFramework.DJANGO:
                t.foreign_keys.append(ForeignKey(table, (c.name,), c.references[0].lower(), (c.references[1],), provenance=span))
        return
    if table is None and k not in (OpKind.DROP_INDEX, OpKind.OTHER):
        return
    if k is OpKind.DROP_TABLE and table:
        schema.drop_table(table)
        for other in schema.tables.values():
            other.foreign_keys = [f for f in other.foreign_keys if f.ref_table != table]
    elif k is OpKind.RENAME_TABLE and table and op.new_name:
        schema.rename_table(table, op.new_name)
        new = op.new_name.lower()
        for other in schema.tables.values():
            other.foreign_keys = [replace(f, ref_table=new) if f.ref_table == table else f for f in other.foreign_keys]
    elif k is OpKind.ADD_COLUMN and table and op.column is not None:
        c = op.column
        t = schema.ensure_table(op.table or table, span)
        t.sources.add(source)
        t.columns[c.name] = Column(c.name, c.type, nullable=c.nullable and not c.primary_key,
                                   default=c.default if op.framework is not MigrationFramework.DJANGO else None,
                                   primary_key=c.primary_key, provenance=span)
        if c.references is not None and op.framework is MigrationFramework.SQL:
            t.foreign_keys.append(ForeignKey(table, (c.name,), c.references[0].lower(), (c.references[1],), provenance=span))
        if c.unique and op.framework is MigrationFramework.SQL:
            _add_index(schema, Index(table, (IndexKey(column=c.name),), unique=True, implicit=True,
                                     name=f"{table}_{c.name}_key", provenance=span))
    elif k is OpKind.DROP_COLUMN and table and op.name:
        t2 = schema.table(table)
        if t2 is not None:
            t2.columns.pop(op.name, None)
            # PostgreSQL drops indexes and constraints that use the column
            t2.indexes = [i for i in t2.indexes if op.name not in i.columns and op.name not in i.include]
            t2.foreign_keys = [f for f in t2.foreign_keys if op.name not in f.columns]
    elif k is OpKind.RENAME_COLUMN and table and op.name and op.new_name:
        _rename_column(schema, table, op.name, op.new_name)
    elif k is OpKind.ALTER_COLUMN_TYPE and table and op.name:
        t3 = schema.table(table)
        if t3 is not None and op.name in t3.columns:
            t3.columns[op.name] = replace(t3.columns[op.name], type=op.new_type)
    elif k in (OpKind.SET_NOT_NULL, OpKind.DROP_NOT_NULL) and table and op.name:
        t4 = schema.table(table)
        if t4 is not None and op.name in t4.columns:
            t4.columns[op.name] = replace(t4.columns[op.name], nullable=k is OpKind.DROP_NOT_NULL)
    elif k in (OpKind.SET_DEFAULT, OpKind.DROP_DEFAULT) and table and op.name:
        t5 = schema.table(table)
        if t5 is not None and op.name in t5.columns:
            default = op.column.default if k is OpKind.SET_DEFAULT and op.column is not None else None
            t5.columns[op.name] = replace(t5.columns[op.name], default=default)
    elif k is OpKind.CREATE_INDEX and op.index is not None:
        idx = op.index
        _add_index(schema, replace(idx, table=(idx.table or table or "").lower(), provenance=idx.provenance or span))
    elif k is OpKind.DROP_INDEX and op.name:
        schema.drop_index(op.name)
    elif k is OpKind.ADD_CONSTRAINT and table:
        _add_constraint(schema, table, op)
    elif k is OpKind.DROP_CONSTRAINT and table and op.name:
        t6 = schema.table(table)
        if t6 is not None:
            t6.indexes = [i for i in t6.indexes if not (i.implicit and i.name == op.name)]
            t6.foreign_keys = [f for f in t6.foreign_keys if f.name != op.name]
    elif k is OpKind.OTHER and op.name and op.new_name:
        # ALTER INDEX / constraint RENAME (Django RenameIndex, ALTER TABLE RENAME CONSTRAINT)
        for t7 in schema.tables.values():
            t7.indexes = [replace(i, name=op.new_name) if i.name == op.name else i for i in t7.indexes]
            t7.foreign_keys = [replace(f, name=op.new_name) if f.name == op.name else f for f in t7.foreign_keys]


def _table_constraints(schema: Schema, table: str, op: MigrationOp) -> tuple[list[str], str | None]:
    """Table-level constraints of a SQL ``CREATE TABLE`` (``PRIMARY KEY (a, b)``, ``FOREIGN KEY``,
    ``UNIQUE``), which the op's columns do not carry; returns the primary key's columns and its
    name when written (``CONSTRAINT orders_pk PRIMARY KEY (id)``, also on a column)."""
    try:
        from pglast import parse_sql

        stmt: Any = parse_sql(op.sql or "")[0].stmt
    except Exception:
        return [], None
    if type(stmt).__name__ != "CreateStmt":
        return [], None
    pk: list[str] = []
    pk_name: str | None = None
    t = schema.ensure_table(table, op.span)
    for e in stmt.tableElts or ():
        if type(e).__name__ == "ColumnDef":
            for cc in e.constraints or ():
                if cc.contype.name == "CONSTR_PRIMARY" and cc.conname:
                    pk_name = cc.conname
            continue
        if type(e).__name__ != "Constraint":
            continue
        kind = e.contype.name
        if kind == "CONSTR_PRIMARY":
            pk = [k.sval for k in e.keys or ()]
            pk_name = e.conname or pk_name
            for c in pk:
                if c in t.columns:
                    t.columns[c] = replace(t.columns[c], primary_key=True, nullable=False)
        elif kind == "CONSTR_UNIQUE" and e.keys:
            cols = tuple(k.sval for k in e.keys)
            _add_index(schema, Index(table, tuple(IndexKey(column=c) for c in cols), unique=True, implicit=True,
                                     name=e.conname or f"{table}_{'_'.join(cols)}_key", provenance=op.span))
        elif kind == "CONSTR_FOREIGN" and e.fk_attrs and e.pktable is not None:
            fk = ForeignKey(table, tuple(k.sval for k in e.fk_attrs), e.pktable.relname.lower(),
                            tuple(k.sval for k in e.pk_attrs or ()) or ("id",), name=e.conname, provenance=op.span)
            if not any(f.columns == fk.columns and f.ref_table == fk.ref_table for f in t.foreign_keys):
                t.foreign_keys.append(fk)
    return pk, pk_name


def _rename_column(schema: Schema, table: str, old: str, new: str) -> None:
    t = schema.table(table)
    if t is None:
        return
    if old in t.columns:
        t.columns = {(new if n == old else n): (replace(c, name=new) if n == old else c) for n, c in t.columns.items()}

    def key(k: IndexKey) -> IndexKey:
        return replace(k, column=new) if k.column == old else k

    t.indexes = [replace(i, keys=tuple(key(k) for k in i.keys), include=tuple(new if c == old else c for c in i.include))
                 for i in t.indexes]
    t.foreign_keys = [replace(f, columns=tuple(new if c == old else c for c in f.columns)) for f in t.foreign_keys]
    for other in schema.tables.values():
        other.foreign_keys = [replace(f, ref_columns=tuple(new if c == old else c for c in f.ref_columns))
                              if f.ref_table == t.name else f for f in other.foreign_keys]


_USING_INDEX = re.compile(r"\busing\s+index\s+(?:\"([^\"]+)\"|([\w$]+))", re.IGNORECASE)


def _constraint_using_index(t: Table, op: MigrationOp) -> None:
    """``ADD CONSTRAINT name PRIMARY KEY / UNIQUE USING INDEX idx``: the index becomes the
    constraint's (PostgreSQL renames it to the constraint's name)."""
    m = _USING_INDEX.search(op.sql or "")
    if m is None:
        return
    index_name = m.group(1) or m.group(2).lower()
    found = next((i for i in t.indexes if i.name == index_name), None)
    if found is None:
        return
    primary = op.constraint is ConstraintKind.PRIMARY_KEY
    if primary:
        t.indexes = [i for i in t.indexes if not i.primary]
        for c in found.columns:
            if c is not None and c in t.columns:
                t.columns[c] = replace(t.columns[c], primary_key=True, nullable=False)
    t.indexes = [replace(i, name=op.name or index_name, unique=True, primary=primary, implicit=True) if i is found else i
                 for i in t.indexes]


def _add_constraint(schema: Schema, table: str, op: MigrationOp) -> None:
    t = schema.ensure_table(table, op.span)
    if op.using_index and op.constraint in (ConstraintKind.UNIQUE, ConstraintKind.PRIMARY_KEY):
        _constraint_using_index(t, op)
        return
    cols = op.constraint_columns
    if op.constraint is ConstraintKind.FOREIGN_KEY and cols and op.ref_table:
        fk = ForeignKey(table, cols, op.ref_table.lower(), op.ref_columns or ("id",), name=op.name, provenance=op.span)
        if not any(f.columns == fk.columns and f.ref_table == fk.ref_table for f in t.foreign_keys):
            t.foreign_keys.append(fk)
    elif op.constraint in (ConstraintKind.UNIQUE, ConstraintKind.PRIMARY_KEY) and cols:
        primary = op.constraint is ConstraintKind.PRIMARY_KEY
        # PostgreSQL's names: ``<table>_pkey``, ``<table>_<columns>_key``
        name = op.name or (f"{table}_pkey" if primary else f"{table}_{'_'.join(cols)}_key")
        if primary:
            # a table has one primary key: this one (named, or added later) replaces what
            # CREATE TABLE's column flags implied
            t.indexes = [i for i in t.indexes if not i.primary]
        _add_index(schema, Index(table, tuple(IndexKey(column=c) for c in cols), unique=True, primary=primary,
                                 implicit=True, name=name, provenance=op.span))
        if primary:
            for c in cols:
                if c in t.columns:
                    t.columns[c] = replace(t.columns[c], primary_key=True, nullable=False)


def overlay_models(project: ProjectIndex) -> None:
    """Add what only the models know; set ``Table.model``."""
    schema = project.schema
    model_schema = project.facts.get("model_schema")
    if isinstance(model_schema, Schema):
        for name, mt in model_schema.tables.items():
            t = schema.table(name)
            if t is None:
                t = schema.ensure_table(mt.declared, mt.provenance)
                t.model = mt.model
            t.sources.update(mt.sources or {"model"})
            for cname, col in mt.columns.items():
                t.columns.setdefault(cname, col)
            for idx in mt.indexes:
                if idx.primary and not any(i.primary for i in t.indexes):
                    # the migrations built a unique index on the key but the primary key itself
                    # came from DDL they did not show (a create_table helper): the model knows it
                    t.indexes.append(replace(idx, table=t.name))
                    continue
                if not any(_same_index(i, idx) for i in t.indexes):
                    if idx.name is not None and any(i.name == idx.name for i in t.indexes):
                        continue
                    t.indexes.append(replace(idx, table=t.name))
            for fk in mt.foreign_keys:
                if not any(f.columns == fk.columns and f.ref_table == fk.ref_table for f in t.foreign_keys):
                    t.foreign_keys.append(replace(fk, table=t.name))
            if t.model is None:
                t.model = mt.model
    _django_builtin_targets(schema, project.models)
    for m in project.models.models.values():
        if m.abstract or m.proxy:
            continue
        t8 = schema.table(m.table)
        if t8 is not None and t8.model is None:
            t8.model = m.key


def _django_builtin_targets(schema: Schema, registry: ModelRegistry) -> None:
    """``auth_user``, ``django_content_type``... when the project's models point at them but do
    not define them: the table and its primary key only, so foreign keys resolve. Their other
    columns stay unknown, and the index rules say nothing about a column they do not know."""
    from querylint.models import Framework, RelationKind
    from querylint.python.model_schema import BUILTIN_PK_TYPES
    from querylint.python.models_django import BUILTIN_TABLES

    for model in registry.models.values():
        if model.framework is not Framework.DJANGO or model.abstract:
            continue
        for rel in model.relations.values():
            table = BUILTIN_TABLES.get(rel.target) if rel.target not in registry.models else None
            if table is None or rel.kind not in (RelationKind.FORWARD_FK, RelationKind.FORWARD_O2O, RelationKind.M2M):
                continue
            if schema.table(table) is None:
                t = schema.ensure_table(table)
                t.model = rel.target
                t.sources.add("django-builtin")
                t.columns["id"] = Column("id", BUILTIN_PK_TYPES.get(table, "integer"), nullable=False, primary_key=True)
                t.indexes.append(Index(table, (IndexKey(column="id"),), unique=True, primary=True, implicit=True,
                                       name=f"{table}_pkey"))


def _same_index(a: Index, b: Index) -> bool:
    return bool(a.table == b.table and a.keys == b.keys and a.predicate == b.predicate and a.unique == b.unique)


def table_or_none(schema: Schema, name: str) -> Table | None:
    return schema.table(name)
