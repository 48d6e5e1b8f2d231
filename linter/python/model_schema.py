"""Schema facts implied by the ORM models: tables, columns, foreign keys and indexes.

:func:`schema_from_models` turns the model registry (plus the gatherers' extra facts: Django
``Meta`` indexes and constraints, many-to-many join tables, SQLAlchemy ``__table_args__`` and
Core tables) into a :class:`~querylint.schema.Schema`. Implicit indexes are marked
``implicit``: primary keys, unique columns, and Django's automatic index on every
``ForeignKey`` / ``OneToOneField`` column (unless ``db_index=False``); SQLAlchemy never adds a
foreign-key index. The migrations builder merges this into ``project.schema``; names of
Django's automatic indexes are not reproduced (Django hashes them), so they are ``None``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from typing import Any, cast

from querylint.diagnostics import IndexKey
from querylint.models import Framework, Model, ModelRegistry, RelationKind
from querylint.schema import Column, ForeignKey, Index, Schema, Table
from querylint.source import Language, SourceFile, Span

_MIGRATION_MODULE = re.compile(r"(^|\.)(migrations?|versions|alembic)(\.|$)")
BUILTIN_PK_TYPES = {"auth_user": "integer", "auth_group": "integer", "auth_permission": "integer",
                    "django_content_type": "integer", "django_site": "integer"}


def schema_from_models(registry: ModelRegistry, django: dict[str, Any] | None = None,
                       sqlalchemy: tuple[dict[str, Any], list[Any], list[Any]] | None = None) -> Schema:
    """The schema the models declare. ``django`` / ``sqlalchemy`` are the gatherers' link results."""
    schema = Schema()
    django = django or {}
    # a model class written inside a migration (an Alembic revision's stub ``SqlRun``) is a
    # snapshot of some past state, sometimes a deliberately partial one: it is a schema fact
    # only for a table that no live model declares
    live_tables = {m.table.lower() for m in registry.models.values()
                   if m.table and not m.abstract and not m.proxy and not _MIGRATION_MODULE.search(m.module)}
    for model in registry.models.values():
        if model.abstract or model.proxy or not model.table:
            continue
        if model.framework is Framework.SQLALCHEMY and _MIGRATION_MODULE.search(model.module) \
                and model.table.lower() in live_tables:
            continue
        if model.framework is Framework.DJANGO:
            _django_model(schema, registry, model, django.get(model.key), django)
        else:
            _sa_model(schema, registry, model, sqlalchemy[0].get(model.key) if sqlalchemy else None)
    if sqlalchemy is not None:
        _, tables, loose = sqlalchemy
        for t in tables:
            _sa_core_table(schema, t)
        for ri in loose:
            _sa_loose_index(schema, registry, ri)
    return schema


# -- shared ------------------------------------------------------------------------------------------

def _table(schema: Schema, model: Model, source: str) -> Table:
    t = schema.ensure_table(model.table, model.provenance)
    t.model = model.key
    t.sources.add(source)
    return t


def _add_index(t: Table, idx: Index) -> None:
    # an identical implicit index (unique + db_index on one column) is listed once
    for old in t.indexes:
        if old.keys == idx.keys and old.predicate == idx.predicate and old.unique == idx.unique and \
                old.method == idx.method and (idx.implicit or old.name == idx.name):
            return
    t.indexes.append(idx)


def _col_index(table: str, column: str, *, unique: bool = False, primary: bool = False, implicit: bool = True,
               name: str | None = None, span: Span | None = None) -> Index:
    return Index(table=table, keys=(IndexKey(column=column),), unique=unique or primary, name=name, primary=primary,
                 implicit=implicit, provenance=span)


# -- Django -------------------------------------------------------------------------------------------

class _ModelColumns:
    """What H6's Django index reader needs: ``table`` and ``column_of(field name)``."""

    def __init__(self, model: Model) -> None:
        self.table = model.table
        self.model = model

    def column_of(self, name: str) -> str:
        if name == "pk":
            pk = next((f for f in self.model.fields.values() if f.primary_key), None)
            return pk.column if pk else "id"
        f = self.model.fields.get(name)
        if f is not None:
            return str(f.column)
        rel = self.model.relations.get(name)
        if rel is not None and rel.column:
            return str(rel.column)
        return name


class _Src:
    def __init__(self, text: str) -> None:
        self.src = SourceFile("<meta>", text, Language.PYTHON)


