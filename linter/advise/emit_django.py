"""Django: one ``AddIndexConcurrently`` migration per app, plus the matching ``Meta.indexes``.

For every planned index on a Django model's table we write ``<app>/migrations/NNNN_querylint_
indexes.py`` (next number, ``dependencies`` on the app's leaf migration, ``atomic = False``)
and add the same ``models.Index(...)`` text to the model's ``Meta.indexes`` (libcst), so the
migration state and the models agree and ``makemigrations --check`` stays clean. Django
limits index names to 30 characters, so names are recomputed with that limit.
"""

from __future__ import annotations

import ast
import keyword
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from querylint.advise.model_edit import add_django_index
from querylint.advise.naming import DJANGO_MAX, index_name
from querylint.advise.plan import IndexPlan
from querylint.advise.quoting import py_comment, py_str
from querylint.indexing import _split_and
from querylint.migration import MigrationFramework

if TYPE_CHECKING:
    from querylint.project import ProjectIndex


@dataclass
class DjangoModel:
    app_label: str
    class_name: str
    models_path: str  # display path
    migrations_dir: str  # display path
    fields: dict[str, str] = field(default_factory=dict)  # db column -> field name

    @property
    def model_name(self) -> str:
        return self.class_name.lower()


@dataclass
class Output:
    path: str  # display path
    text: str
    old_text: str | None = None  # for edits of existing files


@dataclass
class EmitResult:
    files: list[Output] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # human notes: why a plan was not emitted


def _leaf(project: ProjectIndex, app_label: str) -> list[str]:
    migs = [m for m in project.migrations if m.framework is MigrationFramework.DJANGO and m.app_label == app_label]
    names = {m.name for m in migs}
    depended = {d[1] for m in migs for d in m.dependencies if d[0] == app_label}
    return sorted(n for n in names if n not in depended)


def _read(project: ProjectIndex, path: str) -> str | None:
    src = project.source(path)
    if src is not None:
        return str(src.text)
    try:
        with open(os.path.join(project.root, path), encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return None


def resolve_model(project: ProjectIndex, table: str) -> DjangoModel | None:
    """The Django model whose table is ``table``: from the model registry, else by convention."""
    apps: dict[str, str] = {}
    for m in project.migrations:
        if m.framework is MigrationFramework.DJANGO and m.app_label:
            apps.setdefault(m.app_label, os.path.dirname(m.path))
    for model in project.models.models.values():
        if model.framework.value == "django" and model.table.lower() == table.lower() and not model.abstract and not model.proxy:
            app = model.key.split(".", 1)[0]
            mig_dir = apps.get(app, os.path.join(os.path.dirname(model.path), "migrations"))
            fields = {f.column: f.name for f in model.fields.values()}
            for r in model.relations.values():
                if r.column:
                    fields[r.column] = r.name  # ``customer``, as makemigrations writes it
            return DjangoModel(app, model.class_name, model.path, mig_dir, fields)
    for app, mig_dir in sorted(apps.items()):
        if not table.startswith(app.lower() + "_"):
            continue
        model_name = table[len(app) + 1 :]
        models_path = os.path.join(os.path.dirname(mig_dir), "models.py")
        text = _read(project, models_path)
        if text is None:
            continue
        found = _scan_models(text, model_name)
        if found is not None:
            cls, fields = found
            return DjangoModel(app, cls, models_path, mig_dir, fields)
    return None


def _scan_models(text: str, model_name: str) -> tuple[str, dict[str, str]] | None:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.lower() == model_name:
            fields: dict[str, str] = {}
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Call):
                    name = stmt.targets[0].id
                    func = stmt.value.func
                    kind = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                    column = name + "_id" if kind in ("ForeignKey", "OneToOneField") else name
                    for kw in stmt.value.keywords:
                        if kw.arg == "db_column" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                            column = kw.value.value
                    fields[column] = name
            return node.name, fields
    return None


