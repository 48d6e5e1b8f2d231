"""Configuration and Python-version errors through the real CLI: a file written for a later
Python says which Python it needs and which one querylint runs on; a bad config key, value or
glob is exit 2 with a message that names it (and the closest known name for a typo)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from querylint.cli import main
from querylint.pyversion import minimum_python, syntax_error_message

RUNS = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()  # the project's top: nothing above it is read
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", "--no-cache", "--output-format", "concise", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# -- item 9: syntax of a later Python ----------------------------------------------------------

LATER = [
    # (source, line, column, construct, version)
    ("x = 1\ndef first[T](a: T) -> T:\n    return a\n", 2, 10,
     "a generic function (`def f[T]()`, PEP 695)", "3.12"),
    ("class Box[T]:\n    pass\n", 1, 10, "a generic class (`class C[T]`, PEP 695)", "3.12"),
    ("Vector = list\ntype Matrix = list[Vector]\n", 2, 6, "a `type` alias statement (PEP 695)", "3.12"),
    ("type Pair[T] = tuple[T, T]\n", 1, 6, "a `type` alias statement (PEP 695)", "3.12"),
    ("type Opt[T = int] = T | None\n", 1, 6, "a type parameter default (PEP 696)", "3.13"),
    ('row = {"a": 1}\nlabel = f"{row["a"]}"\n', 2, 17,
     "an f-string that reuses its own quotes inside a replacement field (PEP 701)", "3.12"),
    ("names = []\ntext = f\"{'\\n'.join(names)}\"\n", 2, 29,
     "a backslash inside an f-string's replacement field (PEP 701)", "3.12"),
    ("n = 1\ns = f'''{\n    n  # the count\n}'''\n", 4, 5,
     "a comment inside an f-string's replacement field (PEP 701)", "3.12"),
    ("def f():\n    try:\n        pass\n    except KeyError, ValueError:\n        pass\n", 4, 12,
     "`except A, B:` without parentheses (PEP 758)", "3.14"),
    ('name = "x"\ngreeting = t"hello {name}"\n', 2, 13, 'a template string literal (`t"..."`, PEP 750)', "3.14"),
]


@pytest.mark.parametrize(("source", "line", "col", "what", "version"), LATER, ids=[c[3][:30] for c in LATER])
def test_later_python_syntax_names_the_construct_and_both_versions(
    project: Path, capsys: pytest.CaptureFixture[str], source: str, line: int, col: int, what: str, version: str
) -> None:
    if sys.version_info >= tuple(int(p) for p in version.split(".")):
        pytest.skip(f"this Python parses {version} syntax")
    (project / "new.py").write_text(source, encoding="utf-8")
    code, out, err = run(capsys, "new.py")
    assert (code, err) == (1, "")
    assert out == (
        f"new.py:{line}:{col}: QL001 [parse-error] this file uses {what}, syntax of Python {version}; querylint runs on "
        f"Python {RUNS}, so the file was not checked (run querylint on Python >= {version})\n"
    )


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this Python parses 3.12 syntax")
@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({"pyproject.toml": '[project]\nname = "app"\nrequires-python = ">=3.12,<4"\n'},
         ", and the project targets Python >= 3.12 (requires-python in pyproject.toml)"),
        ({"pyproject.toml": '[tool.ruff]\ntarget-version = "py313"\n'},
         ", and the project targets Python >= 3.13 ([tool.ruff] target-version in pyproject.toml)"),
        ({"ruff.toml": 'target-version = "py312"\n', "pyproject.toml": '[project]\nrequires-python = ">=3.9"\n'},
         ", and the project targets Python >= 3.12 (target-version in ruff.toml)"),
        ({"pyproject.toml": '[project]\nrequires-python = "~=3.10"\n'},
         ", but the project targets Python >= 3.10 (requires-python in pyproject.toml), where it is a syntax error"),
        ({"pyproject.toml": '\ufeff[project]\nrequires-python = ">= 3.12"\n'},
         ", and the project targets Python >= 3.12 (requires-python in pyproject.toml)"),
        ({"pyproject.toml": '[project]\nrequires-python = "<3.13"\n'}, ""),  # no lower bound: not claimed
        ({"pyproject.toml": "[project\n"}, ""),  # not ours to report: the Python file is explained
    ],
)
def test_the_projects_target_python_is_read_and_named(
    project: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str], said: str
) -> None:
    for name, text in files.items():
        (project / name).write_text(text, encoding="utf-8")
    (project / "pkg").mkdir()
    (project / "pkg" / "new.py").write_text("type Id = int\n", encoding="utf-8")
    code, out, _err = run(capsys, "--isolated", "pkg/new.py")
    assert code == 1
    assert out == (
        f"pkg/new.py:1:6: QL001 [parse-error] this file uses a `type` alias statement (PEP 695), syntax of Python 3.12{said}; "
        f"querylint runs on Python {RUNS}, so the file was not checked (run querylint on Python >= 3.12)\n"
    )


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this Python parses 3.12 syntax")
def test_a_warm_run_sees_a_new_requires_python(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the cached run of the same files must not be reused once the project's target changed
    (project / "new.py").write_text("type Id = int\n", encoding="utf-8")
    for version in ("3.12", "3.13"):
        (project / "pyproject.toml").write_text(f'[project]\nrequires-python = ">={version}"\n', encoding="utf-8")
        code = main(["check", "--output-format", "concise", "new.py"])
        out, _err = capsys.readouterr()
        assert (code, out) == (1, (
            "new.py:1:6: QL001 [parse-error] this file uses a `type` alias statement (PEP 695), syntax of Python 3.12, "
            f"and the project targets Python >= {version} (requires-python in pyproject.toml); querylint runs on Python "
            f"{RUNS}, so the file was not checked (run querylint on Python >= 3.12)\n"
        ))


def test_a_plain_syntax_error_is_not_blamed_on_a_version(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # valid 3.12 constructs elsewhere in the file do not explain an error on another line
    (project / "bad.py").write_text('type = 5\nlabel = f"{type}"\ndef f(:\n    pass\n', encoding="utf-8")
    code, out, _err = run(capsys, "bad.py")
    assert (code, out) == (1, "bad.py:3:7: QL001 [parse-error] Python syntax error: invalid syntax\n")


def test_a_plain_syntax_error_in_a_project_for_a_later_python_says_so(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.99"\n', encoding="utf-8")
    (project / "bad.py").write_text("def f(:\n    pass\n", encoding="utf-8")
    code, out, _err = run(capsys, "--isolated", "bad.py")
    assert (code, out) == (
        1,
        "bad.py:1:7: QL001 [parse-error] Python syntax error: invalid syntax (the project targets Python >= 3.99 "
        f"(requires-python in pyproject.toml) and querylint runs on Python {RUNS}: if this is newer syntax, run "
        "querylint on Python >= 3.99)\n",
    )


def test_a_construct_this_python_knows_is_not_named() -> None:
    # `except*` is 3.11: on an interpreter that runs a later Python, nothing is blamed on a version
    source = "type X = int\n"
    try:
        compile(source, "x.py", "exec", dont_inherit=True, flags=0x400)  # PyCF_ONLY_AST
        parsed = True
    except SyntaxError as exc:
        parsed = False
        assert syntax_error_message(source, exc, running=(3, 12)) == "Python syntax error: invalid syntax"
    assert parsed == (sys.version_info >= (3, 12))


@pytest.mark.parametrize(
    ("specifier", "minimum"),
    [(">=3.12", (3, 12)), (">=3.8, <4", (3, 8)), ("~=3.11", (3, 11)), ("==3.12.*", (3, 12)), (">3.10", (3, 10)),
     (">=3.10,!=3.11.*", (3, 10)), ("<3.13", None), ("python3", None)],
)
def test_requires_python_minimum(specifier: str, minimum: tuple[int, int] | None) -> None:
    assert minimum_python(specifier) == minimum


# -- item 11: a config file with a BOM, --isolated with --config ------------------------------


@pytest.mark.parametrize("config", ["missing.toml", "querylint.toml"])
def test_isolated_with_config_is_rejected_as_ruff_does(project: Path, capsys: pytest.CaptureFixture[str], config: str) -> None:
    (project / "querylint.toml").write_text("select = ['QL0']\n", encoding="utf-8")
    assert run(capsys, "--isolated", "--config", config, "ok.py") == (
        2, "", f"querylint: error: --config {config} cannot be used with --isolated (which ignores every configuration file)\n"
    )


@pytest.mark.parametrize("name", ["querylint.toml", "pyproject.toml"])
def test_a_config_file_with_a_utf8_bom_is_read(project: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    # Windows editors save TOML with a BOM: the settings apply (here: only QL001, so the SQL
    # file's SELECT * is not reported, its syntax error is)
    table = "[tool.querylint]\n" if name == "pyproject.toml" else ""
    (project / name).write_bytes(b"\xef\xbb\xbf" + f'{table}select = ["QL001"]\n'.encode())
    (project / "q.sql").write_text("SELECT * FROM users;\nSELEC 1;\n", encoding="utf-8")
    code, out, err = run(capsys, "q.sql")
    assert (code, out, err) == (1, 'q.sql:2:1: QL001 [parse-error] SQL syntax error: syntax error at or near "SELEC"\n', "")


# -- item 10: every glob is checked up front: exit 2 naming the key and the pattern ----------

BAD_GLOBS = [
    # (querylint.toml, the error after "querylint: error: querylint.toml: ")
    ('exclude = ["**/[z-a]"]\n', "`exclude`: invalid pattern `**/[z-a]`: the character range `z-a` is empty (`z` sorts after `a`)"),
    ('extend-exclude = ["build", "gen\\\\"]\n',
     "`extend-exclude`: invalid pattern `gen\\`: it ends with a lone backslash (write `\\\\` for a literal one)"),
    ('extend-exclude = ["!"]\n', "`extend-exclude`: invalid pattern `!`: it is not a valid gitignore-style pattern"),
    ('[per-file-ignores]\n"[z-a]/*.py" = ["QL1"]\n',
     "`per-file-ignores`: invalid glob `[z-a]/*.py`: the character range `z-a` is empty (`z` sorts after `a`)"),
    ('[per-file-ignores]\n"tests/[ab.py" = ["QL1"]\n',
     "`per-file-ignores`: invalid glob `tests/[ab.py`: its `[` is never closed (write `[[]` for a literal `[`)"),
    ('[per-file-ignores]\n"" = ["QL1"]\n', "`per-file-ignores`: invalid glob '': it is empty"),
]


@pytest.mark.parametrize(("toml", "error"), BAD_GLOBS, ids=[e[:40] for _t, e in BAD_GLOBS])
def test_a_bad_glob_in_the_config_is_exit_2_naming_it(project: Path, capsys: pytest.CaptureFixture[str], toml: str, error: str) -> None:
    (project / "querylint.toml").write_text(toml, encoding="utf-8")
    assert run(capsys, "ok.py") == (2, "", f"querylint: error: querylint.toml: {error}\n")


BAD_GLOB_FLAGS = [
    (["--extend-exclude", "\\"], "--extend-exclude: invalid pattern `\\`: it ends with a lone backslash (write `\\\\` for a literal one)"),
    (["--exclude", "build", "--exclude", "**/[z-a]"],
     "--exclude: invalid pattern `**/[z-a]`: the character range `z-a` is empty (`z` sorts after `a`)"),
]


@pytest.mark.parametrize(("flags", "error"), BAD_GLOB_FLAGS, ids=[" ".join(f)[:40] for f, _e in BAD_GLOB_FLAGS])
def test_a_bad_glob_flag_is_exit_2_naming_it(project: Path, capsys: pytest.CaptureFixture[str], flags: list[str], error: str) -> None:
    assert run(capsys, *flags, "ok.py") == (2, "", f"querylint: error: {error}\n")


def test_a_bad_gitignore_line_is_skipped_as_git_skips_it(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `[z-a]` and a lone `\` are patterns git cannot use; the good lines still apply
    (project / ".gitignore").write_text("[z-a]\n\\\ngenerated/\n", encoding="utf-8")
    (project / "generated").mkdir()
    (project / "generated" / "bad.py").write_text("def f(:\n", encoding="utf-8")
    (project / "bad.py").write_text("def f(:\n", encoding="utf-8")
    assert run(capsys, ".") == (1, "bad.py:1:7: QL001 [parse-error] Python syntax error: invalid syntax\n", "")


# -- item 11: every bad config value is exit 2 naming the key and the value ------------------

SQLGLOT = (
    "athena, bigquery, clickhouse, databricks, dax, doris, dremio, drill, druid, duckdb, dune, exasol, fabric, hive, "
    "materialize, mysql, oracle, presto, prql, redshift, risingwave, snowflake, solr, spark, spark2, sqlite, starrocks, "
    "tableau, teradata, trino, tsql"
)
EMPTY = "empty rule selector (name a rule code like QL101, a prefix like QL1, a rule name like select-star, or ALL)"
UNKNOWN = "(expected a rule code like QL101, a prefix like QL1, or a rule name like select-star)"

BAD_CONFIG = [
    # (querylint.toml, the error after "querylint: error: querylint.toml: ")
    ('[per-file-ignores]\n"a.py" = [" "]\n', f"per-file-ignores['a.py']: {EMPTY}"),
    ('sql-dialect = "nonsense"\n', f"`sql-dialect`: unknown SQL dialect `nonsense` (expected postgres, or one of sqlglot's: {SQLGLOT})"),
    ('sql-dialect = "mysq"\n',
     f"`sql-dialect`: unknown SQL dialect `mysq`; did you mean `mysql`? (expected postgres, or one of sqlglot's: {SQLGLOT})"),
    ('select = [""]\n', f"`select`: {EMPTY}"),
    ('ignore = ["QL1", ""]\n', f"`ignore`: {EMPTY}"),
    ('select = ["slect-star"]\n', f"`select`: unknown rule selector `slect-star` {UNKNOWN}; did you mean `select-star`?"),
    ("max-file-size = -1\n", "`max-file-size` must be a non-negative number of bytes, got -1"),
    ("postgres-version = -1\n", "`postgres-version`: unsupported PostgreSQL major version -1 (expected 9 to 19, e.g. 15 for PostgreSQL 15.4)"),
    ("postgres-version = 0\n", "`postgres-version`: unsupported PostgreSQL major version 0 (expected 9 to 19, e.g. 15 for PostgreSQL 15.4)"),
    ("postgres-version = 99\n", "`postgres-version`: unsupported PostgreSQL major version 99 (expected 9 to 19, e.g. 15 for PostgreSQL 15.4)"),
    ("[rules.offset-pagination]\nthreshold = -5\n", "option `threshold` of rule offset-pagination must be a non-negative integer, got -5"),
    ("[rules.missing-index]\nmax-keys = -1\n", "option `max-keys` of rule missing-index must be a non-negative integer, got -1"),
    ("[rules.offset-pagnation]\nthreshold = 5\n", "unknown rule `offset-pagnation` in [rules.offset-pagnation]; did you mean `offset-pagination`?"),
    ("[rules.offset-pagination]\nthreshhold = 5\n",
     "unknown option `threshhold` for rule offset-pagination; did you mean `threshold`? (known options: threshold)"),
    ('selct = ["QL1"]\n', "unknown key `selct`; did you mean `select`?"),
    ("max_file_size = 10\n", "unknown key `max_file_size`; did you mean `max-file-size`?"),
    ('output-format = "jsn"\n',
     "unknown output-format `jsn`; did you mean `json`? (expected one of: full, concise, json, github, sarif, gitlab, markdown)"),
    ('"sel\\nect" = []\n', "unknown key 'sel\\nect'; did you mean `select`?"),  # a line break cannot start a line of its own
]


@pytest.mark.parametrize(("toml", "error"), BAD_CONFIG, ids=[e[:40] for _t, e in BAD_CONFIG])
def test_a_bad_config_value_is_exit_2_naming_it(project: Path, capsys: pytest.CaptureFixture[str], toml: str, error: str) -> None:
    (project / "querylint.toml").write_text(toml, encoding="utf-8")
    assert run(capsys, "ok.py") == (2, "", f"querylint: error: querylint.toml: {error}\n")


BAD_FLAGS = [
    (["--select", ""], f"{EMPTY.replace('selector', 'selector in --select', 1)}"),
    (["--ignore", " , "], f"{EMPTY.replace('selector', 'selector in --ignore', 1)}"),
    (["--extend-select", "n-plus-on"], f"unknown rule selector in --extend-select `n-plus-on` {UNKNOWN}; did you mean `n-plus-one`?"),
    (["--postgres-version", "0"], "--postgres-version: unsupported PostgreSQL major version 0 (expected 9 to 19, e.g. 15 for PostgreSQL 15.4)"),
    (["--postgres-version", "99"], "--postgres-version: unsupported PostgreSQL major version 99 (expected 9 to 19, e.g. 15 for PostgreSQL 15.4)"),
]


@pytest.mark.parametrize(("flags", "error"), BAD_FLAGS, ids=[" ".join(f)[:40] for f, _e in BAD_FLAGS])
def test_a_bad_flag_value_is_exit_2_naming_it(project: Path, capsys: pytest.CaptureFixture[str], flags: list[str], error: str) -> None:
    (project / "querylint.toml").write_text("select = ['QL0']\n", encoding="utf-8")
    assert run(capsys, *flags, "ok.py") == (2, "", f"querylint: error: {error}\n")


def test_accepted_edge_values_keep_their_documented_meaning(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 0 is a valid threshold (every OFFSET is deep), 9 stands for PostgreSQL 9.x, a dialect is
    # matched case-insensitively, a trailing comma in --select names nothing more
    (project / "querylint.toml").write_text(
        'postgres-version = 9\nsql-dialect = "PostgreSQL"\nmax-file-size = 0\n[rules.offset-pagination]\nthreshold = 0\n',
        encoding="utf-8",
    )
    (project / "empty.sql").write_text("", encoding="utf-8")
    assert run(capsys, "--select", "QL001,", "empty.sql") == (0, "", "")


def test_a_rule_may_declare_an_option_signed(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from querylint.rules.offset_pagination import OffsetPagination

    monkeypatch.setattr(OffsetPagination, "signed_options", frozenset({"threshold"}))
    (project / "querylint.toml").write_text("[rules.offset-pagination]\nthreshold = -5\n", encoding="utf-8")
    assert run(capsys, "ok.py") == (0, "", "")


def test_an_error_naming_project_text_stays_on_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """stderr is in the CI log too: a folder name with a newline cannot start a line of its own there."""
    sub = project / "d\n::error file=ok.py::x"
    sub.mkdir()
    (sub / ".git").mkdir()
    (sub / "ok.py").write_text("x = 1\n", encoding="utf-8")
    (sub / "querylint.toml").write_text("select = [\n", encoding="utf-8")
    code, out, err = run(capsys, str(sub.relative_to(project) / "ok.py"))
    assert (code, out) == (2, "")
    assert err.startswith("querylint: error: d\\n::error file=ok.py::x/querylint.toml: invalid TOML: ")
    assert err.count("\n") == 1 and err.endswith("\n")


def test_a_long_word_before_the_error_is_scanned_once() -> None:
    """The literal scan took a 100 KB word character by character, each a new regex attempt over
    the rest of it (quadratic: 122 s); the word is now taken whole (0.001 s at 40 KB, measured)."""
    text = "x = 1\n" + "y" * 100_000 + " = 'a'\n(\n"
    with pytest.raises(SyntaxError) as info:
        compile(text, "big.py", "exec")
    assert syntax_error_message(text, info.value) == "Python syntax error: '(' was never closed"
