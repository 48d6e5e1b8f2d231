"""The engine: discover, read and parse once, index the project, check files, filter.

It knows no rule by name: rules are routed by their base class (``querylint.rule``).
"""

from __future__ import annotations

import ast
import dataclasses
import gc
import os
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from querylint import discovery, registry, suppressions
from querylint.cache import RunCache
from querylint.config import Config
from querylint.diagnostics import Diagnostic
from querylint.project import (
    ParsedFile,
    ParseProblem,
    ProjectIndex,
    TreeOnDemand,
    has_tree,
    tree_left_out,
)
from querylint.rule import (
    FileContext,
    InternalErrorRule,
    MigrationRule,
    ParseErrorRule,
    ProjectContext,
    ProjectRule,
    PythonContext,
    PythonRule,
    QueryRule,
    Rule,
    SqlContext,
    SqlRule,
    UnusedSuppressionRule,
    visitor_methods,
)
from querylint.source import Language, SourceFile, Span
from querylint.sqlsource import SqlFragment, SqlStatement


@dataclass
class RunResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, SourceFile] = field(default_factory=dict)
    checked: list[str] = field(default_factory=list)
    project: ProjectIndex | None = None


def read_file(abspath: str, path: str, config: Config) -> tuple[SourceFile | None, ParseProblem | None]:
    """Read one file as text; binary, undecodable, huge or missing files become a problem."""
    src, prob, _digest = _read(abspath, path, config)
    return src, prob


