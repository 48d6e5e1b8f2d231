"""SQLAlchemy models from the ``ast``: per-file extraction, then project-wide linking.

:func:`extract` reads one file into :class:`SaFile` — declarative bases it defines
(``class Base(DeclarativeBase)``, ``Base = declarative_base()``, ``registry().generate_base()``,
Flask-SQLAlchemy's ``db = SQLAlchemy()`` whose ``db.Model`` is a base), mapped classes with
their ``Column`` / ``mapped_column`` / ``Mapped[...]`` attributes, ``relationship()`` calls,
``__table_args__``, and Core ``Table(...)`` / standalone ``Index(...)`` — without keeping any
``ast`` node, so the result is cacheable. :func:`link` decides which classes are mapped
(bases reaching a declarative base, across files), table names, relation kinds (many-to-one
vs collection from the foreign-key direction, ``uselist`` and ``Mapped[list[...]]``) and the
reverse relations ``backref=`` creates.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from querylint.models import Field, Framework, Model, Relation, RelationKind
from querylint.python.modpath import dotted, gather_imports, resolve_name
from querylint.python.textspans import LazySpans
from querylint.slotstate import fast_pickle
from querylint.source import Span

_MISSING = object()
_DECL_BASES = {"sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta",
               "sqlalchemy.orm.decl_api.DeclarativeBase", "sqlalchemy.ext.declarative.DeclarativeMeta"}
# declarative bases that libraries export (their subclasses are mapped classes)
_LIBRARY_MODEL_BASES = {"flask_appbuilder.Model", "flask_appbuilder.models.sqla.Model"}
_BASE_FACTORIES = ("declarative_base", "generate_base", "as_declarative_base")
_COLLECTIONS = {"list", "List", "set", "Set", "typing.List", "typing.Set", "Sequence", "DynamicMapped",
                "WriteOnlyMapped", "collections.abc.Sequence", "tuple", "Tuple", "frozenset", "dict", "Dict"}
_COLUMN_FUNCS = ("Column", "mapped_column")


@fast_pickle
@dataclass(frozen=True, slots=True)
class RawColumn:
    attr: str | None  # attribute name (None for a Table() column)
    name: str  # db column
    span: Span
    sql_type: str | None = None
    primary_key: bool = False
    unique: bool = False
    index: bool = False
    nullable: bool | None = None
    foreign_key: str | None = None  # "table.column" (or "Class.attr")
    deferred: bool = False


@fast_pickle
@dataclass(frozen=True, slots=True)
class RawRelationship:
    attr: str
    span: Span
    target: str | None  # class name / dotted / None (from the annotation)
    lazy: str = "select"
    uselist: bool | None = None
    secondary: str | None = None  # table name or variable name
    back_populates: str | None = None
    backref: str | None = None
    backref_lazy: str | None = None
    backref_uselist: bool | None = None
    annotated_collection: bool | None = None  # Mapped[list[X]] -> True, Mapped[X] -> False
    viewonly: bool = False
    foreign_keys: tuple[str, ...] = ()  # ``foreign_keys=[...]`` as written: "workspace", "Post.author_id"


@fast_pickle
@dataclass(frozen=True, slots=True)
class RawIndex:
    name: str | None
    columns: tuple[str, ...]  # attribute or column names (``-`` prefix: desc)
    span: Span
    unique: bool = False
    table: str | None = None  # for Table()/standalone Index: the table, or class name via "Class."
    predicate: str | None = None  # postgresql_where, as source text
    expressions: tuple[str, ...] = ()


@fast_pickle
@dataclass(frozen=True, slots=True)
class SaClass:
    name: str
    bases: tuple[str, ...]
    span: Span
    tablename: str | None = None
    has_tablename_attr: bool = False  # __tablename__ assigned (maybe via declared_attr)
    abstract: bool = False
    columns: tuple[RawColumn, ...] = ()
    relationships: tuple[RawRelationship, ...] = ()
    indexes: tuple[RawIndex, ...] = ()  # __table_args__
    uniques: tuple[tuple[tuple[str, ...], Span], ...] = ()
    column_properties: tuple[tuple[str, Span], ...] = ()
    fk_constraints: tuple[tuple[tuple[str, ...], str], ...] = ()  # ForeignKeyConstraint: (columns, ref table)


@fast_pickle
@dataclass(frozen=True, slots=True)
class SaTable:
    var: str | None
    name: str
    span: Span
    columns: tuple[RawColumn, ...] = ()
    indexes: tuple[RawIndex, ...] = ()
    uniques: tuple[tuple[tuple[str, ...], Span], ...] = ()


@fast_pickle
@dataclass(frozen=True, slots=True)
class SaFile:
    path: str
    module: str
    bases: tuple[str, ...] = ()  # full dotted names of declarative bases defined here
    classes: tuple[SaClass, ...] = ()
    tables: tuple[SaTable, ...] = ()
    indexes: tuple[RawIndex, ...] = ()  # standalone Index("name", Model.col)
    imports_sqlalchemy: bool = False


def _literal(node: ast.AST | None, default: Any = _MISSING) -> Any:
    if node is None:
        return default
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return default


def _last(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


_TYPES = {"Integer": "integer", "BigInteger": "bigint", "SmallInteger": "smallint", "Boolean": "boolean",
          "Text": "text", "UnicodeText": "text", "Date": "date", "DateTime": "timestamp", "Time": "time",
          "Float": "double precision", "Double": "double precision", "LargeBinary": "bytea", "JSON": "json",
          "JSONB": "jsonb", "UUID": "uuid", "Uuid": "uuid", "Interval": "interval", "TIMESTAMP": "timestamp",
          "INTEGER": "integer", "BIGINT": "bigint", "TEXT": "text", "BOOLEAN": "boolean", "INET": "inet"}
_PY_TYPES = {"int": "integer", "str": "varchar", "bool": "boolean", "float": "double precision",
             "datetime": "timestamp", "datetime.datetime": "timestamp", "date": "date", "datetime.date": "date",
             "Decimal": "numeric", "decimal.Decimal": "numeric", "bytes": "bytea", "uuid.UUID": "uuid", "UUID": "uuid",
             "dict": "json", "time": "time", "timedelta": "interval"}


def _type_of(node: ast.expr) -> str | None:
    call = node if isinstance(node, ast.Call) else None
    name = _last(dotted(call.func if call else node))
    if name in ("String", "Unicode", "VARCHAR", "CHAR"):
        n = _literal(call.args[0]) if call is not None and call.args else _MISSING
        if call is not None and n is _MISSING:
            n = _literal(next((k.value for k in call.keywords if k.arg == "length"), None))
        base = "char" if name == "CHAR" else "varchar"
        return f"{base}({n})" if isinstance(n, int) else base
    if name in ("Numeric", "DECIMAL", "NUMERIC"):
        if call is not None and len(call.args) >= 2:
            p, s = _literal(call.args[0]), _literal(call.args[1])
            if isinstance(p, int) and isinstance(s, int):
                return f"numeric({p},{s})"
        return "numeric"
    if name == "Enum":
        return "enum"
    if name == "DateTime" and call is not None and _literal(next((k.value for k in call.keywords if k.arg == "timezone"), None)) is True:
        return "timestamp with time zone"
    return _TYPES.get(name)


def _unwrap_annotation(node: ast.expr | None) -> tuple[ast.expr | None, bool, bool | None, bool]:
    """``Mapped[Optional[list["X"]]]`` -> (the X node, optional, collection?, is Mapped)."""
    if node is None:
        return None, False, None, False
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None, False, None, False
    mapped = False
    optional = False
    collection: bool | None = None
    for _ in range(6):
        if isinstance(node, ast.Subscript):
            head = dotted(node.value) or ""
            inner = node.slice
            short = _last(head)
            if short in ("Mapped", "DynamicMapped", "WriteOnlyMapped", "relationship", "Relationship"):
                mapped = True
                if short in ("DynamicMapped", "WriteOnlyMapped"):
                    collection = True
                node = inner
                continue
            if short == "Optional":
                optional = True
                node = inner
                continue
            if short == "Union" and isinstance(inner, ast.Tuple):
                rest = [e for e in inner.elts if not (isinstance(e, ast.Constant) and e.value is None)]
                optional = optional or len(rest) < len(inner.elts)
                if len(rest) == 1:
                    node = rest[0]
                    continue
                return None, optional, collection, mapped
            if head in _COLLECTIONS or short in _COLLECTIONS:
                collection = True
                node = inner.elts[-1] if isinstance(inner, ast.Tuple) and inner.elts else inner
                continue
            return node, optional, collection, mapped
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            left, right = node.left, node.right
            if isinstance(right, ast.Constant) and right.value is None:
                optional, node = True, left
                continue
            if isinstance(left, ast.Constant) and left.value is None:
                optional, node = True, right
                continue
            return None, optional, collection, mapped
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return None, optional, collection, mapped
            continue
        break
    if collection is None and mapped:
        collection = False
    return node, optional, collection, mapped


class _Extractor(LazySpans):
    def __init__(self, path: str, text: str, module: str, imports: dict[str, str], local: set[str]) -> None:
        self.path = path
        self.text = text
        self.module = module
        self.imports = imports
        self.local = local
        self.fk_constraints: list[tuple[tuple[str, ...], str]] = []
        self.pk_constraint: tuple[str, ...] = ()  # PrimaryKeyConstraint(...) of the last __table_args__

    def resolve(self, node: ast.AST) -> str | None:
        name = dotted(node)
        return resolve_name(name, self.imports, self.local, self.module) if name else None

    def fname(self, call: ast.Call) -> str:
        return _last(dotted(call.func))

    # -- columns
    def column(self, attr: str | None, call: ast.Call, annotation: ast.expr | None = None, *,
               deferred: bool = False) -> RawColumn | None:
        fn = self.fname(call)
        if fn in ("deferred", "column_property") and call.args and isinstance(call.args[0], ast.Call):
            return self.column(attr, call.args[0], annotation, deferred=fn == "deferred" or deferred)
        if fn not in _COLUMN_FUNCS:
            return None
        kw = {k.arg: k.value for k in call.keywords if k.arg}
        name = attr
        sql_type: str | None = None
        fk: str | None = None
        for a in call.args:
            lit = _literal(a)
            if isinstance(lit, str) and name == attr and a is call.args[0]:
                name = lit
            elif isinstance(a, ast.Call) and self.fname(a) == "ForeignKey":
                fk = self.fk_target(a)
            elif sql_type is None:
                sql_type = _type_of(a)
        if "type_" in kw:
            sql_type = _type_of(kw["type_"])
        if "name" in kw and isinstance(_literal(kw["name"]), str):
            name = _literal(kw["name"])
        if name is None:
            return None
        _, optional, _, mapped = _unwrap_annotation(annotation)
        inner = _unwrap_annotation(annotation)[0]
        if sql_type is None and inner is not None:
            sql_type = _PY_TYPES.get(dotted(inner) or "")
        pk = _literal(kw.get("primary_key"), False) is True
        nullable_lit = _literal(kw.get("nullable"), None)
        nullable: bool | None
        if isinstance(nullable_lit, bool):
            nullable = nullable_lit
        elif pk:
            nullable = False
        elif mapped:
            nullable = optional
        else:
            nullable = True if fn == "Column" else None
        if kw.get("deferred") is not None and _literal(kw["deferred"]) is True:
            deferred = True
        return RawColumn(attr, str(name), self.span(call), sql_type, pk,
                         _literal(kw.get("unique"), False) is True, _literal(kw.get("index"), False) is True,
                         nullable, fk, deferred)

    def fk_target(self, call: ast.Call) -> str | None:
        if not call.args:
            return None
        lit = _literal(call.args[0])
        if isinstance(lit, str):
            return lit
        found: str | None = dotted(call.args[0])
        return found

    # -- relationships
    def relationship(self, attr: str, call: ast.Call, annotation: ast.expr | None) -> RawRelationship | None:
        if self.fname(call) not in ("relationship", "relation", "dynamic_loader"):
            return None
        kw = {k.arg: k.value for k in call.keywords if k.arg}
        target: str | None = None
        tnode = call.args[0] if call.args else kw.get("argument")
        if tnode is not None:
            lit = _literal(tnode)
            if isinstance(lit, str):
                target = lit
            elif isinstance(tnode, ast.Lambda):
                target = dotted(tnode.body)
            else:
                target = dotted(tnode)
        inner, _, coll, _ = _unwrap_annotation(annotation)
        if target is None and inner is not None:
            target = dotted(inner)
        lazy = _literal(kw.get("lazy"), "select")
        if self.fname(call) == "dynamic_loader":
            lazy = "dynamic"
        lazy = {True: "select", False: "joined", None: "noload"}.get(lazy, lazy) if not isinstance(lazy, str) else lazy
        uselist = _literal(kw.get("uselist"), None)
        secondary: str | None = None
        if "secondary" in kw:
            lit = _literal(kw["secondary"])
            secondary = lit if isinstance(lit, str) else dotted(kw["secondary"])
        backref = backref_lazy = None
        backref_uselist = None
        if "backref" in kw:
            b = kw["backref"]
            lit = _literal(b)
            if isinstance(lit, str):
                backref = lit
            elif isinstance(b, ast.Call) and self.fname(b) == "backref" and b.args:
                name = _literal(b.args[0])
                backref = name if isinstance(name, str) else None
                bkw = {k.arg: k.value for k in b.keywords if k.arg}
                bl = _literal(bkw.get("lazy"), None)
                backref_lazy = bl if isinstance(bl, str) else None
                bu = _literal(bkw.get("uselist"), None)
                backref_uselist = bu if isinstance(bu, bool) else None
        bp = _literal(kw.get("back_populates"), None)
        fks: list[str] = []
        fk_node = kw.get("foreign_keys")
        for e in (fk_node.elts if isinstance(fk_node, (ast.List, ast.Tuple)) else [fk_node] if fk_node is not None else []):
            lit = _literal(e)
            if isinstance(lit, str):
                fks.extend(x.strip().strip("[]") for x in lit.split(","))
            elif dotted(e):
                fks.append(str(dotted(e)))
        return RawRelationship(attr, self.span(call), target, str(lazy), uselist if isinstance(uselist, bool) else None,
                               secondary, bp if isinstance(bp, str) else None, backref, backref_lazy,
                               backref_uselist, coll, _literal(kw.get("viewonly"), False) is True,
                               tuple(f for f in fks if f))

    # -- indexes
    def index(self, call: ast.Call, *, table: str | None = None) -> RawIndex | None:
        if self.fname(call) != "Index":
            return None
        kw = {k.arg: k.value for k in call.keywords if k.arg}
        args = list(call.args)
        # ``Index(name, *expressions)``: the name comes first even when it is an f-string or None
        name = _literal(args[0]) if args else None
        args = args[1:]
        cols: list[str] = []
        exprs: list[str] = []
        for a in args:
            lit = _literal(a)
            desc = False
            node = a
            if isinstance(a, ast.Call) and isinstance(a.func, ast.Attribute) and a.func.attr in ("desc", "asc") and not a.args:
                desc = a.func.attr == "desc"
                node = a.func.value
            d = dotted(node)
            if isinstance(lit, str):
                cols.append(lit)
            elif d is not None:
                parts = d.split(".")
                if len(parts) >= 2 and table is None:
                    table = parts[-2]
                    if parts[-3:-2] == ["c"]:
                        table = parts[-3] if len(parts) >= 3 else table
                cols.append(("-" if desc else "") + parts[-1])
            elif isinstance(a, ast.Call) and _last(dotted(a.func)) == "text" and a.args \
                    and isinstance(_literal(a.args[0]), str) \
                    and re.fullmatch(r"\s*\w+(\s+(asc|desc))?\s*", str(_literal(a.args[0])), re.I):
                word, *order = str(_literal(a.args[0])).split()  # text("version DESC")
                cols.append(("-" if order and order[0].lower() == "desc" else "") + word)
            else:
                exprs.append(ast.unparse(a))
        where = kw.get("postgresql_where")
        return RawIndex(name if isinstance(name, str) else None, tuple(cols), self.span(call),
                        _literal(kw.get("unique"), False) is True, table,
                        ast.unparse(where) if where is not None else None, tuple(exprs))

    def table_args(self, node: ast.expr) -> tuple[list[RawIndex], list[tuple[tuple[str, ...], Span]]]:
        idx: list[RawIndex] = []
        uniq: list[tuple[tuple[str, ...], Span]] = []
        self.fk_constraints = []
        self.pk_constraint = ()
        elts = node.elts if isinstance(node, (ast.Tuple, ast.List)) else []
        for e in elts:
            if not isinstance(e, ast.Call):
                continue
            fn = self.fname(e)
            if fn == "Index":
                ri = self.index(e, table="")
                if ri is not None:
                    idx.append(ri)
            elif fn in ("UniqueConstraint", "PrimaryKeyConstraint"):
                cols = tuple(c for c in (_literal(a) for a in e.args) if isinstance(c, str))
                if fn == "PrimaryKeyConstraint":
                    # names as strings, or the attributes of the class body: PrimaryKeyConstraint(a, b)
                    cols = tuple(a.id if isinstance(a, ast.Name) else c for a in e.args
                                 if isinstance(c := _literal(a), str) or isinstance(a, ast.Name))
                    self.pk_constraint = cols
                if cols:
                    uniq.append((cols, self.span(e)))
            elif fn == "ForeignKeyConstraint" and len(e.args) >= 2:
                local, refs = _literal(e.args[0]), _literal(e.args[1])
                if isinstance(local, (list, tuple)) and isinstance(refs, (list, tuple)) and refs and \
                        all(isinstance(x, str) for x in (*local, *refs)):
                    self.fk_constraints.append((tuple(local), str(refs[0]).rpartition(".")[0]))
        return idx, uniq

    # -- classes
    def klass(self, node: ast.ClassDef) -> SaClass | None:
        bases = tuple(b for b in (self.resolve(x) for x in node.bases) if b)
        cols: list[RawColumn] = []
        rels: list[RawRelationship] = []
        idx: list[RawIndex] = []
        uniq: list[tuple[tuple[str, ...], Span]] = []
        props: list[tuple[str, Span]] = []
        tablename: str | None = None
        has_tn = False
        abstract = False
        fkc: list[tuple[tuple[str, ...], str]] = []
        pkc: tuple[str, ...] = ()
        for st in node.body:
            annotation: ast.expr | None = None
            value: ast.expr | None
            if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
                name, value = st.targets[0].id, st.value
            elif isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
                name, value, annotation = st.target.id, st.value, st.annotation
            elif isinstance(st, ast.FunctionDef) and st.name == "__tablename__":
                has_tn = True
                continue
            else:
                continue
            if name == "__tablename__":
                has_tn = True
                lit = _literal(value)
                tablename = lit if isinstance(lit, str) else None
                continue
            if name == "__abstract__":
                abstract = _literal(value) is True
                continue
            if name == "__table_args__" and value is not None:
                target = value
                if isinstance(value, ast.Dict):
                    continue
                i, u = self.table_args(target)
                idx.extend(i)
                uniq.extend(u)
                fkc.extend(self.fk_constraints)
                pkc = self.pk_constraint
                continue
            if value is None:
                # ``name: Mapped[int]`` alone is a column in SQLAlchemy 2.0
                inner, optional, coll, mapped = _unwrap_annotation(annotation)
                if mapped and not coll and inner is not None:
                    py = dotted(inner) or ""
                    if py in _PY_TYPES or _last(py) in _PY_TYPES:
                        cols.append(RawColumn(name, name, self.span(st), _PY_TYPES.get(py) or _PY_TYPES.get(_last(py)),
                                              nullable=optional))
                continue
            if not isinstance(value, ast.Call):
                continue
            c = self.column(name, value, annotation)
            if c is not None:
                if self.fname(value) == "column_property" and not c.deferred:
                    cols.append(c)
                else:
                    cols.append(c)
                continue
            r = self.relationship(name, value, annotation)
            if r is not None:
                rels.append(r)
                continue
            if self.fname(value) == "column_property":
                props.append((name, self.span(value)))
        if pkc:  # a PrimaryKeyConstraint names the key columns (by attribute or column name)
            cols = [replace(c, primary_key=True, nullable=False) if c.attr in pkc or c.name in pkc else c for c in cols]
        if not (bases or cols or rels):
            return None
        return SaClass(node.name, bases, self.span(node), tablename, has_tn, abstract, tuple(cols), tuple(rels),
                       tuple(idx), tuple(uniq), tuple(props), tuple(fkc))

    def table(self, var: str | None, call: ast.Call) -> SaTable | None:
        if self.fname(call) != "Table" or not call.args:
            return None
        name = _literal(call.args[0])
        if not isinstance(name, str):
            return None
        cols: list[RawColumn] = []
        idx: list[RawIndex] = []
        uniq: list[tuple[tuple[str, ...], Span]] = []
        for a in call.args[1:]:
            if not isinstance(a, ast.Call):
                continue
            fn = self.fname(a)
            if fn == "Column":
                c = self.column(None, a)
                if c is not None:
                    cols.append(c)
            elif fn == "Index":
                ri = self.index(a, table=name)
                if ri is not None:
                    idx.append(ri)
            elif fn == "UniqueConstraint":
                u = tuple(c for c in (_literal(x) for x in a.args) if isinstance(c, str))
                if u:
                    uniq.append((u, self.span(a)))
            elif fn == "PrimaryKeyConstraint":
                pk = tuple(c for c in (_literal(x) for x in a.args) if isinstance(c, str))
                cols = [replace(c, primary_key=True, nullable=False) if c.name in pk else c for c in cols]
                if pk:
                    uniq.append((pk, self.span(a)))  # as in __table_args__: the key's column order
        return SaTable(var, name, self.span(call), tuple(cols), tuple(idx), tuple(uniq))


def extract(path: str, text: str, tree: ast.Module, module: str, *, is_package: bool = False) -> SaFile:
    imports = gather_imports(tree, module, is_package)
    imports_sa = any(v.startswith(("sqlalchemy", "flask_sqlalchemy")) for v in imports.values())
    local = {st.name for st in tree.body if isinstance(st, ast.ClassDef)}
    for st in tree.body:
        if isinstance(st, ast.Assign):
            for t in st.targets:
                if isinstance(t, ast.Name):
                    local.add(t.id)
        elif isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
            local.add(st.target.id)
    ex = _Extractor(path, text, module, imports, local)
    bases: list[str] = []
    classes: list[SaClass] = []
    tables: list[SaTable] = []
    indexes: list[RawIndex] = []
    for st in tree.body:
        if isinstance(st, ast.ClassDef):
            deco = {_last(dotted(d.func if isinstance(d, ast.Call) else d)) for d in st.decorator_list}
            if "as_declarative" in deco or "mapped_as_dataclass" in deco or "mapped" in deco:
                if "as_declarative" in deco:
                    bases.append(f"{module}.{st.name}")
            c = ex.klass(st)
            if c is not None:
                if "mapped" in deco or "mapped_as_dataclass" in deco:
                    c = replace(c, bases=(*c.bases, "<registry.mapped>"))
                classes.append(c)
            continue
        if isinstance(st, (ast.Assign, ast.AnnAssign)) and isinstance(st.value, ast.Call):
            targets = st.targets if isinstance(st, ast.Assign) else [st.target]
            var = targets[0].id if targets and isinstance(targets[0], ast.Name) else None
            call = st.value
            fn = _last(dotted(call.func))
            if var and fn in _BASE_FACTORIES:
                bases.append(f"{module}.{var}")
            elif var and fn in ("SQLAlchemy",):
                bases.append(f"{module}.{var}.Model")
            elif fn == "Table":
                tbl = ex.table(var, call)
                if tbl is not None:
                    tables.append(tbl)
            elif fn == "Index":
                ri = ex.index(call)
                if ri is not None:
                    indexes.append(ri)
        elif isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and _last(dotted(st.value.func)) == "Index":
            ri = ex.index(st.value)
            if ri is not None:
                indexes.append(ri)
    return SaFile(path, module, tuple(bases), tuple(classes), tuple(tables), tuple(indexes), imports_sa)


# -- linking -------------------------------------------------------------------------------------------

@dataclass
class LinkedSaModel:
    model: Model
    raw: SaClass
    file: SaFile
    columns: dict[str, RawColumn] = field(default_factory=dict)  # attribute -> column (incl. mixins)
    indexes: list[RawIndex] = field(default_factory=list)
    uniques: list[tuple[tuple[str, ...], Span]] = field(default_factory=list)
    flask: bool = False


_MIGRATION_MODULE = re.compile(r"(^|\.)(migrations?|versions|alembic)(\.|$)")
_SNAKE1 = re.compile(r"(.)([A-Z][a-z]+)")
_SNAKE2 = re.compile(r"([a-z0-9])([A-Z])")


def flask_tablename(name: str) -> str:
    """Flask-SQLAlchemy's default ``__tablename__``: ``CamelCase`` -> ``camel_case``."""
    return _SNAKE2.sub(r"\1_\2", _SNAKE1.sub(r"\1_\2", name)).lower()


