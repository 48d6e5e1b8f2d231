"""The Python ORM front end: Django and SQLAlchemy models, query sites, loops, call graph.

Entry points used by the engine (phase one):

* :func:`index_models` — fill ``project.models`` (and the model facts of ``project.schema``)
  from every Python file's ``ast`` tree;
* :func:`index_queries` — fill ``project.queries`` with the ORM / DB-API accesses, their
  loops, and ``project.facts["python"]`` with function summaries and the call graph.
"""

from __future__ import annotations

from typing import Any

from querylint.project import ProjectIndex
from querylint.source import SourceFile

#: project.facts key of model facts computed by the parsing workers (index_models takes them)
PREMADE_MODELS = "premade_models"

# a file without any of these defines no model, table, index or declarative base
_MODEL_WORDS = ("class ", "Table(", "Index(", "declarative", "SQLAlchemy(", "generate_base")


def may_define_models(text: str) -> bool:
    """False when the module surely defines no model, table, index or declarative base."""
    return any(w in text for w in _MODEL_WORDS)


def extract_models(path: str, text: str, tree: Any, module: str) -> tuple[Any, Any]:
    """One file's model facts (Django, SQLAlchemy): a pure function of its text and module
    path, so a worker process that parsed the file can compute them as well as this one."""
    from querylint.python import models_django, models_sqlalchemy
    from querylint.python.modpath import is_package_module

    pkg = is_package_module(path)
    return (models_django.extract(path, text, tree, module, is_package=pkg),
            models_sqlalchemy.extract(path, text, tree, module, is_package=pkg))


def models_key(digest: str, module: str) -> str:
    """What a file's model facts answer for, in the cache pack and from a worker: its text and
    its module path."""
    return f"{digest}:{module}"


def premade_models(source: SourceFile, tree: Any, module: str) -> tuple[str, Any] | None:
    """:func:`extract_models` of a file parsed in this process (a SQL worker's, the partner's,
    or the main one's, as it parses), with the key it answers; None when it fails (index_models extracts the file again, and
    reports what goes wrong)."""
    try:
        return models_key(source.digest, module), extract_models(source.path, source.text, tree, module)
    except Exception:
        return None


def models_cache_kind() -> str:
    """The per-file model facts' cache entries: any change to querylint's code makes new ones
    (the facts hold spans and values computed by several modules, not the gatherers alone)."""
    from querylint.cache import package_digest

    return "models-" + package_digest()[:12]


def index_models(project: ProjectIndex) -> None:
    """Django and SQLAlchemy models of every Python file, and the schema facts they imply.

    Per-file extraction is a pure function of the file's text (cached by digest, all files in one
    pack: one read and at most one write per run; a hit needs no tree); linking across files
    then resolves bases, targets and reverse relations.
    ``project.facts["model_schema"]`` gets the models' schema for the migrations builder.
    """
    import ast
    import re

    from querylint.cache import Cache
    from querylint.python import model_schema, models_django, models_sqlalchemy
    from querylint.python.modpath import module_path, package_checker
    from querylint.source import Language

    cache = Cache.for_config(project.config, project.root) if project.config is not None else Cache(None, enabled=False)
    is_pkg = package_checker(project.files, project.root)
    kind = models_cache_kind() if cache.enabled else ""
    dj_files: list[models_django.DjangoFile] = []
    sa_files: list[models_sqlalchemy.SaFile] = []
    auth_user_model = "auth.User"
    pack = cache.get_pack(kind)
    # facts a worker process computed from its own parse this run, keyed like the pack
    premade: dict[str, tuple[str, Any]] = project.facts.pop(PREMADE_MODELS, None) or {}
    new_pack: dict[tuple[str, str], object] = {}  # this run's files only: entries of gone files drop out
    hits = misses = 0
    for path, pf in sorted(project.files.items()):
        src = pf.source
        if src.language is not Language.PYTHON or not may_define_models(src.text):
            continue
        if "AUTH_USER_MODEL" in src.text:
            found = re.search(r"^AUTH_USER_MODEL\s*=\s*[\"']([\w]+\.[\w]+)[\"']", src.text, re.M)
            if found:
                auth_user_model = found.group(1)
        module = module_path(path, is_pkg)
        key = models_key(src.digest, module)
        cached = pack.get((path, key))
        if isinstance(cached, tuple) and len(cached) == 2 and isinstance(cached[0], models_django.DjangoFile) \
                and isinstance(cached[1], models_sqlalchemy.SaFile):
            hits += 1
        else:
            misses += 1
            got = premade.get(path)
            if got is not None and got[0] == key:
                cached = got[1]
            else:
                tree = pf.tree
                if tree is None:
                    try:
                        tree = ast.parse(src.text)
                    except (SyntaxError, ValueError, RecursionError, MemoryError):
                        continue
                cached = extract_models(path, src.text, tree, module)
        new_pack[(path, key)] = cached
        dj, sa = cached
        if dj.classes or dj.app_configs:
            dj_files.append(dj)
        if sa.classes or sa.tables or sa.indexes or sa.bases:
            sa_files.append(sa)
    if misses or len(new_pack) != len(pack):
        cache.put_pack(kind, new_pack)  # before linking, which may add to the extracted facts
    django = models_django.link(dj_files, auth_user_model)
    sa_models, sa_tables, sa_indexes = models_sqlalchemy.link(sa_files)
    for lm in django.values():
        project.models.add(lm.model)
    for slm in sa_models.values():
        if slm.model.key in project.models.models:  # a Django key never lacks its app label: no clash
            continue
        project.models.add(slm.model)
    project.facts["models_cache"] = {"hits": hits, "misses": misses}
    project.facts["model_details"] = {"django": django, "sqlalchemy": (sa_models, sa_tables, sa_indexes)}
    project.facts["model_schema"] = model_schema.schema_from_models(project.models, django,
                                                                    (sa_models, sa_tables, sa_indexes))


def index_queries(project: ProjectIndex) -> None:
    """Query sites, loops and calls of every Python file; facts for the QL2xx rules."""
    from querylint.python import analyzer

    facts = analyzer.analyze(project)
    facts.link_callers()  # the networkx call graph is built only when asked for (facts.graph)