def _meta_index(model: Model, source: str, span: Span, *, unique: bool) -> Index | None:
    """``models.Index(...)`` / ``UniqueConstraint(...)`` source text -> an Index (H6's reader)."""
    try:
        from querylint.migrations import django as mig

        node = ast.parse(source, mode="eval").body
        if not isinstance(node, ast.Call):
            return None
        cls = mig.call_name(node)
        if unique and cls != "UniqueConstraint":
            return None  # CheckConstraint, ExclusionConstraint: no btree index to speak of
        idx: Index | None = mig._index_from_call(cast(Any, _Src(source)), cast(Any, _ModelColumns(model)), node, span,
                                                unique=unique)
    except Exception:  # an expression the reader does not know: no fact rather than a wrong one
        return None
    if idx is None:
        return None
    return replace(idx, table=model.table, provenance=span)


def _django_model(schema: Schema, registry: ModelRegistry, model: Model, lm: Any, django: dict[str, Any]) -> None:
    t = _table(schema, model, "django-model")
    sql_types: dict[str, str] = lm.sql_types if lm is not None else {}
    for f in model.fields.values():
        typ = sql_types.get(f.column)
        if typ is None and f.primary_key and f.type in ("BigAutoField", "AutoField", "SmallAutoField"):
            typ = {"BigAutoField": "bigint", "AutoField": "integer", "SmallAutoField": "smallint"}[f.type]
        t.columns[f.column] = Column(f.column, typ, nullable=f.nullable, primary_key=f.primary_key,
                                     provenance=f.provenance)
        if f.primary_key:
            _add_index(t, _col_index(t.name, f.column, primary=True, name=f"{t.name}_pkey", span=f.provenance))
            continue
        if f.unique:
            _add_index(t, _col_index(t.name, f.column, unique=True, span=f.provenance))
        elif f.db_index:
            # db_index=True, and Django's automatic index on a ForeignKey column
            _add_index(t, _col_index(t.name, f.column, implicit=f.type is not None and _is_rel(f.type),
                                     span=f.provenance))
        if (f.unique or f.db_index) and typ is not None and typ.startswith(("varchar", "text")):
            # on PostgreSQL Django adds a second "_like" index so LIKE 'abc%' can use it
            opclass = "varchar_pattern_ops" if typ.startswith("varchar") else "text_pattern_ops"
            _add_index(t, Index(t.name, (IndexKey(column=f.column, opclass=opclass),), implicit=True,
                                provenance=f.provenance))
    for rel in model.relations.values():
        if rel.kind not in (RelationKind.FORWARD_FK, RelationKind.FORWARD_O2O) or not rel.column:
            continue
        ref_table, ref_col, ref_type = _django_target(registry, rel.target, django)
        if ref_table is None:
            continue
        t.foreign_keys.append(ForeignKey(t.name, (rel.column,), ref_table, (ref_col,), provenance=rel.provenance))
        col = t.columns.get(rel.column)
        if col is not None and col.type is None and ref_type:
            t.columns[rel.column] = replace(col, type=ref_type)
    if lm is None:
        return
    cols = _ModelColumns(model)
    for together, unique in [(x, True) for x in lm.unique_together] + [(x, False) for x in lm.index_together]:
        keys = tuple(IndexKey(column=cols.column_of(n)) for n in together)
        _add_index(t, Index(t.name, keys, unique=unique, implicit=unique, provenance=model.provenance))
    for source, span in lm.meta_indexes:
        idx = _meta_index(model, source, span, unique=False)
        if idx is not None:
            _add_index(t, idx)
    for source, span in lm.meta_constraints:
        idx = _meta_index(model, source, span, unique=True)
        if idx is not None:
            _add_index(t, replace(idx, implicit=idx.predicate is None and not any(k.expression for k in idx.keys)))
    for name, raw in lm.m2m_fields.items():
        m2m = model.relations.get(name)
        if m2m is None or m2m.through:
            continue  # an explicit through model is a model of its own
        _django_m2m_table(schema, registry, model, lm, m2m.target, name, raw, django)


def _is_rel(cls: str) -> bool:
    return cls.endswith(("ForeignKey", "OneToOneField", "ParentalKey", "ForeignObject"))


def _django_target(registry: ModelRegistry, key: str, django: dict[str, Any]) -> tuple[str | None, str, str | None]:
    from querylint.python.models_django import BUILTIN_TABLES

    target = registry.models.get(key)
    if target is None:
        table = BUILTIN_TABLES.get(key)
        return table, "id", BUILTIN_PK_TYPES.get(table or "")
    lm = django.get(key)
    pk = next((f for f in target.fields.values() if f.primary_key), None)
    if lm is not None:
        return target.table, lm.pk_column, lm.pk_type
    return target.table, pk.column if pk else "id", None


