"""The run cache: a second run answers from it, any change of a file or the config re-runs.

Runs go through :class:`querylint.engine.Engine` with the cache on (``Config.cache``); a hit
is proven by making the indexer fail: a cached run never reaches it.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

import pytest
from querylint import engine as engine_mod
from querylint.config import Config
from querylint.engine import Engine, RunResult
from querylint.source import Language
from querylint.testing import finding_lines, run_in

SCHEMA = "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL);\n"
REPORT = "SELECT *  FROM orders WHERE id = 1;\n"
CLEAN = "SELECT id FROM orders WHERE id = 1;\n"  # as long as REPORT: a change the size misses


def _project(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "report.sql").write_text(REPORT, encoding="utf-8")
    (tmp_path / "other.sql").write_text(CLEAN, encoding="utf-8")
    return tmp_path


_run = run_in
_lines = finding_lines


def _no_indexing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the run was not answered from the cache")

    monkeypatch.setattr(engine_mod, "index_project", fail)


def test_second_run_is_answered_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    first = _run(root)
    assert [(p, line, code) for p, line, code, _m in _lines(first)] == [("report.sql", 1, "QL101")]
    assert os.path.isdir(root / ".querylint_cache")
    _no_indexing(monkeypatch)
    second = _run(root)
    assert second.diagnostics == first.diagnostics
    assert second.checked == first.checked
    assert _lines(second) == _lines(first)
    assert second.sources["report.sql"].text == REPORT
    assert list(second.sources) == list(first.sources)


def test_touched_but_unchanged_file_is_still_a_hit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    first = _run(root)
    st = os.stat(root / "other.sql")
    os.utime(root / "other.sql", ns=(st.st_atime_ns, st.st_mtime_ns - 10_000_000_000))
    _no_indexing(monkeypatch)
    assert _run(root).diagnostics == first.diagnostics


def test_editing_one_file_changes_the_results(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert [d.span.path for d in _run(root).diagnostics] == ["report.sql"]
    (root / "report.sql").write_text(CLEAN, encoding="utf-8")  # same size as before
    assert _run(root).diagnostics == []
    (root / "other.sql").write_text("\n" + REPORT, encoding="utf-8")
    assert [(p, line, code) for p, line, code, _m in _lines(_run(root))] == [("other.sql", 2, "QL101")]


def test_a_new_or_deleted_file_re_runs(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _run(root)
    (root / "more.sql").write_text(REPORT, encoding="utf-8")
    assert [d.span.path for d in _run(root).diagnostics] == ["more.sql", "report.sql"]
    (root / "report.sql").unlink()
    assert [d.span.path for d in _run(root).diagnostics] == ["more.sql"]


def test_config_change_invalidates(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert [d.code for d in _run(root).diagnostics] == ["QL101"]
    assert _run(root, ignore=("QL101",)).diagnostics == []
    assert [d.code for d in _run(root).diagnostics] == ["QL101"]


def test_targets_are_part_of_the_key(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert [d.span.path for d in _run(root).diagnostics] == ["report.sql"]
    only_other = _run(root, ["other.sql"])
    assert only_other.diagnostics == [] and only_other.checked == ["other.sql"]
    assert [d.span.path for d in _run(root, ["report.sql"]).diagnostics] == ["report.sql"]


def test_corrupt_entry_is_a_miss_not_a_crash(tmp_path: Path) -> None:
    root = _project(tmp_path)
    first = _run(root)
    entries = [Path(dp) / f for dp, _, fs in os.walk(root / ".querylint_cache") for f in fs
               if f.endswith(".pickle") and any(f"{os.sep}{k}{os.sep}" in str(Path(dp) / f) for k in ("run", "index"))]
    assert len(entries) == 2  # the run's findings and the project index
    for entry in entries:
        entry.write_bytes(b"\x80\x05not a pickle at all")
    assert _run(root).diagnostics == first.diagnostics
    assert _run(root, ["report.sql"]).diagnostics == first.diagnostics
    for entry in entries:
        entry.write_bytes(b"")
    assert _run(root).diagnostics == first.diagnostics


def test_no_cache_writes_nothing_and_reads_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _run(root, cache=False)
    assert not os.path.exists(root / ".querylint_cache")


def test_cache_dir_setting_is_respected(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _run(root, cache_dir="elsewhere")
    assert os.path.isdir(root / "elsewhere" / ".") and not os.path.exists(root / ".querylint_cache")


def test_rules_given_by_the_caller_are_never_cached(tmp_path: Path) -> None:
    root = _project(tmp_path)
    cfg = Config(root=str(root))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        Engine(cfg, rules=[]).run(["."])
    finally:
        os.chdir(cwd)
    assert not os.path.exists(root / ".querylint_cache" / "v0.1.0" / "run")


def test_fix_after_an_edit_does_not_use_stale_results(tmp_path: Path) -> None:
    from querylint.cli import main

    root = _project(tmp_path)
    (root / "pyproject.toml").write_text("[tool.querylint]\n", encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["check", "-q", "--output-format", "concise", "."]) == 1
        (root / "report.sql").write_text(CLEAN, encoding="utf-8")
        assert main(["check", "-q", "--fix", "--output-format", "concise", "."]) == 0
    finally:
        os.chdir(cwd)
    assert (root / "report.sql").read_text(encoding="utf-8") == CLEAN


def test_a_run_on_a_few_files_reuses_the_project_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    (root / "app.py").write_text(
        "def report(cursor):\n    cursor.execute('SELECT * FROM orders WHERE id = %s', [1])\n", encoding="utf-8"
    )
    expected = _run(root, ["app.py", "other.sql"], cache=False)
    assert [(p, line, code) for p, line, code, _m in _lines(expected)] == [("app.py", 2, "QL101")]
    _run(root)  # the whole project: fills the index cache
    with monkeypatch.context() as m:
        _no_indexing(m)
        few = _run(root, ["app.py", "other.sql"])
    assert few.diagnostics == expected.diagnostics
    assert few.checked == expected.checked == ["app.py", "other.sql"]
    assert _lines(few) == _lines(expected)
    # checks may read the tree of a file they do not check (the index cache leaves trees out)
    with monkeypatch.context() as m:
        _no_indexing(m)
        only_sql = _run(root, ["other.sql"])
    assert only_sql.project is not None
    tree = only_sql.project.files["app.py"].tree
    assert tree is not None and ast.dump(tree) == ast.dump(ast.parse((root / "app.py").read_text(encoding="utf-8")))


def test_the_index_is_not_reused_after_a_change(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "by_customer.sql").write_text("SELECT id FROM orders WHERE customer_id = 1;\n", encoding="utf-8")
    _run(root)
    assert [d.code for d in _run(root, ["by_customer.sql"]).diagnostics] == ["QL301"]  # from the index
    (root / "schema.sql").write_text(SCHEMA + "CREATE INDEX orders_customer ON orders (customer_id);\n", encoding="utf-8")
    assert _run(root, ["by_customer.sql"], cache=False).diagnostics == []
    assert _run(root, ["by_customer.sql"]).diagnostics == []


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.mark.parametrize("project", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_parallel_and_serial_parsing_give_the_same_results(project: str) -> None:
    root = FIXTURES / project
    cfg = Config(root=str(root), cache=False)
    runs = []
    for jobs in (1, 3):
        engine = Engine(cfg)
        engine.jobs, engine.parallel_min_bytes = jobs, 0
        cwd = os.getcwd()
        os.chdir(root)
        try:
            result = engine.run(["."])
        finally:
            os.chdir(cwd)
        assert result.project is not None
        parsed = {path: (pf.fragments, [(st.span, st.text, st.node) for st in pf.statements], pf.problems)
                  for path, pf in result.project.files.items()}
        runs.append((engine.offloaded, result.diagnostics, parsed, result.project.models.models, result.project.schema))
    (serial_n, serial, serial_parsed, serial_models, serial_schema), (parallel_n, parallel, parallel_parsed, parallel_models, parallel_schema) = runs
    # the workers also extracted the model facts of the files they parsed: the same models
    assert parallel_models == serial_models and parallel_schema == serial_schema
    from querylint.sql.embedded import may_hold_sql

    bearing = [p for p, pf in result.project.files.items()
               if pf.source.language is Language.SQL or may_hold_sql(pf.source.text)]
    assert serial_n == 0 and parallel_n == len(bearing)
    if project in ("sql", "index_sql", "migrations_sql", "sqlalchemy_app"):  # the workers had files
        assert parallel_n > 0
    assert parallel == serial
    assert parallel_parsed == serial_parsed


def _run_with_a_worker(root: Path) -> tuple[Engine, RunResult]:
    """A run from inside ``root`` with one parsing worker, whatever the files' size."""
    engine = Engine(Config(root=str(root), cache=False))
    engine.jobs, engine.parallel_min_bytes = 2, 0
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return engine, engine.run(["."])
    finally:
        os.chdir(cwd)


