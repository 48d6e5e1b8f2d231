"""SQL migrations: pglast statements -> :class:`MigrationOp`, with transaction state.

Used for ``.sql`` migration files and, by the Django/Alembic gatherers, for ``RunSQL`` and
``op.execute`` (``statements_to_ops`` with ``span=`` the Python call, so findings sit on the
line the user edits).

Which ``.sql`` files are migrations (:func:`is_migration_sql_file`): a file under a folder
named ``migrations``, ``migration``, ``versions``, ``db/migrate``, a sqitch ``deploy`` or
``revert`` folder, or a Flyway-style name (``V1__add_orders.sql``, ``V2_1__x.sql``, ``R__x.sql``).
A ``.sql`` file elsewhere is *not* treated as a migration even when it contains DDL: schema
dumps (``schema.sql``) and seed files are full of ``CREATE INDEX`` on tables that are new when
they run, and flagging them would be noise.

Transaction state: each op records whether it runs inside a transaction block. A file starts
outside one unless ``Config.sql_migrations_in_transaction`` says the runner wraps every file
(Flyway, sqitch, most Go/Rails runners); ``BEGIN`` / ``START TRANSACTION`` opens one and
``COMMIT`` / ``ROLLBACK`` / ``END`` closes it. ``table_is_new`` marks ops on a table created
earlier in the same migration (no concurrent index needed, no lock contention).
Column types seen in earlier SQL migrations (same project, path order) are remembered, so an
``ALTER COLUMN TYPE`` knows its old type.
"""

from __future__ import annotations

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
from querylint.schema import Index
from querylint.source import Span

if TYPE_CHECKING:
    from querylint.config import Config
    from querylint.project import ParsedFile, ProjectIndex
    from querylint.sqlsource import SqlStatement

_MIGRATION_DIRS = {"migrations", "migration", "versions", "deploy", "revert", "schema_migrations"}
_FLYWAY = re.compile(r"^(V\d+(?:[._]\d+)*|R|U\d+(?:[._]\d+)*)__.+\.sql$", re.IGNORECASE)

#: functions whose value differs per row: a column default using one rewrites the table
VOLATILE_FUNCTIONS = frozenset({
    "clock_timestamp", "random", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc",
    "uuid_generate_v4", "uuidv4", "uuidv7", "nextval", "timeofday", "txid_current", "setseed",
    "random_normal",
})

_TYPE_ALIASES = {
    "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
    "float8": "double precision", "bool": "boolean", "bpchar": "char", "varchar": "varchar",
    "timestamptz": "timestamptz", "timestamp": "timestamp", "timetz": "timetz",
}


def is_migration_sql_file(path: str) -> bool:
    """True for a ``.sql`` file that a migration runner applies (see the module docstring)."""
    norm = path.replace("\\", "/").lower()
    if not norm.endswith(".sql"):
        return False
    parts = norm.split("/")
    base = os.path.basename(path)
    if _FLYWAY.match(base):
        return True
    dirs = parts[:-1]
    if any(d in _MIGRATION_DIRS for d in dirs):
        return True
    return "db/migrate/" in "/".join(dirs) + "/"


@dataclass
class SqlState:
    """What earlier statements (this and earlier migration files) told us about the schema."""

    column_types: dict[str, dict[str, str | None]] = field(default_factory=dict)
    index_tables: dict[str, str] = field(default_factory=dict)  # index name -> table
    new_tables: set[str] = field(default_factory=set)  # created in the current migration

    def start_migration(self) -> None:
        self.new_tables = set()


def gather_sql_migrations(project: ProjectIndex) -> None:
    """Append a :class:`Migration` for every SQL migration file of the project (path order)."""
    from querylint.config import Config

    config = project.config if project.config is not None else Config()
    state = SqlState()
    for path in sorted(project.files):
        pf = project.files[path]
        if any(m.path == path for m in project.migrations):
            continue
        mig = sql_file_migration(pf, config, state=state)
        if mig is not None:
            project.migrations.append(mig)


def sql_file_migration(parsed_file: ParsedFile, config: Config, *, state: SqlState | None = None) -> Migration | None:
    """The :class:`Migration` of one ``.sql`` migration file, or None if it is not one."""
    from querylint.source import Language

    src = parsed_file.source
    if src.language is not Language.SQL or not is_migration_sql_file(src.path):
        return None
    wrapped = config.sql_migrations_in_transaction
    ops = statements_to_ops(parsed_file.statements, MigrationFramework.SQL, in_transaction=wrapped, state=state)
    stem = os.path.basename(src.path)[: -len(".sql")]
    return Migration(
        path=src.path,
        framework=MigrationFramework.SQL,
        ops=tuple(ops),
        span=Span(src.path, 0, len(src.text)),
        name=stem,
        atomic=wrapped,
        has_downgrade=True,
    )


