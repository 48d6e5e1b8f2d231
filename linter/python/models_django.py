"""Django models from the ``ast``: per-file extraction, then project-wide linking.

:func:`extract` reads one file into :class:`DjangoFile` (classes, their field calls, ``Meta``,
managers, imports) — a pure function of the file's text, so its result is cached by digest and
a cache hit needs no tree. :func:`link` then works on every file at once: which classes are
models (their bases reach ``django.db.models.Model``, across files), abstract inheritance,
proxies and multi-table inheritance, app labels and tables, relation targets and the reverse
accessors Django adds. Index and constraint expressions are kept as source text
(``Meta.indexes``...) and read by :mod:`querylint.python.model_schema`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from querylint.models import Field, Framework, Model, Relation, RelationKind
from querylint.python.modpath import dotted, gather_imports, resolve_name
from querylint.python.textspans import LazySpans
from querylint.slotstate import fast_pickle
from querylint.source import Span

_MODEL_BASES = {"django.db.models.Model", "django.db.models.base.Model"}
_MISSING = object()


# -- per-file facts (picklable, no ast nodes) -----------------------------------------------------

@fast_pickle
@dataclass(frozen=True, slots=True)
class RawField:
    name: str
    cls: str  # field class name as called: "CharField", "ForeignKey", "ParentalKey"
    kind: str  # "field" | "fk" | "o2o" | "m2m" | "gfk" | "grel"
    span: Span
    target: str | None = None  # resolved dotted name, "self", "app.Model" or bare name
    options: tuple[tuple[str, Any], ...] = ()  # literal keyword options
    sql_type: str | None = None
    gfk: tuple[str, str] = ("content_type", "object_id")

    def opt(self, key: str, default: Any = None) -> Any:
        for k, v in self.options:
            if k == key:
                return v
        return default


@fast_pickle
@dataclass(frozen=True, slots=True)
class RawMeta:
    present: bool = False
    bases: tuple[str, ...] = ()  # ``class Meta(Base.Meta)``
    options: tuple[tuple[str, Any], ...] = ()  # literal options: abstract, proxy, db_table...
    indexes: tuple[tuple[str, Span], ...] = ()  # (python source of Index(...), span)
    constraints: tuple[tuple[str, Span], ...] = ()

    def opt(self, key: str, default: Any = None) -> Any:
        for k, v in self.options:
            if k == key:
                return v
        return default


@fast_pickle
@dataclass(frozen=True, slots=True)
class RawClass:
    name: str
    bases: tuple[str, ...]  # resolved dotted names
    fields: tuple[RawField, ...]
    meta: RawMeta
    managers: tuple[tuple[str, str], ...]
    span: Span
    looks_like_model: bool  # declares model fields (for bases we cannot see)


@fast_pickle
@dataclass(frozen=True, slots=True)
class DjangoFile:
    path: str
    module: str
    classes: tuple[RawClass, ...] = ()
    app_configs: tuple[tuple[str, str], ...] = ()  # (AppConfig.name, label)
    imports_django: bool = False


# -- extraction ------------------------------------------------------------------------------------

_REL_KINDS = (("GenericForeignKey", "gfk"), ("GenericRelation", "grel"), ("ManyToManyField", "m2m"),
              ("OneToOneField", "o2o"), ("ForeignKey", "fk"), ("ParentalKey", "fk"), ("ForeignObject", "fk"))
_FIELD_OPTS = ("db_column", "db_index", "unique", "null", "primary_key", "related_name", "related_query_name",
               "through", "db_table", "to_field", "max_length", "db_constraint", "symmetrical")
# field classes from these modules are form / serializer / filter fields, never model fields
_NOT_MODEL_FIELDS = ("django.forms", "forms.", "rest_framework", "serializers.", "django_filters", "filters.",
                     "graphene", "wtforms", "marshmallow", "factory.", "import_export", "ninja", "pydantic",
                     "msgspec", "attr.", "attrs.", "dataclasses", "strawberry", "mongoengine", "sqlalchemy")
# base classes from libraries we do not read that are (abstract) Django models
_LIBRARY_MODEL_BASES = {"ClusterableModel", "MP_Node", "NS_Node", "AL_Node", "MPTTModel", "PolymorphicModel",
                        "TagBase", "TaggedItemBase", "GenericTaggedItemBase", "CommonGenericTaggedItemBase",
                        "GenericUUIDTaggedItemBase", "TimeStampedModel", "TitleSlugDescriptionModel",
                        "AbstractBaseUser", "AbstractUser", "PermissionsMixin", "OrderedModel", "AbstractBaseSession",
                        "AbstractIndexEntry", "Page"}
_META_OPTS = ("abstract", "proxy", "db_table", "app_label", "ordering", "unique_together", "index_together",
              "managed", "swappable")


def _field_kind(cls: str) -> str | None:
    for suffix, kind in _REL_KINDS:
        if cls.endswith(suffix):
            return kind
    if cls.endswith("Field") or cls in ("TaggableManager",):
        return "field"
    return None


def _literal(node: ast.AST | None, default: Any = _MISSING) -> Any:
    if node is None:
        return default
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return default


#: a line as the Python parser splits them (``\r\n``, ``\r`` or ``\n``; a form feed is no line
#: break): ``ast._splitlines_no_ff``, which goes one character at a time
_PARSER_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


class _Extractor(LazySpans):
    def __init__(self, path: str, text: str, module: str, imports: dict[str, str], local: set[str]) -> None:
        self.path = path
        self.module = module
        self.imports = imports
        self.local = local
        self.text = text
        self.stars: list[str] = []
        self._parser_lines: list[str] | None = None

    def segment(self, node: ast.AST) -> str | None:
        """``ast.get_source_segment(self.text, node)``, the file split into lines only once."""
        try:
            if node.end_lineno is None or node.end_col_offset is None:  # type: ignore[attr-defined]
                return None
            lineno: int = node.lineno - 1  # type: ignore[attr-defined]
            end_lineno: int = node.end_lineno - 1  # type: ignore[attr-defined]
            col_offset: int = node.col_offset  # type: ignore[attr-defined]
            end_col_offset: int = node.end_col_offset  # type: ignore[attr-defined]
        except AttributeError:
            return None
        if self._parser_lines is None:
            self._parser_lines = list(_PARSER_LINE.findall(self.text))
        lines: list[str] = self._parser_lines
        if end_lineno == lineno:
            return lines[lineno].encode()[col_offset:end_col_offset].decode()
        first = lines[lineno].encode()[col_offset:].decode()
        last = lines[end_lineno].encode()[:end_col_offset].decode()
        return "".join([first, *lines[lineno + 1 : end_lineno], last])

    def resolve(self, node: ast.AST) -> str | None:
        name = dotted(node)
        if name is None:
            return None
        full = str(resolve_name(name, self.imports, self.local, self.module))
        if "." not in full and self.stars:
            # maybe from ``from pkg.abstract_models import *``: linking tries each module
            return f"*{','.join(self.stars)}:{full}"
        return full

    # a field call: models.CharField(...), ForeignKey(...), deferred wrappers are not Django
    def field(self, name: str, call: ast.Call) -> RawField | None:
        full = self.resolve(call.func)
        if full is None:
            return None
        cls = full.rsplit(".", 1)[-1]
        kind = _field_kind(cls)
        if kind is None:
            return None
        if full.startswith(_NOT_MODEL_FIELDS) or (kind == "field" and "." not in full and cls not in self.imports) \
                or (cls == "Field" and not full.startswith("django.")):
            # a form/serializer field, or a bare *Field name we cannot place
            return None
        kw = {k.arg: k.value for k in call.keywords if k.arg}
        options: list[tuple[str, Any]] = []
        for key in _FIELD_OPTS:
            if key in kw:
                val = _literal(kw[key])
                if key == "through" and val is _MISSING:
                    val = self.resolve(kw[key])
                if val is not _MISSING and val is not None:
                    options.append((key, val))
        target: str | None = None
        gfk = ("content_type", "object_id")
        if kind in ("fk", "o2o", "m2m", "grel"):
            tnode = kw.get("to") or (call.args[0] if call.args else None)
            if tnode is not None:
                lit = _literal(tnode)
                if isinstance(lit, str):
                    target = lit
                elif isinstance(tnode, ast.Call):
                    target = _called_target(tnode)
                else:
                    target = self.resolve(tnode)
        elif kind == "gfk":
            ct = _literal(call.args[0]) if call.args else _literal(kw.get("ct_field"), "content_type")
            fk = _literal(call.args[1]) if len(call.args) > 1 else _literal(kw.get("fk_field"), "object_id")
            gfk = (ct if isinstance(ct, str) else "content_type", fk if isinstance(fk, str) else "object_id")
        sql_type = None
        if kind == "field":
            sql_type = _sql_type(cls, kw, call)
        return RawField(name, cls, kind, self.span(call), target, tuple(options), sql_type, gfk)

    def manager(self, call: ast.Call) -> str | None:
        func = call.func
        found: str | None
        # OrderQuerySet.as_manager()
        if isinstance(func, ast.Attribute) and func.attr == "as_manager":
            found = dotted(func.value)
            return found
        # Manager.from_queryset(QS)()
        if isinstance(func, ast.Call) and isinstance(func.func, ast.Attribute) and func.func.attr == "from_queryset":
            if func.args:
                found = dotted(func.args[0])
                return found
            return None
        name = dotted(func)
        if name is not None and name.rsplit(".", 1)[-1].endswith("Manager"):
            return str(name.rsplit(".", 1)[-1] if name.startswith("models.") else name)
        return None

    def meta(self, node: ast.ClassDef) -> RawMeta:
        options: list[tuple[str, Any]] = []
        indexes: list[tuple[str, Span]] = []
        constraints: list[tuple[str, Span]] = []
        for st in node.body:
            if not isinstance(st, (ast.Assign, ast.AnnAssign)) or st.value is None:
                continue
            targets = st.targets if isinstance(st, ast.Assign) else [st.target]
            for t in targets:
                if not isinstance(t, ast.Name):
                    continue
                if t.id in ("indexes", "constraints") and isinstance(st.value, (ast.List, ast.Tuple)):
                    out = indexes if t.id == "indexes" else constraints
                    for e in st.value.elts:
                        seg = self.segment(e) or ast.unparse(e)
                        out.append((_dedent_call(seg, e), self.span(e)))
                elif t.id in _META_OPTS:
                    value = st.value
                    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and \
                            value.func.id in ("set", "frozenset") and len(value.args) == 1 and not value.keywords:
                        value = value.args[0]  # unique_together = set([("a", "b")])
                    val = _literal(value)
                    if val is not _MISSING:
                        options.append((t.id, val))
        bases = tuple(b for b in (dotted(x) for x in node.bases) if b)
        return RawMeta(True, bases, tuple(options), tuple(indexes), tuple(constraints))

    def klass(self, node: ast.ClassDef) -> RawClass | None:
        bases = tuple(b for b in (self.resolve(x) for x in node.bases) if b)
        if not bases:
            return None
        fields: list[RawField] = []
        managers: list[tuple[str, str]] = []
        meta = RawMeta()
        for st in node.body:
            if isinstance(st, ast.ClassDef) and st.name == "Meta":
                meta = self.meta(st)
                continue
            if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
                name, value = st.targets[0].id, st.value
            elif isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name) and st.value is not None:
                name, value = st.target.id, st.value
            else:
                continue
            if not isinstance(value, ast.Call):
                continue
            f = self.field(name, value)
            if f is not None:
                fields.append(f)
                continue
            m = self.manager(value)
            if m is not None:
                managers.append((name, m))
        model_meta = bool(meta.indexes or meta.constraints) or any(
            meta.opt(k) is not None for k in ("abstract", "proxy", "db_table", "app_label", "unique_together",
                                              "index_together"))
        return RawClass(node.name, bases, tuple(fields), meta, tuple(managers), self.span(node),
                        bool(fields) or model_meta)


def _called_target(call: ast.Call) -> str | None:
    """``swapper.get_model_name("app", "Model")`` and ``get_user_model()`` as relation targets."""
    name = (dotted(call.func) or "").rsplit(".", 1)[-1]
    if name == "get_user_model":
        return "settings.AUTH_USER_MODEL"
    if name == "get_model_name" and len(call.args) == 2:
        app, model = _literal(call.args[0]), _literal(call.args[1])
        if isinstance(app, str) and isinstance(model, str):
            return f"{app}.{model}"
    return None


def _dedent_call(seg: str, node: ast.AST) -> str:
    try:
        ast.parse(seg, mode="eval")
        return seg
    except SyntaxError:
        return ast.unparse(node)


_VARCHAR = {"CharField": 255, "SlugField": 50, "EmailField": 254, "URLField": 200, "FilePathField": 100,
            "FileField": 100, "ImageField": 100, "GenericIPAddressField": 39, "CommaSeparatedIntegerField": None}
_TYPES = {"AutoField": "integer", "BigAutoField": "bigint", "SmallAutoField": "smallint", "IntegerField": "integer",
          "BigIntegerField": "bigint", "SmallIntegerField": "smallint", "PositiveIntegerField": "integer",
          "PositiveBigIntegerField": "bigint", "PositiveSmallIntegerField": "smallint", "BooleanField": "boolean",
          "NullBooleanField": "boolean", "TextField": "text", "DateField": "date",
          "DateTimeField": "timestamp with time zone", "TimeField": "time", "DurationField": "interval",
          "FloatField": "double precision", "UUIDField": "uuid", "BinaryField": "bytea", "JSONField": "jsonb",
          "IPAddressField": "inet", "HStoreField": "hstore", "CICharField": "citext", "CIEmailField": "citext",
          "CITextField": "citext"}


def _sql_type(cls: str, kw: dict[str, ast.expr], call: ast.Call) -> str | None:
    if cls in _VARCHAR:
        ml = _literal(kw.get("max_length"), _VARCHAR[cls])
        return f"varchar({ml})" if isinstance(ml, int) else "varchar"
    if cls == "DecimalField":
        md, dp = _literal(kw.get("max_digits")), _literal(kw.get("decimal_places"))
        return f"numeric({md},{dp})" if isinstance(md, int) and isinstance(dp, int) else "numeric"
    if cls == "ArrayField":
        base = kw.get("base_field") or (call.args[0] if call.args else None)
        if isinstance(base, ast.Call):
            inner_cls = (dotted(base.func) or "").rsplit(".", 1)[-1]
            inner = _sql_type(inner_cls, {k.arg: k.value for k in base.keywords if k.arg}, base)
            return f"{inner}[]" if inner else None
        return None
    return _TYPES.get(cls)


def _module_classes(body: list[ast.stmt]) -> Iterable[ast.ClassDef]:
    """Module-level classes, including those under ``if`` / ``try`` (django-oscar's overridable models)."""
    for st in body:
        if isinstance(st, ast.ClassDef):
            yield st
        elif isinstance(st, ast.If):
            yield from _module_classes(st.body)
            yield from _module_classes(st.orelse)
        elif isinstance(st, ast.Try):
            yield from _module_classes(st.body)
            for h in st.handlers:
                yield from _module_classes(h.body)
            yield from _module_classes(st.orelse)


def _star_modules(tree: ast.Module, module: str, is_package: bool) -> list[str]:
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for st in tree.body:
        if isinstance(st, ast.ImportFrom) and any(a.name == "*" for a in st.names):
            base = st.module or ""
            if st.level:
                pkg = package.split(".") if package else []
                pkg = pkg[: max(0, len(pkg) - (st.level - 1))]
                base = ".".join([*pkg, *([base] if base else [])])
            if base and not base.startswith("django"):
                out.append(base)
    return out


def extract(path: str, text: str, tree: ast.Module, module: str, *, is_package: bool = False) -> DjangoFile:
    """Every class of one file that could be a Django model (linking decides), with its facts."""
    imports = gather_imports(tree, module, is_package)
    imports_django = any(v == "django" or v.startswith("django.") for v in imports.values())
    local = {st.name for st in _module_classes(tree.body)}
    ex = _Extractor(path, text, module, imports, local)
    ex.stars = _star_modules(tree, module, is_package)
    classes: list[RawClass] = []
    app_configs: list[tuple[str, str]] = []
    for st in _module_classes(tree.body):
        rc = ex.klass(st)
        if rc is None:
            continue
        if any(b.endswith("AppConfig") for b in rc.bases):
            attrs = {t.id: _literal(s.value) for s in st.body if isinstance(s, ast.Assign)
                     for t in s.targets if isinstance(t, ast.Name)}
            name, label = attrs.get("name"), attrs.get("label")
            if isinstance(name, str):
                app_configs.append((name, label if isinstance(label, str) else name.rsplit(".", 1)[-1]))
            continue
        classes.append(rc)
    return DjangoFile(path, module, tuple(classes), tuple(app_configs), imports_django)


# -- linking -----------------------------------------------------------------------------------------

@dataclass
class LinkedModel:
    """A model plus what the schema needs beyond :class:`Model`: Meta, raw fields, its file."""

    model: Model
    raw: RawClass
    file: DjangoFile
    meta_indexes: list[tuple[str, Span]] = field(default_factory=list)
    meta_constraints: list[tuple[str, Span]] = field(default_factory=list)
    unique_together: list[tuple[str, ...]] = field(default_factory=list)
    index_together: list[tuple[str, ...]] = field(default_factory=list)
    fk_fields: dict[str, RawField] = field(default_factory=dict)  # relation name -> raw field
    m2m_fields: dict[str, RawField] = field(default_factory=dict)
    parent: str | None = None  # multi-table parent model key
    pk_column: str = "id"
    pk_type: str = "bigint"
    sql_types: dict[str, str] = field(default_factory=dict)  # column -> SQL type (own and inherited fields)
    meta_present: bool = False  # has a Meta, its own or inherited from an abstract parent
    meta_options: dict[str, Any] = field(default_factory=dict)  # inherited Meta options (db_table, managed)


_BUILTIN_MODELS = {"django.contrib.auth.models.User": "auth.User", "django.contrib.auth.models.Group": "auth.Group",
                   "django.contrib.auth.models.Permission": "auth.Permission",
                   "django.contrib.contenttypes.models.ContentType": "contenttypes.ContentType",
                   "django.contrib.sites.models.Site": "sites.Site",
                   "django.conf.settings.AUTH_USER_MODEL": "auth.User", "settings.AUTH_USER_MODEL": "auth.User"}
BUILTIN_TABLES = {"auth.User": "auth_user", "auth.Group": "auth_group", "auth.Permission": "auth_permission",
                  "contenttypes.ContentType": "django_content_type", "sites.Site": "django_site"}


def _app_label(module: str, app_modules: dict[str, str], path: str = "") -> str:
    """The app of a models module: the package holding ``models.py`` / ``models/`` (or its AppConfig label)."""
    parts = module.split(".")
    if parts[0] == "models" and "/" in path:
        # models.py in a folder without __init__.py (a namespace package): the folder is the app
        folders = path.replace("\\", "/").split("/")[:-1]
        if folders and folders[-1] == "models":
            folders = folders[:-1]
        if folders:
            parts = [*folders[-1:], *parts]
    if "models" in parts:
        i = len(parts) - 1 - parts[::-1].index("models")
        if i > 0:
            package = ".".join(parts[:i])
            if package in app_modules:
                return app_modules[package]
            # the AppConfig names the app by a longer dotted path than we could compute
            by_suffix = [label for name, label in app_modules.items() if name.endswith("." + package)]
            return by_suffix[0] if len(by_suffix) == 1 else parts[i - 1]
    # models defined elsewhere: the innermost AppConfig around it, else the parent package
    for i in range(len(parts), 0, -1):
        label = app_modules.get(".".join(parts[:i]))
        if label is not None:
            return label
    return parts[-2] if len(parts) > 1 else parts[0]


def link(files: Iterable[DjangoFile], auth_user_model: str = "auth.User") -> dict[str, LinkedModel]:
    """Resolve every file's classes into models: keys ``"app_label.ClassName"``."""
    files = list(files)
    app_modules: dict[str, str] = {}
    for f in files:
        for name, label in f.app_configs:
            app_modules[name] = label
    by_full: dict[str, tuple[RawClass, DjangoFile]] = {}
    by_name: dict[str, list[str]] = {}
    for f in files:
        for c in f.classes:
            full = f"{f.module}.{c.name}"
            by_full[full] = (c, f)
            by_name.setdefault(c.name, []).append(full)

    top_packages = {f.module.split(".", 1)[0] for f in files}

    def find(dotted_name: str) -> str | None:
        if dotted_name in by_full:
            return dotted_name
        if dotted_name.startswith("*"):
            stars, _, dotted_name = dotted_name[1:].partition(":")
            for star in stars.split(","):
                if f"{star}.{dotted_name}" in by_full:
                    return f"{star}.{dotted_name}"
        short = dotted_name.rsplit(".", 1)[-1]
        cands = by_name.get(short, [])
        if "." not in dotted_name:  # a bare name we could not resolve: unique in the project
            return cands[0] if len(cands) == 1 else None
        if dotted_name.split(".", 1)[0] not in top_packages:
            return None  # another library's class that happens to share a name with ours
        prefix = dotted_name.rsplit(".", 1)[0] + "."
        inside = [c for c in cands if c.startswith(prefix)]  # re-exported from a package
        if len(inside) == 1:
            return inside[0]
        return cands[0] if len(cands) == 1 else None

    # which classes are models: bases reaching django's Model (fixpoint over project classes)
    is_model: dict[str, bool] = {}

    def model_check(full: str, seen: frozenset[str] = frozenset()) -> bool:
        if full in is_model:
            return is_model[full]
        if full in seen:
            return False
        c, f = by_full[full]
        result = False
        for b in c.bases:
            if b in _MODEL_BASES:
                result = True
                break
            found = find(b)
            if found is not None and found != full:
                if model_check(found, seen | {full}):
                    result = True
                    break
            elif found is None and (b in _BUILTIN_MODELS or (b.startswith("django.contrib.")
                                    and b.rsplit(".", 1)[-1] in _LIBRARY_MODEL_BASES)):
                result = True  # auth's AbstractUser, User (multi-table), sessions' AbstractBaseSession...
                break
            elif found is None and f.imports_django and not b.startswith(("django.", "typing", "abc.", "enum.")) \
                    and b.split(".", 1)[0] not in top_packages \
                    and not b.startswith(_NOT_MODEL_FIELDS) \
                    and (c.looks_like_model or (b.rsplit(".", 1)[-1] in _LIBRARY_MODEL_BASES and "." in b)):
                # a model base from a library we do not read (treebeard's MP_Node...) or built at
                # import time (``MP_Node = get_tree_base()``): the class declares model fields
                result = True
                break
        is_model[full] = result
        return result

    models: dict[str, LinkedModel] = {}
    key_of: dict[str, str] = {}
    for full in by_full:
        if not model_check(full):
            continue
        c, f = by_full[full]
        label = c.meta.opt("app_label") or _app_label(f.module, app_modules, f.path)
        key = f"{label}.{c.name}"
        if key in models:  # two classes with one key (tests/, examples/): keep the first
            continue
        key_of[full] = key
        abstract = bool(c.meta.opt("abstract", False))
        proxy = bool(c.meta.opt("proxy", False))
        m = Model(key=key, class_name=c.name, framework=Framework.DJANGO, table="", module=f.module, path=f.path,
                  abstract=abstract, proxy=proxy,
                  bases=tuple((find(b) or b.rpartition(":")[2]) if b.startswith("*") else b for b in c.bases),
                  provenance=c.span)
        models[key] = LinkedModel(m, c, f)

    def model_for(full_or_ref: str) -> str | None:
        found = find(full_or_ref)
        return key_of.get(found) if found else None

    def target_key(target: str | None, lm: LinkedModel) -> str:
        if not target:
            return ""
        if target in ("self", "django.db.models.fields.related.RECURSIVE_RELATIONSHIP_CONSTANT"):
            return str(lm.model.key)
        if target in _BUILTIN_MODELS:
            return auth_user_model if "AUTH_USER_MODEL" in target else _BUILTIN_MODELS[target]
        if target.endswith("AUTH_USER_MODEL"):
            return auth_user_model
        if target.startswith("*"):
            star_found = model_for(target)
            target = star_found if star_found else target.rpartition(":")[2]
            if star_found:
                return target
        if "." in target and target.count(".") == 1:  # "app.Model" (or a module.Class we imported)
            app, name = target.split(".")
            for k in models:
                if k.lower() == target.lower():
                    return k
            found = model_for(target)
            if found:
                return found
            return f"{app}.{name}"
        if "." not in target:  # bare name: same app first
            app = lm.model.key.split(".", 1)[0]
            if f"{app}.{target}" in models:
                return f"{app}.{target}"
            cands = [k for k in models if k.rsplit(".", 1)[1] == target]
            return cands[0] if len(cands) == 1 else target
        return model_for(target) or target.rsplit(".", 1)[-1]

    # ancestors: abstract parents give fields, concrete parents give a table (MTI) or the table (proxy)
    def parents(lm: LinkedModel) -> list[LinkedModel]:
        out = []
        for b in lm.raw.bases:
            k = model_for(b) if b not in _MODEL_BASES else None
            if k is not None and k in models and k != lm.model.key:
                out.append(models[k])
        return out

    order: list[str] = []
    visiting: set[str] = set()

    def visit(key: str) -> None:
        if key in order or key in visiting:
            return
        visiting.add(key)
        for p in parents(models[key]):
            visit(p.model.key)
        visiting.discard(key)
        order.append(key)

    for key in list(models):
        visit(key)

    for key in order:
        lm = models[key]
        _fill(lm, parents(lm), target_key)

    # reverse accessors
    for lm in list(models.values()):
        if lm.model.abstract:
            continue
        for name, raw in list(lm.fk_fields.items()) + list(lm.m2m_fields.items()):
            rel = lm.model.relations.get(name)
            if rel is None or rel.kind is RelationKind.GENERIC_FK:
                continue
            target = models.get(rel.target)
            if target is None:
                continue
            _add_reverse(lm, raw, rel, target)
    # proxies see every relation of their concrete model, reverse accessors included
    for key in order:
        lm = models[key]
        if lm.model.proxy:
            base = _concrete(lm, models, parents)
            if base is not None:
                for k, v in base.model.relations.items():
                    lm.model.relations.setdefault(k, v)
    return models


def _concrete(lm: LinkedModel, models: dict[str, LinkedModel], parents: Any) -> LinkedModel | None:
    seen = set()
    cur: LinkedModel | None = lm
    while cur is not None and cur.model.proxy and cur.model.key not in seen:
        seen.add(cur.model.key)
        cur = next((p for p in parents(cur) if not p.model.abstract), None)
    return cur


def _label_vars(text: str, lm: LinkedModel) -> str:
    return text.replace("%(class)s", lm.model.class_name.lower()).replace("%(app_label)s", lm.model.key.split(".", 1)[0].lower())


def _add_reverse(lm: LinkedModel, raw: RawField, rel: Relation, target: LinkedModel) -> None:
    related_name = raw.opt("related_name")
    if not isinstance(related_name, str):
        related_name = None  # a literal that is no name (``related_name=["x"]``): Django's default
    else:
        related_name = _label_vars(related_name, lm)
        if related_name.endswith("+"):
            return
    lower = lm.model.class_name.lower()
    rqn = raw.opt("related_query_name")
    query_name = _label_vars(rqn, lm) if isinstance(rqn, str) else (related_name or lower)
    if raw.kind == "o2o":
        kind, name = RelationKind.REVERSE_O2O, related_name or lower
    elif raw.kind in ("m2m",):
        if target is lm and raw.opt("symmetrical", True) is not False and not raw.opt("through"):
            return  # ManyToManyField("self") is symmetrical: the forward accessor serves both ways
        kind, name = RelationKind.M2M, related_name or f"{lower}_set"
    elif raw.kind == "grel":
        return  # GenericRelation has no reverse accessor
    else:
        kind, name = RelationKind.REVERSE_FK, related_name or f"{lower}_set"
    if name in target.model.relations or name in target.model.fields:
        return
    target.model.relations[name] = Relation(name=name, kind=kind, target=lm.model.key, through=rel.through,
                                            provenance=raw.span, query_name=query_name)


def _fill(lm: LinkedModel, parents: list[LinkedModel], target_key: Any) -> None:
    m, raw = lm.model, lm.raw
    meta = raw.meta
    own_meta = meta.present
    lm.meta_present = own_meta
    concrete_parents = [p for p in parents if not p.model.abstract]
    for p in parents:
        if p.model.abstract:
            # abstract: fields, relations, managers and (without an own Meta) Meta are inherited
            for k, v in p.model.fields.items():
                m.fields.setdefault(k, v)
            for rk, rel in p.model.relations.items():
                own = rk in p.fk_fields or rk in p.m2m_fields or rel.kind is RelationKind.GENERIC_FK
                if own or (rel.provenance is not None and rel.kind is RelationKind.REVERSE_FK and rel.query_name == rk):
                    target = m.key if rel.target == p.model.key else rel.target
                    m.relations.setdefault(rk, Relation(rel.name, rel.kind, target, rel.column, rel.lazy, rel.through,
                                                        rel.provenance, rel.query_name))
            lm.sql_types.update(p.sql_types)
            lm.fk_fields = {**p.fk_fields, **lm.fk_fields}
            lm.m2m_fields = {**p.m2m_fields, **lm.m2m_fields}
            for mk, mgr in p.model.managers.items():
                m.managers.setdefault(mk, mgr)
            # ``class Meta(Parent.Meta)`` extends the parents' Meta; without an own Meta the first
            # abstract parent (in MRO order) that has one gives it
            if (own_meta and meta.bases) or (not own_meta and not lm.meta_present and p.meta_present):
                lm.meta_present = lm.meta_present or not own_meta
                lm.meta_indexes.extend(p.meta_indexes)
                lm.meta_constraints.extend(p.meta_constraints)
                lm.unique_together = lm.unique_together or p.unique_together
                lm.index_together = lm.index_together or p.index_together
                if not m.ordering:
                    m.ordering = p.model.ordering
                for ok, opt in p.meta_options.items():
                    lm.meta_options.setdefault(ok, opt)
        else:
            for mk, mgr in p.model.managers.items():
                m.managers.setdefault(mk, mgr)
            if not m.ordering and not own_meta:
                m.ordering = p.model.ordering  # children inherit ordering from concrete parents
    app = m.key.split(".", 1)[0]
    builtin_parent = next((_BUILTIN_MODELS[b] for b in raw.bases if b in _BUILTIN_MODELS), None)
    if m.proxy and not concrete_parents and builtin_parent is not None:
        m.table = BUILTIN_TABLES.get(builtin_parent, "")
    elif m.proxy and concrete_parents:
        p = concrete_parents[0]
        m.table = p.model.table
        m.fields.update(p.model.fields)
        lm.sql_types.update(p.sql_types)
        for rk, rel in p.model.relations.items():
            m.relations.setdefault(rk, rel)
        lm.pk_column, lm.pk_type = p.pk_column, p.pk_type
    else:
        for k in ("db_table", "managed"):
            if meta.opt(k) is not None:
                lm.meta_options[k] = meta.opt(k)
        m.table = str(lm.meta_options.get("db_table") or f"{app}_{m.class_name}".lower())
    ordering = meta.opt("ordering")
    if isinstance(ordering, (list, tuple)):
        m.ordering = tuple(o for o in ordering if isinstance(o, str))
    if own_meta:
        ut = _together(meta.opt("unique_together"))
        it = _together(meta.opt("index_together"))
        lm.unique_together = ut or ([] if meta.opt("unique_together") is not None else lm.unique_together)
        lm.index_together = it or ([] if meta.opt("index_together") is not None else lm.index_together)
        if meta.indexes:
            lm.meta_indexes = list(meta.indexes)
        if meta.constraints:
            lm.meta_constraints = list(meta.constraints)
    for f in raw.fields:
        if f.kind == "field":
            column = str(f.opt("db_column") or f.name)
            # SlugField (and its subclasses: AutoSlugField) indexes by default
            m.fields[f.name] = Field(f.name, column, f.cls, db_index=bool(f.opt("db_index", f.cls.endswith("SlugField"))),
                                     unique=bool(f.opt("unique", False)), nullable=bool(f.opt("null", False)),
                                     primary_key=bool(f.opt("primary_key", False)), provenance=f.span)
            if f.sql_type:
                lm.sql_types[column] = f.sql_type
        elif f.kind in ("fk", "o2o"):
            target = target_key(f.target, lm)
            column = str(f.opt("db_column") or f"{f.name}_id")
            kind = RelationKind.FORWARD_O2O if f.kind == "o2o" else RelationKind.FORWARD_FK
            m.relations[f.name] = Relation(f.name, kind, target, column=column, provenance=f.span,
                                           query_name=f.name)
            # ``book.author_id`` is a plain column: reading it never queries
            m.fields[f"{f.name}_id"] = Field(f"{f.name}_id", column, f.cls,
                                             db_index=f.opt("db_index", True) is not False or f.kind == "o2o",
                                             unique=f.kind == "o2o" or bool(f.opt("unique", False)),
                                             nullable=bool(f.opt("null", False)),
                                             primary_key=bool(f.opt("primary_key", False)), provenance=f.span)
            lm.fk_fields[f.name] = f
        elif f.kind in ("m2m", "grel"):
            target = target_key(f.target, lm)
            through = f.opt("through")
            through_key = target_key(through, lm) if isinstance(through, str) else None
            kind = RelationKind.M2M if f.kind == "m2m" else RelationKind.REVERSE_FK
            m.relations[f.name] = Relation(f.name, kind, target, through=through_key, provenance=f.span,
                                           query_name=f.name)
            if f.kind == "m2m":
                lm.m2m_fields[f.name] = f
        elif f.kind == "gfk":
            m.relations[f.name] = Relation(f.name, RelationKind.GENERIC_FK, "", column=f.gfk[1], provenance=f.span)
    for name, cls in raw.managers:
        m.managers[name] = cls
    # multi-table inheritance: the child's pk is a one-to-one to the parent
    if concrete_parents and not m.proxy:
        p = concrete_parents[0]
        lm.parent = p.model.key
        ptr = f"{p.model.class_name.lower()}_ptr"
        if not any(f.primary_key for f in m.fields.values()):
            m.fields[f"{ptr}_id"] = Field(f"{ptr}_id", f"{ptr}_id", "OneToOneField", db_index=True, unique=True,
                                          primary_key=True, provenance=m.provenance)
            m.relations[ptr] = Relation(ptr, RelationKind.FORWARD_O2O, p.model.key, column=f"{ptr}_id",
                                        provenance=m.provenance, query_name=ptr)
            lm.pk_column, lm.pk_type = f"{ptr}_id", p.pk_type
        lower = m.class_name.lower()
        p.model.relations.setdefault(lower, Relation(lower, RelationKind.REVERSE_O2O, m.key, provenance=m.provenance,
                                                     query_name=lower))
    elif not m.proxy and builtin_parent is not None and not m.abstract:
        # multi-table inheritance from a model we do not read (``class PageUser(User)``)
        ptr = f"{builtin_parent.rsplit('.', 1)[1].lower()}_ptr"
        lm.parent = builtin_parent
        m.fields[f"{ptr}_id"] = Field(f"{ptr}_id", f"{ptr}_id", "OneToOneField", db_index=True, unique=True,
                                      primary_key=True, provenance=m.provenance)
        m.relations[ptr] = Relation(ptr, RelationKind.FORWARD_O2O, builtin_parent, column=f"{ptr}_id",
                                    provenance=m.provenance, query_name=ptr)
        lm.pk_column, lm.pk_type = f"{ptr}_id", "integer"
    elif not m.proxy:
        pk = next((f for f in m.fields.values() if f.primary_key), None)
        if pk is None and not m.abstract:
            m.fields["id"] = Field("id", "id", "BigAutoField", db_index=True, unique=True, primary_key=True,
                                   provenance=m.provenance)
        elif pk is not None:
            lm.pk_column = pk.column
            rawpk = next((f for f in raw.fields if f.name == pk.name), None)
            lm.pk_type = {"serial": "integer", "bigserial": "bigint"}.get(rawpk.sql_type or "", rawpk.sql_type or "bigint") \
                if rawpk is not None and rawpk.sql_type else "bigint"
    m.fields.pop("pk", None)


def _together(value: Any) -> list[tuple[str, ...]]:
    """``[("a", "b")]``, ``{("a", "b")}`` (sorted: a set has no order) and the single group ``("a", "b")``."""
    if isinstance(value, (set, frozenset)):
        value = sorted(v for v in value if isinstance(v, tuple))
    if not isinstance(value, (list, tuple)) or not value:
        return []
    if all(isinstance(v, str) for v in value):
        return [tuple(value)]
    return [tuple(v) for v in value if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v)]