def test_workers_extract_the_models_of_the_files_they_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from querylint import python as pyfe

    root = tmp_path
    (root / "shop").mkdir()
    (root / "shop" / "__init__.py").write_text("", encoding="utf-8")
    (root / "shop" / "models.py").write_text(
        "from django.db import connection, models\n\n\nclass Tag(models.Model):\n    name = models.CharField(max_length=9)\n\n\n"
        "def raw():\n    with connection.cursor() as c:\n        c.execute('SELECT id FROM shop_tag')\n", encoding="utf-8")
    (root / "shop" / "views.py").write_text("from shop.models import Tag\n\n\nclass V:\n    pass\n", encoding="utf-8")
    # a second file with SQL: one file alone is never handed to a worker (nothing to share out)
    (root / "shop" / "report.sql").write_text("SELECT id FROM shop_tag;\n", encoding="utf-8")
    extracted: list[str] = []
    real = pyfe.extract_models

    def spy(path: str, *args: Any) -> Any:
        extracted.append(path)
        return real(path, *args)

    monkeypatch.setattr(pyfe, "extract_models", spy)  # the workers are forked after this
    engine, result = _run_with_a_worker(root)
    assert engine.offloaded == 2  # models.py (the one Python file with a call site) and report.sql
    assert extracted == ["shop/views.py"]  # here; models.py's facts came from the worker
    assert result.project is not None and list(result.project.models.models) == ["shop.Tag"]
    assert result.project.schema.table("shop_tag") is not None