def link(files: Iterable[SaFile]) -> tuple[dict[str, LinkedSaModel], list[SaTable], list[RawIndex]]:
    """Mapped classes (keys: class name, module-qualified when two share it), Core tables, loose indexes."""
    files = list(files)
    decl: set[str] = set(_DECL_BASES)
    for f in files:
        decl.update(f.bases)
    by_full: dict[str, tuple[SaClass, SaFile]] = {}
    by_name: dict[str, list[str]] = {}
    for f in files:
        for c in f.classes:
            full = f"{f.module}.{c.name}"
            by_full[full] = (c, f)
            by_name.setdefault(c.name, []).append(full)

    def find(name: str) -> str | None:
        if name in by_full:
            return name
        cands = by_name.get(_last(name), [])
        if len(cands) == 1:
            return cands[0]
        prefix = name.rsplit(".", 1)[0] + "."
        inside = [c for c in cands if c.startswith(prefix)]
        return inside[0] if len(inside) == 1 else None

    status: dict[str, str] = {}  # full -> "base" (a declarative base class) | "mapped" | "mixin" | "none"

    def is_decl(b: str) -> bool:
        return b in decl or (b.endswith(".Model") and any(d.endswith(".Model") and _last(d[:-6]) == _last(b[:-6]) for d in decl)) \
            or b == "<registry.mapped>"

    def classify(full: str, seen: frozenset[str] = frozenset()) -> str:
        if full in status:
            return status[full]
        if full in seen:
            return "none"
        c, _ = by_full[full]
        result = "none"
        for b in c.bases:
            if b in _DECL_BASES:
                result = "base"  # class Base(DeclarativeBase)
                break
            if b in _LIBRARY_MODEL_BASES:
                result = "mapped"
                break
            if is_decl(b):
                result = "mapped"
                break
            found = find(b)
            if found is not None and found != full:
                s = classify(found, seen | {full})
                if s in ("base", "mapped"):
                    result = "mapped"
                    break
        if result == "mapped" and (c.abstract or (not c.columns and not c.relationships and not c.has_tablename_attr
                                                  and classify_base_only(c))):
            result = "base"  # an abstract intermediate base
        if result == "none" and c.tablename and (c.columns or c.relationships) and by_full[full][1].imports_sqlalchemy \
                and any(find(b) is None for b in c.bases):
            result = "mapped"  # a literal __tablename__ on a base we cannot see (another package's model)
        if result == "none" and (c.columns or c.relationships):
            result = "mixin"
        status[full] = result
        return result

    def classify_base_only(c: SaClass) -> bool:
        return all(find(b) is None or status.get(find(b) or "") == "base" for b in c.bases if not is_decl(b))

    for full in by_full:
        classify(full)

    # keys: the class name; when several modules map a class of that name, the one outside
    # migration scripts (their frozen copies) keeps the short key, the others are qualified
    by_short: dict[str, list[str]] = {}
    for full, s in status.items():
        if s == "mapped":
            by_short.setdefault(_last(full), []).append(full)
    short_owner: dict[str, str] = {}
    for short, fulls in by_short.items():
        live = [x for x in fulls if not _MIGRATION_MODULE.search(x)]
        if len(fulls) == 1:
            short_owner[short] = fulls[0]
        elif len(live) == 1:
            short_owner[short] = live[0]

    out: dict[str, LinkedSaModel] = {}
    key_of: dict[str, str] = {}
    # parents first, so single-table subclasses find their table
    order: list[str] = []
    ordered: set[str] = set()  # `order` as a set: membership in the list was quadratic

    def visit(full: str, seen: frozenset[str] = frozenset()) -> None:
        if full in ordered or full in seen:
            return
        c, _ = by_full[full]
        for b in c.bases:
            found = find(b)
            if found is not None and found != full:
                visit(found, seen | {full})
        order.append(full)
        ordered.add(full)

    for full in by_full:
        visit(full)

    for full in order:
        if status.get(full) != "mapped":
            continue
        c, f = by_full[full]
        key = c.name if short_owner.get(c.name) == full else full
        flask = any(b.endswith(".Model") and not b.startswith("sqlalchemy") for b in c.bases) or any(
            lm.flask for b in c.bases if (fb := find(b)) and (k := key_of.get(fb)) and (lm := out.get(k)))
        columns: dict[str, RawColumn] = {}
        indexes: list[RawIndex] = []
        uniques: list[tuple[tuple[str, ...], Span]] = []
        parent_table: str | None = None
        rels: list[RawRelationship] = []
        for b in c.bases:
            found = find(b)
            if found is None or found == full:
                continue
            pc, _ = by_full[found]
            if status.get(found) in ("mixin", "base"):
                for col in pc.columns:
                    if col.attr:
                        columns.setdefault(col.attr, col)
                rels.extend(pc.relationships)
                indexes.extend(pc.indexes)
                uniques.extend(pc.uniques)
            elif status.get(found) == "mapped" and found in key_of:
                parent_table = out[key_of[found]].model.table
        for col in c.columns:
            if col.attr:
                columns[col.attr] = col
        indexes.extend(c.indexes)
        uniques.extend(c.uniques)
        if c.tablename:
            table = c.tablename
        elif parent_table is not None and not c.has_tablename_attr:
            table = parent_table  # single-table inheritance
        elif flask or c.has_tablename_attr:
            table = flask_tablename(c.name)
        else:
            table = flask_tablename(c.name)
        m = Model(key=key, class_name=c.name, framework=Framework.SQLALCHEMY, table=table, module=f.module,
                  path=f.path, bases=c.bases, provenance=c.span)
        for attr, col in columns.items():
            m.fields[attr] = Field(attr, col.name, col.sql_type, db_index=col.index, unique=col.unique,
                                   nullable=bool(col.nullable) if col.nullable is not None else not col.primary_key,
                                   primary_key=col.primary_key, deferred=col.deferred, provenance=col.span)
        for name, span in c.column_properties:
            m.fields.setdefault(name, Field(name, name, None, deferred=False, provenance=span))
        lm = LinkedSaModel(m, c, f, columns, indexes, uniques, flask)
        lm.raw = replace(c, relationships=(*rels, *c.relationships))
        out[key] = lm
        key_of[full] = key
        if m.table == "" or m.table is None:
            m.table = flask_tablename(c.name)

    by_table: dict[str, LinkedSaModel] = {}
    for lm in out.values():
        by_table.setdefault(lm.model.table, lm)

    def target_model(name: str | None, source: LinkedSaModel) -> LinkedSaModel | None:
        if not name:
            return None
        same = f"{source.file.module}.{_last(name)}"
        if "." not in name and same in key_of:  # SQLAlchemy's registry: the class's own module first
            return out[key_of[same]]
        if name in out:
            return out[name]
        found = find(name)
        if found is not None and found in key_of:
            return out[key_of[found]]
        # a class name several modules define (copies in migration scripts): SQLAlchemy looks it
        # up in the registry of the class's own Base; the same module, then one outside migrations
        cands = [c for c in by_name.get(_last(name), []) if c in key_of]
        for pick in ([c for c in cands if c.rpartition(".")[0] == source.file.module],
                     [c for c in cands if not _MIGRATION_MODULE.search(c)]):
            if len(pick) == 1:
                return out[key_of[pick[0]]]
        return None

    tables = [t for f in files for t in f.tables]
    loose = [i for f in files for i in f.indexes]
    for lm in list(out.values()):
        for r in lm.raw.relationships:
            tgt = target_model(r.target, lm)
            tkey = tgt.model.key if tgt else (r.target or "")
            kind, column = _kind(lm, r, tgt)
            lm.model.relations[r.attr] = Relation(r.attr, kind, tkey, column=column, lazy=r.lazy,
                                                  through=r.secondary, provenance=r.span, query_name=r.attr)
    # backref= creates the other side
    for lm in list(out.values()):
        for r in lm.raw.relationships:
            if not r.backref:
                continue
            tgt = target_model(r.target, lm)
            if tgt is None or r.backref in tgt.model.relations:
                continue
            fwd = lm.model.relations[r.attr]
            fk_back = _fk_column_to(tgt, lm)  # the backref's side holds the foreign key: many-to-one
            if r.backref_uselist is not None:
                kind = RelationKind.SA_COLLECTION if r.backref_uselist else RelationKind.SA_MANY_TO_ONE
            elif r.secondary:
                kind = RelationKind.SA_COLLECTION
            elif fk_back is not None:
                kind = RelationKind.SA_MANY_TO_ONE
            elif _fk_column_to(lm, tgt) is not None:
                kind = RelationKind.SA_COLLECTION
            else:
                kind = RelationKind.SA_COLLECTION if fwd.kind is RelationKind.SA_MANY_TO_ONE else RelationKind.SA_MANY_TO_ONE
            column = fk_back if kind is RelationKind.SA_MANY_TO_ONE else None
            tgt.model.relations[r.backref] = Relation(r.backref, kind, lm.model.key, column=column,
                                                      lazy=r.backref_lazy or "select", through=r.secondary,
                                                      provenance=r.span, query_name=r.backref)
    return out, tables, loose