def _django_m2m_table(schema: Schema, registry: ModelRegistry, model: Model, lm: Any, target_key: str, name: str,
                      raw: Any, django: dict[str, Any]) -> None:
    ref_table, ref_col, ref_type = _django_target(registry, target_key, django)
    if ref_table is None:
        return
    table = str(raw.opt("db_table") or f"{model.table}_{name}").lower()
    target_name = target_key.rsplit(".", 1)[-1].lower()
    src, dst = f"{model.class_name.lower()}_id", f"{target_name}_id"
    if target_key == model.key:
        src, dst = f"from_{src}", f"to_{dst}"
    t = schema.ensure_table(table, raw.span)
    t.sources.add("django-model")
    t.columns["id"] = Column("id", "bigint", nullable=False, primary_key=True, provenance=raw.span)
    t.columns[src] = Column(src, lm.pk_type, nullable=False, provenance=raw.span)
    t.columns[dst] = Column(dst, ref_type, nullable=False, provenance=raw.span)
    t.foreign_keys.append(ForeignKey(table, (src,), model.table, (lm.pk_column,), provenance=raw.span))
    t.foreign_keys.append(ForeignKey(table, (dst,), ref_table, (ref_col,), provenance=raw.span))
    _add_index(t, _col_index(table, "id", primary=True, name=f"{table}_pkey", span=raw.span))
    _add_index(t, Index(table, (IndexKey(column=src), IndexKey(column=dst)), unique=True, implicit=True,
                        provenance=raw.span))
    _add_index(t, _col_index(table, src, span=raw.span))
    _add_index(t, _col_index(table, dst, span=raw.span))


# -- SQLAlchemy ------------------------------------------------------------------------------------------

def _sa_fk_ref(registry: ModelRegistry, ref: str) -> tuple[str, str]:
    table, _, col = ref.rpartition(".")
    m = registry.resolve(table) if table else None
    if m is not None and m.framework is Framework.SQLALCHEMY and m.class_name == table.rsplit(".", 1)[-1]:
        f = m.fields.get(col)
        return m.table, f.column if f else col
    return table.rsplit(".", 1)[-1] if "." in table else table, col


def _sa_model(schema: Schema, registry: ModelRegistry, model: Model, lm: Any) -> None:
    t = _table(schema, model, "sqlalchemy-model")
    raw_cols = lm.columns if lm is not None else {}
    pk_cols = [f.column for f in model.fields.values() if f.primary_key]
    for f in model.fields.values():
        rc = raw_cols.get(f.name)
        if rc is None:
            continue  # column_property and friends: no table column
        t.columns[f.column] = Column(f.column, f.type, nullable=f.nullable, primary_key=f.primary_key,
                                     provenance=f.provenance)
        if rc.foreign_key:
            ref_table, ref_col = _sa_fk_ref(registry, rc.foreign_key)
            if ref_table:
                t.foreign_keys.append(ForeignKey(t.name, (f.column,), ref_table, (ref_col,), provenance=f.provenance))
        if f.unique:
            _add_index(t, _col_index(t.name, f.column, unique=True, implicit=True, name=f"{t.name}_{f.column}_key",
                                     span=f.provenance))
        if f.db_index:
            _add_index(t, Index(t.name, (IndexKey(column=f.column),), unique=False, name=f"ix_{t.name}_{f.column}",
                                provenance=f.provenance))
    by_attr = {a: c.name for a, c in raw_cols.items()}
    if pk_cols:
        span = model.fields[next(n for n, f in model.fields.items() if f.primary_key)].provenance
        if lm is not None and len(pk_cols) > 1:
            # a PrimaryKeyConstraint("b", "a") gives the key its order (the gatherer lists it
            # with the unique constraints)
            for cols, cspan in lm.uniques:
                named = [by_attr.get(c, c) for c in cols]
                if sorted(named) == sorted(pk_cols):
                    pk_cols, span = named, cspan
                    break
        _add_index(t, Index(t.name, tuple(IndexKey(column=c) for c in pk_cols), unique=True, primary=True,
                            implicit=True, name=f"{t.name}_pkey", provenance=span))
    if lm is None:
        return
    for ri in lm.indexes:
        idx = _sa_index(t.name, ri, by_attr)
        if idx is not None:
            _add_index(t, idx)
    for cols, span in lm.uniques:
        _add_index(t, Index(t.name, tuple(IndexKey(column=by_attr.get(c, c)) for c in cols), unique=True,
                            implicit=True, provenance=span))


def _sa_index(table: str, ri: Any, by_attr: dict[str, str]) -> Index | None:
    keys = [IndexKey(column=by_attr.get(c.lstrip("-"), c.lstrip("-")), descending=c.startswith("-")) for c in ri.columns]
    for e in ri.expressions:
        keys.append(IndexKey(expression=_sa_expression(e, by_attr)))
    if not keys:
        return None
    return Index(table, tuple(keys), unique=ri.unique, predicate=_sa_predicate(ri.predicate, by_attr),
                 name=ri.name, provenance=ri.span)