def test_after_a_change_only_that_file_s_sql_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import querylint.sql as sqlfe

    root = _project(tmp_path)
    (root / "app.py").write_text("def f(cursor):\n    cursor.execute('SELECT id FROM orders')\n", encoding="utf-8")
    (root / "plain.py").write_text("def g(x):\n    return x\n", encoding="utf-8")
    first = _run(root)
    parsed: list[str] = []
    real = sqlfe.parse_fragment

    def spy(fragment: Any, dialect: str = "postgres") -> Any:
        parsed.append(fragment.path)
        return real(fragment, dialect)

    monkeypatch.setattr(sqlfe, "parse_fragment", spy)
    (root / "other.sql").write_text(REPORT, encoding="utf-8")
    second = _run(root)
    assert parsed == ["other.sql"]  # schema.sql, report.sql and app.py: from the per-file cache
    assert [d.span.path for d in second.diagnostics] == ["other.sql", "report.sql"]
    assert [d.message for d in second.diagnostics][1:] == [d.message for d in first.diagnostics]


def test_a_run_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path) -> None:
    import gc

    root = _project(tmp_path)
    assert gc.isenabled()
    _run(root, cache=False)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        _run(root, cache=False)
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_what_is_made_after_the_trees_is_frozen_with_them_only_in_a_run() -> None:
    import gc

    from querylint.engine import _LongLivedTrees, freeze_more

    freeze_more()  # outside a run: nothing is frozen
    assert gc.get_freeze_count() == 0
    with _LongLivedTrees():
        freeze_more()  # the trees are not built yet
        assert gc.get_freeze_count() == 0
        _LongLivedTrees.parsed()
        frozen = gc.get_freeze_count()
        made = [[i] for i in range(1000)]  # the facts of the walk
        freeze_more()
        assert gc.get_freeze_count() >= frozen + len(made)
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_an_engine_told_to_keep_its_results_keeps_each_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line keeps every run's result until it exits (freeing them is wasted time)."""
    root = _project(tmp_path)
    monkeypatch.chdir(root)
    engine = Engine(Config(root=str(root), cache=False))
    assert engine.keep is None
    engine.keep = kept = []
    first = engine.run(["."])
    second = engine.run(["report.sql"])
    assert len(kept) == 2 and kept[0] is first and kept[1] is second
    assert [d.code for d in second.diagnostics] == [d.code for d in first.diagnostics if d.span.path == "report.sql"]


def test_fix_from_a_cached_result_edits_like_a_fresh_run(tmp_path: Path) -> None:
    from querylint.cli import main

    results = []
    for name, flags in (("fresh", ["--no-cache"]), ("cached", [])):
        root = _project(tmp_path / name)
        (root / "pyproject.toml").write_text("[tool.querylint]\n", encoding="utf-8")
        cwd = os.getcwd()
        os.chdir(root)
        try:
            assert main(["check", "-q", *flags, "."]) == 1  # fills the cache (unless --no-cache)
            main(["check", "-q", "--fix", "--unsafe-fixes", *flags, "."])
        finally:
            os.chdir(cwd)
        results.append((root / "report.sql").read_text(encoding="utf-8"))
    assert results[0] != REPORT  # the fix applied
    assert results[1] == results[0]


def _run_in_process(root: str, queue: Any) -> None:
    result = _run(Path(root))
    queue.put([(d.span.path, d.span.start, d.code, d.message) for d in result.diagnostics])