def _fk_column_to(lm: LinkedSaModel, target: LinkedSaModel) -> str | None:
    for cols, ref_table in lm.raw.fk_constraints:
        if ref_table == target.model.table and cols:
            return cols[0]
    for col in lm.columns.values():
        fk = col.foreign_key or ""
        head = fk.rsplit(".", 1)[0] if "." in fk else ""
        if head and (head == target.model.table or head == target.model.class_name or _last(head) == target.model.class_name):
            return col.name
    return None


def _kind(lm: LinkedSaModel, r: RawRelationship, tgt: LinkedSaModel | None) -> tuple[RelationKind, str | None]:
    if r.uselist is True or r.secondary:
        return RelationKind.SA_COLLECTION, None
    if r.lazy in ("dynamic", "write_only"):
        return RelationKind.SA_COLLECTION, None
    if r.annotated_collection is True:
        return RelationKind.SA_COLLECTION, None
    own_fk = _fk_column_to(lm, tgt) if tgt is not None else None
    if r.foreign_keys:
        # ``foreign_keys=[...]`` names the columns that point at the parent: ours -> many-to-one
        mine = {a for a in lm.columns} | {c.name for c in lm.columns.values()}
        names = [f.rsplit(".", 1) for f in r.foreign_keys]
        if all(n[-1] in mine and (len(n) == 1 or _last(n[0]) in (lm.model.class_name, lm.model.table)) for n in names):
            col = lm.columns[names[0][-1]].name if names[0][-1] in lm.columns else names[0][-1]
            return RelationKind.SA_MANY_TO_ONE, col
        if r.uselist is not False and r.annotated_collection is not False:
            return RelationKind.SA_COLLECTION, None
    if r.uselist is False or r.annotated_collection is False:
        return RelationKind.SA_MANY_TO_ONE, own_fk
    if own_fk is not None:
        return RelationKind.SA_MANY_TO_ONE, own_fk
    if tgt is not None and _fk_column_to(tgt, lm) is not None:
        return RelationKind.SA_COLLECTION, None  # the foreign key points at us: one-to-many
    return RelationKind.SA_MANY_TO_ONE if tgt is None else RelationKind.SA_COLLECTION, None
