"""Django migrations read statically: ``operations`` -> :class:`MigrationOp`, in graph order.

A Django migration is a module ``<app>/migrations/NNNN_name.py`` with ``class
Migration(migrations.Migration)``. Nothing is imported: the stdlib ``ast`` tree of the file is
read for ``dependencies``, ``atomic``, ``initial``, ``replaces`` and every entry of
``operations``; each operation becomes one or more ops carrying the span of its call, so a
finding sits on the line the user edits.

Translation follows what Django's PostgreSQL schema editor really runs:

* ``AddField`` with ``default=`` — Django evaluates the default *once in Python* (a callable
  such as ``timezone.now`` or ``uuid.uuid4`` included), runs ``ADD COLUMN ... DEFAULT <that
  value>`` and then ``ALTER COLUMN ... DROP DEFAULT``. The database sees a constant, so the
  op's default is *not volatile*: on PostgreSQL 11+ it is the fast, metadata-only path (and
  every existing row gets the same value — the reason ``uuid.uuid4`` needs a three-step
  migration for a unique column). Before PG 11 any default rewrites the table, which the rules
  judge from ``postgres-version``. ``db_default=`` is a real server default (``Now()`` is
  ``now()``, stable; ``RandomUUID()`` is ``gen_random_uuid()``, volatile).
* A ``ForeignKey`` column brings ``ADD CONSTRAINT ... FOREIGN KEY`` (validated at once: Django
  never writes ``NOT VALID``) and a plain, non-concurrent ``CREATE INDEX`` unless
  ``db_index=False`` (or the field is unique, whose constraint index serves).
* ``UniqueConstraint`` with ``condition``/``expressions``/``include``/``opclasses`` is a
  ``CREATE UNIQUE INDEX``, otherwise ``ADD CONSTRAINT ... UNIQUE``.
* ``AlterField`` is compared with the field's previous state (earlier migrations, in graph
  order): a type change, ``null`` True -> False, ``db_index`` / ``unique`` flips. Without a
  known previous state no type change is claimed (precision over recall).

Not modelled: the ``*_like`` ``varchar_pattern_ops`` indexes Django adds for indexed
``CharField``/``TextField``, many-to-many through tables, ``AlterOrderWithRespectTo``.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from querylint.diagnostics import IndexKey
from querylint.migration import (
    ColumnDef,
    ConstraintKind,
    Migration,
    MigrationFramework,
    MigrationOp,
    OpKind,
)
from querylint.schema import Index
from querylint.source import SourceFile, Span
from querylint.sqlsource import SqlFragment

if TYPE_CHECKING:
    from querylint.project import ParsedFile, ProjectIndex
    from querylint.sqlsource import SqlStatement

FW = MigrationFramework.DJANGO

# -- generic ast helpers (shared with the Alembic reader) -------------------------------------


def node_span(src: SourceFile, node: ast.AST) -> Span:
    lineno = getattr(node, "lineno", 1)
    col = getattr(node, "col_offset", 0)
    start = src.offset_from_ast(lineno, col)
    end_line = getattr(node, "end_lineno", None) or lineno
    end_col = getattr(node, "end_col_offset", None)
    end = src.offset_from_ast(end_line, end_col) if end_col is not None else start
    return Span(src.path, start, max(start, end))


def call_name(node: ast.AST) -> str:
    """``migrations.AddField`` -> ``AddField``; ``op.create_index`` -> ``create_index``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def bind(call: ast.Call, params: tuple[str, ...]) -> dict[str, ast.expr]:
    """Arguments of a call by parameter name (positional first, then keywords)."""
    out: dict[str, ast.expr] = {}
    for name, arg in zip(params, call.args, strict=False):
        if isinstance(arg, ast.Starred):
            break
        out[name] = arg
    for kw in call.keywords:
        if kw.arg is not None:
            out[kw.arg] = kw.value
    return out


_MISSING = object()


def literal(node: ast.AST | None, default: Any = None) -> Any:
    """``ast.literal_eval`` that returns ``default`` instead of raising."""
    if node is None:
        return default
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return default


def str_list(node: ast.AST | None) -> list[str] | None:
    """A list/tuple of string literals, or None when it is not one."""
    val = literal(node, _MISSING)
    if val is _MISSING or not isinstance(val, (list, tuple)):
        return None
    if not all(isinstance(v, str) for v in val):
        return None
    return list(val)


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return "'" + str(value).replace("'", "''") + "'"


def normalise_sql_expr(text: str) -> str:
    """Normalise an SQL expression as pglast prints it (so predicates compare equal)."""
    try:
        from pglast import parse_sql
        from pglast.stream import RawStream

        stmt: Any = parse_sql(f"SELECT 1 WHERE {text}")[0].stmt
        return str(RawStream()(stmt.whereClause))
    except Exception:
        return text


def string_fragments(src: SourceFile, node: ast.AST, context: str) -> list[SqlFragment]:
    """SQL string literals of a ``RunSQL`` / ``op.execute`` argument (str, list, sa.text)."""
    out: list[SqlFragment] = []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        span = node_span(src, node)
        text = node.value
        raw = src.text[span.start:span.end]
        # map to the first character inside the quotes when the literal is a plain one
        q = 0
        m = re.match(r"[rRuUbBfF]*('''|\"\"\"|'|\")", raw)
        if m:
            q = m.end()
        out.append(SqlFragment(src.path, text, ((0, span.start + q, len(text)),), span, context))
    elif isinstance(node, ast.JoinedStr):
        return []
    elif isinstance(node, (ast.List, ast.Tuple)):
        for elt in node.elts:
            if isinstance(elt, (ast.Tuple, ast.List)) and elt.elts:
                out.extend(string_fragments(src, elt.elts[0], context))  # (sql, params)
            else:
                out.extend(string_fragments(src, elt, context))
    elif isinstance(node, ast.Call) and call_name(node) == "text" and node.args:
        out.extend(string_fragments(src, node.args[0], context))
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        val = literal(node)
        if isinstance(val, str):
            span = node_span(src, node)
            out.append(SqlFragment(src.path, val, ((0, span.start, 0),), span, context))
    return out


def sql_ops(src: SourceFile, arg: ast.AST, call: ast.AST, *, in_transaction: bool, framework: MigrationFramework, state: Any = None) -> list[MigrationOp]:
    """The ops of the SQL in ``arg`` (a RunSQL / op.execute argument), on the call's span."""
    try:
        from querylint.migrations.sql import statements_to_ops
        from querylint.sql import parse_fragment
    except ImportError:  # pragma: no cover - the SQL front end is part of the package
        return []
    stmts: list[SqlStatement] = []
    for frag in string_fragments(src, arg, "RunSQL" if framework is MigrationFramework.DJANGO else "op.execute"):
        # %s / %(name)s placeholders (RunSQL params) are not SQL; pglast would reject them
        parsed, _problems = parse_fragment(_with_placeholders(frag))
        stmts.extend(parsed)
    if not stmts:
        return []
    kwargs: dict[str, Any] = {"in_transaction": in_transaction, "span": node_span(src, call)}
    if state is not None:
        kwargs["state"] = state
    try:
        return list(statements_to_ops(stmts, framework, **kwargs))
    except Exception:
        return []


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s")


def _with_placeholders(frag: SqlFragment) -> SqlFragment:
    if "%" not in frag.sql:
        return frag
    n = 0

    def sub(_m: re.Match[str]) -> str:
        nonlocal n
        n += 1
        return f"${n}"

    sql = _PLACEHOLDER.sub(sub, frag.sql).replace("%%", "%")
    return SqlFragment(frag.path, sql, ((0, frag.span.start, 0),), frag.span, frag.context)


