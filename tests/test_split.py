"""Half of the project parsed and walked by a forked partner process (querylint.python.split)
gives the findings and facts of one process doing everything, and any failure of the partner
costs time, never findings."""

from __future__ import annotations

import ast
import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
from querylint.config import Config
from querylint.engine import Engine, RunResult, index_project, parse_file
from querylint.migrations import reads_tree
from querylint.project import tree_left_out
from querylint.python import analyzer, split
from querylint.source import Language, SourceFile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

pytestmark = pytest.mark.skipif(not split.available(), reason="needs fork")


@pytest.fixture(autouse=True)
def _partner_takes_some(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixture project is parsed by this process before the partner has started: the partner
    takes its first few files whatever happens, so that it has a share to walk."""
    monkeypatch.setattr(split, "RESERVED", 4)


def _engine(root: Path, *, split_on: bool, cache: bool = False, cache_dir: Path | None = None) -> Engine:
    """``cache_dir``: a cache there (not in the fixture), whatever ``cache`` says."""
    cfg = Config(root=str(root), cache=cache or cache_dir is not None)
    if cache_dir is not None:
        cfg = dataclasses.replace(cfg, cache_dir=str(cache_dir))
    engine = Engine(cfg)
    engine.jobs = 2
    engine.split_min_bytes = 0 if split_on else 1 << 60
    return engine


def _run(root: Path, mp: pytest.MonkeyPatch, *, split_on: bool, cache_dir: Path | None = None) -> tuple[Engine, RunResult]:
    """A run of the whole project from inside ``root`` (the working directory stays there)."""
    mp.chdir(root)
    engine = _engine(root, split_on=split_on, cache_dir=cache_dir)
    return engine, engine.run(["."])


def _facts(result: RunResult) -> tuple[Any, ...]:
    project = result.project
    assert project is not None
    py = project.facts["python"]
    parsed = {path: (pf.fragments, [(st.span, st.text, st.node) for st in pf.statements], pf.problems)
              for path, pf in project.files.items()}
    return (py.events, list(py.events), py.functions, list(py.functions), py.errors, project.queries,
            project.models.models, project.schema, parsed)


def _same(one: RunResult, two: RunResult) -> None:
    assert two.diagnostics == one.diagnostics
    for a, b in zip(_facts(one), _facts(two), strict=True):
        assert b == a


@pytest.mark.parametrize("fixture", ["django_shop", "sqlalchemy_app", "migrations_django"])
def test_the_partner_gives_the_findings_and_facts_of_one_process(fixture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = FIXTURES / fixture
    alone_engine, alone = _run(root, monkeypatch, split_on=False)
    engine, halved = _run(root, monkeypatch, split_on=True, cache_dir=tmp_path / "cache")
    assert alone_engine.halved == frozenset()
    assert engine.halved  # the partner had files, and answered
    assert halved.project is not None
    files = halved.project.files
    # nothing here asked for the trees of the partner's files: they were never parsed twice
    assert all(tree_left_out(files[p]) for p in engine.halved)
    # migrations and settings stay here: the migration readers read their trees
    assert not any(reads_tree(p, files[p].source.text) for p in engine.halved)
    assert any(reads_tree(p, pf.source.text) for p, pf in files.items())
    _same(alone, halved)
    assert alone.diagnostics  # the fixtures have findings to compare
    # pickled (the index cache) as the records in chunks pickled while walking, by both
    # processes, and applied again when read back: the same facts, in the same order
    import pickle

    py = halved.project.facts["python"]
    assert py._made_of is not None
    walked = {i for chunk in py._made_of for i in pickle.loads(chunk)}
    assert walked == set(range(len(walked))) and len(py._made_of) >= 2  # every job, from both
    back = pickle.loads(pickle.dumps(py, protocol=pickle.HIGHEST_PROTOCOL))
    assert (back.events, list(back.events), back.functions, list(back.functions), back.errors, back.callers) == (
        py.events, list(py.events), py.functions, list(py.functions), py.errors, py.callers)
    assert back._made_of == py._made_of


def _shop(root: Path, models: str) -> None:
    """A ``shop`` package with ``models`` as its models module."""
    (root / "shop").mkdir()
    (root / "shop" / "__init__.py").write_text("", encoding="utf-8")
    (root / "shop" / "models.py").write_text(models, encoding="utf-8")


def _project(root: Path, n: int) -> None:
    _shop(root, "from django.db import models\n\n\nclass Tag(models.Model):\n    name = models.CharField(max_length=20)\n\n\n"
                "class TagQuerySet(models.QuerySet):\n    def named(self, name):\n        return self.filter(name=name)\n")
    for i in range(n):
        (root / "shop" / f"views{i}.py").write_text(
            "from shop.models import Tag\nfrom shop import helpers\n\n\n"
            f"def tag_all{i}(names):\n    for n in names:\n        Tag.objects.create(name=n)\n        helpers.count_tags()\n",
            encoding="utf-8")
    (root / "shop" / "helpers.py").write_text(
        "from shop.models import Tag\n\n\ndef count_tags():\n    return Tag.objects.count()\n", encoding="utf-8")
    (root / "shop" / "broken.py").write_text("def f(:\n    pass\n", encoding="utf-8")


def test_a_file_the_partner_cannot_parse_gets_its_message_from_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, 6)
    _e, alone = _run(tmp_path, monkeypatch, split_on=False)
    engine, halved = _run(tmp_path, monkeypatch, split_on=True)
    assert engine.halved and "shop/broken.py" not in engine.halved
    _same(alone, halved)
    codes = sorted({(d.code, d.span.path) for d in halved.diagnostics})
    assert ("QL001", "shop/broken.py") in codes
    # QL203 across the split: views call a helper (maybe in the other half) that counts
    assert sum(1 for d in halved.diagnostics if d.code == "QL203") == 6
    assert sum(1 for d in halved.diagnostics if d.code == "QL204") == 6


@pytest.mark.parametrize("fixture", ["sqlalchemy_app", "migrations_django"])
def test_the_sql_cache_of_a_split_run_holds_what_one_process_s_does(fixture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Which files can hold SQL is found by each process as it parses (no pass over every file
    before the partner starts): the per-file SQL cache gets the same files."""
    import shutil

    from querylint.cache import Cache
    from querylint.engine import _sql_cache_kind

    packs = []
    for split_on in (False, True):
        root = tmp_path / ("split" if split_on else "alone")
        shutil.copytree(FIXTURES / fixture, root, ignore=shutil.ignore_patterns(".querylint_cache"))
        monkeypatch.chdir(root)
        engine = _engine(root, split_on=split_on, cache=True)
        engine.run(["."])
        assert bool(engine.halved) == split_on
        cfg = engine.config
        packs.append(Cache.for_config(cfg, cfg.root).get_pack(_sql_cache_kind(cfg.sql_dialect)))
    assert packs[1] and sorted(packs[1]) == sorted(packs[0])
    assert [packs[1][k][1:] for k in sorted(packs[1])] == [packs[0][k][1:] for k in sorted(packs[0])]


def test_suppressions_in_the_partner_s_files_work_as_in_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether a file may hold a suppression comment is found as it is parsed, by whichever
    process parses it: suppressed and unused suppressions are reported as in one process."""
    _project(tmp_path, 6)
    views0 = tmp_path / "shop" / "views0.py"
    views0.write_text(views0.read_text(encoding="utf-8").replace("Tag.objects.create(name=n)", "Tag.objects.create(name=n)  # noqa: QL204"),
                      encoding="utf-8")
    # a file with no finding, and a suppression that suppresses nothing
    (tmp_path / "shop" / "constants.py").write_text("X = 1  # querylint: ignore[QL201]\n", encoding="utf-8")
    monkeypatch.setattr(split, "RESERVED", 100)  # the partner takes every file of the queue
    _e, alone = _run(tmp_path, monkeypatch, split_on=False)
    engine, halved = _run(tmp_path, monkeypatch, split_on=True)
    assert {"shop/views0.py", "shop/constants.py"} <= engine.halved
    _same(alone, halved)
    found = {(d.code, d.span.path) for d in halved.diagnostics}
    assert ("QL204", "shop/views0.py") not in found and ("QL204", "shop/views2.py") in found
    assert [d.code for d in halved.diagnostics if d.span.path == "shop/constants.py"] == ["QL002"]  # unused


def test_stub_files_are_shared_out_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``.pyi`` file is parsed (a syntax error is reported) but never walked: the partner takes
    it like any file, and this process takes more of the files that are walked."""
    _project(tmp_path, 6)
    (tmp_path / "shop" / "helpers.pyi").write_text("def count_tags() -> int: ...\n", encoding="utf-8")
    (tmp_path / "shop" / "bad.pyi").write_text("def f(: ...\n", encoding="utf-8")
    monkeypatch.setattr(split, "RESERVED", 100)  # the partner takes every file of the queue
    _e, alone = _run(tmp_path, monkeypatch, split_on=False)
    engine, halved = _run(tmp_path, monkeypatch, split_on=True)
    assert {"shop/helpers.pyi", "shop/views0.py"} <= engine.halved
    assert "shop/bad.pyi" not in engine.halved  # it does not parse: parsed here for its message
    _same(alone, halved)
    assert ("QL001", "shop/bad.pyi") in {(d.code, d.span.path) for d in halved.diagnostics}


@pytest.mark.parametrize("when", ["before the stubs", "after the stubs"])
def test_a_partner_that_dies_costs_time_not_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    _project(tmp_path, 6)
    _e, alone = _run(tmp_path, monkeypatch, split_on=False)
    parent = os.getpid()
    if when == "before the stubs":
        monkeypatch.setattr(split, "_serve", lambda *a: os._exit(3))
    else:
        real = analyzer.Analysis.jobs

        def dying(self: analyzer.Analysis) -> Any:
            if os.getpid() != parent:
                os._exit(3)  # the partner, once it has the index
            return real(self)

        monkeypatch.setattr(analyzer.Analysis, "jobs", dying)
    engine, halved = _run(tmp_path, monkeypatch, split_on=True)
    assert bool(engine.halved) == (when == "after the stubs")
    _same(alone, halved)
    assert halved.project is not None
    if when == "after the stubs":
        # the analysis ran again here, with the partner's files parsed on demand
        assert not any(tree_left_out(halved.project.files[p]) for p in engine.halved)


def test_stubs_that_cannot_be_spooled_to_the_partner_cost_time_not_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, 6)
    _e, alone = _run(tmp_path, monkeypatch, split_on=False)
    parent = os.getpid()
    real = split._Spool.put

    def full(self: split._Spool, value: Any) -> None:
        if os.getpid() == parent:
            raise OSError(28, "No space left on device")
        real(self, value)

    monkeypatch.setattr(split._Spool, "put", full)
    engine, halved = _run(tmp_path, monkeypatch, split_on=True)
    _same(alone, halved)
    # the partner had parsed its files, then got no stubs: the analysis ran here, with its
    # files parsed on demand
    assert engine.halved and halved.project is not None
    assert not any(tree_left_out(halved.project.files[p]) for p in engine.halved)