def statements_to_ops(
    statements: list[SqlStatement],
    framework: MigrationFramework,
    *,
    in_transaction: bool,
    span: Span | None = None,
    state: SqlState | None = None,
) -> list[MigrationOp]:
    """Translate statements in order; ``span`` (a Python call) overrides every op's span.

    ``state`` carries column types and tables created earlier; pass the same object for every
    chunk of one migration (several ``RunSQL``) so ``table_is_new`` spans them. A fresh state
    starts a new migration.
    """
    st_state = state if state is not None else SqlState()
    if state is not None and span is None:
        st_state.start_migration()
    out: list[MigrationOp] = []
    tx = in_transaction
    for st in statements:
        try:
            ops, tx = _translate(st, framework, tx, span if span is not None else statement_span(st), st_state)
        except Exception:  # an AST shape we did not foresee: skip the statement, never crash
            continue
        out.extend(ops)
    return out


def statement_span(st: SqlStatement) -> Span:
    """The statement's span in the file, without leading comments and whitespace."""
    text = st.fragment.sql
    i, end = st.start, st.end
    while i < end:
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            nl = text.find("\n", i)
            i = end if nl == -1 else nl + 1
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = end if close == -1 else close + 2
        else:
            break
    stop = end
    while stop > i and text[stop - 1].isspace():
        stop -= 1
    return st.fragment.file_span(i, stop)


# -- translation -----------------------------------------------------------------------------


def _translate(st: SqlStatement, fw: MigrationFramework, tx: bool, span: Span, state: SqlState) -> tuple[list[MigrationOp], bool]:
    node = st.node
    kind = type(node).__name__
    sql = st.text

    def op(k: OpKind, **kw: Any) -> MigrationOp:
        table = kw.get("table")
        kw.setdefault("table_is_new", table is not None and table in state.new_tables)
        return MigrationOp(kind=k, span=span, framework=fw, in_transaction=tx, sql=sql, **kw)

    if kind == "TransactionStmt":
        name = node.kind.name
        if name in ("TRANS_STMT_BEGIN", "TRANS_STMT_START"):
            return [op(OpKind.BEGIN)], True
        if name in ("TRANS_STMT_COMMIT", "TRANS_STMT_COMMIT_PREPARED"):
            return [op(OpKind.COMMIT)], False
        if name in ("TRANS_STMT_ROLLBACK", "TRANS_STMT_ROLLBACK_PREPARED"):
            return [op(OpKind.ROLLBACK)], False
        return [op(OpKind.OTHER)], tx
    if kind == "VariableSetStmt":
        if node.name is None:
            return [op(OpKind.OTHER)], tx
        value = _set_value(node)
        return [op(OpKind.SET, setting=node.name.lower(), value=value, name="local" if node.is_local else None)], tx
    if kind == "CreateStmt":
        return _create_table(node, op, state), tx
    if kind == "AlterTableStmt":
        return _alter_table(node, op, state), tx
    if kind == "IndexStmt":
        return [_create_index(node, op, state)], tx
    if kind == "DropStmt":
        return _drop(node, op, state), tx
    if kind == "RenameStmt":
        return _rename(node, op, state), tx
    if kind == "ReindexStmt":
        conc = any(d.defname == "concurrently" for d in (node.params or ()))
        rel = _relname(node.relation) if node.relation is not None else node.name
        table = state.index_tables.get(rel or "", rel) if node.kind.name == "REINDEX_OBJECT_INDEX" else rel
        return [op(OpKind.REINDEX, table=table, name=rel, concurrently=conc)], tx
    if kind == "VacuumStmt":
        opts = {d.defname for d in (node.options or ())}
        if "full" in opts and node.is_vacuumcmd:
            rels: list[str | None] = [_relname(r.relation) for r in (node.rels or ()) if r.relation is not None]
            return [op(OpKind.VACUUM_FULL, table=t) for t in (rels or [None])], tx
        return [op(OpKind.OTHER)], tx
    if kind == "ClusterStmt":
        table = _relname(node.relation) if node.relation is not None else None
        return [op(OpKind.CLUSTER, table=table, name=node.indexname)], tx
    if kind == "TruncateStmt":
        cascade = node.behavior.name == "DROP_CASCADE"
        return [op(OpKind.TRUNCATE, table=_relname(r), cascade=cascade) for r in node.relations], tx
    if kind == "RefreshMatViewStmt":
        return [op(OpKind.REFRESH_MATVIEW, table=_relname(node.relation), concurrently=bool(node.concurrent))], tx
    return [op(OpKind.OTHER)], tx