# -- field classes -> SQL types ----------------------------------------------------------------

_FIXED_TYPES = {
    "AutoField": "integer", "BigAutoField": "bigint", "SmallAutoField": "smallint",
    "TextField": "text", "IntegerField": "integer", "BigIntegerField": "bigint",
    "SmallIntegerField": "smallint", "PositiveIntegerField": "integer",
    "PositiveSmallIntegerField": "smallint", "PositiveBigIntegerField": "bigint",
    "BooleanField": "boolean", "NullBooleanField": "boolean", "DateTimeField": "timestamptz",
    "DateField": "date", "TimeField": "time", "DurationField": "interval",
    "FloatField": "double precision", "UUIDField": "uuid", "JSONField": "jsonb",
    "BinaryField": "bytea", "GenericIPAddressField": "inet", "IPAddressField": "inet",
    "HStoreField": "hstore", "CICharField": "citext", "CIEmailField": "citext", "CITextField": "citext",
    "SearchVectorField": "tsvector", "IntegerRangeField": "int4range", "BigIntegerRangeField": "int8range",
    "DecimalRangeField": "numrange", "DateTimeRangeField": "tstzrange", "DateRangeField": "daterange",
    "TreeForeignKey": "", "PointField": "geometry(point,4326)", "PolygonField": "geometry(polygon,4326)",
    "MultiPolygonField": "geometry(multipolygon,4326)", "GeometryField": "geometry(geometry,4326)",
}
_VARCHAR_DEFAULT = {"CharField": None, "SlugField": 50, "EmailField": 254, "URLField": 200, "FileField": 100,
                    "ImageField": 100, "FilePathField": 100, "CommaSeparatedIntegerField": None}
_AUTO = {"AutoField", "BigAutoField", "SmallAutoField"}
_STRING_FIELDS = frozenset({"CharField", "SlugField", "EmailField", "URLField", "FileField", "ImageField",
                            "FilePathField", "TextField", "CommaSeparatedIntegerField"})
_DATE_FIELDS = frozenset({"DateField", "DateTimeField", "TimeField"})
FK_CLASSES = {"ForeignKey", "OneToOneField", "TreeForeignKey", "ParentalKey"}
_M2M = {"ManyToManyField", "ParentalManyToManyField", "TaggableManager", "GenericRelation", "GenericForeignKey"}
KNOWN_FIELDS = frozenset(_FIXED_TYPES) | frozenset(_VARCHAR_DEFAULT) | FK_CLASSES | {"DecimalField", "ArrayField"}


@dataclass
class FieldState:
    name: str
    column: str
    cls: str
    type: str | None
    null: bool = False
    db_index: bool = False
    unique: bool = False
    primary_key: bool = False
    target: str | None = None  # FK: target model key "app.model" (lower-cased model)
    db_column: bool = False  # the column name was written explicitly
    default: str | None = None  # SQL / Python text of the default Django applies once
    db_default: str | None = None
    db_default_volatile: bool = False
    has_default: bool = False
    span: Span | None = None  # the field's call in the migration
    known: bool = True  # False: taken from the current models, not from migration history


@dataclass
class ModelState:
    app_label: str
    name: str  # model name, lower-cased
    table: str
    explicit_table: bool = False
    fields: dict[str, FieldState] = field(default_factory=dict)
    unique_together: set[tuple[str, ...]] = field(default_factory=set)
    index_together: set[tuple[str, ...]] = field(default_factory=set)
    m2m: dict[str, str] = field(default_factory=dict)  # field name -> auto-created through table

    def column_of(self, name: str) -> str:
        f = self.fields.get(name)
        if f is not None:
            return f.column
        for f in self.fields.values():
            if f.column == name:
                return f.column
        return name

    @property
    def pk(self) -> FieldState | None:
        return next((f for f in self.fields.values() if f.primary_key), None)


@dataclass
class DjangoState:
    """The model state while migrations are applied in graph order."""

    models: dict[tuple[str, str], ModelState] = field(default_factory=dict)
    project: ProjectIndex | None = None
    auth_user_model: str = "auth.user"
    default_auto_field: str = "BigAutoField"


@dataclass
class DjangoFile:
    """The static header of one migration file (enough for the graph)."""

    parsed: ParsedFile
    app_label: str
    name: str
    cls: ast.ClassDef
    dependencies: tuple[tuple[str, str], ...]
    replaces: tuple[tuple[str, str], ...]
    atomic: bool
    initial: bool
    operations: list[ast.expr] | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.app_label, self.name)


# -- recognising and reading a migration file ---------------------------------------------------

_NAME_RE = re.compile(r"^\d{4}_\w+\.py$")


def is_settings_path(path: str) -> bool:
    """A module :func:`find_auth_user_model` reads."""
    return "settings" in path


def is_app_config_path(path: str) -> bool:
    """A module :func:`app_labels` reads."""
    return path.endswith("apps.py")