def _trees(root: Path) -> dict[str, Any]:
    files = {}
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).as_posix()
        files[rel] = parse_file(SourceFile(rel, p.read_text(encoding="utf-8"), Language.PYTHON, str(p)))
    return files


@pytest.mark.parametrize("fixture", ["django_shop", "sqlalchemy_app"])
def test_modules_taken_over_from_the_other_process_give_the_same_facts(fixture: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each process walks none of its own modules and takes over all of the other's (parsing
    them again): the facts are those of one process walking everything."""
    root = FIXTURES / fixture
    _e, alone = _run(root, monkeypatch, split_on=False)
    monkeypatch.setattr(split._Claims, "take", lambda self, side, count, alive: None)
    monkeypatch.setattr(split, "STEAL_SHARE", 1.0)
    adopted: list[str] = []
    adopt = analyzer.Analysis.adopt

    def counted(self: analyzer.Analysis, path: str, *args: Any) -> Any:
        adopted.append(path)
        return adopt(self, path, *args)

    monkeypatch.setattr(analyzer.Analysis, "adopt", counted)
    engine, halved = _run(root, monkeypatch, split_on=True)
    assert engine.halved and halved.project is not None
    _same(alone, halved)
    # this process walked every module of the partner that has a job, the partner every one of here
    assert set(adopted) == {p for p in engine.halved if p.endswith(".py")} - set(_unwalked(halved))


def test_a_module_that_cannot_be_taken_over_costs_time_not_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = FIXTURES / "django_shop"
    _e, alone = _run(root, monkeypatch, split_on=False)
    monkeypatch.setattr(split._Claims, "take", lambda self, side, count, alive: None)
    monkeypatch.setattr(split, "STEAL_SHARE", 1.0)
    parent = os.getpid()
    adopt = analyzer.Analysis.adopt

    def failing(self: analyzer.Analysis, *args: Any) -> Any:
        if os.getpid() == parent:
            raise RecursionError("too deep")
        return adopt(self, *args)

    monkeypatch.setattr(analyzer.Analysis, "adopt", failing)
    _engine, halved = _run(root, monkeypatch, split_on=True, cache_dir=tmp_path / "cache")
    _same(alone, halved)  # the analysis ran again here, in one process
    assert halved.project is not None and halved.project.facts["python"]._made_of is None


def _unwalked(result: RunResult) -> list[str]:
    from querylint.python.analyzer import unread_test

    assert result.project is not None
    unread = unread_test(result.project.config)
    return [p for p in result.project.files if unread(p)]


@pytest.mark.parametrize("fixture", ["django_shop", "sqlalchemy_app"])
def test_stubs_index_like_trees(fixture: str) -> None:
    files = _trees(FIXTURES / fixture)
    project = index_project(files, str(FIXTURES / fixture), lambda where, exc: None)
    from_trees = analyzer.Analysis(project)
    from_trees.index()
    stubs = {path: analyzer.stub_of(analyzer.module_info(pf.source, pf.tree)) for path, pf in files.items() if pf.tree is not None}
    from_stubs = analyzer.Analysis(project)
    from_stubs.index(stubs=stubs)
    assert list(from_stubs.modules) == list(from_trees.modules)
    for path, mod in from_trees.modules.items():
        other = from_stubs.modules[path]
        assert (other.name, other.imports, other.model_aliases, other.db_module) == (mod.name, mod.imports, mod.model_aliases, mod.db_module)
        assert other.tree is None
    assert list(from_stubs.functions) == list(from_trees.functions)
    assert list(from_stubs.classes) == list(from_trees.classes)
    for qual, cls in from_trees.classes.items():
        other = from_stubs.classes[qual]
        assert (other.bases, other.model, other.methods, other.properties) == (cls.bases, cls.model, cls.methods, cls.properties)
        assert other.node.name == cls.node.name
        # what the walk reads of another module's class: its text, field annotations, methods
        assert analyzer._segment(other.module, other.node) == analyzer._segment(cls.module, cls.node)
        annotated = [st for st in cls.node.body if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)]
        assert [(st.target.id, ast.dump(st.annotation)) for st in annotated] == [
            (st.target.id, ast.dump(st.annotation)) for st in other.node.body if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)]
    qs_methods = {m for c in from_trees.classes.values() if analyzer._is_qs_class(c.node.name) for m in c.methods}
    assert bool(qs_methods) == (fixture == "django_shop")  # custom QuerySet / Manager methods
    for name in sorted(qs_methods):
        assert from_stubs.queryset_method(name) == from_trees.queryset_method(name)
        a, b = from_trees.queryset_method_steps(name), from_stubs.queryset_method_steps(name)
        assert (None if a is None else [(m, ast.dump(c)) for m, c in a]) == (None if b is None else [(m, ast.dump(c)) for m, c in b])
    for cls in from_trees.classes.values():
        assert from_stubs.custom_manager_eager(cls.node.name) == from_trees.custom_manager_eager(cls.node.name)
    assert [(q, m.path) for q, _n, m, _c in from_stubs.jobs()] == [(q, m.path) for q, _n, m, _c in from_trees.jobs()]


def test_the_cached_index_of_a_split_run_serves_a_run_on_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The partner's files are stored in the index cache like any file whose tree was left out:
    a run on one file reads them back without parsing them (the pre-commit case)."""
    parsed_sets = []
    for split_on in (False, True):
        root = tmp_path / ("split" if split_on else "alone")
        root.mkdir()
        _project(root, 6)
        monkeypatch.chdir(root)
        engine = _engine(root, split_on=split_on, cache=True)
        engine.run(["."])
        assert bool(engine.halved) == split_on
        result = Engine(Config(root=str(root))).run(["shop/views3.py"])
        assert result.project is not None and result.checked == ["shop/views3.py"]
        assert [(d.code, d.span.path) for d in result.diagnostics] == [("QL204", "shop/views3.py"), ("QL203", "shop/views3.py")]
        parsed_sets.append(sorted(p for p, pf in result.project.files.items() if pf.__dict__.get("tree") is not None))
    assert parsed_sets[1] == parsed_sets[0] == ["shop/views3.py"]