def test_two_processes_at_once_share_the_cache_safely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    root = _project(tmp_path)
    for i in range(30):  # enough files that the runs overlap
        (root / f"q{i}.sql").write_text(REPORT if i % 3 == 0 else CLEAN, encoding="utf-8")
    expected = [(d.span.path, d.span.start, d.code, d.message) for d in _run(root, cache=False).diagnostics]
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_run_in_process, args=(str(root), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert got == [expected, expected]
    assert not [f for _, _, fs in os.walk(root / ".querylint_cache") for f in fs if f.startswith(".tmp-")]
    _no_indexing(monkeypatch)  # what they left is a valid entry
    assert [(d.span.path, d.span.start, d.code, d.message) for d in _run(root).diagnostics] == expected


def test_checking_one_small_file_imports_no_heavy_library(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "a.py").write_text("def f(x):\n    return x + 1\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from querylint.cli import main\n"
        "main(['check', '--isolated', '-q', 'a.py'])\n"
        "main(['check', '--isolated', '-q', 'a.py'])\n"  # and again, from the cache
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pglast', 'networkx', 'libcst', 'sqlglot'}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def _run_stdin(root: Path, name: str, text: str) -> RunResult:
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return Engine(Config(root=str(root))).run([], stdin=(name, text))
    finally:
        os.chdir(cwd)


def test_a_saved_buffer_on_stdin_is_answered_like_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an editor linting on save: the buffer is the file on disk, so the caches answer
    root = _project(tmp_path)
    _run(root, ["report.sql"])
    _no_indexing(monkeypatch)
    result = _run_stdin(root, "report.sql", REPORT)
    assert [(p, line, code) for p, line, code, _m in _lines(result)] == [("report.sql", 1, "QL101")]
    assert result.checked == ["report.sql"]


def test_an_edited_buffer_on_stdin_is_linted_as_typed(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _run(root, ["other.sql"])
    # the buffer differs from the file on disk: its text is checked, the disk's is not
    result = _run_stdin(root, "other.sql", "SELECT 1;\n" + REPORT)
    assert [(p, line, code) for p, line, code, _m in _lines(result)] == [("other.sql", 2, "QL101")]
    assert (root / "other.sql").read_text(encoding="utf-8") == CLEAN
    # a buffer of a file not saved yet
    result = _run_stdin(root, "new.sql", REPORT)
    assert [(p, line, code) for p, line, code, _m in _lines(result)] == [("new.sql", 1, "QL101")]
    assert not (root / "new.sql").exists()


def test_workers_take_the_trees_parsed_before_they_were_forked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ast

    root = tmp_path / "proj"
    root.mkdir()
    (root / "q.py").write_text("def f(cur):\n    cur.execute('SELECT * FROM t')\n", encoding="utf-8")
    (root / "plain.py").write_text("X = 1\n", encoding="utf-8")
    (root / "r.sql").write_text("SELECT id FROM t;\n", encoding="utf-8")  # one file alone stays here
    log = tmp_path / "parsed.log"
    real_parse = ast.parse

    def spy(source: Any, filename: str = "<unknown>", *args: Any, **kwargs: Any) -> Any:
        with open(log, "a", encoding="utf-8") as fh:  # from any process
            fh.write(f"{os.getpid()} {filename}\n")
        return real_parse(source, filename, *args, **kwargs)

    monkeypatch.setattr(engine_mod.ast, "parse", spy)
    engine, result = _run_with_a_worker(root)
    assert engine.offloaded == 2
    parsed = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    assert sorted(name for _pid, name in parsed) == ["plain.py", "q.py"]  # each parsed once
    assert {pid for pid, _name in parsed} == {str(os.getpid())}  # by this process
    assert [(d.code, d.span.path) for d in result.diagnostics if d.code == "QL101"] == [("QL101", "q.py")]


def test_one_file_alone_is_not_handed_to_a_worker(tmp_path: Path) -> None:
    """A worker would parse it while this process waits, then pickle its trees back: slower."""
    (tmp_path / "big.sql").write_text("SELECT * FROM t;\n", encoding="utf-8")
    (tmp_path / "plain.py").write_text("X = 1\n", encoding="utf-8")
    engine, result = _run_with_a_worker(tmp_path)
    assert engine.offloaded == 0
    assert [(d.code, d.span.path) for d in result.diagnostics] == [("QL101", "big.sql")]
    (tmp_path / "other.sql").write_text("SELECT * FROM u;\n", encoding="utf-8")
    engine, result = _run_with_a_worker(tmp_path)
    assert engine.offloaded == 2
    assert [(d.code, d.span.path) for d in result.diagnostics] == [("QL101", "big.sql"), ("QL101", "other.sql")]