def is_django_migration_path(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    return len(parts) >= 2 and parts[-2] == "migrations" and bool(_NAME_RE.match(parts[-1]))


def _migration_class(tree: ast.Module) -> ast.ClassDef | None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Migration":
            if any(dotted(b).endswith("Migration") for b in node.bases):
                return node
    return None


def read_django_file(pf: ParsedFile, auth_user_model: str = "auth.user", app_label: str | None = None) -> DjangoFile | None:
    """The header of a Django migration file, or None when the file is not one."""
    src = pf.source
    if not is_django_migration_path(src.path) or pf.tree is None:
        return None
    cls = _migration_class(pf.tree)
    if cls is None:
        return None
    parts = src.path.replace("\\", "/").split("/")
    app_label = app_label or (parts[-3] if len(parts) >= 3 else "app")
    name = parts[-1][:-3]
    deps: list[tuple[str, str]] = []
    replaces: list[tuple[str, str]] = []
    atomic, initial = True, False
    operations: list[ast.expr] | None = None
    for stmt in cls.body:
        target, value = _assignment(stmt)
        if target is None or value is None:
            continue
        if target == "dependencies":
            deps = _dependencies(value, auth_user_model)
        elif target == "replaces":
            replaces = [d for d in _dependencies(value, auth_user_model)]
        elif target == "atomic":
            atomic = bool(literal(value, True))
        elif target == "initial":
            initial = bool(literal(value, False))
        elif target == "operations":
            operations = _literal_list(value)
    return DjangoFile(pf, app_label, name, cls, tuple(deps), tuple(replaces), atomic, initial, operations)


def _literal_list(node: ast.expr) -> list[ast.expr] | None:
    """The elements of ``[...]``, ``(...)`` or ``[...] + [...]``; None for anything computed."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return list(node.elts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_list(node.left), _literal_list(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def _assignment(stmt: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id, stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id, stmt.value
    return None, None


def _dependencies(node: ast.expr, auth_user_model: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if not isinstance(node, (ast.List, ast.Tuple)):
        return out
    for elt in node.elts:
        if isinstance(elt, ast.Call) and call_name(elt) == "swappable_dependency":
            arg = elt.args[0] if elt.args else None
            setting = dotted(arg) if arg is not None else ""
            if setting.endswith("AUTH_USER_MODEL"):
                out.append((auth_user_model.split(".")[0], "__first__"))
            else:
                val = literal(arg)
                if isinstance(val, str) and "." in val:
                    out.append((val.split(".")[0], "__first__"))
            continue
        val = literal(elt)
        if isinstance(val, (tuple, list)) and len(val) == 2 and all(isinstance(v, str) for v in val):
            out.append((val[0], val[1]))
    return out


def find_auth_user_model(project: ProjectIndex) -> str:
    """``AUTH_USER_MODEL = "accounts.User"`` in a settings module, else ``auth.User``."""
    for path, pf in sorted(project.files.items()):
        if not is_settings_path(path) or pf.tree is None:
            continue
        for stmt in pf.tree.body:
            target, value = _assignment(stmt)
            if target == "AUTH_USER_MODEL":
                val = literal(value)
                if isinstance(val, str) and "." in val:
                    app, model = val.split(".", 1)
                    return f"{app}.{model.lower()}"
    return "auth.user"


# -- translating operations ----------------------------------------------------------------------


@dataclass
class _Ctx:
    """Per-migration translation context."""

    df: DjangoFile
    state: DjangoState
    new_tables: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    sql_state: Any = None
    current: tuple[str, str] | None = None  # the model CreateModel is building ("self" FKs)

    @property
    def src(self) -> SourceFile:
        return self.df.parsed.source

    @property
    def app(self) -> str:
        return self.df.app_label


def translate(df: DjangoFile, state: DjangoState) -> tuple[Migration, list[str]]:
    """The :class:`Migration` of one file (and the names of operations not understood)."""
    ctx = _Ctx(df, state)
    try:
        from querylint.migrations.sql import SqlState

        ctx.sql_state = SqlState()
    except ImportError:  # pragma: no cover
        ctx.sql_state = None
    ops: list[MigrationOp] = []
    for call in df.operations or ():
        try:
            ops.extend(_operation(ctx, call, emit=True))
        except Exception as exc:  # an operation shape we did not foresee: never crash
            ctx.unknown.append(f"{call_name(call)} ({type(exc).__name__})")
    if df.operations is None:
        ctx.unknown.append("<operations is not a literal list>")
    mig = Migration(
        path=df.parsed.source.path,
        framework=FW,
        ops=tuple(ops),
        span=node_span(df.parsed.source, df.cls),
        name=df.name,
        app_label=df.app_label,
        dependencies=df.dependencies,
        atomic=df.atomic,
    )
    return mig, ctx.unknown


def _operation(ctx: _Ctx, call: ast.expr, *, emit: bool) -> list[MigrationOp]:
    if not isinstance(call, ast.Call):
        ctx.unknown.append(type(call).__name__)
        return []
    name = call_name(call)
    handler = _HANDLERS.get(name)
    if handler is None:
        if name not in _NO_DB_OPS:
            ctx.unknown.append(name)
        return []
    span = node_span(ctx.src, call)
    ops = handler(ctx, call, span)
    return ops if emit else []


def _op(ctx: _Ctx, kind: OpKind, span: Span, **kw: Any) -> MigrationOp:
    table = kw.get("table")
    kw.setdefault("table_is_new", table is not None and table in ctx.new_tables)
    return MigrationOp(kind=kind, span=span, framework=FW, in_transaction=ctx.df.atomic, **kw)


def _model_key(ctx: _Ctx, ref: str) -> tuple[str, str]:
    """``"Order"`` / ``"shop.Order"`` / ``"order"`` -> ("shop", "order")."""
    if ref == "self" and ctx.current is not None:
        return ctx.current
    if ref.endswith("AUTH_USER_MODEL") or ref == "settings.AUTH_USER_MODEL":
        app, model = ctx.state.auth_user_model.split(".", 1)
        return app, model.lower()
    if "." in ref:
        app, model = ref.rsplit(".", 1)
        return app, model.lower()
    return ctx.app, ref.lower()


_CONTRIB = {
    ("auth", "user"): "auth_user", ("auth", "group"): "auth_group", ("auth", "permission"): "auth_permission",
    ("contenttypes", "contenttype"): "django_content_type", ("sites", "site"): "django_site",
    ("sessions", "session"): "django_session", ("admin", "logentry"): "django_admin_log",
}


def _model(ctx: _Ctx, ref: str) -> ModelState:
    """The state of a model, made up from the model registry or Django's naming when unseen."""
    key = _model_key(ctx, ref)
    ms = ctx.state.models.get(key)
    if ms is not None:
        return ms
    table = f"{key[0]}_{key[1]}"
    ms = ModelState(key[0], key[1], table)
    contrib = _CONTRIB.get(key)
    if contrib is not None:  # django.contrib models: their migrations are not in the project
        ms.table = contrib
        ms.fields["id"] = FieldState("id", "id", "AutoField", "integer", primary_key=True, unique=True, known=False)
    proj = ctx.state.project
    if proj is not None:
        m = proj.models.models.get(f"{key[0]}.{ref.rsplit('.', 1)[-1]}") or next(
            (m for m in proj.models.models.values() if m.key.lower() == f"{key[0]}.{key[1]}"), None)
        if m is not None:
            ms.table = m.table
            for f in m.fields.values():
                ms.fields[f.name] = FieldState(f.name, f.column, f.type or "", None, null=f.nullable,
                                               db_index=f.db_index, unique=f.unique, primary_key=f.primary_key,
                                               known=False)
    ctx.state.models[key] = ms
    return ms


def _target_ref(ctx: _Ctx, node: ast.expr | None) -> str | None:
    if node is None:
        return None
    val = literal(node)
    if isinstance(val, str):
        return val
    d = dotted(node)
    if d.endswith("AUTH_USER_MODEL"):
        return "settings.AUTH_USER_MODEL"
    if isinstance(node, ast.Call):  # swapper.get_model_name("wagtailcore", "Page")
        args = [literal(a) for a in node.args]
        if len(args) == 2 and all(isinstance(a, str) for a in args):
            return f"{args[0]}.{args[1]}"
        if len(args) == 1 and isinstance(args[0], str) and "." in args[0]:
            return str(args[0])
        return None
    return d if isinstance(node, ast.Name) else None


def _field(ctx: _Ctx, name: str, node: ast.expr) -> FieldState | None:
    """A field call (``models.CharField(max_length=20)``) -> its state; None for M2M/virtual."""
    if not isinstance(node, ast.Call):
        return None
    cls = call_name(node)
    if cls in _M2M:
        return None
    kw = {k.arg: k.value for k in node.keywords if k.arg}
    # a field class Django does not ship (oscar's NullCharField...) may set null itself: unless
    # null= is written, treat it as nullable rather than claim a NOT NULL column
    null = bool(literal(kw.get("null"), cls not in KNOWN_FIELDS))
    pk = bool(literal(kw.get("primary_key"), False))
    unique = bool(literal(kw.get("unique"), False)) or pk or cls == "OneToOneField"
    # Django indexes ForeignKey / OneToOneField (and its subclasses) and SlugField by default
    db_index = bool(literal(kw.get("db_index"), cls in FK_CLASSES or cls.endswith("SlugField")))
    db_column = literal(kw.get("db_column"))
    target = None
    typ: str | None
    if cls in FK_CLASSES:
        tnode = kw.get("to") or (node.args[0] if node.args else None)
        tref = _target_ref(ctx, tnode)
        typ = None
        target = ""  # a foreign key to a model we cannot name statically
        if tref is not None:
            tkey = _model_key(ctx, tref)
            target = f"{tkey[0]}.{tkey[1]}"
            tm = ctx.state.models.get(tkey)
            if tm is None and (tkey in _CONTRIB or tkey[0] != ctx.app):
                tm = _model(ctx, target)
            tpk = tm.pk if tm is not None else None
            typ = _fk_type(tpk.type) if tpk is not None else None
        column = db_column if isinstance(db_column, str) else f"{name}_id"
    else:
        typ = _db_type(cls, kw, node)
        column = db_column if isinstance(db_column, str) else name
    fs = FieldState(name, column, cls, typ, null=null, db_index=db_index and not unique, unique=unique,
                    primary_key=pk, target=target, db_column=isinstance(db_column, str), span=node_span(ctx.src, node))
    if "default" in kw:
        dv = kw["default"]
        val = literal(dv, _MISSING)
        if val is not _MISSING:
            fs.has_default = val is not None or null
            fs.default = sql_literal(val) if val is not None else None
        else:
            fs.has_default = True
            fs.default = ast.unparse(dv)  # a callable, evaluated once by Django at migrate time
    elif not null:
        # Django's effective_default(): blank string fields get '', auto_now(_add) dates get now()
        if literal(kw.get("blank"), False) and cls in _STRING_FIELDS:
            fs.has_default, fs.default = True, "''"
        elif (literal(kw.get("auto_now"), False) or literal(kw.get("auto_now_add"), False)) and cls in _DATE_FIELDS:
            fs.has_default, fs.default = True, "timezone.now()"
    if "db_default" in kw:
        fs.db_default, fs.db_default_volatile = _db_default(kw["db_default"])
    return fs


def _fk_type(pk_type: str | None) -> str | None:
    return {"serial": "integer", "bigserial": "bigint"}.get(pk_type or "", pk_type)


def _db_type(cls: str, kw: dict[str, ast.expr], node: ast.Call) -> str | None:
    if cls in _VARCHAR_DEFAULT:
        ml = literal(kw.get("max_length"), _VARCHAR_DEFAULT[cls])
        return f"varchar({ml})" if isinstance(ml, int) else "varchar"
    if cls == "DecimalField":
        md, dp = literal(kw.get("max_digits")), literal(kw.get("decimal_places"))
        return f"numeric({md},{dp})" if isinstance(md, int) and isinstance(dp, int) else "numeric"
    if cls == "ArrayField":
        base = kw.get("base_field") or (node.args[0] if node.args else None)
        if isinstance(base, ast.Call):
            bkw = {k.arg: k.value for k in base.keywords if k.arg}
            inner = _db_type(call_name(base), bkw, base)
            return f"{inner}[]" if inner else None
        return None
    typ = _FIXED_TYPES.get(cls)
    return typ or None


def _db_default(node: ast.expr) -> tuple[str | None, bool]:
    val = literal(node, _MISSING)
    if val is not _MISSING:
        return sql_literal(val), False
    if isinstance(node, ast.Call):
        name = call_name(node)
        if name == "Now":
            return "now()", False
        if name in ("RandomUUID", "GenRandomUUID"):
            return "gen_random_uuid()", True
        if name == "Value" and node.args:
            return sql_literal(literal(node.args[0])), False
        if name == "Random":
            return "random()", True
        if name == "Func":
            fn = {k.arg: literal(k.value) for k in node.keywords if k.arg}.get("function")
            if isinstance(fn, str):
                from querylint.migrations.sql import VOLATILE_FUNCTIONS

                return f"{fn.lower()}()", fn.lower() in VOLATILE_FUNCTIONS
    return ast.unparse(node), False


def _column_def(fs: FieldState, ms: ModelState, state: DjangoState, *, adding: bool = False) -> ColumnDef:
    """The column of a field. Only ``AddField`` (``adding``) puts ``default=`` in the DDL."""
    refs = None
    if fs.target:
        tm = state.models.get(tuple(fs.target.split(".", 1)))  # type: ignore[arg-type]
        refs = (tm.table if tm is not None else fs.target.replace(".", "_"), tm.pk.column if tm is not None and tm.pk else "id")
    default = fs.db_default if fs.db_default is not None else (fs.default if adding else None)
    return ColumnDef(
        name=fs.column, type=fs.type, nullable=fs.null and not fs.primary_key, default=default,
        default_volatile=fs.db_default_volatile if fs.db_default is not None else False,
        identity=fs.cls in _AUTO, primary_key=fs.primary_key, unique=fs.unique and not fs.primary_key,
        references=refs,
    )


def _field_side_ops(ctx: _Ctx, ms: ModelState, fs: FieldState, span: Span) -> list[MigrationOp]:
    """The FK constraint, FK/db_index index and UNIQUE constraint a field brings."""
    out: list[MigrationOp] = []
    if fs.target is not None:
        col = _column_def(fs, ms, ctx.state)
        ref_table, ref_col = col.references or (None, "id")
        out.append(_op(ctx, OpKind.ADD_CONSTRAINT, span, table=ms.table, constraint=ConstraintKind.FOREIGN_KEY,
                       name=_constraint_name(ms.table, (fs.column,), "fk"), constraint_columns=(fs.column,),
                       ref_table=ref_table, ref_columns=(ref_col,), not_valid=False))
    if fs.unique and not fs.primary_key:
        out.append(_op(ctx, OpKind.ADD_CONSTRAINT, span, table=ms.table, constraint=ConstraintKind.UNIQUE,
                       name=_constraint_name(ms.table, (fs.column,), "uniq"), constraint_columns=(fs.column,)))
    elif fs.db_index and not fs.primary_key:
        idx = Index(table=ms.table, keys=(IndexKey(column=fs.column),), name=_constraint_name(ms.table, (fs.column,), ""),
                    implicit=fs.target is not None, provenance=fs.span or span)
        out.append(_op(ctx, OpKind.CREATE_INDEX, span, table=ms.table, index=idx, name=idx.name))
    return out


def _constraint_name(table: str, cols: tuple[str, ...], suffix: str) -> str:
    """A readable stand-in for Django's hashed names (Django's own hash is not reproduced)."""
    base = f"{table}_{'_'.join(cols)}"
    name = f"{base}_{suffix}" if suffix else f"{base}_idx"
    return name[:63]


def _h_create_model(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("name", "fields", "options", "bases", "managers"))
    name = literal(a.get("name"))
    if not isinstance(name, str):
        ctx.unknown.append("CreateModel (name)")
        return []
    options = a.get("options")
    opts: dict[str, ast.expr] = {}
    if isinstance(options, ast.Dict):
        for k, v in zip(options.keys, options.values, strict=False):
            kk = literal(k)
            if isinstance(kk, str):
                opts[kk] = v
    db_table = literal(opts.get("db_table"))
    key = (ctx.app, name.lower())
    table = db_table if isinstance(db_table, str) else f"{ctx.app}_{name.lower()}"
    proxy = bool(literal(opts.get("proxy"), False))
    ms = ModelState(ctx.app, name.lower(), table, explicit_table=isinstance(db_table, str))
    ctx.state.models[key] = ms  # registered first: a "self" FK reads the PK type
    ctx.current = key
    m2m_nodes: list[tuple[str, ast.expr]] = []
    fields_node = a.get("fields")
    if isinstance(fields_node, (ast.List, ast.Tuple)):
        for elt in fields_node.elts:
            if isinstance(elt, (ast.Tuple, ast.List)) and len(elt.elts) == 2:
                fname = literal(elt.elts[0])
                if isinstance(fname, str):
                    fs = _field(ctx, fname, elt.elts[1])
                    if fs is not None:
                        ms.fields[fname] = fs
                    elif isinstance(elt.elts[1], ast.Call) and call_name(elt.elts[1]) in _M2M:
                        m2m_nodes.append((fname, elt.elts[1]))
    ctx.current = None
    if proxy:
        return []
    ctx.new_tables.add(table)
    out = [_op(ctx, OpKind.CREATE_TABLE, span, table=table, columns=tuple(_column_def(f, ms, ctx.state) for f in ms.fields.values()),
               table_is_new=True)]
    for fs in ms.fields.values():
        out.extend(_field_side_ops(ctx, ms, fs, span))
    for together_key, attr in (("unique_together", "unique_together"), ("index_together", "index_together")):
        groups = _together(opts.get(together_key))
        getattr(ms, attr).update(groups)
        for g in sorted(groups):
            cols = tuple(ms.column_of(f) for f in g)
            if attr == "unique_together":
                out.append(_op(ctx, OpKind.ADD_CONSTRAINT, span, table=table, constraint=ConstraintKind.UNIQUE,
                               name=_constraint_name(table, cols, "uniq"), constraint_columns=cols))
            else:
                idx = Index(table=table, keys=tuple(IndexKey(column=c) for c in cols), name=_constraint_name(table, cols, ""), provenance=span)
                out.append(_op(ctx, OpKind.CREATE_INDEX, span, table=table, index=idx, name=idx.name))
    for inode in _elts(opts.get("indexes")):
        out.extend(_index_op(ctx, ms, inode, span, concurrently=False))
    for cnode in _elts(opts.get("constraints")):
        out.extend(_constraint_ops(ctx, ms, cnode, span))
    for fname, fnode in m2m_nodes:
        out.extend(_m2m_ops(ctx, ms, fname, fnode, span))
    return out


def _m2m_ops(ctx: _Ctx, ms: ModelState, name: str, node: ast.expr, span: Span) -> list[MigrationOp]:
    """The table Django creates for a ``ManyToManyField`` without ``through=``.

    ``<table>_<field>`` with ``id``, ``<model>_id`` and ``<target>_id`` (``from_``/``to_`` for a
    self relation), a FK and an index on each, and UNIQUE on the pair. (Django shortens names
    over 63 bytes with a hash, which is not reproduced.)
    """
    if not isinstance(node, ast.Call) or call_name(node) not in ("ManyToManyField", "ParentalManyToManyField"):
        return []
    kw = {k.arg: k.value for k in node.keywords if k.arg}
    if "through" in kw:
        return []
    tref = _target_ref(ctx, kw.get("to") or (node.args[0] if node.args else None))
    if tref is None:
        return []
    tkey = _model_key(ctx, tref)
    tm = ctx.state.models.get(tkey) or _model(ctx, f"{tkey[0]}.{tkey[1]}")
    db_table = literal(kw.get("db_table"))
    table = db_table if isinstance(db_table, str) else f"{ms.table}_{name}"
    if tkey == (ms.app_label, ms.name):
        from_col, to_col = f"from_{ms.name}_id", f"to_{ms.name}_id"
    else:
        from_col, to_col = f"{ms.name}_id", f"{tkey[1]}_id"
    src_pk, dst_pk = ms.pk, tm.pk
    ms.m2m[name] = table
    ctx.new_tables.add(table)
    cols = (
        ColumnDef("id", src_pk.type if src_pk is not None and src_pk.cls in _AUTO else "bigint", nullable=False,
                  identity=True, primary_key=True),
        ColumnDef(from_col, _fk_type(src_pk.type) if src_pk is not None else None, nullable=False,
                  references=(ms.table, src_pk.column if src_pk is not None else "id")),
        ColumnDef(to_col, _fk_type(dst_pk.type) if dst_pk is not None else None, nullable=False,
                  references=(tm.table, dst_pk.column if dst_pk is not None else "id")),
    )
    out = [_op(ctx, OpKind.CREATE_TABLE, span, table=table, columns=cols, table_is_new=True)]
    for col in cols[1:]:
        assert col.references is not None
        out.append(_op(ctx, OpKind.ADD_CONSTRAINT, span, table=table, constraint=ConstraintKind.FOREIGN_KEY,
                       name=_constraint_name(table, (col.name,), "fk"), constraint_columns=(col.name,),
                       ref_table=col.references[0], ref_columns=(col.references[1],)))
    out.append(_op(ctx, OpKind.ADD_CONSTRAINT, span, table=table, constraint=ConstraintKind.UNIQUE,
                   name=_constraint_name(table, (from_col, to_col), "uniq"), constraint_columns=(from_col, to_col)))
    for col in cols[1:]:
        idx = Index(table=table, keys=(IndexKey(column=col.name),), name=_constraint_name(table, (col.name,), ""),
                    implicit=True, provenance=node_span(ctx.src, node))
        out.append(_op(ctx, OpKind.CREATE_INDEX, span, table=table, index=idx, name=idx.name))
    return out


def _elts(node: ast.expr | None) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, (ast.List, ast.Tuple)) else []


