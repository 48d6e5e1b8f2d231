"""--fix / --diff: safe vs unsafe, non-overlapping edits, re-parse guard, fixpoint, atomic write."""

from __future__ import annotations

import dataclasses
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from querylint import fix as fixmod
from querylint.config import Config
from querylint.diagnostics import Applicability, Diagnostic, Edit, Fix
from querylint.engine import Engine
from querylint.rule import SqlContext, SqlRule
from querylint.rules.parse_error import ParseError
from querylint.source import Span


class UpperKeyword(SqlRule):
    """Test rule: `select` written in lower case; safe fix upper-cases it."""

    code = "QL901"
    name = "test-upper"

    def visit_SelectStmt(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
        assert ctx.statement is not None
        span = ctx.statement.span
        text = ctx.source.text
        if text[span.start : span.start + 6] == "select":
            edit = Edit(span.path, span.start, span.start + 6, "SELECT")
            yield self.diagnostic(Span(span.path, span.start, span.start + 6), "lower-case select", fix=Fix("Upper-case it", (edit,)))


class StarToId(SqlRule):
    """Test rule: `*` -> `id`, an UNSAFE fix; then `id` -> `id, name` (uncovered by the first)."""

    code = "QL902"
    name = "test-star"

    def visit_ColumnRef(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
        from pglast import ast as pg

        span = ctx.node_span(node)
        if any(isinstance(f, pg.A_Star) for f in node.fields):
            edit = Edit(span.path, span.start, span.end, "id")
            yield self.diagnostic(span, "star", fix=Fix("Select id", (edit,), Applicability.UNSAFE))


class BreaksSql(SqlRule):
    """Test rule: a safe fix that produces SQL pglast rejects."""

    code = "QL903"
    name = "test-breaks"

    def visit_DeleteStmt(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
        assert ctx.statement is not None
        span = ctx.statement.span
        yield self.diagnostic(span, "delete", fix=Fix("Break it", (Edit(span.path, span.start, span.start + 6, "DELET"),)))


def engine(root: Path, *rules: Any) -> Engine:
    return Engine(Config(root=str(root), cache=False), rules=[*rules, ParseError()])


def test_safe_fixes_applied_unsafe_only_with_flag(tmp_path: Path) -> None:
    f = tmp_path / "q.sql"
    f.write_text("select * FROM a;\nselect id FROM b;\n", encoding="utf-8")
    eng = engine(tmp_path, UpperKeyword(), StarToId())
    out = fixmod.fix_paths(eng, [str(tmp_path)])
    assert f.read_text(encoding="utf-8") == "SELECT * FROM a;\nSELECT id FROM b;\n"
    assert out.fixed == 2
    assert [(d.code, d.message) for d in out.result.diagnostics] == [("QL902", "star")]
    out = fixmod.fix_paths(eng, [str(tmp_path)], unsafe=True)
    assert (f.read_text(encoding="utf-8"), out.fixed, out.result.diagnostics) == ("SELECT id FROM a;\nSELECT id FROM b;\n", 1, [])
    # idempotent: nothing left to do
    again = fixmod.fix_paths(eng, [str(tmp_path)], unsafe=True)
    assert (again.fixed, again.changes) == (0, {})


def test_overlapping_edits_resolve_over_rounds(tmp_path: Path) -> None:
    f = tmp_path / "q.sql"
    f.write_text("select * FROM a;\n", encoding="utf-8")

    class WholeStatement(SqlRule):
        code = "QL904"
        name = "test-whole"

        def visit_SelectStmt(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
            assert ctx.statement is not None
            sp = ctx.statement.span
            if "FROM a" in ctx.source.text[sp.start : sp.end]:
                yield self.diagnostic(sp, "from a", fix=Fix("to b", (Edit(sp.path, sp.end - 1, sp.end, "b"),)))

    out = fixmod.fix_paths(engine(tmp_path, UpperKeyword(), WholeStatement()), [str(tmp_path)])
    assert f.read_text(encoding="utf-8") == "SELECT * FROM b;\n"
    assert out.fixed == 2


def test_fix_that_breaks_parsing_is_discarded_and_reported(tmp_path: Path) -> None:
    f = tmp_path / "q.sql"
    original = "DELETE FROM a;\n"
    f.write_text(original, encoding="utf-8")
    out = fixmod.fix_paths(engine(tmp_path, BreaksSql()), [str(tmp_path)])
    assert f.read_text(encoding="utf-8") == original
    assert out.fixed == 0
    assert out.messages == [
        'q.sql: fix for QL903 [test-breaks] discarded: the result does not parse (SQL syntax error: syntax error at or near "DELET")'
    ]
    assert [d.code for d in out.result.diagnostics] == ["QL903"]


class TwoFiles(SqlRule):
    """Test rule: a fix that edits the checked file and a project file next to it."""

    code = "QL905"
    name = "test-two-files"

    def visit_SelectStmt(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
        assert ctx.statement is not None
        sp = ctx.statement.span
        other = ctx.project.source("schema.sql")
        if other is None or "legacy" not in ctx.source.text[sp.start : sp.end]:
            return
        at = other.text.index("legacy")
        edits = (
            Edit(sp.path, ctx.source.text.index("legacy", sp.start), ctx.source.text.index("legacy", sp.start) + 6, "modern"),
            Edit("schema.sql", at, at + 6, "modern"),
        )
        yield self.diagnostic(sp, "legacy table", fix=Fix("Rename to modern", edits))


def test_fix_editing_two_files_is_applied_to_both(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("SELECT id FROM legacy;\n", encoding="utf-8")
    (tmp_path / "schema.sql").write_text("CREATE TABLE legacy (id int);\n", encoding="utf-8")
    out = fixmod.fix_paths(engine(tmp_path, TwoFiles()), [str(tmp_path / "q.sql")])
    assert (out.fixed, out.messages, out.result.diagnostics) == (1, [], [])
    assert (tmp_path / "q.sql").read_text(encoding="utf-8") == "SELECT id FROM modern;\n"
    assert (tmp_path / "schema.sql").read_text(encoding="utf-8") == "CREATE TABLE modern (id int);\n"
    # on stdin only the buffer could change, so a two-file fix is not applied
    (tmp_path / "schema.sql").write_text("CREATE TABLE legacy (id int);\n", encoding="utf-8")
    result = engine(tmp_path, TwoFiles()).run([], stdin=("q2.sql", "SELECT id FROM legacy;\n"))
    assert [d.message for d in result.diagnostics] == ["legacy table"]
    assert fixmod.fix_text(engine(tmp_path, TwoFiles()), "q2.sql", "SELECT id FROM legacy;\n") == ("SELECT id FROM legacy;\n", 0)


def test_diff_changes_nothing(tmp_path: Path) -> None:
    f = tmp_path / "q.sql"
    f.write_text("select id FROM a;\n", encoding="utf-8")
    out = fixmod.fix_paths(engine(tmp_path, UpperKeyword()), [str(tmp_path)], write=False)
    assert f.read_text(encoding="utf-8") == "select id FROM a;\n"
    assert "".join(fixmod.unified_diff(p, a, b) for p, (a, b) in out.changes.items()) == (
        "--- a/q.sql\n+++ b/q.sql\n@@ -1 +1 @@\n-select id FROM a;\n+SELECT id FROM a;\n"
    )


def test_atomic_write_keeps_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    f = tmp_path / "q.sql"
    f.write_text("old\r\n", encoding="utf-8")
    os.chmod(f, 0o640)
    fixmod.write_atomic(str(f), "new\r\n")
    assert f.read_bytes() == b"new\r\n"
    assert (f.stat().st_mode & 0o777, sorted(p.name for p in tmp_path.iterdir())) == (0o640, ["q.sql"])
    bom = tmp_path / "bom.sql"
    bom.write_bytes(b"\xef\xbb\xbfselect 1;\n")
    fixmod.write_atomic(str(bom), "SELECT 1;\n")
    assert bom.read_bytes() == b"\xef\xbb\xbfSELECT 1;\n"


def test_apply_edits_and_parses() -> None:
    assert fixmod.apply_edits("abcdef", [Edit("x", 4, 5, "E"), Edit("x", 0, 1, "A")]) == "AbcdEf"
    assert fixmod.parses("a.py", "x = (\n") == "Python syntax error: '(' was never closed"
    assert fixmod.parses("a.sql", "SELECT 1;") is None


def test_cli_fix_and_diff(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    from querylint import cli, registry

    monkeypatch.chdir(tmp_path)
    f = tmp_path / "q.sql"
    f.write_text("select id FROM a;\n", encoding="utf-8")
    real_all = registry.all_rules
    monkeypatch.setattr(registry, "all_rules", lambda: [*real_all(), UpperKeyword])
    assert cli.main(["check", "--diff", "--select", "QL901"]) == 1
    out, err = capsys.readouterr()
    assert out == "--- a/q.sql\n+++ b/q.sql\n@@ -1 +1 @@\n-select id FROM a;\n+SELECT id FROM a;\n"
    assert err == "Would fix 1 problem.\n"
    assert f.read_text(encoding="utf-8") == "select id FROM a;\n"
    assert cli.main(["check", "--fix", "--select", "QL901"]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == ("All checks passed!\n", "Fixed 1 problem.\n")
    assert f.read_text(encoding="utf-8") == "SELECT id FROM a;\n"
    assert cli.main(["check", "--diff", "--select", "QL901"]) == 0


# -- every rule's documented fix (Example.fixed) is what --fix --unsafe-fixes produces ---------
def _fixed_examples() -> list[Any]:
    from querylint.registry import all_rules

    return [
        pytest.param(r, ex, id=f"{r.name}-{i}")
        for r in all_rules()
        for i, ex in enumerate(r.INVALID)
        if ex.fixed is not None
    ]


@pytest.mark.parametrize(("rule", "ex"), _fixed_examples())
def test_documented_fix(rule: Any, ex: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ex.path or rule.example_path
    for rel, text in {path: ex.text, **ex.files}.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    cfg = dataclasses.replace(Config(root=str(tmp_path), cache=False), select=(rule.code,), **dict(ex.config))
    if ex.options:
        cfg = dataclasses.replace(cfg, rule_options={rule.name: dict(ex.options)})
    monkeypatch.chdir(tmp_path)
    out = fixmod.fix_paths(Engine(cfg), [path], unsafe=True, write=False)
    assert out.messages == []
    assert path in out.changes, f"{rule.name}: no fix was applied"
    assert out.changes[path][1] == textwrap.dedent(ex.fixed).lstrip("\n")
    # the fixed text is clean for this rule: --fix reached its fixpoint
    assert [d.message for d in out.result.diagnostics if d.code == rule.code and d.fix is not None] == []


def test_cli_fix_stdin_prints_the_fixed_buffer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    from querylint import cli, registry

    monkeypatch.chdir(tmp_path)
    real_all = registry.all_rules
    monkeypatch.setattr(registry, "all_rules", lambda: [*real_all(), UpperKeyword])
    monkeypatch.setattr(sys, "stdin", io.StringIO("select id FROM a;\nselect 1;\n"))
    assert cli.main(["check", "--fix", "--select", "QL901", "--stdin-filename", "db/q.sql", "-"]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == ("SELECT id FROM a;\nSELECT 1;\n", "")
    assert not (tmp_path / "db").exists()