def test_a_partner_whose_parent_dies_exits(tmp_path: Path) -> None:
    """A run killed between the partner's first message and the index (a crash, ^C): the
    partner, waiting for the index, must not stay behind as an orphan."""
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys\n"
        "from querylint.config import Config\n"
        "from querylint.python import split\n"
        "from querylint.source import Language, SourceFile\n"
        "src = SourceFile('a.py', 'def f():\\n    return 1\\n', Language.PYTHON, os.path.abspath('a.py'))\n"
        "p = split.Partner([src], lambda s: None, set(), {'a.py': src}, Config(root='.'), '.')\n"
        "assert p.collect_stubs() and list(p.stubs) == ['a.py']\n"
        "print(p._proc.pid, flush=True)\n"
        "os._exit(0)  # gone without a word, like a crash\n",
        encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    pid = int(out.stdout.split()[0])

    def running() -> bool:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running()


def test_the_partner_walks_with_the_schema_that_reaches_it_while_it_walks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The schema is sent after the index (the migrations are read meanwhile) and asked for only
    by the walk: a loop over the rows of a unique key is bounded in the partner's half too."""
    _shop(tmp_path, "from django.db import models\n\n\nclass Tag(models.Model):\n    slug = models.CharField(max_length=20, unique=True)\n"
                    "    name = models.CharField(max_length=20)\n")
    for i in range(6):
        (tmp_path / "shop" / f"views{i}.py").write_text(
            "from shop.models import Tag\n\n\n"
            f"def by_slug{i}(slug):\n    for tag in Tag.objects.filter(slug=slug):\n        Tag.objects.filter(name=tag.name).count()\n\n\n"
            f"def by_name{i}(name):\n    for tag in Tag.objects.filter(name=name):\n        Tag.objects.filter(slug=tag.slug).count()\n",
            encoding="utf-8")
    _e, alone = _run(tmp_path, monkeypatch, split_on=False)
    engine, halved = _run(tmp_path, monkeypatch, split_on=True)
    assert any(p.startswith("shop/views") for p in engine.halved)
    _same(alone, halved)
    # by_slug's loop is over one row (slug is unique): only by_name's query in a loop is found
    found = sorted((d.code, d.span.path, d.span.start) for d in halved.diagnostics if d.code == "QL201")
    assert [(code, path) for code, path, _s in found] == [("QL201", f"shop/views{i}.py") for i in range(6)]
    for _code, path, start in found:
        text = (tmp_path / path).read_text(encoding="utf-8")
        assert text[start:].startswith("Tag.objects.filter(slug=tag.slug).count()")