def _together(node: ast.expr | None) -> set[tuple[str, ...]]:
    """``{("a", "b")}``, ``[["a", "b"]]``, ``set([("a", "b")])`` and the single-group ``("a", "b")``."""
    if isinstance(node, ast.Call) and call_name(node) in ("set", "frozenset") and len(node.args) == 1 and not node.keywords:
        node = node.args[0]
    val = literal(node)
    if not isinstance(val, (list, tuple, set, frozenset)) or not val:
        return set()
    if all(isinstance(v, str) for v in val):
        return {tuple(val)}
    return {tuple(v) for v in val if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v)}


def _h_delete_model(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    name = literal(bind(call, ("name",)).get("name"))
    if not isinstance(name, str):
        return []
    ms = _model(ctx, name)
    ctx.state.models.pop((ms.app_label, ms.name), None)
    return [_op(ctx, OpKind.DROP_TABLE, span, table=ms.table, name=ms.table)]


def _h_rename_model(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("old_name", "new_name"))
    old, new = literal(a.get("old_name")), literal(a.get("new_name"))
    if not isinstance(old, str) or not isinstance(new, str):
        return []
    ms = _model(ctx, old)
    ctx.state.models.pop((ms.app_label, ms.name), None)
    old_table = ms.table
    ms.name = new.lower()
    ctx.state.models[(ms.app_label, ms.name)] = ms
    if ms.explicit_table:
        return []  # db_table is set: Django does not touch the database
    ms.table = f"{ms.app_label}_{ms.name}"
    if old_table in ctx.new_tables:
        ctx.new_tables.add(ms.table)
    return [_op(ctx, OpKind.RENAME_TABLE, span, table=old_table, name=old_table, new_name=ms.table)]


def _h_alter_model_table(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("name", "table"))
    name, table = literal(a.get("name")), literal(a.get("table"))
    if not isinstance(name, str):
        return []
    ms = _model(ctx, name)
    new = table if isinstance(table, str) else f"{ms.app_label}_{ms.name}"
    old = ms.table
    ms.table, ms.explicit_table = new, isinstance(table, str)
    if old == new:
        return []
    if old in ctx.new_tables:
        ctx.new_tables.add(new)
    return [_op(ctx, OpKind.RENAME_TABLE, span, table=old, name=old, new_name=new)]


def _h_add_field(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("model_name", "name", "field", "preserve_default"))
    model, name, fnode = literal(a.get("model_name")), literal(a.get("name")), a.get("field")
    if not isinstance(model, str) or not isinstance(name, str) or fnode is None:
        return []
    ms = _model(ctx, model)
    fs = _field(ctx, name, fnode)
    if fs is None:
        if isinstance(fnode, ast.Call) and call_name(fnode) in _M2M:
            return _m2m_ops(ctx, ms, name, fnode, span)  # a through table, not a column
        ctx.unknown.append(f"AddField ({call_name(fnode) or 'field'})")
        return []
    ms.fields[name] = fs
    col = _column_def(fs, ms, ctx.state, adding=True)
    out = [_op(ctx, OpKind.ADD_COLUMN, span, table=ms.table, column=col, name=fs.column)]
    out.extend(_field_side_ops(ctx, ms, fs, span))
    return out


def _h_alter_field(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("model_name", "name", "field", "preserve_default"))
    model, name, fnode = literal(a.get("model_name")), literal(a.get("name")), a.get("field")
    if not isinstance(model, str) or not isinstance(name, str) or fnode is None:
        return []
    ms = _model(ctx, model)
    new = _field(ctx, name, fnode)
    old = ms.fields.get(name)
    if new is None:
        return []
    ms.fields[name] = new
    out: list[MigrationOp] = []
    table = ms.table
    if old is None or not old.known:
        return out  # previous state unknown: claim nothing
    if old.column != new.column:
        out.append(_op(ctx, OpKind.RENAME_COLUMN, span, table=table, name=old.column, new_name=new.column))
    col = new.column
    if old.type is not None and new.type is not None and old.type != new.type:
        out.append(_op(ctx, OpKind.ALTER_COLUMN_TYPE, span, table=table, name=col, old_type=old.type, new_type=new.type,
                       column=ColumnDef(col, new.type, nullable=new.null)))
    if old.null and not new.null:
        out.append(_op(ctx, OpKind.SET_NOT_NULL, span, table=table, name=col))
    elif not old.null and new.null:
        out.append(_op(ctx, OpKind.DROP_NOT_NULL, span, table=table, name=col))
    if old.db_default != new.db_default:
        if new.db_default is None:
            out.append(_op(ctx, OpKind.DROP_DEFAULT, span, table=table, name=col))
        else:
            out.append(_op(ctx, OpKind.SET_DEFAULT, span, table=table, name=col,
                           column=ColumnDef(col, new.type, default=new.db_default, default_volatile=new.db_default_volatile)))
    if old.target is None and new.target is not None:
        out.extend(op for op in _field_side_ops(ctx, ms, new, span) if op.constraint is ConstraintKind.FOREIGN_KEY)
    elif old.target is not None and new.target is None:
        out.append(_op(ctx, OpKind.DROP_CONSTRAINT, span, table=table, name=_constraint_name(table, (old.column,), "fk")))
    if old.unique and not new.unique and not old.primary_key:
        out.append(_op(ctx, OpKind.DROP_CONSTRAINT, span, table=table, name=_constraint_name(table, (old.column,), "uniq")))
    elif new.unique and not old.unique and not new.primary_key:
        out.append(_op(ctx, OpKind.ADD_CONSTRAINT, span, table=table, constraint=ConstraintKind.UNIQUE,
                       name=_constraint_name(table, (col,), "uniq"), constraint_columns=(col,)))
    if old.db_index and not new.db_index:
        out.append(_op(ctx, OpKind.DROP_INDEX, span, table=table, name=_constraint_name(table, (old.column,), "")))
    elif new.db_index and not old.db_index:
        idx = Index(table=table, keys=(IndexKey(column=col),), name=_constraint_name(table, (col,), ""),
                    implicit=new.target is not None, provenance=span)
        out.append(_op(ctx, OpKind.CREATE_INDEX, span, table=table, index=idx, name=idx.name))
    return out


def _h_remove_field(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("model_name", "name"))
    model, name = literal(a.get("model_name")), literal(a.get("name"))
    if not isinstance(model, str) or not isinstance(name, str):
        return []
    ms = _model(ctx, model)
    if name in ms.m2m:
        through = ms.m2m.pop(name)
        return [_op(ctx, OpKind.DROP_TABLE, span, table=through, name=through)]
    fs = ms.fields.pop(name, None)
    column = fs.column if fs is not None else name
    return [_op(ctx, OpKind.DROP_COLUMN, span, table=ms.table, name=column)]


def _h_rename_field(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("model_name", "old_name", "new_name"))
    model, old, new = literal(a.get("model_name")), literal(a.get("old_name")), literal(a.get("new_name"))
    if not isinstance(model, str) or not isinstance(old, str) or not isinstance(new, str):
        return []
    ms = _model(ctx, model)
    fs = ms.fields.pop(old, None)
    if fs is None:
        ms.fields[new] = FieldState(new, new, "", None, known=False)
        return [_op(ctx, OpKind.RENAME_COLUMN, span, table=ms.table, name=old, new_name=new)]
    old_col = fs.column
    if not fs.db_column:
        fs.column = f"{new}_id" if fs.target is not None else new
    fs.name = new
    ms.fields[new] = fs
    if old_col == fs.column:
        return []  # db_column is set: the column keeps its name
    return [_op(ctx, OpKind.RENAME_COLUMN, span, table=ms.table, name=old_col, new_name=fs.column)]


# -- indexes and constraints --------------------------------------------------------------------

_INDEX_METHODS = {"Index": "btree", "BTreeIndex": "btree", "GinIndex": "gin", "GistIndex": "gist", "BrinIndex": "brin",
                  "HashIndex": "hash", "SpGistIndex": "spgist", "BloomIndex": "bloom"}


def _index_from_call(ctx: _Ctx, ms: ModelState, node: ast.expr, span: Span, *, unique: bool = False) -> Index | None:
    if not isinstance(node, ast.Call):
        return None
    cls = call_name(node)
    kw = {k.arg: k.value for k in node.keywords if k.arg}
    keys: list[IndexKey] = []
    fields = str_list(kw.get("fields"))
    if fields:
        for f in fields:
            desc = f.startswith("-")
            keys.append(IndexKey(column=ms.column_of(f.lstrip("-")), descending=desc))
    for expr in node.args:
        key = _expression_key(ms, expr)
        if key is None:
            return None
        keys.append(key)
    if not keys:
        return None
    opclasses = str_list(kw.get("opclasses")) or []
    if opclasses and len(opclasses) == len(keys):
        keys = [replace(k, opclass=oc) for k, oc in zip(keys, opclasses, strict=True)]
    name = literal(kw.get("name"))
    predicate = _q_to_sql(ms, kw["condition"]) if "condition" in kw else None
    include = tuple(ms.column_of(c) for c in (str_list(kw.get("include")) or []))
    return Index(table=ms.table, keys=tuple(keys), unique=unique, predicate=predicate,
                 method=_INDEX_METHODS.get(cls, "btree"), include=include,
                 name=name if isinstance(name, str) else None, provenance=node_span(ctx.src, node))


def _expression_key(ms: ModelState, node: ast.expr) -> IndexKey | None:
    desc = False
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("desc", "asc"):
        desc = node.func.attr == "desc"
        node = node.func.value
    if isinstance(node, ast.Call) and call_name(node) == "OrderBy" and node.args:
        desc = bool(literal({k.arg: k.value for k in node.keywords if k.arg}.get("descending"), False))
        node = node.args[0]
    if isinstance(node, ast.Call) and call_name(node) == "F" and node.args:
        col = literal(node.args[0])
        return IndexKey(column=ms.column_of(col), descending=desc) if isinstance(col, str) else None
    sql = _expr_to_sql(ms, node)
    if sql is None:
        return None
    return IndexKey(expression=normalise_sql_expr(sql), descending=desc)


_FUNC_SQL = {"Lower": "lower", "Upper": "upper", "Coalesce": "coalesce", "Length": "length", "Trim": "btrim",
             "Abs": "abs", "TruncDate": "date"}


def _expr_to_sql(ms: ModelState, node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _quote_ident(ms.column_of(node.value))
    if isinstance(node, ast.Call):
        name = call_name(node)
        if name == "F" and node.args:
            col = literal(node.args[0])
            return _quote_ident(ms.column_of(col)) if isinstance(col, str) else None
        if name == "Value" and node.args:
            return sql_literal(literal(node.args[0]))
        fn = _FUNC_SQL.get(name)
        if fn is not None:
            args = [_expr_to_sql(ms, a) for a in node.args]
            if any(a is None for a in args):
                return None
            return f"{fn}({', '.join(a for a in args if a is not None)})"
    return None


def _quote_ident(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + name.replace('"', '""') + '"'


_LOOKUPS = {"exact": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _q_to_sql(ms: ModelState, node: ast.expr) -> str:
    """A ``Q(...)`` condition as normalised SQL; untranslatable parts keep the Python text.

    A predicate we cannot translate stays as ``django: <python>`` — it implies nothing, so a
    partial index we do not understand is never taken to serve a query.
    """
    sql = _q_sql(ms, node)
    if sql is None:
        return "django: " + ast.unparse(node)
    return normalise_sql_expr(sql)


def _q_sql(ms: ModelState, node: ast.expr) -> str | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        left, right = _q_sql(ms, node.left), _q_sql(ms, node.right)
        if left is None or right is None:
            return None
        op = "AND" if isinstance(node.op, ast.BitAnd) else "OR"
        return f"({left}) {op} ({right})"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
        inner = _q_sql(ms, node.operand)
        return f"NOT ({inner})" if inner is not None else None
    if not (isinstance(node, ast.Call) and call_name(node) == "Q"):
        return None
    parts: list[str] = []
    for arg in node.args:
        if isinstance(arg, ast.Tuple) and len(arg.elts) == 2:  # Q(("field", value))
            k = literal(arg.elts[0])
            if not isinstance(k, str):
                return None
            p = _lookup_sql(ms, k, arg.elts[1])
        else:
            p = _q_sql(ms, arg)
        if p is None:
            return None
        parts.append(p)
    for kw in node.keywords:
        if kw.arg is None or kw.arg == "_negated" or kw.arg == "_connector":
            return None
        p = _lookup_sql(ms, kw.arg, kw.value)
        if p is None:
            return None
        parts.append(p)
    if not parts:
        return None
    return " AND ".join(f"({p})" if " OR " in p else p for p in parts)


def _lookup_sql(ms: ModelState, key: str, value: ast.expr) -> str | None:
    field_name, _, lookup = key.partition("__")
    lookup = lookup or "exact"
    if "__" in lookup:
        return None
    col = _quote_ident(ms.column_of(field_name))
    if isinstance(value, ast.Call) and call_name(value) == "F" and value.args:
        other = literal(value.args[0])
        if not isinstance(other, str) or lookup not in _LOOKUPS:
            return None
        return f"{col} {_LOOKUPS[lookup]} {_quote_ident(ms.column_of(other))}"
    val = literal(value, _MISSING)
    if val is _MISSING:
        return None
    if lookup == "isnull":
        return f"{col} IS NULL" if val else f"{col} IS NOT NULL"
    if lookup == "in" and isinstance(val, (list, tuple, set)):
        return f"{col} IN ({', '.join(sql_literal(v) for v in val)})"
    if lookup in _LOOKUPS:
        if val is None and lookup == "exact":
            return f"{col} IS NULL"
        return f"{col} {_LOOKUPS[lookup]} {sql_literal(val)}"
    return None


def _index_op(ctx: _Ctx, ms: ModelState, node: ast.expr, span: Span, *, concurrently: bool) -> list[MigrationOp]:
    idx = _index_from_call(ctx, ms, node, span)
    if idx is None:
        ctx.unknown.append(f"index ({call_name(node)})")
        return []
    return [_op(ctx, OpKind.CREATE_INDEX, span, table=ms.table, index=idx, name=idx.name, concurrently=concurrently)]


def _constraint_ops(ctx: _Ctx, ms: ModelState, node: ast.expr, span: Span) -> list[MigrationOp]:
    if not isinstance(node, ast.Call):
        return []
    cls = call_name(node)
    kw = {k.arg: k.value for k in node.keywords if k.arg}
    name = literal(kw.get("name"))
    name = name if isinstance(name, str) else None
    if cls == "UniqueConstraint":
        if any(k in kw for k in ("condition", "include", "opclasses")) or node.args:
            idx = _index_from_call(ctx, ms, node, span, unique=True)
            if idx is None:
                return []
            return [_op(ctx, OpKind.CREATE_INDEX, span, table=ms.table, index=idx, name=idx.name)]
        cols = tuple(ms.column_of(f) for f in (str_list(kw.get("fields")) or []))
        return [_op(ctx, OpKind.ADD_CONSTRAINT, span, table=ms.table, constraint=ConstraintKind.UNIQUE, name=name,
                    constraint_columns=cols)]
    if cls == "CheckConstraint":
        return [_op(ctx, OpKind.ADD_CONSTRAINT, span, table=ms.table, constraint=ConstraintKind.CHECK, name=name)]
    if cls == "ExclusionConstraint":
        return [_op(ctx, OpKind.ADD_CONSTRAINT, span, table=ms.table, constraint=ConstraintKind.EXCLUDE, name=name)]
    ctx.unknown.append(f"constraint ({cls})")
    return []


def _h_add_index(ctx: _Ctx, call: ast.Call, span: Span, *, concurrently: bool = False) -> list[MigrationOp]:
    a = bind(call, ("model_name", "index"))
    model = literal(a.get("model_name"))
    if not isinstance(model, str) or "index" not in a:
        return []
    return _index_op(ctx, _model(ctx, model), a["index"], span, concurrently=concurrently)


def _h_remove_index(ctx: _Ctx, call: ast.Call, span: Span, *, concurrently: bool = False) -> list[MigrationOp]:
    a = bind(call, ("model_name", "name"))
    model, name = literal(a.get("model_name")), literal(a.get("name"))
    if not isinstance(model, str) or not isinstance(name, str):
        return []
    ms = _model(ctx, model)
    return [_op(ctx, OpKind.DROP_INDEX, span, table=ms.table, name=name, concurrently=concurrently)]


def _h_rename_index(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("model_name", "new_name", "old_name", "old_fields"))
    model, new, old = literal(a.get("model_name")), literal(a.get("new_name")), literal(a.get("old_name"))
    if not isinstance(model, str) or not isinstance(new, str):
        return []
    ms = _model(ctx, model)
    if not isinstance(old, str):
        fields = str_list(a.get("old_fields")) or []
        old = _constraint_name(ms.table, tuple(ms.column_of(f) for f in fields), "")
    # ALTER INDEX ... RENAME TO: a catalog-only change (OTHER; the schema builder renames it)
    return [_op(ctx, OpKind.OTHER, span, table=ms.table, name=old, new_name=new)]


def _h_add_constraint(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("model_name", "constraint"))
    model = literal(a.get("model_name"))
    if not isinstance(model, str) or "constraint" not in a:
        return []
    return _constraint_ops(ctx, _model(ctx, model), a["constraint"], span)


def _h_remove_constraint(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("model_name", "name"))
    model, name = literal(a.get("model_name")), literal(a.get("name"))
    if not isinstance(model, str) or not isinstance(name, str):
        return []
    ms = _model(ctx, model)
    return [_op(ctx, OpKind.DROP_CONSTRAINT, span, table=ms.table, name=name)]


def _h_alter_together(ctx: _Ctx, call: ast.Call, span: Span, *, unique: bool) -> list[MigrationOp]:
    a = bind(call, ("name", "unique_together" if unique else "index_together"))
    name = literal(a.get("name"))
    if not isinstance(name, str):
        return []
    ms = _model(ctx, name)
    new = _together(a.get("unique_together" if unique else "index_together"))
    old = ms.unique_together if unique else ms.index_together
    out: list[MigrationOp] = []
    for g in sorted(old - new):
        cols = tuple(ms.column_of(f) for f in g)
        if unique:
            out.append(_op(ctx, OpKind.DROP_CONSTRAINT, span, table=ms.table, name=_constraint_name(ms.table, cols, "uniq")))
        else:
            out.append(_op(ctx, OpKind.DROP_INDEX, span, table=ms.table, name=_constraint_name(ms.table, cols, "")))
    for g in sorted(new - old):
        cols = tuple(ms.column_of(f) for f in g)
        if unique:
            out.append(_op(ctx, OpKind.ADD_CONSTRAINT, span, table=ms.table, constraint=ConstraintKind.UNIQUE,
                           name=_constraint_name(ms.table, cols, "uniq"), constraint_columns=cols))
        else:
            idx = Index(table=ms.table, keys=tuple(IndexKey(column=c) for c in cols), name=_constraint_name(ms.table, cols, ""), provenance=span)
            out.append(_op(ctx, OpKind.CREATE_INDEX, span, table=ms.table, index=idx, name=idx.name))
    if unique:
        ms.unique_together = new
    else:
        ms.index_together = new
    return out


def _reversible(node: ast.expr | None) -> bool:
    if node is None:
        return False
    return not (isinstance(node, ast.Constant) and node.value is None)


def _h_run_sql(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("sql", "reverse_sql", "state_operations", "hints", "elidable"))
    out = [_op(ctx, OpKind.RUN_SQL, span, reversible=_reversible(a.get("reverse_sql")))]
    sql = a.get("sql")
    if sql is not None:
        out.extend(sql_ops(ctx.src, sql, call, in_transaction=ctx.df.atomic, framework=FW, state=ctx.sql_state))
    for st in _elts(a.get("state_operations")):
        _operation(ctx, st, emit=False)
    return out


def _h_run_python(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("code", "reverse_code", "atomic", "hints", "elidable"))
    return [_op(ctx, OpKind.RUN_PYTHON, span, reversible=_reversible(a.get("reverse_code")))]


def _h_separate(ctx: _Ctx, call: ast.Call, span: Span) -> list[MigrationOp]:
    a = bind(call, ("database_operations", "state_operations"))
    out: list[MigrationOp] = []
    for st in _elts(a.get("state_operations")):
        _operation(ctx, st, emit=False)  # state only: keeps table/column names right
    for db in _elts(a.get("database_operations")):
        out.extend(_operation(ctx, db, emit=True))
    return out


_HANDLERS: dict[str, Callable[[_Ctx, ast.Call, Span], list[MigrationOp]]] = {
    "CreateModel": _h_create_model,
    "DeleteModel": _h_delete_model,
    "RenameModel": _h_rename_model,
    "AlterModelTable": _h_alter_model_table,
    "AddField": _h_add_field,
    "AlterField": _h_alter_field,
    "RemoveField": _h_remove_field,
    "RenameField": _h_rename_field,
    "AddIndex": _h_add_index,
    "AddIndexConcurrently": lambda c, n, s: _h_add_index(c, n, s, concurrently=True),
    "RemoveIndex": _h_remove_index,
    "RemoveIndexConcurrently": lambda c, n, s: _h_remove_index(c, n, s, concurrently=True),
    "RenameIndex": _h_rename_index,
    "AddConstraint": _h_add_constraint,
    "AddConstraintNotValid": _h_add_constraint,
    "RemoveConstraint": _h_remove_constraint,
    "AlterUniqueTogether": lambda c, n, s: _h_alter_together(c, n, s, unique=True),
    "AlterIndexTogether": lambda c, n, s: _h_alter_together(c, n, s, unique=False),
    "RunSQL": _h_run_sql,
    "RunPython": _h_run_python,
    "SeparateDatabaseAndState": _h_separate,
}

#: operations that change only Django's model state (or create extensions): no table DDL
_NO_DB_OPS = frozenset({
    "AlterModelOptions", "AlterModelManagers", "CreateExtension", "HStoreExtension", "TrigramExtension",
    "BtreeGinExtension", "BtreeGistExtension", "UnaccentExtension", "CITextExtension", "CryptoExtension",
    "BloomExtension", "CreateCollation", "RemoveCollation", "AlterModelTableComment", "AlterOrderWithRespectTo",
})


# -- the whole project ----------------------------------------------------------------------------


def app_labels(project: ProjectIndex) -> dict[str, str]:
    """App folder -> label from its ``apps.py`` (``label = "wagtailcore"``, else ``name``'s tail)."""
    out: dict[str, str] = {}
    for path, pf in project.files.items():
        if not is_app_config_path(path) or pf.tree is None:
            continue
        folder = os.path.dirname(path)
        for node in pf.tree.body:
            if not isinstance(node, ast.ClassDef) or not any(dotted(b).endswith("AppConfig") for b in node.bases):
                continue
            label = name = None
            for stmt in node.body:
                target, value = _assignment(stmt)
                val = literal(value)
                if target == "label" and isinstance(val, str):
                    label = val
                elif target == "name" and isinstance(val, str):
                    name = val.rsplit(".", 1)[-1]
            if label or name:
                out.setdefault(folder, label or name or "")
    return out


def read_project(project: ProjectIndex) -> list[DjangoFile]:
    auth = find_auth_user_model(project)
    labels = app_labels(project)
    out: list[DjangoFile] = []
    for path in sorted(project.files):
        if not path.endswith(".py") or "migrations" not in path:
            continue
        app_dir = os.path.dirname(os.path.dirname(path))
        try:
            df = read_django_file(project.files[path], auth, labels.get(app_dir))
        except Exception:
            continue
        if df is not None:
            out.append(df)
    return out


def gather_django_migrations(project: ProjectIndex) -> dict[str, list[str]]:
    """Append the project's Django migrations in graph order; returns unknown ops by path."""
    from querylint.migrations.graph import django_order

    files = read_project(project)
    if not files:
        return {}
    state = DjangoState(project=project, auth_user_model=find_auth_user_model(project))
    unknown: dict[str, list[str]] = {}
    ordered = django_order(files)
    migs: list[Migration] = []
    for df in ordered:
        mig, unk = translate(df, state)
        migs.append(mig)
        if unk:
            unknown[df.parsed.source.path] = unk
    project.migrations.extend(migs)
    project.facts.setdefault("migration_unknown_ops", {}).update(unknown)
    project.facts["django_state"] = state
    return unknown


def migrations_folder(path: str) -> str:
    return os.path.dirname(path)
