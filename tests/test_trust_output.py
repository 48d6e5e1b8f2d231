"""Issue 13, items 2-4: the project's text (paths, identifiers, messages, SQL) is escaped for every
format querylint writes, and paths are reported as they are on disk.

Each test reproduces an attack on a real project in a temporary folder: a file name that forges a
GitHub annotation, identifiers and paths that end an ``advise`` comment and drop tables, a file
name with a backslash reported as another file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from querylint.cli import main

INJECTED = "::error file=app.py,line=1::INJECTED"
HOSTILE = f"z\n{INJECTED}\n.sql"  # a legal file name on POSIX
HOSTILE_SHOWN = f"z\\n{INJECTED}\\n.sql"  # how the reports must show it
STAR = "`SELECT *` on `{t}` fetches every column, including ones the application may not use"
CI_VARS = ("GITHUB_WORKSPACE", "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_SERVER_URL", "CI_PROJECT_DIR")


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (*CI_VARS, "FORCE_COLOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(["check", "--no-cache", *argv])
    out, err = capsys.readouterr()
    assert code == 1, err
    return out


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """12 warnings (QL101) and 12 errors (QL411 add-required-column) in files named ``HOSTILE``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.querylint]\n")
    (tmp_path / HOSTILE).write_text("".join(f"SELECT * FROM t{i};\n" for i in range(12)))
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / HOSTILE).write_text(
        "".join(f"ALTER TABLE orders ADD COLUMN c{i} text NOT NULL;\n" for i in range(12))
    )
    return tmp_path


def _commands(out: str) -> list[str]:
    """The lines GitHub's runner reads as workflow commands: ``::`` after leading blanks, or ``##[``
    anywhere (the legacy syntax, still parsed)."""
    return [line for line in out.split("\n") if line.lstrip().startswith("::") or "##[" in line]


# -- item 2: GitHub annotations ------------------------------------------------------------------
def test_github_plain_lines_past_the_cap_forge_no_annotation(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _check(capsys, "--output-format", "github", ".")
    lines = out.splitlines()
    assert len(lines) == len(out.split("\n")) - 1  # no CR or other line break besides the LFs
    commands = _commands(out)
    token = re.fullmatch(r"::stop-commands::(querylint-[0-9a-f]{32})", commands[20])
    assert token is not None
    kinds = [re.match(r"::([\w-]+)[ :]", c).group(1) for c in commands]  # type: ignore[union-attr]
    assert sorted(kinds[:20]) == ["error"] * 10 + ["warning"] * 10
    assert kinds[20:] == ["stop-commands", token.group(1), "notice"]
    escaped = "z%0A%3A%3Aerror file=app.py%2Cline=1%3A%3AINJECTED%0A.sql"
    assert all(f"file={escaped}," in c or f"file=migrations/{escaped}," in c for c in commands[:20])
    # the 5 findings past the cap: plain lines, one each, the name escaped, inside stop-commands
    i = lines.index(commands[20])
    add = "`ALTER TABLE ... ADD COLUMN` takes an ACCESS EXCLUSIVE lock on `orders` to add `{c}` NOT NULL without a default: " \
          "it fails as soon as `orders` has a row, and inserts from running code that omit it fail"
    assert lines[i + 1 : i + 7] == [
        f"migrations/{HOSTILE_SHOWN}:11:1: QL404 {add.format(c='c10')}",
        f"migrations/{HOSTILE_SHOWN}:12:1: QL404 {add.format(c='c11')}",
        f"{HOSTILE_SHOWN}:10:8: QL101 {STAR.format(t='t9')}",
        f"{HOSTILE_SHOWN}:11:8: QL101 {STAR.format(t='t10')}",
        f"{HOSTILE_SHOWN}:12:8: QL101 {STAR.format(t='t11')}",
        f"::{token.group(1)}::",
    ]
    assert lines[-1].startswith("::notice::querylint: 5 findings were not annotated")
    assert len(lines) == i + 8
    assert not any(line.startswith(INJECTED) for line in lines)


def test_github_path_starting_with_a_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "::warning::x.sql").write_text("".join(f"SELECT * FROM t{i};\n" for i in range(11)))
    (tmp_path / "q.sql").write_text('SELECT * FROM "##[error]legacy";\n')
    out = _check(capsys, "--output-format", "github", ".")
    assert f"./::warning::x.sql:11:8: QL101 {STAR.format(t='t10')}" in out.splitlines()
    for fmt in ("full", "concise"):
        out = _check(capsys, "--output-format", fmt, ".")
        assert _commands(out) == []
        assert f"./::warning::x.sql:1:8: QL101 [select-star] {STAR.format(t='t0')}" in out.splitlines()
        assert "q.sql:1:8: QL101 [select-star] " + STAR.format(t="#\\x23[error]legacy") in out.splitlines()