def _sa_expression(text: str, by_attr: dict[str, str]) -> str:
    """``func.lower(User.email)`` -> ``lower(email)``; anything else stays as written."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return text
    sql = _sa_sql(node, by_attr)
    return sql if sql is not None else "sqlalchemy: " + text


def _sa_sql(node: ast.expr, by_attr: dict[str, str]) -> str | None:
    from querylint.migrations.django import sql_literal

    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        base = node.func.value
        if (isinstance(base, ast.Name) and base.id in ("func", "sa_func")) or \
                (isinstance(base, ast.Attribute) and base.attr == "func"):
            args = [_sa_sql(a, by_attr) for a in node.args]
            if any(a is None for a in args):
                return None
            return f"{node.func.attr.lower()}({', '.join(a for a in args if a is not None)})"
        if node.func.attr in ("is_", "isnot", "is_not") and node.args:
            inner = _sa_sql(base, by_attr)
            val = node.args[0]
            if inner is not None and isinstance(val, ast.Constant) and val.value is None:
                return f"{inner} IS NULL" if node.func.attr == "is_" else f"{inner} IS NOT NULL"
        return None
    if isinstance(node, ast.Attribute):
        return by_attr.get(node.attr, node.attr)
    if isinstance(node, ast.Constant):
        return str(sql_literal(node.value))
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        ops = {ast.Eq: "=", ast.NotEq: "<>", ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<="}
        op = ops.get(type(node.ops[0]))
        left, right = _sa_sql(node.left, by_attr), _sa_sql(node.comparators[0], by_attr)
        if op is None or left is None or right is None:
            return None
        if right == "NULL":
            return f"{left} IS NULL" if op == "=" else f"{left} IS NOT NULL" if op == "<>" else None
        return f"{left} {op} {right}"
    return None


def _sa_predicate(text: str | None, by_attr: dict[str, str]) -> str | None:
    if text is None:
        return None
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return "sqlalchemy: " + text
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "text" and node.args:
        val = node.args[0]
        sql = val.value if isinstance(val, ast.Constant) and isinstance(val.value, str) else None
    else:
        sql = _sa_sql(node, by_attr)
    if sql is None:
        return "sqlalchemy: " + text  # implies nothing: never taken to serve a query
    from querylint.migrations.django import normalise_sql_expr

    return str(normalise_sql_expr(sql))


def _sa_core_table(schema: Schema, raw: Any) -> None:
    t = schema.ensure_table(raw.name, raw.span)
    t.sources.add("sqlalchemy-table")
    pk = [c.name for c in raw.columns if c.primary_key]
    for cols, _span in raw.uniques if len(pk) > 1 else ():
        if sorted(cols) == sorted(pk):  # PrimaryKeyConstraint("b", "a"): the key's order
            pk = list(cols)
            break
    for c in raw.columns:
        t.columns[c.name] = Column(c.name, c.sql_type, nullable=c.nullable if c.nullable is not None else not c.primary_key,
                                   primary_key=c.primary_key, provenance=c.span)
        if c.foreign_key and "." in c.foreign_key:
            ref_table, _, ref_col = c.foreign_key.rpartition(".")
            t.foreign_keys.append(ForeignKey(t.name, (c.name,), ref_table, (ref_col,), provenance=c.span))
        if c.unique:
            _add_index(t, _col_index(t.name, c.name, unique=True, name=f"{t.name}_{c.name}_key", span=c.span))
        if c.index:
            _add_index(t, Index(t.name, (IndexKey(column=c.name),), name=f"ix_{t.name}_{c.name}", provenance=c.span))
    if pk:
        _add_index(t, Index(t.name, tuple(IndexKey(column=c) for c in pk), unique=True, primary=True, implicit=True,
                            name=f"{t.name}_pkey", provenance=raw.span))
    for ri in raw.indexes:
        idx = _sa_index(t.name, ri, {})
        if idx is not None:
            _add_index(t, idx)
    for cols, span in raw.uniques:
        _add_index(t, Index(t.name, tuple(IndexKey(column=c) for c in cols), unique=True, implicit=True, provenance=span))


def _sa_loose_index(schema: Schema, registry: ModelRegistry, ri: Any) -> None:
    """``Index("ix", Model.col)`` at module level: the table comes from the model class."""
    if not ri.table:
        return
    m = registry.resolve(ri.table)
    if m is not None and m.framework is Framework.SQLALCHEMY:
        table = m.table
        by_attr = {n: f.column for n, f in m.fields.items()}
    else:
        t0 = schema.table(ri.table)
        if t0 is None:
            return
        table, by_attr = t0.name, {}
    t = schema.table(table)
    if t is None:
        return
    idx = _sa_index(t.name, ri, by_attr)
    if idx is not None:
        _add_index(t, idx)