def meta_base(project: ProjectIndex, model: DjangoModel) -> tuple[str | None, bool]:
    """For a new ``class Meta``: the parent Meta to extend (``Base.Meta``), and whether it is unsafe.

    A child of an abstract model inherits the parent's ``Meta`` only while it declares none;
    a new ``Meta`` must subclass the parent's when that one sets more than ``abstract``. When
    the parent declares ``indexes`` too, the child's list would replace it: not done here.
    """
    text = _read(project, model.models_path)
    if text is None:
        return None, False
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None, True
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == model.class_name), None)
    if cls is None:
        return None, True
    for base in cls.bases:
        ref = ast.unparse(base)
        short = ref.rsplit(".", 1)[-1]
        if short in ("Model",):
            continue
        parent = next((m for m in project.models.models.values() if m.class_name == short and m.abstract), None)
        if parent is None:
            continue  # a concrete parent: its Meta is not inherited (ordering is, unless overridden)
        ptext = _read(project, parent.path)
        if ptext is None:
            return None, True
        try:
            ptree = ast.parse(ptext)
        except SyntaxError:
            return None, True
        pcls = next((n for n in ptree.body if isinstance(n, ast.ClassDef) and n.name == short), None)
        pmeta = next((n for n in (pcls.body if pcls else []) if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)
        if pmeta is None:
            continue
        names = {t.id for st in pmeta.body if isinstance(st, ast.Assign) for t in st.targets if isinstance(t, ast.Name)}
        if "indexes" in names:
            return None, True
        if names - {"abstract"}:
            return f"{ref}.Meta", False
    return None, False


def _py_literal(sql: str) -> str | None:
    v = sql.strip()
    if re.fullmatch(r"'(?:[^']|'')*'", v):
        return py_str(v[1:-1].replace("''", "'"))
    if re.fullmatch(r"-?\d+", v):
        return v
    if re.fullmatch(r"-?\d+\.\d+", v):
        return v
    if v.lower() in ("true", "false"):
        return "True" if v.lower() == "true" else "False"
    return None


def condition_q(predicate: str, field_for: dict[str, str]) -> str | None:
    """``status = 'open' AND deleted_at IS NULL`` -> ``models.Q(("deleted_at__isnull", True), ...)``."""
    terms = _split_and(predicate)
    if terms is None:
        return None
    kwargs: list[str] = []

    def name(column: str) -> str | None:
        # a keyword argument must be a Python name: anything else is not written as code
        field = field_for.get(column, column)
        return field if field.isidentifier() and not keyword.iskeyword(field) else None

    for t in terms:
        if m := re.fullmatch(r"(\w+) IS (NOT )?NULL", t):
            arg, value = name(m.group(1)), "False" if m.group(2) else "True"
            arg = arg and arg + "__isnull"
        elif m := re.fullmatch(r"NOT (\w+)", t):
            arg, value = name(m.group(1)), "False"
        elif m := re.fullmatch(r"(\w+)", t):
            arg, value = name(m.group(1)), "True"
        elif (m := re.fullmatch(r"(\w+) = (.+)", t)) and (lit := _py_literal(m.group(2))) is not None:
            arg, value = name(m.group(1)), lit
        else:
            return None
        if arg is None:
            return None
        kwargs.append(f"{arg}={value}")
    return "models.Q(" + ", ".join(sorted(kwargs)) + ")"


_FUNCS = {"lower": "Lower", "upper": "Upper"}


def index_expr(p: IndexPlan, model: DjangoModel) -> tuple[str, list[tuple[str, str]]] | None:
    """The ``models.Index(...)`` source for a plan, and the imports it needs; None if not expressible."""
    name = index_name(p.table, p.keys, p.predicate, max_len=DJANGO_MAX)
    imports: list[tuple[str, str]] = []
    args: list[str] = []
    if any(k.expression for k in p.keys):
        for k in p.keys:
            if k.column is not None:
                e = f"models.F({py_str(model.fields.get(k.column, k.column))})"
            else:
                m = re.fullmatch(r"(lower|upper)\((\w+)\)", k.expression or "")
                if m is None:
                    return None
                func = _FUNCS[m.group(1)]
                imports.append(("django.db.models.functions", func))
                e = f"{func}({py_str(model.fields.get(m.group(2), m.group(2)))})"
            args.append(e + (".desc()" if k.descending else ""))
        if p.include:
            return None  # Django rejects include= with expressions
    else:
        fields = [("-" if k.descending else "") + model.fields.get(k.column or "", k.column or "") for k in p.keys]
        args.append("fields=[" + ", ".join(py_str(f) for f in fields) + "]")
    if any(k.nulls_first is not None or k.opclass for k in p.keys):
        return None
    if p.predicate:
        q = condition_q(p.predicate, model.fields)
        if q is None:
            return None
        args.append(f"condition={q}")
    if p.include:
        args.append("include=[" + ", ".join(py_str(model.fields.get(c, c)) for c in p.include) + "]")
    args.append(f"name={py_str(name)}")
    return "models.Index(" + ", ".join(args) + ")", imports


def _next_number(project: ProjectIndex, mig_dir: str) -> int:
    nums = [0]
    folder = os.path.join(project.root, mig_dir)
    names = os.listdir(folder) if os.path.isdir(folder) else []
    names += [os.path.basename(m.path) for m in project.migrations if os.path.dirname(m.path) == mig_dir]
    for n in names:
        m = re.match(r"(\d{4})_", n)
        if m:
            nums.append(int(m.group(1)))
    return max(nums) + 1


def emit_django(project: ProjectIndex, plans: Sequence[IndexPlan], *, migration_name: str = "querylint_indexes") -> EmitResult:
    result = EmitResult()
    by_app: dict[str, list[tuple[DjangoModel, IndexPlan, str, list[tuple[str, str]]]]] = {}
    for p in plans:
        model = resolve_model(project, p.table)
        if model is None:
            result.skipped.append(f"{p.table}: no Django model found for this table")
            continue
        expr = index_expr(p, model)
        if expr is None:
            result.skipped.append(f"{p.table} ({', '.join(k.text for k in p.keys)}): not expressible as models.Index; use --format sql")
            continue
        by_app.setdefault(model.app_label, []).append((model, p, expr[0], expr[1]))
    edits: dict[str, tuple[str, str]] = {}  # models path -> (old, new)
    for app, items in sorted(by_app.items()):
        mig_dir = items[0][0].migrations_dir
        leaves = _leaf(project, app)
        if len(leaves) > 1:
            result.skipped.append(f"{app}: several leaf migrations ({', '.join(leaves)}); run makemigrations --merge first")
            continue
        number = _next_number(project, mig_dir)
        imports = sorted({imp for _, _, _, imps in items for imp in imps})
        lines = ["# Generated by querylint advise: indexes that serve the queries it found.", ""]
        lines.append("from django.contrib.postgres.operations import AddIndexConcurrently")
        lines.append("from django.db import migrations, models")
        for mod, name in imports:
            lines.append(f"from {mod} import {name}")
        lines += ["", "", "class Migration(migrations.Migration):",
                  "    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.", "    atomic = False", "",
                  "    dependencies = ["]
        if leaves:
            lines.append(f"        ({py_str(app)}, {py_str(leaves[0])}),")
        lines += ["    ]", "", "    operations = ["]
        for model, p, code, imps in items:
            lines.append(f"        {py_comment(f'{p.table}: {p.reason}')}")
            lines.append("        AddIndexConcurrently(")
            lines.append(f"            model_name={py_str(model.model_name)},")
            lines.append(f"            index={code},")
            lines.append("        ),")
            old, cur = edits.get(model.models_path, (None, None))
            if cur is None:
                cur = _read(project, model.models_path)
                old = cur
            if cur is None:
                result.skipped.append(f"{model.models_path}: cannot read the model file; add {code} to {model.class_name}.Meta.indexes")
                continue
            base, unsafe = meta_base(project, model)
            if unsafe:
                result.skipped.append(f"{model.models_path}: add {code} to {model.class_name}.Meta.indexes by hand (its parent's Meta declares indexes)")
                continue
            new = add_django_index(cur, model.class_name, code, imps, meta_base=base)
            if new is None:
                result.skipped.append(f"{model.models_path}: add {code} to {model.class_name}.Meta.indexes by hand")
                continue
            edits[model.models_path] = (old or cur, new)
        lines += ["    ]", ""]
        path = os.path.join(mig_dir, f"{number:04d}_{migration_name}.py")
        result.files.append(Output(path, "\n".join(lines)))
    for path, (old, new) in sorted(edits.items()):
        result.files.append(Output(path, new, old))
    return result