def test_each_file_of_the_shared_queue_is_taken_once() -> None:
    """Both processes take the queue's next file at once: each file is taken once, each
    process's files in the queue's order."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = [SourceFile(f"m{i}.py", "x = 1\n", Language.PYTHON) for i in range(3000)]
    next_ = ctx.Value("q", 0)
    recv, send = ctx.Pipe(duplex=False)

    def partner() -> None:
        taken = []
        while (src := split._take(next_, queue)) is not None:
            taken.append(src.path)
        send.send(taken)

    proc = ctx.Process(target=partner)
    proc.start()
    mine = []
    while (src := split._take(next_, queue)) is not None:
        mine.append(src.path)
    theirs = recv.recv()
    proc.join()
    paths = [src.path for src in queue]
    assert sorted(theirs + mine, key=paths.index) == paths  # each file once
    assert theirs == sorted(theirs, key=paths.index) and mine == sorted(mine, key=paths.index)
    assert split._take(next_, queue) is None


def test_a_partner_killed_holding_the_queue_s_lock_does_not_stop_this_process() -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = [SourceFile(f"m{i}.py", "x = 1\n", Language.PYTHON) for i in range(5)]
    next_ = ctx.Value("q", 0)

    def killed() -> None:
        next_.get_lock().acquire()
        os._exit(9)  # like a SIGKILL between taking the lock and giving it back

    proc = ctx.Process(target=killed)
    proc.start()
    proc.join()
    taken = []
    while (src := split._take(next_, queue, alive=proc.is_alive)) is not None:
        taken.append(src.path)
    assert taken == ["m0.py", "m1.py", "m2.py", "m3.py", "m4.py"]


def test_the_spool_reads_whole_chunks_in_order_and_leaves_a_half_written_one() -> None:
    import pickle
    import struct

    spool = split._Spool()
    try:
        spool.put([1, 2])
        spool.put({3: "x"})
        end = spool.written
        assert [value for _data, value in spool.frames() or ()] == [[1, 2], {3: "x"}] and spool.read == end
        assert spool.frames() == []  # nothing new
        data = pickle.dumps("later")
        os.write(spool._file.fileno(), struct.pack("<Q", len(data)) + data[:3])
        assert spool.frames() == [] and spool.read == end  # half written: left for later
        os.write(spool._file.fileno(), data[3:])
        assert spool.frames() == [(data, "later")]
        spool.written = spool.read  # (written by hand above)
        spool.put("last")
        assert spool.frames(spool.written - 1) is None  # an end inside a frame: the partner failed
    finally:
        spool.close()


def test_the_spool_gives_a_forked_writer_s_chunks_as_they_come() -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    spool = split._Spool()
    recv, send = ctx.Pipe(duplex=False)

    def writer() -> None:
        for i in range(300):
            spool.put({i: "x" * (i * 97 % 5000)})
        send.send(spool.written)
        os._exit(0)

    proc = ctx.Process(target=writer)
    proc.start()
    got: list[object] = []
    while not recv.poll(0):
        got.extend(value for _data, value in spool.frames() or ())
    end = recv.recv()
    got.extend(value for _data, value in spool.frames(end) or ())
    proc.join()
    spool.close()
    assert spool.read == end and got == [{i: "x" * (i * 97 % 5000)} for i in range(300)]


def test_a_module_is_taken_over_from_the_last_only_while_it_is_small_against_what_is_left() -> None:
    import multiprocessing

    claims = split._Claims(multiprocessing.get_context("fork"))
    upto = [0, 10, 15, 18, 19]  # four modules of 10, 5, 3 and 1 jobs
    assert claims.take(split.PARTNER_SIDE, 4, None) == 0  # its owner starts from the first
    assert claims.steal(split.PARTNER_SIDE, upto, None) == 3  # 1 job of the 9 not started
    assert claims.steal(split.PARTNER_SIDE, upto, None) is None  # 3 of 8: its owner is sooner
    assert [claims.take(split.PARTNER_SIDE, 4, None) for _ in range(3)] == [1, 2, None]
    assert claims.steal(split.PARTNER_SIDE, upto, None) is None  # nothing left
    assert claims.take(split.HERE, 2, None) == 0  # the other side counts apart
