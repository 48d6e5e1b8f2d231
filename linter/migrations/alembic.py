"""Alembic revisions read statically: ``upgrade()``'s ``op.*`` calls -> :class:`MigrationOp`.

A revision is a module with ``revision = "..."``, ``down_revision`` (a string, a tuple at a
merge point, or None) and ``def upgrade()``. Only ``upgrade()``'s calls are the migration's
ops, in source order (bodies of ``if`` / ``for`` / ``try`` included); ``downgrade()`` only
decides :attr:`Migration.has_downgrade` (something beyond ``pass``).

Transactions: on PostgreSQL Alembic runs revisions inside a transaction (``transactional_ddl``),
so every op has ``in_transaction=True`` except inside ``with
op.get_context().autocommit_block():``. ``with op.batch_alter_table("t") as batch_op:`` gives
the table to the ``batch_op.*`` calls (on PostgreSQL batch mode issues plain ``ALTER TABLE``).

Server defaults: ``server_default="x"`` is the literal ``'x'``; ``sa.text("...")`` /
``sa.func.f()`` are SQL, volatile when they call a per-row function (``gen_random_uuid()``,
``clock_timestamp()``, ``random()``). ``now()`` is *stable*: PostgreSQL evaluates it once for
``ADD COLUMN ... DEFAULT now()``, so it takes the fast path on PG 11+ and is not volatile here.
``op.execute("...")`` / ``op.execute(sa.text("..."))`` go through the SQL translation with the
call's span.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
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
from querylint.migrations.django import (
    bind,
    call_name,
    dotted,
    literal,
    node_span,
    normalise_sql_expr,
    sql_literal,
    sql_ops,
    str_list,
)
from querylint.schema import Index
from querylint.source import SourceFile, Span

if TYPE_CHECKING:
    from querylint.project import ParsedFile, ProjectIndex

FW = MigrationFramework.ALEMBIC


@dataclass
class AlembicFile:
    parsed: ParsedFile
    revision: str
    down_revisions: tuple[str, ...]
    upgrade: ast.FunctionDef
    downgrade: ast.FunctionDef | None


def read_alembic_file(pf: ParsedFile) -> AlembicFile | None:
    """The header of an Alembic revision file, or None when the file is not one."""
    if pf.tree is None:
        return None
    revision: str | None = None
    down: tuple[str, ...] | None = None
    upgrade = downgrade = None
    for stmt in pf.tree.body:
        target = value = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target, value = stmt.targets[0].id, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            target, value = stmt.target.id, stmt.value
        elif isinstance(stmt, ast.FunctionDef):
            if stmt.name == "upgrade":
                upgrade = stmt
            elif stmt.name == "downgrade":
                downgrade = stmt
        if target == "revision":
            v = literal(value)
            revision = v if isinstance(v, str) else None
        elif target == "down_revision":
            v = literal(value)
            if v is None:
                down = ()
            elif isinstance(v, str):
                down = (v,)
            elif isinstance(v, (tuple, list)) and all(isinstance(x, str) for x in v):
                down = tuple(v)
            else:
                down = ()  # computed: the ops still count, the chain position is unknown
    if revision is None or down is None or upgrade is None:
        return None
    return AlembicFile(pf, revision, down, upgrade, downgrade)


def _does_something(fn: ast.FunctionDef | None) -> bool:
    if fn is None:
        return False
    for stmt in fn.body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring or `...`
        return True
    return False


# -- types and defaults ----------------------------------------------------------------------

_TYPES = {
    "integer": "integer", "int": "integer", "biginteger": "bigint", "bigint": "bigint", "smallinteger": "smallint",
    "smallint": "smallint", "text": "text", "unicodetext": "text", "boolean": "boolean", "date": "date",
    "time": "time", "float": "double precision", "double": "double precision", "double_precision": "double precision",
    "real": "real", "largebinary": "bytea", "bytea": "bytea", "json": "json", "jsonb": "jsonb", "uuid": "uuid",
    "interval": "interval", "inet": "inet", "cidr": "cidr", "macaddr": "macaddr", "tsvector": "tsvector",
    "citext": "citext", "hstore": "hstore", "serial": "serial", "bigserial": "bigserial", "money": "money",
}


def sa_type(node: ast.expr | None) -> str | None:
    """``sa.String(length=255)`` -> ``varchar(255)``; None when unknown."""
    if node is None:
        return None
    call = node if isinstance(node, ast.Call) else None
    name = call_name(node).lower()
    args = call.args if call is not None else []
    kw = {k.arg: k.value for k in call.keywords if k.arg} if call is not None else {}
    if name in ("string", "unicode", "varchar", "nvarchar"):
        ln = literal(kw.get("length") or (args[0] if args else None))
        return f"varchar({ln})" if isinstance(ln, int) else "varchar"
    if name in ("char", "nchar"):
        ln = literal(kw.get("length") or (args[0] if args else None))
        return f"char({ln})" if isinstance(ln, int) else "char"
    if name in ("datetime", "timestamp"):
        tz = literal(kw.get("timezone") or (args[0] if args else None), False)
        return "timestamptz" if tz else "timestamp"
    if name in ("numeric", "decimal"):
        p = literal(kw.get("precision") or (args[0] if args else None))
        s = literal(kw.get("scale") or (args[1] if len(args) > 1 else None))
        if isinstance(p, int) and isinstance(s, int):
            return f"numeric({p},{s})"
        return f"numeric({p})" if isinstance(p, int) else "numeric"
    if name == "array" and args:
        inner = sa_type(args[0])
        return f"{inner}[]" if inner else None
    if name == "enum":
        en = literal(kw.get("name"))
        return en if isinstance(en, str) else None
    if name == "with_variant" and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return sa_type(node.func.value)
    return _TYPES.get(name)


def server_default(node: ast.expr | None) -> tuple[str | None, bool]:
    """(SQL text, volatile) of a ``server_default=`` value."""
    if node is None:
        return None, False
    val = literal(node, _MISSING)
    if val is not _MISSING:
        if val is None:
            return None, False
        return sql_literal(val) if isinstance(val, str) else sql_literal(str(val)), False
    text: str | None = None
    if isinstance(node, ast.Call):
        name = call_name(node)
        if name in ("text", "literal_column") and node.args:
            v = literal(node.args[0])
            text = v if isinstance(v, str) else None
        elif dotted(node.func).startswith(("sa.func.", "func.", "sqlalchemy.func.")):
            if not node.args:
                text = f"{name}()"
        elif name in ("true", "false") and not node.args:
            text = name
    if text is None:
        return ast.unparse(node), False
    return _sql_default(text)


_MISSING = object()


def _sql_default(text: str) -> tuple[str, bool]:
    try:
        from pglast import parse_sql
        from querylint.migrations.sql import is_volatile_expr

        stmt = parse_sql(f"SELECT {text}")[0].stmt
        return normalise_sql_expr(text), bool(is_volatile_expr(stmt))
    except Exception:
        return text, False


# -- translating upgrade() --------------------------------------------------------------------


@dataclass
class AlembicState:
    column_types: dict[str, dict[str, str | None]] = field(default_factory=dict)
    column_spans: dict[tuple[str, str], Span] = field(default_factory=dict)  # the sa.Column(...) call
    # (table, columns) -> the ForeignKeyConstraint / sa.Column(..., sa.ForeignKey) inside create_table
    fk_spans: dict[tuple[str, tuple[str, ...]], Span] = field(default_factory=dict)
    not_null: set[tuple[str, str]] = field(default_factory=set)  # columns known to be NOT NULL


@dataclass
class _Ctx:
    af: AlembicFile
    state: AlembicState
    new_tables: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    sql_state: Any = None
    project: ProjectIndex | None = None
    helpers: dict[str, ast.FunctionDef] = field(default_factory=dict)  # module-level functions
    inlined: list[str] = field(default_factory=list)  # helper call stack (no recursion)

    @property
    def src(self) -> SourceFile:
        return self.af.parsed.source


def translate(af: AlembicFile, state: AlembicState | None = None, project: ProjectIndex | None = None) -> tuple[Migration, list[str]]:
    ctx = _Ctx(af, state if state is not None else AlembicState(), project=project)
    if af.parsed.tree is not None:
        ctx.helpers = {f.name: f for f in af.parsed.tree.body
                       if isinstance(f, ast.FunctionDef) and f.name not in ("upgrade", "downgrade")}
    try:
        from querylint.migrations.sql import SqlState

        ctx.sql_state = SqlState()
    except ImportError:  # pragma: no cover
        pass
    ops: list[MigrationOp] = []
    _block(ctx, af.upgrade.body, ops, in_tx=True, batch={})
    src = af.parsed.source
    mig = Migration(
        path=src.path, framework=FW, ops=tuple(ops), span=node_span(src, af.upgrade), name=af.revision,
        revision=af.revision, down_revision=af.down_revisions, atomic=True,
        has_downgrade=_does_something(af.downgrade),
        downgrade_span=node_span(src, af.downgrade) if af.downgrade is not None else None,
    )
    return mig, ctx.unknown


def _block(ctx: _Ctx, body: list[ast.stmt], out: list[MigrationOp], *, in_tx: bool, batch: dict[str, str]) -> None:
    """Translate the statements of ``body``; ``batch`` maps ``batch_op`` names to their table."""
    for stmt in body:
        if isinstance(stmt, ast.With):
            inner_tx, inner_batch = in_tx, dict(batch)
            for item in stmt.items:
                ce = item.context_expr
                if isinstance(ce, ast.Call) and call_name(ce) == "autocommit_block":
                    inner_tx = False
                elif isinstance(ce, ast.Call) and call_name(ce) == "batch_alter_table":
                    t = table_name(ctx, bind(ce, ("table_name",)).get("table_name"))
                    if isinstance(item.optional_vars, ast.Name):
                        inner_batch[item.optional_vars.id] = t or ""  # "": a table we cannot name
            _block(ctx, stmt.body, out, in_tx=inner_tx, batch=inner_batch)
        elif isinstance(stmt, (ast.If, ast.For, ast.While)):
            _block(ctx, stmt.body, out, in_tx=in_tx, batch=batch)
            _block(ctx, stmt.orelse, out, in_tx=in_tx, batch=batch)
        elif isinstance(stmt, ast.Try):
            _block(ctx, stmt.body, out, in_tx=in_tx, batch=batch)
            _block(ctx, stmt.finalbody, out, in_tx=in_tx, batch=batch)
        elif isinstance(stmt, (ast.Expr, ast.Assign)) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            try:
                out.extend(_call(ctx, call, in_tx=in_tx, batch=batch))
            except Exception as exc:  # never crash on an unforeseen call shape
                ctx.unknown.append(f"{call_name(call)} ({type(exc).__name__})")


def _unwrap_f(node: ast.expr) -> ast.expr:
    """``op.f("ix_name")`` (a name already converted by the naming convention) -> ``"ix_name"``."""
    if isinstance(node, ast.Call) and call_name(node) == "f" and len(node.args) == 1:
        return node.args[0]
    return node


def _receiver(call: ast.Call) -> str | None:
    f = call.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        return f.value.id
    return None


_DDL_HELPER = re.compile(r"create|drop|add_col|alter|rename|index|constraint|fks?_", re.IGNORECASE)


def _call(ctx: _Ctx, call: ast.Call, *, in_tx: bool, batch: dict[str, str]) -> list[MigrationOp]:
    recv = _receiver(call)
    name = call_name(call)
    table: str | None = None
    if recv is not None and recv in batch:
        table = batch[recv]
        if not table:
            ctx.unknown.append(f"batch {name} (table)")
            return []
    elif recv is None and name in ctx.helpers and name not in ctx.inlined and len(ctx.inlined) < 3:
        # a function of this module called from upgrade(): its op.* calls are this revision's
        ctx.inlined.append(name)
        inner: list[MigrationOp] = []
        try:
            _block(ctx, ctx.helpers[name].body, inner, in_tx=in_tx, batch=batch)
        finally:
            ctx.inlined.pop()
        return inner
    elif recv != "op":
        # a helper (``add_columns(...)``, ``utils.create_index(...)``) whose DDL is not seen;
        # counted for the coverage numbers when its name says it changes the schema
        if _DDL_HELPER.search(name):
            ctx.unknown.append(f"call {dotted(call.func) or name}()")
        return []
    span = node_span(ctx.src, call)

    def op(kind: OpKind, **kw: Any) -> MigrationOp:
        t = kw.get("table")
        kw.setdefault("table_is_new", t is not None and t in ctx.new_tables)
        return MigrationOp(kind=kind, span=span, framework=FW, in_transaction=in_tx, **kw)

    def args(*params: str) -> dict[str, ast.expr]:
        if table is not None and "table_name" in params:  # batch_op.* has no table argument
            params = tuple(p for p in params if p not in ("table_name", "source_table"))
        elif table is not None:
            params = tuple(p for p in params if p != "source_table")
        bound: dict[str, ast.expr] = bind(call, params)
        return {k: _unwrap_f(v) for k, v in bound.items()}

    def tbl(a: dict[str, ast.expr], key: str = "table_name") -> str | None:
        if table is not None:
            return table
        return table_name(ctx, a.get(key))

    if name == "create_table":
        return _create_table(ctx, call, op)
    if name == "drop_table":
        t = tbl(args("table_name"))
        ctx.state.column_types.pop(t or "", None)
        return [op(OpKind.DROP_TABLE, table=t, name=t)]
    if name == "rename_table":
        a = args("old_table_name", "new_table_name")
        old, new = literal(a.get("old_table_name")), literal(a.get("new_table_name"))
        if isinstance(old, str) and isinstance(new, str):
            if old in ctx.state.column_types:
                ctx.state.column_types[new] = ctx.state.column_types.pop(old)
            if old in ctx.new_tables:
                ctx.new_tables.add(new)
        return [op(OpKind.RENAME_TABLE, table=old if isinstance(old, str) else None, name=old if isinstance(old, str) else None,
                   new_name=new if isinstance(new, str) else None)]
    if name == "add_column":
        a = args("table_name", "column")
        t = tbl(a)
        colnode = a.get("column")
        col, extra = _column(colnode) if isinstance(colnode, ast.Call) else (None, [])
        if t is None or col is None:
            ctx.unknown.append("add_column (column)")
            return []
        ctx.state.column_types.setdefault(t, {})[col.name] = col.type
        if colnode is not None:
            ctx.state.column_spans[(t, col.name)] = node_span(ctx.src, colnode)
        if not col.nullable:
            ctx.state.not_null.add((t, col.name))
        out = [op(OpKind.ADD_COLUMN, table=t, column=col, name=col.name)]
        out.extend(_column_extras(t, col, extra, op))
        return out
    if name == "drop_column":
        a = args("table_name", "column_name")
        t, c = tbl(a), literal(a.get("column_name"))
        if isinstance(c, str) and t is not None:
            ctx.state.column_types.get(t, {}).pop(c, None)
            ctx.state.not_null.discard((t, c))
        return [op(OpKind.DROP_COLUMN, table=t, name=c if isinstance(c, str) else None)]
    if name == "alter_column":
        return _alter_column(ctx, args("table_name", "column_name"), tbl, op)
    if name == "create_index":
        a = args("index_name", "table_name", "columns")
        t = tbl(a)
        idx = _index(a, t, span) if t is not None else None
        if idx is None:
            ctx.unknown.append("create_index (columns)")
            return []
        conc = bool(literal(a.get("postgresql_concurrently"), False))
        return [op(OpKind.CREATE_INDEX, table=t, index=idx, name=idx.name, concurrently=conc,
                   if_exists=bool(literal(a.get("if_not_exists"), False)))]
    if name == "drop_index":
        a = args("index_name", "table_name")
        iname = literal(a.get("index_name"))
        return [op(OpKind.DROP_INDEX, table=tbl(a), name=iname if isinstance(iname, str) else None,
                   concurrently=bool(literal(a.get("postgresql_concurrently"), False)),
                   if_exists=bool(literal(a.get("if_exists"), False)))]
    if name == "create_foreign_key":
        a = args("constraint_name", "source_table", "referent_table", "local_cols", "remote_cols")
        cname, ref = literal(a.get("constraint_name")), table_name(ctx, a.get("referent_table"))
        return [op(OpKind.ADD_CONSTRAINT, table=tbl(a, "source_table"), constraint=ConstraintKind.FOREIGN_KEY,
                   name=cname if isinstance(cname, str) else None, constraint_columns=tuple(str_list(a.get("local_cols")) or ()),
                   ref_table=ref if isinstance(ref, str) else None, ref_columns=tuple(str_list(a.get("remote_cols")) or ()),
                   not_valid=False)]
    if name in ("create_unique_constraint", "create_primary_key"):
        a = args("constraint_name", "table_name", "columns")
        cname = literal(a.get("constraint_name"))
        kind = ConstraintKind.UNIQUE if name == "create_unique_constraint" else ConstraintKind.PRIMARY_KEY
        return [op(OpKind.ADD_CONSTRAINT, table=tbl(a), constraint=kind, name=cname if isinstance(cname, str) else None,
                   constraint_columns=tuple(str_list(a.get("columns")) or ()))]
    if name == "create_check_constraint":
        a = args("constraint_name", "table_name", "condition")
        cname = literal(a.get("constraint_name"))
        return [op(OpKind.ADD_CONSTRAINT, table=tbl(a), constraint=ConstraintKind.CHECK,
                   name=cname if isinstance(cname, str) else None)]
    if name == "drop_constraint":
        a = args("constraint_name", "table_name", "type_")
        cname = literal(a.get("constraint_name"))
        return [op(OpKind.DROP_CONSTRAINT, table=tbl(a), name=cname if isinstance(cname, str) else None)]
    if name == "execute":
        a = bind(call, ("sqltext",))
        out = [op(OpKind.RUN_SQL)]
        if "sqltext" in a:
            out.extend(sql_ops(ctx.src, a["sqltext"], call, in_transaction=in_tx, framework=FW, state=ctx.sql_state))
        return out
    if name in ("get_bind", "get_context", "f", "inline_literal", "batch_alter_table", "create_table_comment",
                "drop_table_comment", "bulk_insert", "invoke", "implementation_for", "run_async"):
        return []
    ctx.unknown.append(name)
    return []


def _column(node: ast.Call) -> tuple[ColumnDef | None, list[ast.expr]]:
    """``sa.Column("name", sa.Integer(), sa.ForeignKey("t.id"), nullable=False)`` -> ColumnDef."""
    if call_name(node) != "Column":
        return None, []
    pos = list(node.args)
    name = literal(pos[0]) if pos else None
    if not isinstance(name, str):
        return None, []
    rest = pos[1:]
    kw = {k.arg: k.value for k in node.keywords if k.arg}
    typ_node = kw.get("type_")
    refs: tuple[str, str] | None = None
    extras: list[ast.expr] = []
    for r in rest:
        if isinstance(r, ast.Call) and call_name(r) == "ForeignKey":
            target = literal(r.args[0]) if r.args else None
            if isinstance(target, str) and "." in target:
                t, c = target.rsplit(".", 1)
                refs = (t, c)
        elif isinstance(r, ast.Call) and call_name(r) in ("Identity", "Computed", "Sequence", "CheckConstraint"):
            extras.append(r)
        elif typ_node is None:
            typ_node = r
    pk = bool(literal(kw.get("primary_key"), False))
    nullable = bool(literal(kw.get("nullable"), not pk))
    default, volatile = server_default(kw.get("server_default"))
    typ = sa_type(typ_node)
    identity = any(isinstance(e, ast.Call) and call_name(e) == "Identity" for e in extras)
    stored = any(isinstance(e, ast.Call) and call_name(e) == "Computed" for e in extras)
    col = ColumnDef(
        name=name, type=typ, nullable=nullable and not pk, default=default, default_volatile=volatile,
        primary_key=pk, unique=bool(literal(kw.get("unique"), False)), references=refs, identity=identity,
        generated_stored=stored, serial=typ in ("serial", "bigserial"),
    )
    index_flag = bool(literal(kw.get("index"), False))
    return col, ([ast.Constant(value="__index__")] if index_flag else [])


def _column_extras(table: str, col: ColumnDef, extras: list[ast.expr], op: Any) -> list[MigrationOp]:
    out: list[MigrationOp] = []
    if col.references is not None:
        out.append(op(OpKind.ADD_CONSTRAINT, table=table, constraint=ConstraintKind.FOREIGN_KEY, name=None,
                      constraint_columns=(col.name,), ref_table=col.references[0], ref_columns=(col.references[1],)))
    if any(isinstance(e, ast.Constant) and e.value == "__index__" for e in extras):
        name = f"ix_{table}_{col.name}"
        idx = Index(table=table, keys=(IndexKey(column=col.name),), unique=col.unique, name=name)
        out.append(op(OpKind.CREATE_INDEX, table=table, index=idx, name=name))
    elif col.unique:
        out.append(op(OpKind.ADD_CONSTRAINT, table=table, constraint=ConstraintKind.UNIQUE, constraint_columns=(col.name,)))
    return out


def table_name(ctx: _Ctx, node: ast.expr | None) -> str | None:
    """A table name: a string, or ``Model.__tablename__`` of a model the project defines."""
    v = literal(node)
    if isinstance(v, str):
        return v
    if isinstance(node, ast.Attribute) and node.attr == "__tablename__" and ctx.project is not None:
        name = dotted(node.value)
        m = ctx.project.models.resolve(name) or _imported_model(ctx, name)
        if m is not None:
            return str(m.table)
    return None


def _imported_model(ctx: _Ctx, name: str) -> Any:
    """A class name two models share (``SqlExperiment`` in models.py and initial_models.py):
    the one this revision imports (``from mlflow.store.tracking.dbmodels.models import SqlExperiment``)."""
    tree = ctx.af.parsed.tree
    if tree is None or ctx.project is None or "." in name:
        return None
    for st in tree.body:
        if isinstance(st, ast.ImportFrom) and st.module and not st.level:
            for alias in st.names:
                if (alias.asname or alias.name) == name:
                    found = [m for m in ctx.project.models.models.values()
                             if m.class_name == alias.name and m.module == st.module]
                    return found[0] if len(found) == 1 else None
    return None


def _create_table(ctx: _Ctx, call: ast.Call, op: Any) -> list[MigrationOp]:
    a = bind(call, ("table_name",))
    t = table_name(ctx, a.get("table_name"))
    if t is None:
        ctx.unknown.append("create_table (name)")
        return []
    cols: list[ColumnDef] = []
    extras_out: list[MigrationOp] = []
    ctx.new_tables.add(t)
    if ctx.sql_state is not None:
        ctx.sql_state.new_tables.add(t)
    pending: list[tuple[ColumnDef, list[ast.expr]]] = []
    for arg in call.args[1:]:
        if not isinstance(arg, ast.Call):
            continue
        kind = call_name(arg)
        if kind == "Column":
            col, extras = _column(arg)
            if col is not None:
                cols.append(col)
                pending.append((col, extras))
                ctx.state.column_spans[(t, col.name)] = node_span(ctx.src, arg)
        elif kind == "PrimaryKeyConstraint":
            names = [literal(x) for x in arg.args]
            pkcols = {n for n in names if isinstance(n, str)}
            cols = [ColumnDef(**{**_asdict(c), "primary_key": True, "nullable": False}) if c.name in pkcols else c for c in cols]
            pkname = literal({k.arg: k.value for k in arg.keywords if k.arg}.get("name"))
            if len(pkcols) > 1 or isinstance(pkname, str):
                # the key's column order (and its name, which drop_constraint uses later)
                extras_out.append(op(OpKind.ADD_CONSTRAINT, table=t, constraint=ConstraintKind.PRIMARY_KEY,
                                     name=pkname if isinstance(pkname, str) else None,
                                     constraint_columns=tuple(n for n in names if isinstance(n, str)), table_is_new=True))
        elif kind == "ForeignKeyConstraint":
            fa = bind(arg, ("columns", "refcolumns"))
            local, remote = str_list(fa.get("columns")) or [], str_list(fa.get("refcolumns")) or []
            if local and remote and "." in remote[0]:
                ref_table = remote[0].rsplit(".", 1)[0]
                cname = literal({k.arg: k.value for k in arg.keywords if k.arg}.get("name"))
                extras_out.append(op(OpKind.ADD_CONSTRAINT, table=t, constraint=ConstraintKind.FOREIGN_KEY,
                                     name=cname if isinstance(cname, str) else None, constraint_columns=tuple(local),
                                     ref_table=ref_table, ref_columns=tuple(r.rsplit(".", 1)[1] for r in remote), table_is_new=True))
                # the constraint's own line: a finding on this foreign key points there
                ctx.state.fk_spans[(t, tuple(local))] = node_span(ctx.src, arg)
        elif kind == "UniqueConstraint":
            ucols = tuple(x for x in (literal(y) for y in arg.args) if isinstance(x, str))
            cname = literal({k.arg: k.value for k in arg.keywords if k.arg}.get("name"))
            extras_out.append(op(OpKind.ADD_CONSTRAINT, table=t, constraint=ConstraintKind.UNIQUE,
                                 name=cname if isinstance(cname, str) else None, constraint_columns=ucols, table_is_new=True))
        elif kind == "CheckConstraint":
            cname = literal({k.arg: k.value for k in arg.keywords if k.arg}.get("name"))
            extras_out.append(op(OpKind.ADD_CONSTRAINT, table=t, constraint=ConstraintKind.CHECK,
                                 name=cname if isinstance(cname, str) else None, table_is_new=True))
    ctx.state.column_types[t] = {c.name: c.type for c in cols}
    ctx.state.not_null.update((t, c.name) for c in cols if not c.nullable)
    out = [op(OpKind.CREATE_TABLE, table=t, columns=tuple(cols), table_is_new=True)]
    for col, extras in pending:
        for e in _column_extras(t, col, extras, op):
            if e.constraint is ConstraintKind.FOREIGN_KEY and (t, col.name) in ctx.state.column_spans:
                ctx.state.fk_spans[(t, (col.name,))] = ctx.state.column_spans[(t, col.name)]  # sa.ForeignKey on its Column
            out.append(e)
    out.extend(extras_out)
    return out


def _asdict(c: ColumnDef) -> dict[str, Any]:
    return {f: getattr(c, f) for f in ColumnDef.__dataclass_fields__}


def _alter_column(ctx: _Ctx, a: dict[str, ast.expr], tbl: Any, op: Any) -> list[MigrationOp]:
    t: str | None = tbl(a)
    c = literal(a.get("column_name"))
    if t is None or not isinstance(c, str):
        ctx.unknown.append("alter_column (names)")
        return []
    types = ctx.state.column_types.setdefault(t, {})
    out: list[MigrationOp] = []
    if "type_" in a:
        new = sa_type(a["type_"])
        old = sa_type(a.get("existing_type")) if "existing_type" in a else types.get(c)
        types[c] = new
        out.append(op(OpKind.ALTER_COLUMN_TYPE, table=t, name=c, old_type=old, new_type=new, column=ColumnDef(c, new)))
    nullable = literal(a.get("nullable"), _MISSING) if "nullable" in a else _MISSING
    if nullable is False and literal(a.get("existing_nullable"), None) is not False and (t, c) not in ctx.state.not_null:
        # existing_nullable=False, or NOT NULL since an earlier revision: PostgreSQL skips the scan (no-op)
        out.append(op(OpKind.SET_NOT_NULL, table=t, name=c))
    elif nullable is True:
        out.append(op(OpKind.DROP_NOT_NULL, table=t, name=c))
    if nullable is False:
        ctx.state.not_null.add((t, c))
    elif nullable is True:
        ctx.state.not_null.discard((t, c))
    if "server_default" in a:
        sd = a["server_default"]
        if isinstance(sd, ast.Constant) and sd.value in (None, False):
            out.append(op(OpKind.DROP_DEFAULT, table=t, name=c))
        else:
            text, vol = server_default(sd)
            out.append(op(OpKind.SET_DEFAULT, table=t, name=c, column=ColumnDef(c, types.get(c), default=text, default_volatile=vol)))
    new_name = literal(a.get("new_column_name"))
    if isinstance(new_name, str) and new_name != c:
        types[new_name] = types.pop(c, None)
        if (t, c) in ctx.state.not_null:
            ctx.state.not_null.discard((t, c))
            ctx.state.not_null.add((t, new_name))
        out.append(op(OpKind.RENAME_COLUMN, table=t, name=c, new_name=new_name))
    return out


def _index(a: dict[str, ast.expr], table: str, span: Span) -> Index | None:
    cols = a.get("columns")
    elts: list[ast.expr]
    if isinstance(cols, (ast.List, ast.Tuple)):
        elts = list(cols.elts)
    elif cols is not None:
        elts = [cols]
    else:
        return None
    ops = literal(a.get("postgresql_ops"), {}) or {}
    keys: list[IndexKey] = []
    for e in elts:
        v = literal(e)
        text: str | None = None
        if isinstance(v, str):
            text = v
        elif isinstance(e, ast.Call) and call_name(e) in ("text", "literal_column") and e.args:
            tv = literal(e.args[0])
            text = tv if isinstance(tv, str) else None
        elif isinstance(e, ast.Call) and call_name(e) in ("desc", "asc") and isinstance(e.func, ast.Attribute):
            inner = e.func.value
            if isinstance(inner, ast.Call) and call_name(inner) in ("column", "literal_column", "text") and inner.args:
                iv = literal(inner.args[0])
                if isinstance(iv, str):
                    text = f"{iv} {call_name(e).upper()}"
        if text is None:
            return None
        keys.append(_key(text, ops))
    name = literal(a.get("index_name"))
    where = a.get("postgresql_where")
    predicate = None
    if where is not None:
        wt = literal(where)
        if isinstance(where, ast.Call) and call_name(where) == "text" and where.args:
            wt = literal(where.args[0])
        predicate = normalise_sql_expr(wt) if isinstance(wt, str) else "alembic: " + ast.unparse(where)
    using = literal(a.get("postgresql_using"))
    include = str_list(a.get("postgresql_include")) or []
    return Index(table=table, keys=tuple(keys), unique=bool(literal(a.get("unique"), False)), predicate=predicate,
                 method=using if isinstance(using, str) else "btree", include=tuple(include),
                 name=name if isinstance(name, str) else None, provenance=span)


def _key(text: str, ops: dict[str, str]) -> IndexKey:
    s = text.strip()
    desc = False
    up = s.upper()
    if up.endswith(" DESC"):
        desc, s = True, s[:-5].strip()
    elif up.endswith(" ASC"):
        s = s[:-4].strip()
    bare = s.strip('"')
    if bare.replace("_", "").isalnum():
        oc = ops.get(bare) if isinstance(ops, dict) else None
        return IndexKey(column=bare, descending=desc, opclass=oc if isinstance(oc, str) else None)
    return IndexKey(expression=normalise_sql_expr(s), descending=desc)


# -- the whole project ---------------------------------------------------------------------------


def may_be_revision(text: str) -> bool:
    """False when the module is surely no Alembic revision file (:func:`read_project`)."""
    return "revision" in text and "upgrade" in text


def read_project(project: ProjectIndex) -> list[AlembicFile]:
    out: list[AlembicFile] = []
    for path in sorted(project.files):
        if not path.endswith(".py"):
            continue
        pf = project.files[path]
        if not may_be_revision(pf.source.text) or pf.tree is None:
            continue
        try:
            af = read_alembic_file(pf)
        except Exception:
            continue
        if af is not None:
            out.append(af)
    return out


def gather_alembic_migrations(project: ProjectIndex) -> dict[str, list[str]]:
    """Append the project's Alembic revisions in chain order; returns unknown ops by path."""
    from querylint.migrations.graph import alembic_order

    files = read_project(project)
    if not files:
        return {}
    state = AlembicState()
    unknown: dict[str, list[str]] = {}
    for af in alembic_order(files):
        mig, unk = translate(af, state, project)
        project.migrations.append(mig)
        if unk:
            unknown[af.parsed.source.path] = unk
    project.facts.setdefault("migration_unknown_ops", {}).update(unknown)
    project.facts["alembic_state"] = state
    project.facts["alembic_versions"] = sorted({os.path.dirname(af.parsed.source.path) for af in files})
    return unknown