def _relname(rv: Any) -> str:
    name: str = rv.relname
    return name


def _set_value(node: Any) -> str | None:
    vals = []
    for a in node.args or ():
        v = getattr(a, "val", None)
        if v is None:
            continue
        for attr in ("sval", "ival", "fval"):
            if hasattr(v, attr):
                vals.append(str(getattr(v, attr)))
                break
    return ", ".join(vals) if vals else None


def type_text(tn: Any) -> str | None:
    """SQL text of a pglast ``TypeName``, lower-cased and without ``pg_catalog.``."""
    if tn is None:
        return None
    names = [n.sval.lower() for n in tn.names if hasattr(n, "sval")]
    if names and names[0] == "pg_catalog":
        names = names[1:]
    base = ".".join(names)
    base = _TYPE_ALIASES.get(base, base)
    mods = []
    for m in tn.typmods or ():
        v = getattr(m, "val", None)
        if v is not None and hasattr(v, "ival"):
            mods.append(str(v.ival))
        elif v is not None and hasattr(v, "sval"):
            mods.append(str(v.sval))
    if mods:
        base += "(" + ",".join(mods) + ")"
    if tn.arrayBounds:
        base += "[]" * len(tn.arrayBounds)
    return base


def _expr_sql(node: Any) -> str | None:
    if node is None:
        return None
    from pglast.stream import RawStream

    try:
        return str(RawStream()(node))
    except Exception:
        return None


def is_volatile_expr(node: Any) -> bool:
    """True when a default expression calls a known volatile function (evaluated per row).

    An explicit stack, not a pglast Visitor: one Visitor class built per column made a CREATE
    TABLE of thousands of columns slow, and every walk over a pglast tree here is iterative."""
    from pglast import ast

    stack: list[Any] = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, tuple):
            stack.extend(n)
        elif isinstance(n, ast.Node):
            if isinstance(n, ast.FuncCall):
                name = n.funcname[-1].sval.lower() if n.funcname else ""
                if name in VOLATILE_FUNCTIONS:
                    return True
            stack.extend(getattr(n, member) for member in n)
    return False


def _column(cd: Any) -> ColumnDef:
    typ = type_text(cd.typeName)
    serial = typ in ("serial", "bigserial", "smallserial", "serial4", "serial8", "serial2")
    nullable, default, volatile, stored, identity, pk, unique = True, None, False, False, False, False, False
    refs: tuple[str, str] | None = None
    if cd.is_not_null:
        nullable = False
    for c in cd.constraints or ():
        ct = c.contype.name
        if ct == "CONSTR_NOTNULL":
            nullable = False
        elif ct == "CONSTR_DEFAULT":
            default = _expr_sql(c.raw_expr)
            volatile = is_volatile_expr(c.raw_expr)
        elif ct == "CONSTR_GENERATED":
            stored = True
        elif ct == "CONSTR_IDENTITY":
            identity = True
            nullable = False
        elif ct == "CONSTR_PRIMARY":
            pk, nullable = True, False
        elif ct == "CONSTR_UNIQUE":
            unique = True
        elif ct == "CONSTR_FOREIGN":
            col = c.pk_attrs[0].sval if c.pk_attrs else "id"
            refs = (_relname(c.pktable), col)
    if serial:
        nullable = False
    return ColumnDef(
        name=cd.colname, type=typ, nullable=nullable, default=default, default_volatile=volatile or serial,
        generated_stored=stored, identity=identity, serial=serial, primary_key=pk, unique=unique, references=refs,
    )


def _create_table(node: Any, op: Any, state: SqlState) -> list[MigrationOp]:
    table = _relname(node.relation)
    cols = tuple(_column(e) for e in node.tableElts or () if type(e).__name__ == "ColumnDef")
    existed = table in state.column_types and table not in state.new_tables
    result = op(OpKind.CREATE_TABLE, table=table, columns=cols, if_exists=bool(node.if_not_exists), table_is_new=True)
    if not (node.if_not_exists and existed):
        state.new_tables.add(table)
        state.column_types[table] = {c.name: c.type for c in cols}
    return [result]


_CONSTR_KINDS = {
    "CONSTR_FOREIGN": ConstraintKind.FOREIGN_KEY,
    "CONSTR_CHECK": ConstraintKind.CHECK,
    "CONSTR_UNIQUE": ConstraintKind.UNIQUE,
    "CONSTR_PRIMARY": ConstraintKind.PRIMARY_KEY,
    "CONSTR_EXCLUSION": ConstraintKind.EXCLUDE,
}