def _read(abspath: str, path: str, config: Config) -> tuple[SourceFile | None, ParseProblem | None, str | None]:
    """:func:`read_file`, plus the digest of the bytes read (None when nothing was read)."""
    from querylint.cache import bytes_digest

    empty = Span(path, 0, 0)
    lang = Language.for_path(path) or Language.PYTHON
    try:
        size = os.path.getsize(abspath)
        if size > config.max_file_size:
            return None, ParseProblem(empty, f"file is {size} bytes, over the {config.max_file_size}-byte limit (`max-file-size`); not checked"), None
        with open(abspath, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return None, ParseProblem(empty, "file not found"), None
    except OSError as exc:
        return None, ParseProblem(empty, f"cannot read file: {exc.strerror or exc}"), None
    digest = bytes_digest(data)
    if b"\x00" in data:
        return None, ParseProblem(empty, "file contains NUL bytes (binary?); not checked"), digest
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, ParseProblem(empty, f"file is not valid UTF-8 (invalid byte 0x{data[exc.start]:02x} on line {line}); not checked"), digest
    return SourceFile(path, text, lang, abspath), None, digest


def parse_file(source: SourceFile, dialect: str = "postgres", *, sql: bool = True) -> ParsedFile:
    """Parse once: ``ast`` for Python (plus the SQL inside it), pglast for SQL.

    ``sql=False``: the Python tree only (a worker process finds and parses the SQL).
    """
    pf = ParsedFile(source)
    if source.language is Language.PYTHON:
        try:
            pf.tree = ast.parse(source.text, filename=source.path)
        except SyntaxError as exc:
            lineno = exc.lineno or 1
            col = (exc.offset or 1) - 1
            start = source.offset(lineno, col + 1) if lineno <= source.line_count else len(source.text)
            # syntax of a later Python than this one is named as such (the project's own target too)
            from querylint.pyversion import syntax_error_message

            message = syntax_error_message(source.text, exc, source.abspath)
            pf.problems.append(ParseProblem(Span(source.path, start, min(len(source.text), start + 1)), message))
            return pf
        except (ValueError, RecursionError, MemoryError) as exc:
            pf.problems.append(ParseProblem(Span(source.path, 0, 0), f"Python file could not be parsed: {exc}"))
            return pf
    if sql:
        parse_sql_of(pf, dialect)
    return pf


def parse_sql_of(pf: ParsedFile, dialect: str) -> None:
    """The SQL half of :func:`parse_file`: fragments (SQL in Python strings, or the whole file)."""
    from querylint import sql as sqlfe

    source = pf.source
    if source.language is Language.PYTHON:
        assert pf.tree is not None
        pf.fragments = sqlfe.find_sql_in_python(source, pf.tree)
    else:
        pf.fragments = [SqlFragment.whole_file(source.path, source.text)]
    for frag in pf.fragments:
        stmts, problems = sqlfe.parse_fragment(frag, dialect)
        pf.statements.extend(stmts)
        pf.problems.extend(problems)


# -- parallel parsing ---------------------------------------------------------------------------
#
# Every tree is needed in this process (the Python front end reads them all), and unpickling a
# tree costs more than parsing it: so workers take the SQL half only. This process parses the
# files that can hold SQL (.sql files, Python with a candidate call) first, then forks the
# workers, which inherit those trees, find and parse the SQL, extract the files' model facts
# and send back fragments, statements, problems and facts, while this process parses the rest.
# (Without ``fork`` a worker reads and parses its files itself.)

#: fewer bytes than this to hand to workers: starting processes costs more than they save
PARALLEL_MIN_BYTES = 1_000_000

#: (path, text digest, has tree, fragments, statements, problems, model facts): the model facts
#: (``python.extract_models`` with the pack key they answer) of a file that may define models,
#: computed from the worker's tree, which it has anyway
SqlHalf = tuple[str, str, bool, list[SqlFragment], list[SqlStatement], list[ParseProblem], "tuple[str, Any] | None"]
#: (path, abspath, module path when the file may define models)
_SqlJob = tuple[str, str, "str | None"]


#: the files the main process parsed before forking the workers: they inherit the trees
#: (copy-on-write) instead of reading and parsing those files again
_INHERITED: dict[str, ParsedFile] = {}


def _sql_half(job: tuple[list[_SqlJob], Config]) -> list[SqlHalf]:
    """Worker: the SQL half of parsing of each file, and its model facts when asked for."""
    files, cfg = job
    out: list[SqlHalf] = []
    # each tree is dropped by reference counting when its file is done; the cyclic collector
    # would only walk the tree being built, again and again (see _LongLivedTrees)
    gc.disable()
    for path, abspath, module in files:
        had = _INHERITED.get(path)
        if had is not None:  # parsed before the fork: what parse_file would do, minus the parse
            src = had.source
            pf = ParsedFile(src)
            pf.tree, pf.problems = had.tree, list(had.problems)
            if pf.tree is not None or src.language is Language.SQL:
                parse_sql_of(pf, cfg.sql_dialect)
        else:
            read, _prob = read_file(abspath, path, cfg)
            if read is None:
                continue
            src = read
            pf = parse_file(src, cfg.sql_dialect)
        models: tuple[str, Any] | None = None
        if module is not None and pf.tree is not None:
            from querylint.python import premade_models

            models = premade_models(src, pf.tree, module)
        out.append((path, src.digest, pf.tree is not None, pf.fragments, pf.statements, pf.problems, models))
    return out


def _chunks(sizes: list[tuple[str, str, str | None, int]], n: int) -> list[list[_SqlJob]]:
    """Files dealt to ``n`` chunks by bytes, largest first (each to the lightest chunk)."""
    chunks: list[list[_SqlJob]] = [[] for _ in range(n)]
    load = [0] * n
    for path, abspath, module, size in sorted(sizes, key=lambda t: (-t[3], t[0])):
        i = load.index(min(load))
        chunks[i].append((path, abspath, module))
        load[i] += size
    return [c for c in chunks if c]


def _tree_on_demand(src: SourceFile) -> ParsedFile:
    """The file of a tree another process parsed: parsed here only if something asks for it."""
    pf = ParsedFile(src)
    TreeOnDemand.adopt(pf)
    return pf


class _LongLivedTrees:
    """The cyclic garbage collector stays off while the trees are built, then they are frozen.

    Every tree lives until the run ends, yet each full collection would walk all of them
    again: with the collector on, parsing a project costs three times a bare ``ast.parse``
    pass. Frozen objects (``gc.freeze``) are skipped by collections; the rest of the run
    collects as usual, and everything is unfrozen when the run ends.
    """

    _depth = 0
    _was_enabled = True

    def __enter__(self) -> _LongLivedTrees:
        cls = type(self)
        if cls._depth == 0:
            cls._was_enabled = gc.isenabled()
            gc.disable()
        cls._depth += 1
        return self

    _frozen = False

    @classmethod
    def parsed(cls) -> None:
        """The trees are built: freeze them, collect the rest as usual."""
        if cls._depth > 0:
            gc.freeze()
            cls._frozen = True
            if cls._was_enabled:
                gc.enable()

    @classmethod
    def freeze_more(cls) -> None:
        """Freeze what was made since the trees, which lives as long (the Python facts), when
        the trees were frozen (``gc.get_freeze_count`` would tell too, but counts them one by
        one: 0.02 s on a large project)."""
        if cls._frozen:
            gc.freeze()

    def __exit__(self, *exc: object) -> None:
        cls = type(self)
        cls._depth -= 1
        if cls._depth == 0:
            cls._frozen = False
            gc.unfreeze()
            if cls._was_enabled:
                gc.enable()


def freeze_more() -> None:
    """See :meth:`_LongLivedTrees.freeze_more`."""
    _LongLivedTrees.freeze_more()


def _workers() -> int:
    from querylint.parallel import available_cpus

    return max(0, available_cpus() - 1)  # this process is busy with the trees


class _SqlPool:
    """Workers for the SQL half of parsing; every failure falls back to this process."""

    def __init__(self, chosen: list[SourceFile], cfg: Config, jobs: int | None, min_bytes: int,
                 module_of: Callable[[SourceFile], str | None] = lambda s: None,
                 parse_first: Callable[[list[SourceFile]], Mapping[str, ParsedFile]] | None = None) -> None:
        """``chosen``: the files that may hold SQL (.sql files, Python with a candidate call).
        ``parse_first``: parses them in this process before the workers are forked, so that
        they inherit the trees (only with the ``fork`` start method)."""
        self.results: dict[str, SqlHalf] = {}
        self.futures: list[Any] = []
        self.executor: Any = None
        self.offloaded: set[str] = set()
        workers = _workers() if jobs is None else max(0, jobs - 1)
        if workers == 0:
            return
        picked = [(s.path, s.abspath, module_of(s), len(s.text)) for s in chosen]
        # one file is nothing to share out: a worker would parse it while this process waits,
        # then pickle its trees back (a 1.2 MB SQL file: 3.4 s here, 6.4 s through a worker)
        if len(picked) < 2 or sum(size for *_x, size in picked) < min_bytes:
            return
        try:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            methods = multiprocessing.get_all_start_methods()
            if "fork" in methods and parse_first is not None:
                _INHERITED.update(parse_first(chosen))
            ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
            self.executor = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
            for chunk in _chunks(picked, workers * 4):
                self.futures.append(self.executor.submit(_sql_half, (chunk, cfg)))
                self.offloaded.update(path for path, _a, _m in chunk)
        except Exception:  # no processes here (sandbox, no /dev/shm...): all in this process
            self.close()
            self.offloaded.clear()
            _INHERITED.clear()

    def collect(self) -> None:
        try:
            for fut in self.futures:
                for item in fut.result():
                    self.results[item[0]] = item
        except Exception:
            pass  # a dead worker: the files it had are parsed here
        finally:
            self.close()
            _INHERITED.clear()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


class OnIndexError(Protocol):
    """What ``index_project`` calls when a step fails: where, the exception, and the span of the
    input that caused it when one file's is known (the QL000 lands there)."""

    def __call__(self, where: str, exc: BaseException, span: Span | None = None, /) -> None: ...


def index_project(files: dict[str, ParsedFile], root: str, on_error: OnIndexError, config: Config | None = None,
                  premade_models: Mapping[str, tuple[str, Any]] | None = None, partner: Any = None) -> ProjectIndex:
    """Phase one: models, migrations, schema, queries, call graph.

    ``premade_models``: model facts the parsing workers computed, by path (with their key).
    ``partner``: the process holding half of the trees (``querylint.python.split``).
    """
    from querylint import migrations, python
    from querylint import sql as sqlfe
    from querylint.python.split import PARTNER

    project = ProjectIndex(root=root, files=files, config=config)
    if premade_models:
        project.facts[python.PREMADE_MODELS] = dict(premade_models)
    if partner is not None:
        project.facts[PARTNER] = partner
        partner.send_stubs(files)  # read while the registry is built
    steps: list[tuple[str, Callable[[ProjectIndex], None]]] = [
        ("models", python.index_models),
        ("migrations", migrations.gather),
        ("schema", migrations.build_schema),
        ("python queries", python.index_queries),
    ]
    for name, step in steps:
        try:
            step(project)
        except Exception as exc:  # one broken front end must not stop the run
            on_error(name, exc)
        # the partner walks as soon as it has the registry; the schema reaches it meanwhile
        if partner is not None and name == "models":
            partner.send_registry(project.models)
        elif partner is not None and name == "schema":
            partner.send_schema(project.schema)
    project.facts.pop(PARTNER, None)  # the analysis took it, unless a step before it failed
    for pf in files.values():
        for st in pf.statements:
            try:
                project.queries.extend(sqlfe.to_queries(st))
            except Exception as exc:
                on_error(f"SQL -> IR in {pf.source.path}", exc, st.span)
    return project


class Engine:
    def __init__(self, config: Config, rules: Sequence[Rule] | None = None, *, verbose: bool = False) -> None:
        self.config = config
        self.rules = list(rules) if rules is not None else registry.instantiate(config)
        self.registry_rules = rules is None
        #: processes for parsing (None: one per CPU); bytes of SQL-bearing files below which
        #: everything is parsed in this process
        self.jobs: int | None = None
        self.parallel_min_bytes = PARALLEL_MIN_BYTES
        #: bytes of Python below which no partner process takes half of the project
        #: (``querylint.python.split``); the partner of the running index, if any
        self.split_min_bytes: int | None = None
        self._partner: Any = None
        self.offloaded = 0  # files whose SQL the last run parsed in workers
        #: files of the last run that the partner process parsed and walked (querylint.python.split)
        self.halved: frozenset[str] = frozenset()
        #: model facts the parsing workers computed (index_models takes them), by path
        self._premade_models: dict[str, tuple[str, Any]] = {}
        #: whether a file of the run may hold a suppression comment, computed as it was parsed
        #: (with a partner, each process for its files: not in the checks' tail), with the source
        #: it holds for (a later run reads the file again)
        self._suppressible: dict[str, tuple[SourceFile, bool]] = {}
        self._internal_errors = 0
        self.verbose = verbose
        self.warn: Callable[[str], None] | None = None  # told about skipped explicit files
        #: where each run's result goes too when set (the command line keeps them until it exits)
        self.keep: list[Any] | None = None
        self.all_rule_classes = registry.all_rules()
        self._tool: dict[type[Rule], type[Rule] | None] = {}
        self.sql_rules = [r for r in self.rules if isinstance(r, SqlRule)]
        self.py_rules = [r for r in self.rules if isinstance(r, PythonRule)]
        self.query_rules = [r for r in self.rules if isinstance(r, QueryRule)]
        self.migration_rules = [r for r in self.rules if isinstance(r, MigrationRule)]
        self.project_rules = [r for r in self.rules if isinstance(r, ProjectRule)]
        self._sql_visitors = _dispatch_table(self.sql_rules)
        self._py_visitors = _dispatch_table(self.py_rules)
        self._py_module_only = set(self._py_visitors) <= {"Module"}
        self.enabled_codes = {r.code for r in self.rules}

    # -- tool diagnostics ---------------------------------------------------------------
    def _tool_rule(self, base: type[Rule]) -> type[Rule] | None:
        if base not in self._tool:
            self._tool[base] = next((c for c in self.all_rule_classes if issubclass(c, base)), None)
        return self._tool[base]

    def tool_diagnostic(self, base: type[Rule], span: Span, message: str, *, help: str | None = None, details: str | None = None) -> Diagnostic | None:
        cls = self._tool_rule(base)
        if cls is None or cls.code not in self.enabled_codes:
            return None
        return Diagnostic(cls.code, cls.name, span, message, severity=cls.severity, help=help, details=details)

    def internal_error(self, span: Span, where: str, exc: BaseException) -> Diagnostic | None:
        self._internal_errors += 1  # a run that met one is never cached (it may be transient)
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return self.tool_diagnostic(
            InternalErrorRule, span,
            f"internal error in {where}: {type(exc).__name__}: {exc}",
            help="Please report this; run with --verbose for the traceback. Other rules and files were still checked.",
            details=tb,
        )

    # -- the run -------------------------------------------------------------------------
    def run(self, paths: Sequence[str], *, stdin: tuple[str, str] | None = None, overrides: Mapping[str, str] | None = None) -> RunResult:
        """Lint ``paths`` (or one buffer: ``stdin=(display_path, text)``).

        ``overrides`` maps display paths to text used instead of the file on disk (``--diff``).
        A run on files alone is answered from the run cache while no project file changed.
        """
        with _LongLivedTrees():
            result = self._run(paths, stdin=stdin, overrides=overrides)
        if self.keep is not None:
            self.keep.append(result)
        return result

    def _run(self, paths: Sequence[str], *, stdin: tuple[str, str] | None, overrides: Mapping[str, str] | None) -> RunResult:
        cfg = self.config
        root = os.path.abspath(cfg.root)
        result = RunResult()
        problems: list[tuple[str, ParseProblem]] = []
        files: dict[str, ParsedFile] = {}
        self._internal_errors = 0

        self._suppressible = {}
        targets: list[str] = []
        if stdin is not None:
            spath, text = stdin
            if discovery.is_force_excluded(os.path.abspath(spath), cfg):
                return result
            disp = discovery.display_path(os.path.abspath(spath), root)
            on_disk = _text_on_disk(spath)
            if on_disk is not None:
                # an editor's buffer of a file that exists: the ordinary pipeline (parallel
                # parsing, the per-file caches), and when the buffer is what is saved (lint on
                # save) the run and index caches answer as for `querylint check FILE`
                if on_disk == text:
                    return self._run([spath], stdin=None, overrides=None)
                return self._run([spath], stdin=None, overrides={disp: text})
            # a buffer of a file not saved yet: it and the project, parsed like any run
            lang = Language.for_path(disp) or Language.PYTHON
            buffered = {disp: SourceFile(disp, text, lang, os.path.abspath(spath))}
            targets.append(disp)
            for cand in discovery.project_files(cfg, exclude=set(buffered)):
                src, _prob = read_file(cand.abspath, cand.path, cfg)
                if src is not None:
                    buffered[cand.path] = src
            files = self._parse_all(buffered, {disp})
            return self._finish(result, files, targets, problems, root)

        cands = list(discovery.discover(paths, cfg, warn=self.warn))
        # the rest of the project, for the index (models, schema, functions that query);
        # nothing to add when the root itself was walked (`querylint check .`)
        walked_root = any(os.path.abspath(p) == root for p in paths)
        walk = [] if walked_root else list(discovery.project_files(cfg, exclude=set()))
        cand_paths = {c.path for c in cands}
        rest = [c for c in walk if c.path not in cand_paths]
        manifest = list(dict.fromkeys((c.path, c.abspath) for c in [*cands, *rest]))
        # the index reads the files in the project's walk order whatever the targets, so a run
        # on three files builds the same index as a run on the whole project (and can share it)
        index_manifest = manifest if walked_root else list(dict.fromkeys([*((c.path, c.abspath) for c in walk), *manifest]))
        run_cache, key = self._run_cache(paths, overrides)
        index_key = ""
        if run_cache is not None:
            run_cache.take_stats(manifest)
            hit = self._from_run_cache(run_cache, key, manifest)
            if hit is not None:
                return hit
            index_key = RunCache.key("index", key_config(cfg))
            cached_index = run_cache.lookup(index_key, index_manifest, "index")
            if isinstance(cached_index, _CachedIndex):
                done = self._run_on_index(cached_index, cands, root)
                if done is not None:
                    run_cache.store(key, manifest, cached_index.digests, _CachedRun.of(done, cached_index.digests))
                    return done
        digests: dict[str, str | None] = {}
        sources: dict[str, SourceFile] = {}
        overridden: set[str] = set()
        for cand in cands:
            if cand.path in sources:
                continue
            if overrides is not None and cand.path in overrides:
                lang = Language.for_path(cand.path) or Language.PYTHON
                sources[cand.path] = SourceFile(cand.path, overrides[cand.path], lang, cand.abspath)
                overridden.add(cand.path)
                targets.append(cand.path)
                continue
            src, prob, digests[cand.path] = _read(cand.abspath, cand.path, cfg)
            if src is None:
                assert prob is not None
                problems.append((cand.path, prob))
                targets.append(cand.path)
                continue
            sources[cand.path] = src
            targets.append(cand.path)
        for cand in rest:
            if cand.path in sources:
                continue
            src, prob, digest = _read(cand.abspath, cand.path, cfg)
            digests.setdefault(cand.path, digest)
            if src is not None:
                sources[cand.path] = src
        files = self._parse_all(sources, overridden)
        if not walked_root:
            files = {p: files[p] for p, _ in index_manifest if p in files}

        project, index_errors = self._index(files, targets, root)
        if run_cache is not None and not self._internal_errors:
            _store_index(run_cache, index_key, index_manifest, digests, project)
        result = self._check(result, project, index_errors, files, targets, problems)
        if run_cache is not None and not self._internal_errors:
            run_cache.store(key, manifest, digests, _CachedRun.of(result, digests))
        return result

    def _parse_all(self, sources: dict[str, SourceFile], overridden: set[str]) -> dict[str, ParsedFile]:
        """:func:`parse_file` of every source; the SQL half from the per-file cache, or in worker
        processes when it pays."""
        from querylint.cache import Cache

        cfg = self.config
        dialect = cfg.sql_dialect
        self._premade_models = {}
        cache = Cache.for_config(cfg, cfg.root) if self.registry_rules else Cache(None, enabled=False)
        # the pack holds the files that can hold SQL only (for the others it is found in no time)
        kind = _sql_cache_kind(dialect) if cache.enabled else ""
        pack = cache.get_pack(kind) if kind else {}
        cached: dict[str, Any] = {}
        for path, src in sources.items() if pack else ():
            got = pack.get((path, src.digest))
            if isinstance(got, tuple) and len(got) == 4 and path not in overridden:
                cached[path] = got
        from querylint.python import may_define_models
        from querylint.python.modpath import module_path, package_checker

        is_pkg = package_checker(sources, os.path.abspath(cfg.root))

        def module_of(src: SourceFile) -> str | None:  # the workers extract models too
            if src.language is not Language.PYTHON or not may_define_models(src.text):
                return None
            return module_path(src.path, is_pkg)

        from_cache = set(cached)
        partner = self._start_partner(sources, overridden, from_cache, module_of, pickled=cache.enabled)
        if partner is not None:  # which files can hold SQL: found by each process as it parses
            files, sql_bearing = self._parse_beside(partner, sources, overridden, from_cache, module_of)
        else:
            sql_bearing = {p for p, s in sources.items() if p not in overridden and _may_hold_sql(s)}
            files = self._parse_here(sources, sql_bearing, from_cache, module_of)
        for path in cached:
            pf = files[path]
            parsed = has_tree(pf)
            if not parsed and pf.source.language is Language.PYTHON:
                continue  # a syntax error: parse_file stops there too
            had_tree, fragments, statements, problems = cached[path]
            if had_tree == parsed:
                pf.fragments, pf.statements, pf.problems = fragments, statements, problems
            else:
                parse_sql_of(pf, dialect)
        if kind:  # one pack of this run's files: entries of changed or gone files drop out
            new_pack: dict[tuple[str, str], Any] = {}
            for path in sorted(sql_bearing):
                pf = files[path]
                parsed = has_tree(pf)
                if parsed or pf.source.language is Language.SQL:
                    new_pack[(path, pf.source.digest)] = (parsed, pf.fragments, pf.statements, pf.problems)
            if new_pack.keys() != pack.keys():
                cache.put_pack(kind, new_pack)
        return files

    def _parse_here(self, sources: dict[str, SourceFile], sql_bearing: set[str], cached: set[str],
                    module_of: Callable[[SourceFile], str | None]) -> dict[str, ParsedFile]:
        """Every file parsed in this process, the SQL of the larger projects in worker processes."""
        dialect = self.config.sql_dialect
        early: dict[str, ParsedFile] = {}  # parsed before the workers were forked

        def parse_first(chosen: list[SourceFile]) -> dict[str, ParsedFile]:
            for src in chosen:
                early[src.path] = parse_file(src, dialect, sql=False)
            return early

        offload = [s for p, s in sources.items() if p in sql_bearing and p not in cached]
        pool = _SqlPool(offload, self.config, self.jobs, self.parallel_min_bytes, module_of, parse_first)
        self.offloaded = len(pool.offloaded)
        for path, pf in early.items():  # the workers could not take them after all
            if path not in pool.offloaded and (pf.tree is not None or pf.source.language is Language.SQL):
                parse_sql_of(pf, dialect)
        files = {path: early.get(path) or parse_file(src, dialect, sql=path not in pool.offloaded and path not in cached)
                 for path, src in sources.items()}
        _LongLivedTrees.parsed()
        pool.collect()
        for path in pool.offloaded:
            pf = files[path]
            if not has_tree(pf) and pf.source.language is Language.PYTHON:
                continue  # a syntax error: parse_file stops there too
            got = pool.results.get(path)
            if got is not None and got[1] == pf.source.digest and got[2] == (pf.tree is not None):
                pf.fragments, pf.statements, pf.problems = got[3], got[4], got[5]
                if got[6] is not None:
                    self._premade_models[path] = got[6]
            else:  # the worker failed, or read another text: here, then
                parse_sql_of(pf, dialect)
        return files

    def _parse_beside(self, partner: Any, sources: dict[str, SourceFile], overridden: set[str], cached: set[str],
                      module_of: Callable[[SourceFile], str | None]) -> tuple[dict[str, ParsedFile], set[str]]:
        """Every file parsed here or by the partner: the files only this process may parse first,
        then the next file of the queue the partner takes from too, until none is left, each
        file's model facts and stub with it; and the files that can hold SQL (the cached ones,
        and those either process found to). With the partner both CPUs are busy: no SQL worker
        would help."""
        from querylint.python import premade_models

        dialect = self.config.sql_dialect
        self.offloaded = 0
        own: dict[str, ParsedFile] = {}
        bearing = set(cached)

        def parse(src: SourceFile) -> None:
            path = src.path
            if path in overridden:
                sql = True  # never cached, never in the pack
            elif path in cached:
                sql = False
            else:
                sql = _may_hold_sql(src)
                if sql:
                    bearing.add(path)
            pf = own[path] = parse_file(src, dialect, sql=sql)
            self._suppressible[path] = (src, suppressions.may_hold_suppressions(src.text))
            if pf.tree is None:
                return
            module = module_of(src)
            got = premade_models(src, pf.tree, module) if module is not None else None
            if got is not None:
                self._premade_models[path] = got
            if path.endswith(".py"):
                partner.index_own(pf)

        for path, src in sources.items():
            if path not in partner.queued:
                parse(src)
        while (src := partner.take()) is not None:
            parse(src)
            partner.poll()
        _LongLivedTrees.parsed()
        theirs: dict[str, ParsedFile] = {}
        if partner.collect_stubs():
            self._premade_models.update(partner.models)
            for path in partner.stubs:
                pf = theirs[path] = _tree_on_demand(sources[path])
                if path in partner.sql:
                    pf.fragments, pf.statements, pf.problems = partner.sql[path]
            for path in partner.unparsed:  # its message (a syntax error) comes from here
                theirs[path] = parse_file(sources[path], dialect)
            self._partner = partner
            self.halved = frozenset(partner.stubs)
            bearing.update(partner.sql)
            self._suppressible.update((path, (sources[path], flag)) for path, flag in partner.suppressible.items())
        else:  # it failed: its files are parsed here after all
            partner.close()
        files = {path: own.get(path) or theirs.get(path) or parse_file(src, dialect, sql=path not in cached)
                 for path, src in sources.items()}
        return files, bearing

    def _start_partner(self, sources: dict[str, SourceFile], overridden: set[str], sql_cached: set[str],
                       module_of: Callable[[SourceFile], str | None], *, pickled: bool = False) -> Any:
        """A forked partner parsing and walking a share of the project's Python files, or None
        (too small a project, one CPU, no ``fork``): ``querylint.python.split``."""
        from querylint.python import split

        self._partner = None
        self.halved = frozenset()
        min_bytes = split.MIN_BYTES if self.split_min_bytes is None else self.split_min_bytes
        if (_workers() if self.jobs is None else self.jobs - 1) <= 0:
            return None
        python = [s for s in sources.values() if s.language is Language.PYTHON]
        total = sum(len(s.text) for s in python)
        if total < min_bytes or not split.available():
            return None
        from querylint.migrations import reads_tree

        # files whose trees only the parse and the Python analysis read (the migration readers
        # read migrations, settings and app configs); stub files too, which are parsed and never
        # walked: parsed here, they left the partner more of the files that are walked (on
        # mlflow-skinny 27 `.pyi` files, 7% of the parse, made its walk ~25% longer than this one's)
        eligible = [s for s in python if s.path.endswith((".py", ".pyi")) and s.path not in overridden and not reads_tree(s.path, s.text)]
        if not eligible:
            return None
        from querylint.python.analyzer import unread_test

        unread = unread_test(self.config)
        queue = sorted(eligible, key=lambda s: (-split.cost(s, not unread(s.path)), s.path))
        try:
            return split.Partner(queue, module_of, sql_cached, sources, self.config, os.path.abspath(self.config.root),
                                 pickled=pickled)
        except Exception:  # no processes here (sandbox...): everything in this process
            return None

    def _index(self, files: dict[str, ParsedFile], targets: list[str], root: str) -> tuple[ProjectIndex, list[Diagnostic]]:
        index_errors: list[Diagnostic] = []

        def on_error(where: str, exc: BaseException, span: Span | None = None, /) -> None:
            if span is None:  # a project-wide step: no one file caused it
                span = Span(targets[0] if targets else ".", 0, 0)
            d = self.internal_error(span, f"project indexing ({where})", exc)
            if d is not None:
                index_errors.append(d)

        premade, self._premade_models = self._premade_models, {}
        partner, self._partner = self._partner, None
        try:
            return index_project(files, root, on_error, config=self.config, premade_models=premade, partner=partner), index_errors
        finally:
            if partner is not None:
                partner.close()

    def _finish(self, result: RunResult, files: dict[str, ParsedFile], targets: list[str],
                problems: list[tuple[str, ParseProblem]], root: str) -> RunResult:
        project, index_errors = self._index(files, targets, root)
        return self._check(result, project, index_errors, files, targets, problems)

    def _check(self, result: RunResult, project: ProjectIndex, index_errors: list[Diagnostic], files: dict[str, ParsedFile],
               targets: list[str], problems: list[tuple[str, ParseProblem]]) -> RunResult:
        """Check the targets against the index, filter and sort the findings."""
        cfg = self.config
        result.project = project
        result.diagnostics.extend(index_errors)

        for _path, prob in problems:
            d = self.tool_diagnostic(ParseErrorRule, prob.span, prob.message)
            if d is not None:
                result.diagnostics.append(d)

        checked = [t for t in targets if t in files]
        result.checked = checked
        for path in checked:
            pf = files[path]
            result.sources[path] = pf.source
            result.diagnostics.extend(self.check_file(pf, project))

        if self.project_rules:
            pctx = ProjectContext(project, cfg, frozenset(checked))
            for rule in self.project_rules:
                try:
                    for d in rule.check_project(pctx) or ():
                        if d.span.path in pctx.checked_paths:
                            result.diagnostics.append(d)
                except Exception as exc:
                    e = self.internal_error(Span(checked[0] if checked else ".", 0, 0), f"rule {rule.name}", exc)
                    if e is not None:
                        result.diagnostics.append(e)

        result.diagnostics = self._filter(result.diagnostics, result.sources, files)
        result.diagnostics.sort(key=lambda d: (d.span.path, d.span.start, d.code))
        return result

    def _run_on_index(self, cached: _CachedIndex, cands: list[discovery.Candidate], root: str) -> RunResult | None:
        """Check ``cands`` against a cached index: only the targets are read (and their Python
        re-parsed for the tree rules). None when a target changed since the lookup."""
        project = cached.project
        files = project.files
        problems: list[tuple[str, ParseProblem]] = []
        targets: list[str] = []
        seen: set[str] = set()
        for cand in cands:
            if cand.path in seen:
                continue
            src, prob, digest = _read(cand.abspath, cand.path, self.config)
            if digest != cached.digests.get(cand.path):
                return None
            if src is None:
                assert prob is not None
                problems.append((cand.path, prob))
                targets.append(cand.path)
                continue
            pf = files.get(cand.path)
            if pf is None:
                return None
            if cand.path in cached.trees:
                try:
                    pf.tree = ast.parse(pf.source.text, filename=pf.source.path)
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    return None
            seen.add(cand.path)
            targets.append(cand.path)
        for path in cached.trees:
            if files[path].tree is None:  # not a target: parsed if the checks look at it
                TreeOnDemand.adopt(files[path])
        return self._check(RunResult(), project, [], files, targets, problems)

    # -- the run cache ----------------------------------------------------------------------
    def _run_cache(self, paths: Sequence[str], overrides: Mapping[str, str] | None) -> tuple[RunCache | None, str]:
        """The run cache and this run's key; None when results cannot be reused.

        Not for texts that are not on disk (``overrides``: the rounds of ``--fix``), rules passed
        in by the caller (their code is not in the key), or a live database (``dsn``).
        """
        from querylint.cache import Cache, RunCache

        cfg = self.config
        if overrides is not None or not self.registry_rules or getattr(cfg, "dsn", None):
            return None, ""
        cache = Cache.for_config(cfg, cfg.root)
        if not cache.enabled:
            return None, ""
        key = RunCache.key("check", key_config(cfg), [os.path.abspath(p) for p in paths])
        return RunCache(cache), key

    def _from_run_cache(self, run_cache: RunCache, key: str, manifest: list[tuple[str, str]]) -> RunResult | None:
        cached = run_cache.lookup(key, manifest)
        if not isinstance(cached, _CachedRun):
            return None
        abspaths = dict(manifest)
        result = RunResult(diagnostics=list(cached.diagnostics), checked=list(cached.checked))
        # the reporters (and --fix) need the text of every file a finding points into
        sources = _LazySources(self.config, {p: abspaths[p] for p in cached.checked if p in abspaths})
        for path in cached.referenced:
            if path not in abspaths:
                return None
            src, _prob, digest = _read(abspaths[path], path, self.config)
            if src is None or digest != cached.digests.get(path):
                return None  # changed since the lookup: run
            sources.loaded[path] = src
        result.sources = sources
        return result

    def build_index(self, paths: Sequence[str], *, whole_project: bool = True) -> ProjectIndex:
        """Phase one only: read, parse and index ``paths`` (and, by default, the rest of the project).

        Used by ``querylint schema``. Indexing errors are collected in ``facts["index_errors"]``.
        """
        from querylint.cache import Cache

        cfg = self.config
        Cache.for_config(cfg, cfg.root)  # a cache-dir that is not a folder of its own: exit 2, as for check
        files: dict[str, ParsedFile] = {}
        cands = list(discovery.discover(paths, cfg))
        if whole_project:
            cands.extend(discovery.project_files(cfg, exclude={c.path for c in cands}))
        for cand in cands:
            if cand.path in files:
                continue
            src, _prob = read_file(cand.abspath, cand.path, cfg)
            if src is not None:
                files[cand.path] = parse_file(src, cfg.sql_dialect)
        errors: list[str] = []
        project = index_project(files, os.path.abspath(cfg.root), lambda where, exc, span=None: errors.append(f"{where}: {type(exc).__name__}: {exc}"), config=cfg)
        project.facts["index_errors"] = errors
        return project

    def check_file(self, pf: ParsedFile, project: ProjectIndex) -> list[Diagnostic]:
        cfg = self.config
        out: list[Diagnostic] = []
        src = pf.source
        for prob in pf.problems:
            d = self.tool_diagnostic(ParseErrorRule, prob.span, prob.message)
            if d is not None:
                out.append(d)

        def guarded(rule: Rule, fn: Callable[..., Iterable[Diagnostic] | None], args: tuple[Any, ...], span: Span) -> None:
            try:
                out.extend(fn(*args) or ())
            except Exception as exc:
                e = self.internal_error(span, f"rule {rule.name} on {src.path}", exc)
                if e is not None:
                    out.append(e)

        # Python tree rules: one walk
        if self.py_rules and has_tree(pf):
            if self._py_module_only and tree_left_out(pf):
                # rules that read the facts, not the tree: the tree another process parsed is
                # not parsed again here (the context parses it if a rule asks for parents)
                pctx = PythonContext(src, project, cfg, parsed=pf)
                nodes: Iterable[ast.AST] = (ast.Module(body=[], type_ignores=[]),)
            else:
                assert pf.tree is not None
                pctx = PythonContext(src, project, cfg, tree=pf.tree)
                # rules that visit only the module need no walk (ast.walk yields the module first)
                nodes = (pf.tree,) if self._py_module_only else ast.walk(pf.tree)
            for node in nodes:
                for rule, meth in self._py_visitors.get(type(node).__name__, ()):
                    guarded(rule, meth, (node, pctx), pctx.node_span(node) if hasattr(node, "lineno") else Span(src.path, 0, 0))

        # SQL tree rules: one walk per statement
        if self.sql_rules and pf.statements:
            from querylint.sql.walk import walk

            visitors = self._sql_visitors
            for st in pf.statements:
                sctx = SqlContext(src, project, cfg, statement=st)
                try:
                    for ancestors, node in walk(st.node):  # pglast's order, linear in the tree
                        handlers = visitors.get(type(node).__name__)
                        if handlers:
                            sctx.ancestors = ancestors
                            for rule, meth in handlers:
                                guarded(rule, meth, (node, sctx), st.span)
                except Exception as exc:
                    e = self.internal_error(st.span, f"SQL walk on {src.path}", exc)
                    if e is not None:
                        out.append(e)

        fctx = FileContext(src, project, cfg)
        if self.query_rules:
            for q in project.queries_in(src.path):
                for qrule in self.query_rules:
                    guarded(qrule, qrule.check_query, (q, fctx), q.span)
        if self.migration_rules:
            for m in project.migrations_in(src.path):
                for mrule in self.migration_rules:
                    guarded(mrule, mrule.check_migration, (m, fctx), m.span)
        return out

    def _resolve_rule(self, key: str) -> str | None:
        """A suppression key (code or name) -> rule code; None for an unknown rule."""
        for r in self.rules:
            if key.upper() == r.code or key.lower() == r.name:
                return str(r.code)
        cls = registry.find_rule(key)
        return str(cls.code) if cls is not None else None

    def _may_suppress(self, src: SourceFile) -> bool:
        known = self._suppressible.get(src.path)
        return known[1] if known is not None and known[0] is src else suppressions.may_hold_suppressions(src.text)

    def _filter(self, diags: list[Diagnostic], sources: dict[str, SourceFile], files: dict[str, ParsedFile] | None = None) -> list[Diagnostic]:
        """Per-file ignores, suppression comments, and unused-suppression findings."""
        by_path: dict[str, list[Diagnostic]] = {}
        for d in diags:
            by_path.setdefault(d.span.path, []).append(d)
        out: list[Diagnostic] = []
        for path in sorted(set(by_path) | set(sources)):
            ds = by_path.get(path, [])
            src = sources.get(path)
            if not ds and src is not None and not self._may_suppress(src):
                continue
            ignored = registry.ignored_for_path(self.config, path)
            ds = [d for d in ds if d.code not in ignored]
            if src is None:
                out.extend(ds)
                continue
            pf = (files or {}).get(path)
            kept, unused = suppressions.apply(
                src, ds,
                sql_spans=[f.span for f in pf.fragments if f.in_python] if pf else (),
                statement_spans=[st.span for st in pf.statements] if pf else (),
                resolve=self._resolve_rule,
                enabled=self.enabled_codes - ignored,
            )
            out.extend(kept)
            for u in unused:
                ud = self.tool_diagnostic(UnusedSuppressionRule, u.suppression.span, u.message)
                if ud is not None and ud.code not in ignored:
                    out.append(ud)
        return out


def _may_hold_sql(src: SourceFile) -> bool:
    """Whether a file can hold SQL: a ``.sql`` file, or Python that
    :func:`~querylint.sql.embedded.may_hold_sql` lets through."""
    from querylint.sql.embedded import may_hold_sql

    return src.language is Language.SQL or may_hold_sql(src.text)


def _sql_cache_kind(dialect: str) -> str:
    """Entries of the per-file SQL cache: this code, this pglast, this dialect."""
    from querylint.cache import dist_version, package_digest

    return f"sql-{package_digest()[:12]}-{dist_version('pglast')}-{dialect}"


def key_config(cfg: Config) -> Config:
    """The configuration as a cache key: the report's format and the cache's own settings do
    not change the findings."""
    return dataclasses.replace(cfg, output_format="", cache=True, cache_dir="")


@dataclass(frozen=True)
class _CachedIndex:
    """A project index without its Python trees (a run re-parses only the files it checks)."""

    project: ProjectIndex
    trees: frozenset[str]  # files that had a tree
    digests: dict[str, str | None]  # of the bytes read, by path


def _text_on_disk(path: str) -> str | None:
    """The text of an existing regular file as querylint reads it (UTF-8, universal newlines,
    like stdin), or None when it is missing, unreadable or not UTF-8."""
    try:
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


def _store_index(run_cache: RunCache, key: str, manifest: list[tuple[str, str]], digests: dict[str, str | None],
                 project: ProjectIndex) -> None:
    """Pickle the index, minus the trees and the facts only phase one reads (restored after)."""
    from querylint.project import INDEX_ONLY_FACTS

    lazy = {path for path, pf in project.files.items() if tree_left_out(pf)}  # never parsed here: none to drop
    trees = {path: pf.tree for path, pf in project.files.items() if path not in lazy and pf.tree is not None}
    facts = dict(project.facts)
    try:
        for path in trees:
            project.files[path].tree = None
        for k in INDEX_ONLY_FACTS:
            project.facts.pop(k, None)
        run_cache.store(key, manifest, digests, _CachedIndex(project, frozenset(trees) | lazy, digests), "index")
    finally:
        for path, tree in trees.items():
            project.files[path].tree = tree
        project.facts.clear()
        project.facts.update(facts)  # the same dict, in the same order


@dataclass(frozen=True)
class _CachedRun:
    """What the run cache keeps of a :class:`RunResult` (the texts are read back from disk)."""

    diagnostics: tuple[Diagnostic, ...]
    checked: tuple[str, ...]
    #: files the findings point into (spans, related spans, fix edits), with their digests
    referenced: tuple[str, ...]
    digests: dict[str, str]

    @staticmethod
    def of(result: RunResult, digests: Mapping[str, str | None]) -> _CachedRun:
        """``digests``: of the bytes the run read, by path (the texts behind the findings)."""
        referenced: dict[str, str] = {}
        for d in result.diagnostics:
            paths = [d.span.path, *(rel.span.path for rel in d.related), *(e.path for e in (d.fix.edits if d.fix is not None else ()))]
            for path in paths:
                digest = digests.get(path)
                readable = path in result.sources or (result.project is not None and result.project.source(path) is not None)
                if digest is not None and readable:  # else a file that could not be read: nothing to show
                    referenced[path] = digest
        return _CachedRun(tuple(result.diagnostics), tuple(result.checked), tuple(referenced), referenced)


class _LazySources(dict[str, SourceFile]):
    """``RunResult.sources`` of a cached run: every checked path, each read on first use."""

    def __init__(self, config: Config, abspaths: dict[str, str]) -> None:
        super().__init__()
        self.config = config
        self.abspaths = abspaths
        self.loaded: dict[str, SourceFile] = {}

    def _load(self, path: str) -> SourceFile | None:
        if path in self.loaded:
            return self.loaded[path]
        if path not in self.abspaths:
            return None
        src, _prob = read_file(self.abspaths[path], path, self.config)
        if src is not None:
            self.loaded[path] = src
        return src

    def get(self, key: str, default: Any = None) -> Any:
        src = self._load(key)
        return default if src is None else src

    def __getitem__(self, key: str) -> SourceFile:
        src = self._load(key)
        if src is None:
            raise KeyError(key)
        return src

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in self.loaded or key in self.abspaths)

    def __iter__(self) -> Any:
        return iter(dict.fromkeys([*self.abspaths, *self.loaded]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*self.abspaths, *self.loaded]))

    def __bool__(self) -> bool:
        return bool(self.abspaths or self.loaded)

    def keys(self) -> Any:
        return list(self)

    def values(self) -> Any:
        return [v for k in self if (v := self._load(k)) is not None]

    def items(self) -> Any:
        return [(k, v) for k in self if (v := self._load(k)) is not None]


def _dispatch_table(rules: Sequence[Rule]) -> dict[str, list[tuple[Rule, Any]]]:
    table: dict[str, list[tuple[Rule, Any]]] = {}
    for r in rules:
        for node_name, meth in visitor_methods(r).items():
            table.setdefault(node_name, []).append((r, meth))
    return table
