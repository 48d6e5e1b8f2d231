"""The command line: subcommands, flags beating config, exit codes, output formats, stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from querylint import __version__
from querylint.cli import main
from querylint.diagnostics import Applicability, Diagnostic, Edit, Fix, Severity
from querylint.engine import RunResult
from querylint.reporters import ReportContext, full
from querylint.source import Language, RelatedSpan, SourceFile, Span

BAD = "SELEC id FROM users;\n"  # QL001 parse-error
BAD_MSG = 'SQL syntax error: syntax error at or near "SELEC"'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "bad.sql").write_text(BAD, encoding="utf-8")
    (tmp_path / "db" / "ok.sql").write_text("SELECT id FROM users;  -- noqa: QL001\n", encoding="utf-8")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_concise_output_and_exit_code(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--output-format", "concise")
    assert (code, err) == (1, "")
    assert out == (
        f"db/bad.sql:1:1: QL001 [parse-error] {BAD_MSG}\n"
        "db/ok.sql:1:24: QL002 [unused-suppression] unused suppression `-- noqa: QL001`: no QL001 finding on this line\n"
    )


def test_full_output_snapshot(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "db/bad.sql")
    assert code == 1
    assert out == (
        f"db/bad.sql:1:1: QL001 [parse-error] {BAD_MSG}\n"
        "  |\n"
        "1 | SELEC id FROM users;\n"
        "  | ^\n"
        "  |\n"
        "\n"
        "Found 1 problem.\n"
    )


def test_clean_run_exit_zero_and_quiet(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "db" / "ok.sql").write_text("SELECT id FROM users;\n", encoding="utf-8")
    assert run(capsys, "check", "db/ok.sql") == (0, "All checks passed!\n", "")
    assert run(capsys, "check", "-q", "db/ok.sql") == (0, "", "")
    code, out, _ = run(capsys, "check", "--exit-zero", "db/bad.sql")
    assert code == 0 and out.endswith("Found 1 problem.\n")
    code, out, _ = run(capsys, "check", "-q", "db/bad.sql")
    assert code == 1 and "Found" not in out and out.startswith("db/bad.sql:1:1: QL001")


def test_select_and_ignore_flags_beat_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text("[tool.querylint]\nignore = ['parse-error']\n", encoding="utf-8")
    code, out, _ = run(capsys, "check", "--output-format", "concise")
    assert (code, out) == (0, "")  # QL001 ignored; the noqa for an ignored rule is not "unused"
    code, out, _ = run(capsys, "check", "--output-format", "concise", "--extend-select", "QL001")
    assert out.count("QL001 [parse-error]") == 1 and code == 1
    code, out, _ = run(capsys, "check", "--output-format", "concise", "--select", "QL002")
    assert code == 0 and out == ""
    code, out, _ = run(capsys, "check", "--output-format", "concise", "--isolated", "--ignore", "QL002")
    assert out == f"db/bad.sql:1:1: QL001 [parse-error] {BAD_MSG}\n"


def test_output_format_from_config_and_output_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "querylint.toml").write_text("output-format = 'concise'\n", encoding="utf-8")
    code, out, err = run(capsys, "check", "db/bad.sql", "-o", "report.txt")
    assert (code, out, err) == (1, "", "")
    assert (project / "report.txt").read_text(encoding="utf-8") == f"db/bad.sql:1:1: QL001 [parse-error] {BAD_MSG}\n"


def test_per_file_ignores_and_exclude_from_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.querylint]\nextend-exclude = ['db/ok.sql']\n[tool.querylint.per-file-ignores]\n'db/*.sql' = ['QL001']\n",
        encoding="utf-8",
    )
    assert run(capsys, "check", "-q")[:2] == (0, "")
    # an explicitly named excluded file is checked, unless --force-exclude
    code, out, _ = run(capsys, "check", "--output-format", "concise", "db/ok.sql")
    assert code == 0 and out == ""  # its noqa: QL001 is for a per-file-ignored rule
    (project / "db" / "ok.sql").write_text(BAD, encoding="utf-8")
    (project / "pyproject.toml").write_text("[tool.querylint]\nextend-exclude = ['db/ok.sql']\n", encoding="utf-8")
    assert run(capsys, "check", "--output-format", "concise", "db/ok.sql")[0] == 1
    assert run(capsys, "check", "--output-format", "concise", "--force-exclude", "db/ok.sql")[:2] == (0, "")


def test_statistics(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "db" / "bad2.sql").write_text(BAD, encoding="utf-8")
    code, out, _ = run(capsys, "check", "--statistics")
    assert code == 1
    assert out == "2\tQL001\t[ ] parse-error\n1\tQL002\t[ ] unused-suppression\n"


def test_stdin_filename_uses_config_and_per_file_ignores(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("SELEC 1;\n"))
    code, out, _ = run(capsys, "check", "--output-format", "concise", "--stdin-filename", "db/new.sql", "-")
    assert (code, out) == (1, 'db/new.sql:1:1: QL001 [parse-error] SQL syntax error: syntax error at or near "SELEC"\n')
    (project / "pyproject.toml").write_text("[tool.querylint.per-file-ignores]\n'db/new.sql' = ['QL001']\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO("SELEC 1;\n"))
    assert run(capsys, "check", "--output-format", "concise", "--stdin-filename", "db/new.sql")[:2] == (0, "")


def test_usage_errors_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--select", "QL999")
    assert code == 2 and "querylint: error: unknown rule selector in --select `QL999`" in err
    code, _, err = run(capsys, "check", "--output-format", "xml")
    assert code == 2 and "invalid choice: 'xml'" in err
    code, _, err = run(capsys, "rule", "no-such-rule")
    assert code == 2 and "unknown rule `no-such-rule`" in err
    code, _, err = run(capsys, "check", "--config", "missing.toml")
    assert (code, err.strip()) == (2, "querylint: error: config file not found: missing.toml")


def test_rule_command_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    from querylint.docs import render_rule
    from querylint.rules.parse_error import ParseError

    assert run(capsys, "rule", "parse-error") == (0, render_rule(ParseError), "")
    assert run(capsys, "rule", "QL001")[1] == render_rule(ParseError)
    code, out, _ = run(capsys, "rule", "--all")
    assert code == 0 and "# parse-error (QL001)" in out and "# unused-suppression (QL002)" in out


def test_tool_subcommands_are_dispatched(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import types

    calls: list[list[str]] = []
    fake = types.ModuleType("querylint.schema_cmd")
    fake.main = lambda argv: calls.append(argv) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "querylint.schema_cmd", fake)
    assert main(["schema", "--format", "json", "app/"]) == 0
    assert calls == [["--format", "json", "app/"]]
    monkeypatch.setitem(sys.modules, "querylint.advise.cli", None)  # import fails
    code, _, err = run(capsys, "advise", "x")
    assert code == 2 and "the `advise` command is not available" in err


def test_internal_crash_is_one_line_not_a_traceback(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from querylint import engine

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(engine.Engine, "run", boom)
    code, out, err = run(capsys, "check")
    assert (code, out) == (2, "")
    assert "querylint: internal error: RuntimeError: kaput" in err and "Traceback" not in err
    code, out, err = run(capsys, "check", "-v")
    assert code == 2 and "Traceback" in err


def test_python_m_and_version(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "querylint", "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, f"querylint {__version__}\n")
    proc = subprocess.run([sys.executable, "-m", "querylint"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "usage: querylint" in proc.stderr



def test_command_exits_without_teardown_but_writes_everything(tmp_path: Path) -> None:
    """The command ends with os._exit: every byte of a large report still reaches the pipe
    and the -o file, and the exit code is the run's."""
    import json

    for i in range(400):
        (tmp_path / f"q{i}.sql").write_text("SELECT * FROM t;\n" * 5)
    cmd = [sys.executable, "-m", "querylint", "check", "--isolated", "--no-cache", "--select", "QL101", "--output-format", "json"]
    proc = subprocess.run([*cmd, "."], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    found = json.loads(proc.stdout)
    assert len(found) == 2000 and {d["code"] for d in found} == {"QL101"}
    assert len(proc.stdout) > 65536  # more than a pipe buffer
    proc = subprocess.run([*cmd, "-o", "report.json", "."], capture_output=True, text=True, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert len(json.loads((tmp_path / "report.json").read_text())) == 2000
    (tmp_path / "report.json").unlink()
    for i in range(400):
        (tmp_path / f"q{i}.sql").write_text("SELECT id FROM t;\n")
    proc = subprocess.run([*cmd, "."], capture_output=True, text=True, cwd=tmp_path)
    assert (proc.returncode, json.loads(proc.stdout)) == (0, [])

# -- the full reporter on hand-made findings -------------------------------------------------
def _render(text: str, diag: Diagnostic, path: str = "q.sql", **ctx: object) -> str:
    src = SourceFile(path, text, Language.for_path(path) or Language.SQL)
    result = RunResult(diagnostics=[diag], sources={path: src})
    return full.render_one(diag, result, ReportContext(**ctx))  # type: ignore[arg-type]


def test_full_underlines_after_tabs_and_wide_characters() -> None:
    text = "SELECT '日本語',\tfoo FROM t;\n"
    start = text.index("foo")
    d = Diagnostic("QL901", "test", Span("q.sql", start, start + 3), "msg")
    assert _render(text, d).splitlines()[1:4] == [
        "  |",
        "1 | SELECT '日本語',    foo FROM t;",
        "  |                     ^^^",
    ]


def test_full_help_notes_fix_multiline_and_color() -> None:
    text = "SELECT *\nFROM t\nWHERE a = 1\nAND b = 2\nAND c = 3;\n"
    d = Diagnostic(
        "QL901", "test", Span("q.sql", 0, len(text) - 2), "msg", severity=Severity.ERROR,
        help="Do this\nthen that",
        related=(RelatedSpan(Span("q.sql", text.index("WHERE"), text.index("WHERE") + 5), "filter here"),),
        fix=Fix("Expand `*`", (Edit("q.sql", 7, 8, "id"),), Applicability.UNSAFE),
    )
    assert _render(text, d, show_fixes=True) == "\n".join([
        "q.sql:1:1: QL901 [test] msg",
        "  |",
        "1 | SELECT *",
        "  | ^^^^^^^^",
        "2 | FROM t",
        "  | ^^^^^^",
        "...",
        "5 | AND c = 3;",
        "  | ^^^^^^^^^",
        "  |",
        "  = help: Do this",
        "          then that",
        "  = note: filter here",
        "     --> q.sql:3:1",
        "  = fix available (unsafe): Expand `*`",
        "      q.sql:1:8: replace with 'id'",
    ])
    colored = _render(text, d, color=True)
    assert "\x1b[1;31mQL901\x1b[0m" in colored


def test_color_env(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, "FORCE_COLOR": "1"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run([sys.executable, "-m", "querylint", "check", "db/bad.sql"], capture_output=True, text=True, env=env)
    assert "\x1b[" in proc.stdout
    env["NO_COLOR"] = "1"
    proc = subprocess.run([sys.executable, "-m", "querylint", "check", "db/bad.sql"], capture_output=True, text=True, env=env)
    assert "\x1b[" not in proc.stdout and proc.returncode == 1


def test_summary_counts_fixes() -> None:
    span = Span("q.sql", 0, 1)
    safe = Diagnostic("QL901", "t", span, "m", fix=Fix("f", (Edit("q.sql", 0, 1, "x"),)))
    unsafe = Diagnostic("QL901", "t", span, "m", fix=Fix("f", (Edit("q.sql", 0, 1, "x"),), Applicability.UNSAFE))
    plain = Diagnostic("QL901", "t", span, "m")
    result = RunResult(diagnostics=[safe, unsafe, plain, safe])
    assert full.summary(result) == "Found 4 problems (2 fixable with --fix, 1 more with --fix --unsafe-fixes)."
    assert full.summary(RunResult(diagnostics=[unsafe])) == "Found 1 problem (1 fixable with --fix --unsafe-fixes)."
    assert full.summary(RunResult()) == "All checks passed!"


def test_rule_crash_is_an_internal_error_finding_with_traceback_under_verbose(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from querylint import registry
    from querylint.rule import SqlRule

    class Crashes(SqlRule):
        """Test rule that raises."""

        code = "QL998"
        name = "test-crashes"

        def visit_SelectStmt(self, node: object, ctx: object) -> None:
            raise ValueError("boom")

    real = registry.all_rules
    monkeypatch.setattr(registry, "all_rules", lambda: [*real(), Crashes])
    (project / "db" / "bad.sql").unlink()
    code, out, err = run(capsys, "check", "--output-format", "concise", "--select", "QL000,QL998,QL002")
    assert code == 1 and err == ""
    # the noqa for QL001 (not enabled here) is not reported as unused
    assert out == "db/ok.sql:1:1: QL000 [internal-error] internal error in rule test-crashes on db/ok.sql: ValueError: boom\n"
    code, out, err = run(capsys, "check", "--output-format", "concise", "--select", "QL000,QL998", "-v")
    assert code == 1 and "Traceback" in err and 'raise ValueError("boom")' in err and "Traceback" not in out


def test_stdin_force_exclude_and_gitignore(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    (project / "pyproject.toml").write_text("[tool.querylint]\nextend-exclude = ['legacy/']\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO("SELEC 1;\n"))
    # an excluded stdin file is linted unless --force-exclude (as ruff does)
    assert run(capsys, "check", "--output-format", "concise", "--stdin-filename", "legacy/q.sql", "-")[0] == 1
    monkeypatch.setattr(sys, "stdin", io.StringIO("SELEC 1;\n"))
    assert run(capsys, "check", "--force-exclude", "--stdin-filename", "legacy/q.sql", "-")[:2] == (0, "All checks passed!\n")
    (project / ".gitignore").write_text("db/bad.sql\n", encoding="utf-8")
    code, out, _ = run(capsys, "check", "--output-format", "concise")
    assert code == 1 and "bad.sql" not in out


def test_statistics_marks_fixable_rules() -> None:
    from querylint.cli import statistics

    span = Span("q.sql", 0, 1)
    safe = Fix("f", (Edit("q.sql", 0, 1, "x"),))
    unsafe = Fix("f", (Edit("q.sql", 0, 1, "x"),), Applicability.UNSAFE)
    result = RunResult(diagnostics=[
        Diagnostic("QL101", "select-star", span, "m", fix=unsafe),
        Diagnostic("QL101", "select-star", span, "m", fix=unsafe),
        Diagnostic("QL401", "create-index-not-concurrent", span, "m", fix=safe),
        Diagnostic("QL001", "parse-error", span, "m"),
    ])
    assert statistics(result) == (
        "2\tQL101\t[-] select-star\n1\tQL001\t[ ] parse-error\n1\tQL401\t[*] create-index-not-concurrent\n"
    )