def _alter_table(node: Any, op: Any, state: SqlState) -> list[MigrationOp]:
    if node.objtype.name not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
        return [op(OpKind.OTHER)]
    table = _relname(node.relation)
    cols = state.column_types.setdefault(table, {})
    out: list[MigrationOp] = []
    for cmd in node.cmds:
        sub = cmd.subtype.name
        if sub == "AT_AddColumn":
            col = _column(cmd.def_)
            cols[col.name] = col.type
            out.append(op(OpKind.ADD_COLUMN, table=table, column=col, name=col.name, if_exists=bool(cmd.missing_ok)))
        elif sub == "AT_DropColumn":
            cols.pop(cmd.name, None)
            out.append(op(OpKind.DROP_COLUMN, table=table, name=cmd.name, if_exists=bool(cmd.missing_ok), cascade=cmd.behavior.name == "DROP_CASCADE"))
        elif sub == "AT_AlterColumnType":
            new = type_text(cmd.def_.typeName)
            old = cols.get(cmd.name)
            cols[cmd.name] = new
            using = getattr(cmd.def_, "raw_default", None)
            out.append(op(OpKind.ALTER_COLUMN_TYPE, table=table, name=cmd.name, old_type=old, new_type=new,
                          column=ColumnDef(cmd.name, new, default=_expr_sql(using))))
        elif sub == "AT_SetNotNull":
            out.append(op(OpKind.SET_NOT_NULL, table=table, name=cmd.name))
        elif sub == "AT_DropNotNull":
            out.append(op(OpKind.DROP_NOT_NULL, table=table, name=cmd.name))
        elif sub == "AT_ColumnDefault":
            if cmd.def_ is None:
                out.append(op(OpKind.DROP_DEFAULT, table=table, name=cmd.name))
            else:
                out.append(op(OpKind.SET_DEFAULT, table=table, name=cmd.name,
                              column=ColumnDef(cmd.name, default=_expr_sql(cmd.def_), default_volatile=is_volatile_expr(cmd.def_))))
        elif sub == "AT_AddConstraint":
            c = cmd.def_
            ck = _CONSTR_KINDS.get(c.contype.name)
            if ck is None:
                out.append(op(OpKind.OTHER, table=table))
                continue
            keys = c.fk_attrs if ck is ConstraintKind.FOREIGN_KEY else c.keys
            out.append(op(
                OpKind.ADD_CONSTRAINT, table=table, name=c.conname, constraint=ck,
                constraint_columns=tuple(k.sval for k in keys or ()),
                ref_table=_relname(c.pktable) if c.pktable is not None else None,
                ref_columns=tuple(k.sval for k in c.pk_attrs or ()),
                not_valid=bool(c.skip_validation), using_index=bool(c.indexname),
            ))
        elif sub == "AT_ValidateConstraint":
            out.append(op(OpKind.VALIDATE_CONSTRAINT, table=table, name=cmd.name))
        elif sub == "AT_DropConstraint":
            out.append(op(OpKind.DROP_CONSTRAINT, table=table, name=cmd.name, if_exists=bool(cmd.missing_ok)))
        elif sub == "AT_DetachPartition":
            part = cmd.def_
            out.append(op(OpKind.DETACH_PARTITION, table=table, name=_relname(part.name), concurrently=bool(part.concurrent)))
        else:
            out.append(op(OpKind.OTHER, table=table))
    return out


def _create_index(node: Any, op: Any, state: SqlState) -> MigrationOp:
    table = _relname(node.relation)
    keys = []
    for p in node.indexParams or ():
        desc = p.ordering.name == "SORTBY_DESC"
        nulls = {"SORTBY_NULLS_FIRST": True, "SORTBY_NULLS_LAST": False}.get(p.nulls_ordering.name)
        opclass = ".".join(n.sval for n in p.opclass) if p.opclass else None
        if p.name is not None:
            keys.append(IndexKey(column=p.name, descending=desc, nulls_first=nulls, opclass=opclass))
        else:
            keys.append(IndexKey(expression=_expr_sql(p.expr), descending=desc, nulls_first=nulls, opclass=opclass))
    include = tuple(p.name for p in node.indexIncludingParams or () if p.name)
    idx = Index(
        table=table, keys=tuple(keys), unique=bool(node.unique), predicate=_expr_sql(node.whereClause),
        method=node.accessMethod or "btree", include=include, name=node.idxname,
    )
    if node.idxname:
        state.index_tables[node.idxname] = table
    created: MigrationOp = op(OpKind.CREATE_INDEX, table=table, index=idx, name=node.idxname,
                              concurrently=bool(node.concurrent), if_exists=bool(node.if_not_exists))
    return created