# -- item 2: concise / full ----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["concise", "full"])
def test_line_formats_keep_one_finding_per_line(fmt: str, hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (hostile / "q.sql").write_text('SELECT * FROM "evil\r\n::error file=a.py,line=1::X";\n')
    out = _check(capsys, "--output-format", fmt, ".")
    assert _commands(out) == []
    assert len(out.splitlines()) == len(out.split("\n")) - 1
    heads = [line for line in out.splitlines() if re.match(r"\S.*:\d+:\d+: QL\d{3} ", line)]
    assert len(heads) == 12 + 13 + 1  # QL101 x 12, QL404 x 12, QL416, and q.sql's QL101
    assert f"{HOSTILE_SHOWN}:1:8: QL101 [select-star] {STAR.format(t='t0')}" in heads
    assert "q.sql:1:8: QL101 [select-star] " + STAR.format(t="evil\\r\\n::error file=a.py,line=1::X") in heads


def test_full_frame_shows_control_characters_and_keeps_the_carets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    # a lone CR ends a line for GitHub's runner and for editors; ESC starts a terminal sequence
    (tmp_path / "q.sql").write_text("SELECT '\r::error::x', '##[error]y', '\x1b[2J', * FROM t;\n")
    out = _check(capsys, "--output-format", "full", "q.sql")
    shown = "1 | SELECT '␍::error::x', '#\\x23[error]y', '␛[2J', * FROM t;"
    assert out.splitlines()[1:4] == ["  |", shown, "  | " + " " * (shown.index("*") - 4) + "^"]
    assert _commands(out) == []


# -- item 2: markdown ----------------------------------------------------------------------------
def test_markdown_path_cannot_leave_its_code_span(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a`<img src=x>`|b\n- [x](https:evil.example)\n.sql").write_text("SELECT * FROM t;\n")
    out = _check(capsys, "--output-format", "markdown", ".")
    findings = out.split("#### Findings\n\n", 1)[1]
    assert findings == "- ``a`<img src=x>`|b\\n- [x](https:evil.example)\\n.sql:1`` QL101 " + STAR.format(t="t") + "\n"
    assert code_span_of("`a``b`") == "``` `a``b` ```"


def code_span_of(text: str) -> str:
    from querylint.reporters.markdown import code_span

    return code_span(text)


# -- item 4: paths as they are on disk -----------------------------------------------------------
@pytest.fixture
def backslash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``back\\slash.sql`` (one file) next to ``back/slash.sql`` (a file in a folder)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "back\\slash.sql").write_text("SELECT * FROM t1;\n")
    (tmp_path / "back").mkdir()
    (tmp_path / "back" / "slash.sql").write_text("SELECT id FROM t2;\n")
    return tmp_path


def test_backslash_paths_are_reported_as_on_disk(backslash: Path, capsys: pytest.CaptureFixture[str]) -> None:
    on_disk = "back\\slash.sql"
    assert _check(capsys, "--output-format", "concise", ".") == f"{on_disk}:1:8: QL101 [select-star] {STAR.format(t='t1')}\n"
    assert _check(capsys, "--output-format", "full", ".").startswith(f"{on_disk}:1:8: QL101 ")
    assert _check(capsys, "--output-format", "github", ".").startswith(f"::warning file={on_disk},line=1,")
    assert json.loads(_check(capsys, "--output-format", "json", "."))[0]["filename"] == str(backslash / on_disk)
    assert json.loads(_check(capsys, "--output-format", "gitlab", "."))[0]["location"]["path"] == on_disk
    sarif = json.loads(_check(capsys, "--output-format", "sarif", "."))
    assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "back%5Cslash.sql"
    assert f"- `{on_disk}:1` QL101 " in _check(capsys, "--output-format", "markdown", ".")


def test_baseline_keeps_a_backslash_in_the_path(backslash: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--no-cache", "--write-baseline", "bl.json", "."]) == 0
    capsys.readouterr()
    assert [f["path"] for f in json.loads((backslash / "bl.json").read_text())["findings"]] == ["back\\slash.sql"]
    assert main(["check", "--no-cache", "--baseline", "bl.json", "."]) == 0
    capsys.readouterr()
    # the same finding in the other file is not the recorded one
    (backslash / "back" / "slash.sql").write_text("SELECT * FROM t1;\n")
    assert _check(capsys, "--output-format", "concise", "--baseline", "bl.json", ".") == (
        f"back/slash.sql:1:8: QL101 [select-star] {STAR.format(t='t1')}\n"
    )


def test_diff_scope_keeps_a_backslash_in_the_path(backslash: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@x", *args], cwd=backslash, check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    (backslash / "back" / "slash.sql").write_text("SELECT * FROM t2;\n")  # changed: reported
    (backslash / "back\\slash.sql").write_text("SELECT * FROM t1;\n")  # unchanged: not reported
    out = _check(capsys, "--output-format", "concise", "--diff-base", "HEAD", ".")
    assert out == f"back/slash.sql:1:8: QL101 [select-star] {STAR.format(t='t2')}\n"
    (backslash / "back\\slash.sql").write_text("SELECT * FROM t3;\n")
    out = _check(capsys, "--output-format", "concise", "--diff-base", "HEAD", ".")
    assert out.splitlines() == [f"back/slash.sql:1:8: QL101 [select-star] {STAR.format(t='t2')}",
                                f"back\\slash.sql:1:8: QL101 [select-star] {STAR.format(t='t3')}"]


# -- item 3: advise --------------------------------------------------------------------------------
SENTINELS = ("sentinel_a", "sentinel_b", "sentinel_c", "sentinel_d", "sentinel_e")
EVIL_TABLE = "ord\n; drop table sentinel_a; --"  # lower case: the schema keeps it as written
EVIL_COLUMN = "cust\n; drop table sentinel_b; --"


def _psql(dsn: str, script: Path) -> None:
    import subprocess

    proc = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(script)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def _sentinels_left(conn: object) -> list[str]:
    rows = conn.execute(  # type: ignore[attr-defined]
        "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r' ORDER BY 1", (list(SENTINELS),)).fetchall()
    return [r[0] for r in rows]


def test_advise_sql_comments_and_identifiers_drop_nothing(scratch_db: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import psycopg
    from psycopg import sql
    from querylint.advise.cli import main as advise

    (tmp_path / "pyproject.toml").write_text("[tool.querylint]\n")
    ddl = (
        "CREATE TABLE customers (id bigint PRIMARY KEY);\n"
        f'CREATE TABLE "{EVIL_TABLE}" (id bigint PRIMARY KEY, "{EVIL_COLUMN}" bigint NOT NULL, created_at timestamptz);\n'
    )
    (tmp_path / "schema\n; drop table sentinel_c; --.sql").write_text(ddl)
    (tmp_path / "q\n; drop table sentinel_d; --.sql").write_text(
        f'SELECT id FROM "{EVIL_TABLE}" WHERE "{EVIL_COLUMN}" = 5 ORDER BY created_at DESC LIMIT 20;\n')
    assert advise([str(tmp_path), "--format", "sql"]) == 0
    script = capsys.readouterr().out
    name = "ord_drop_table_sentinel_a_cust_drop_table_sentinel_b_821e84_idx"
    assert script.split("\n") == [
        "-- querylint advise: 1 index",
        "-- Run outside a transaction block: CREATE INDEX CONCURRENTLY cannot run inside one.",
        "SET lock_timeout = '5s';",
        "",
        "-- ord\\n; drop table sentinel_a; --: serves 1 query",
        "--   q\\n; drop table sentinel_d; --.sql:1:1",
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON U&\"ord\\000A; drop table sentinel_a; --\" "
        "(U&\"cust\\000A; drop table sentinel_b; --\", created_at DESC) INCLUDE (id);",
        "",
        "-- Rollback (run each statement on its own):",
        f"-- DROP INDEX CONCURRENTLY IF EXISTS {name};",
        "",
    ]
    (tmp_path / "advice.sql").write_text(script)
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        for s in SENTINELS:
            conn.execute(sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(s)))
        conn.execute(ddl)
        _psql(scratch_db, tmp_path / "advice.sql")
        assert _sentinels_left(conn) == list(SENTINELS)
        rows = conn.execute("SELECT tablename, indexname FROM pg_indexes WHERE indexname = %s", (name,)).fetchall()
        assert rows == [(EVIL_TABLE, name)]


def test_advise_sql_quotes_by_postgresqls_rules(scratch_db: str, tmp_path: Path) -> None:
    import psycopg
    from querylint.advise.emit_sql import emit_sql
    from querylint.advise.plan import IndexPlan
    from querylint.diagnostics import IndexKey
    from querylint.schema import Index

    drop = "\n; DROP TABLE sentinel_e; --"
    plans = [
        # case kept, and a reason and an extended index's name that try to end their comment
        IndexPlan("Order", (IndexKey("CustomerId"), IndexKey("created_at", descending=True)), name="Order_CustomerId_idx",
                  reason="serves 1 query" + drop, extends=Index("Order", (IndexKey("CustomerId"),), name="old" + drop)),
        # keywords PostgreSQL reserves (quote_ident quotes every keyword that is not unreserved)
        IndexPlan("array", (IndexKey("case"), IndexKey("name")), name="array_case_idx"),
        # project SQL that would not stay inside its statement: left out, said in a comment
        IndexPlan("array", (IndexKey("case"),), predicate="true; DROP TABLE sentinel_e; --", name="array_p_idx"),
        IndexPlan("array", (IndexKey(expression="lower(name)) WHERE true; DROP TABLE sentinel_e; SELECT (1"),), name="array_x_idx"),
    ]
    script = emit_sql(plans)
    assert script.split("\n")[:14] == [
        "-- querylint advise: 2 indexes",
        "-- Run outside a transaction block: CREATE INDEX CONCURRENTLY cannot run inside one.",
        "SET lock_timeout = '5s';",
        "",
        "-- Order: serves 1 query\\n; DROP TABLE sentinel_e; --",
        "-- extends old\\n; DROP TABLE sentinel_e; --, which then becomes redundant",
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Order_CustomerId_idx" ON "Order" ("CustomerId", created_at DESC);',
        "",
        "-- array: ",
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS array_case_idx ON "array" ("case", name);',
        "",
        "-- skipped: array (case): its SQL does not stay one CREATE INDEX statement; write this index by hand",
        "",
        "-- skipped: array ((lower(name)) WHERE true; DROP TABLE sentinel_e; SELECT (1)): its SQL does not stay one "
        "CREATE INDEX statement; write this index by hand",
    ]
    assert emit_sql(plans[:1], lock_timeout="5s'; DROP TABLE x; --").split("\n")[2] == "SET lock_timeout = '5s''; DROP TABLE x; --';"
    (tmp_path / "advice.sql").write_text(script)
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute('CREATE TABLE sentinel_e (id int); CREATE TABLE "Order" ("CustomerId" bigint, created_at timestamptz);'
                     'CREATE TABLE "array" ("case" int, name text)')
        _psql(scratch_db, tmp_path / "advice.sql")
        assert _sentinels_left(conn) == ["sentinel_e"]
        rows = conn.execute("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1").fetchall()
        assert rows == [("Order", "Order_CustomerId_idx"), ("array", "array_case_idx")]


def _comments(source: str) -> list[str]:
    import io
    import tokenize

    return [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]


def _strings(tree: object) -> set[str]:
    import ast

    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}  # type: ignore[arg-type]


HOSTILE_PY = 'odd"\n)\nimport os; os.system("boom")  # \u2028'


def test_advise_django_migration_holds_hostile_text_only_as_data(tmp_path: Path) -> None:
    import ast

    from querylint.advise.cli import load_project
    from querylint.advise.emit_django import emit_django
    from querylint.advise.plan import IndexPlan
    from querylint.diagnostics import IndexKey

    (tmp_path / "pyproject.toml").write_text("[tool.querylint]\n")
    app = tmp_path / "shop"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text(
        "from django.db import models\n\n\nclass Note(models.Model):\n    body = models.TextField()\n    kind = models.TextField()\n")
    (app / "migrations" / "0001_initial.py").write_text(
        "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    initial = True\n    dependencies = []\n"
        "    operations = [\n        migrations.CreateModel(name=\"Note\", fields=[(\"id\", models.BigAutoField(primary_key=True)),"
        " (\"body\", models.TextField()), (\"kind\", models.TextField())]),\n    ]\n"
    )
    project, _ = load_project([str(tmp_path)], config_file=str(tmp_path / "pyproject.toml"))
    plan = IndexPlan("shop_note", (IndexKey("body"), IndexKey(HOSTILE_PY)), predicate="kind = 'a\"\\'", name="x",
                     reason="serves 1 query\nimport os")
    res = emit_django(project, [plan])
    assert res.skipped == []
    [mig] = [f for f in res.files if f.path.endswith("0002_querylint_indexes.py")]
    tree = ast.parse(mig.text)
    assert [type(n).__name__ for n in tree.body] == ["ImportFrom", "ImportFrom", "ClassDef"]
    assert {HOSTILE_PY, 'a"\\'} <= _strings(tree)
    assert _comments(mig.text) == [
        "# Generated by querylint advise: indexes that serve the queries it found.",
        "# CREATE INDEX CONCURRENTLY cannot run inside a transaction.",
        "# shop_note: serves 1 query\\nimport os",
    ]
    [models] = [f for f in res.files if f.path.endswith("models.py")]
    models_tree = ast.parse(models.text)
    assert HOSTILE_PY in _strings(models_tree) and _comments(models.text) == []
    assert [type(n).__name__ for n in models_tree.body] == ["ImportFrom", "ClassDef"]


def test_advise_alembic_revision_holds_hostile_text_only_as_data(tmp_path: Path) -> None:
    import ast

    from querylint.advise.cli import load_project, render
    from querylint.advise.emit_alembic import emit_alembic
    from querylint.advise.plan import IndexPlan
    from querylint.diagnostics import IndexKey

    (tmp_path / "pyproject.toml").write_text("[tool.querylint]\n")
    (tmp_path / "alembic" / "versions").mkdir(parents=True)
    head = 'abc"""\nimport os  # '  # a revision id that would end the new revision's docstring
    (tmp_path / "alembic" / "versions" / "0001_init.py").write_text(
        f'"""init"""\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = {head!r}\ndown_revision = None\n\n\n'
        'def upgrade():\n    op.create_table("Order", sa.Column("id", sa.BigInteger, primary_key=True))\n'
    )
    project, _ = load_project([str(tmp_path)], config_file=str(tmp_path / "pyproject.toml"))
    plans = [
        IndexPlan("Order", (IndexKey(HOSTILE_PY, descending=True),), predicate="status = 'a\"b'''", name="order_idx",
                  reason="serves 1 query\nimport os"),
        IndexPlan("Order", (IndexKey("id"),), predicate="true; DROP TABLE x; --", name="order_p_idx"),
    ]
    res = emit_alembic(project, plans)
    assert res.skipped == ["Order (id): its SQL does not stay one CREATE INDEX statement; write this index by hand"]
    [rev] = res.files
    tree = ast.parse(rev.text)
    assert [type(n).__name__ for n in tree.body] == ["Expr", "Import", "ImportFrom", *["Assign"] * 4, "FunctionDef", "FunctionDef"]
    assert tree.body[4].value.value == head  # type: ignore[attr-defined]  # down_revision
    assert ast.get_docstring(tree) is not None and "Revises: abc\\\"\\\"\\\"\\nimport os  # " in rev.text
    strings = _strings(tree)
    assert 'U&"odd""\\000A)\\000Aimport os; os.system(""boom"")  # \\2028" DESC' in strings  # the SQL PostgreSQL reads
    assert "status = 'a\"b'''" in strings and not any("DROP TABLE" in s for s in strings)
    assert "        # Order: serves 1 query\\nimport os" in rev.text.split("\n")
    assert _comments(rev.text)[1] == "# Order: serves 1 query\\nimport os"
    printed, _ = render(project, plans, "alembic")
    assert printed.endswith("# skipped: Order (id): its SQL does not stay one CREATE INDEX statement; write this index by hand\n")


# -- item 2: the JSON formats and markdown, printed into a CI log -----------------------------------
@pytest.mark.parametrize("fmt", ["json", "sarif", "gitlab", "markdown"])
def test_machine_formats_hold_no_runner_command(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """``##[error]`` anywhere in a line of a step's log is a command for GitHub's runner, so a JSON
    report printed on stdout must not hold it: ``#`` is written ``\\u0023`` (the same JSON value)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "q##[error]p.sql").write_text('SELECT * FROM "##[error]t", "##vso[task.complete]u";\n')
    out = _check(capsys, "--output-format", fmt, ".")
    assert "##[" not in out and "##vso[" not in out
    assert len(out.splitlines()) == len(out.split("\n")) - 1
    if fmt == "json":
        [item] = json.loads(out)
        assert item["message"] == STAR.format(t="##[error]t`, `##vso[task.complete]u")
        assert item["filename"] == str(tmp_path / "q##[error]p.sql")
    elif fmt == "markdown":
        assert "- `q#\\x23[error]p.sql:1` QL101 " + STAR.format(t="#\\x23[error]t`, `#\\x23vso[task.complete]u") in out


def test_advise_output_holds_no_runner_command(scratch_db: str, tmp_path: Path) -> None:
    """``advise`` prints its SQL and Python on stdout, often in CI: ``##[`` is escaped in
    identifiers, literals and Python strings, and still means the same name."""
    import ast

    import psycopg
    from querylint.advise.emit_sql import emit_sql
    from querylint.advise.plan import IndexPlan
    from querylint.advise.quoting import py_str, sql_literal
    from querylint.diagnostics import IndexKey

    table = "##[error]t"
    script = emit_sql([IndexPlan(table, (IndexKey("##vso[x]c"),), name="t_c_idx", reason="##[warning]r")],
                      lock_timeout="##[notice]")
    assert "##[" not in script and "##vso[" not in script
    assert 'ON U&"#\\0023[error]t" (U&"#\\0023vso[x]c");' in script
    assert sql_literal("##[notice]") == "E'#\\x23[notice]'"
    assert py_str('"##[x') == '"\\"#\\x23[x"' and ast.literal_eval(py_str('"##[x')) == '"##[x'
    (tmp_path / "advice.sql").write_text(script.replace("SET lock_timeout = E'#\\x23[notice]';", ""))
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute('CREATE TABLE "##[error]t" ("##vso[x]c" int)')
        _psql(scratch_db, tmp_path / "advice.sql")
        assert conn.execute("SELECT tablename, indexdef FROM pg_indexes WHERE indexname = 't_c_idx'").fetchall() == [
            (table, 'CREATE INDEX t_c_idx ON public."##[error]t" USING btree ("##vso[x]c")')]
        assert conn.execute("SELECT E'#\\x23[notice]'").fetchone()[0] == "##[notice]"