def _drop(node: Any, op: Any, state: SqlState) -> list[MigrationOp]:
    rtype = node.removeType.name
    out: list[MigrationOp] = []
    cascade = node.behavior.name == "DROP_CASCADE"
    for obj in node.objects or ():
        parts = [p.sval for p in obj if hasattr(p, "sval")] if isinstance(obj, tuple) else []
        name = parts[-1] if parts else None
        if rtype == "OBJECT_INDEX":
            table = state.index_tables.pop(name or "", None)
            out.append(op(OpKind.DROP_INDEX, table=table, name=name, concurrently=bool(node.concurrent),
                          if_exists=bool(node.missing_ok), cascade=cascade))
        elif rtype == "OBJECT_TABLE":
            if name is not None:
                state.column_types.pop(name, None)
            out.append(op(OpKind.DROP_TABLE, table=name, name=name, if_exists=bool(node.missing_ok), cascade=cascade))
        else:
            out.append(op(OpKind.OTHER, name=name))
    return out


def _rename(node: Any, op: Any, state: SqlState) -> list[MigrationOp]:
    rt = node.renameType.name
    table = _relname(node.relation) if node.relation is not None else None
    if rt == "OBJECT_COLUMN" and table is not None:
        cols = state.column_types.setdefault(table, {})
        if node.subname in cols:
            cols[node.newname] = cols.pop(node.subname)
        return [op(OpKind.RENAME_COLUMN, table=table, name=node.subname, new_name=node.newname)]
    if rt == "OBJECT_TABLE" and table is not None:
        if table in state.column_types:
            state.column_types[node.newname] = state.column_types.pop(table)
        if table in state.new_tables:
            state.new_tables.add(node.newname)
        return [op(OpKind.RENAME_TABLE, table=table, name=table, new_name=node.newname, if_exists=bool(node.missing_ok))]
    if rt == "OBJECT_TABCONSTRAINT":
        return [op(OpKind.OTHER, table=table, name=node.subname, new_name=node.newname)]
    return [op(OpKind.OTHER, table=table)]


def typed_columns(migration: Migration, text: str = "") -> list[tuple[MigrationOp, str, str, Span]]:
    """(op, column name, type, span) of every column a migration declares or retypes.

    For type-choice rules. In ``.sql`` files the span is the column's definition inside a
    ``CREATE TABLE`` (so the finding sits on the column's line); otherwise the op's span.
    """
    out: list[tuple[MigrationOp, str, str, Span]] = []
    for op in migration.ops:
        if op.kind is OpKind.CREATE_TABLE:
            starts = _column_starts(op, text)
            out.extend((op, c.name, c.type, _column_span(op, c.name, text, starts)) for c in op.columns if c.type)
        elif op.kind is OpKind.ADD_COLUMN and op.column is not None and op.column.type:
            out.append((op, op.column.name, op.column.type, op.span))
        elif op.kind is OpKind.ALTER_COLUMN_TYPE and op.new_type and op.name:
            out.append((op, op.name, op.new_type, op.span))
    return out


#: an identifier after ``(`` or ``,`` (comment lines between): where a column definition can start
_ITEM = re.compile(r'[(,]\s*(?:--[^\n]*\n\s*)*("(?:[^"]|"")*"|\w+)')


def _column_starts(op: MigrationOp, text: str) -> dict[str, int]:
    """Where each name first follows ``(`` or ``,`` in a ``CREATE TABLE`` (lower-cased name ->
    offset in ``text``): one pass for all its columns (a search per column was quadratic)."""
    out: dict[str, int] = {}
    if op.framework is not MigrationFramework.SQL or not text:
        return out
    stmt = text[op.span.start : op.span.end]
    paren = stmt.find("(")
    if paren == -1:
        return out
    for m in _ITEM.finditer(stmt, paren):
        word = m.group(1)
        name = word[1:-1].replace('""', '"') if word.startswith('"') else word
        out.setdefault(name.lower(), op.span.start + m.start(1))
    return out


def _column_span(op: MigrationOp, name: str, text: str, starts: dict[str, int]) -> Span:
    start = starts.get(name.lower())
    if start is None:
        return op.span
    line_end = text.find("\n", start)
    end = min(op.span.end, line_end if line_end != -1 else op.span.end)
    return Span(op.span.path, start, max(start, end))
