"""Bad input through the real CLI (``python -m querylint``): exact diagnostics, exit codes, and
never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def ql(cwd: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "querylint", "check", "--output-format", "concise", *args],
        capture_output=True, text=True, cwd=cwd, input=stdin,
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def test_bad_files_become_parse_errors_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "latin1.sql").write_bytes(b"SELECT 'caf\xe9';\n")
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    (tmp_path / "syntax.py").write_text("def f(:\n    pass\n", encoding="utf-8")
    (tmp_path / "pg.sql").write_text("SELECT 1;\nSELECT FROM WHERE;\n", encoding="utf-8")
    (tmp_path / "empty.sql").write_text("", encoding="utf-8")
    (tmp_path / "empty.py").write_text("", encoding="utf-8")
    (tmp_path / "ok.sql").write_text("SELECT id FROM users;\n", encoding="utf-8")
    code, out, err = ql(tmp_path, ".")
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "latin1.sql:1:1: QL001 [parse-error] file is not valid UTF-8 (invalid byte 0xe9 on line 1); not checked",
        "nul.py:1:1: QL001 [parse-error] file contains NUL bytes (binary?); not checked",
        'pg.sql:2:13: QL001 [parse-error] SQL syntax error: syntax error at or near "WHERE"',
        "syntax.py:1:7: QL001 [parse-error] Python syntax error: invalid syntax",
    ]


def test_huge_file_over_configured_and_default_limit(tmp_path: Path) -> None:
    big = "SELECT id FROM users;\n" * (10 * 1024 * 1024 // 22 + 1)  # just over 10 MB
    (tmp_path / "big.sql").write_text(big, encoding="utf-8")
    size = (tmp_path / "big.sql").stat().st_size
    # default limit (5 MiB)
    code, out, _ = ql(tmp_path, "big.sql")
    assert (code, out) == (1, f"big.sql:1:1: QL001 [parse-error] file is {size} bytes, over the 5242880-byte limit (`max-file-size`); not checked\n")
    # a configured lower limit applies to a small file too
    (tmp_path / "small.sql").write_text("SELECT id FROM users;\n", encoding="utf-8")
    (tmp_path / "querylint.toml").write_text("max-file-size = 10\n", encoding="utf-8")
    code, out, _ = ql(tmp_path, "small.sql")
    assert (code, out) == (1, "small.sql:1:1: QL001 [parse-error] file is 22 bytes, over the 10-byte limit (`max-file-size`); not checked\n")


def test_missing_path_is_a_finding_like_ruff(tmp_path: Path) -> None:
    code, out, _ = ql(tmp_path, "nope.sql", "gone/")
    assert (code, out) == (1, "gone:1:1: QL001 [parse-error] file not found\nnope.sql:1:1: QL001 [parse-error] file not found\n")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("select = [", "querylint: error: querylint.toml: invalid TOML: "),
        ("selectt = ['QL1']", "querylint: error: querylint.toml: unknown key `selectt`"),
        ("select = ['QL999']", "querylint: error: querylint.toml: `select`: unknown rule selector `QL999`"),
        ("[rules.not-a-rule]\nx = 1", "querylint: error: querylint.toml: unknown rule `not-a-rule` in [rules.not-a-rule]"),
    ],
)
def test_broken_config_exit_2(tmp_path: Path, config: str, message: str) -> None:
    (tmp_path / "querylint.toml").write_text(config + "\n", encoding="utf-8")
    (tmp_path / "q.sql").write_text("SELECT 1;\n", encoding="utf-8")
    code, out, err = ql(tmp_path, ".")
    assert (code, out) == (2, "")
    assert err.startswith(message), err


def test_bad_stdin_text(tmp_path: Path) -> None:
    code, out, _ = ql(tmp_path, "--stdin-filename", "app/views.py", "-", stdin="def f(:\n")
    assert (code, out) == (1, "app/views.py:1:7: QL001 [parse-error] Python syntax error: invalid syntax\n")
    assert ql(tmp_path, "--stdin-filename", "q.sql", "-", stdin="")[:2] == (0, "")


def test_non_ascii_and_undecodable_file_names(tmp_path: Path) -> None:
    (tmp_path / "données").mkdir()
    (tmp_path / "données" / "requête.sql").write_text("SELEC 1;\n", encoding="utf-8")
    (tmp_path / "données" / "ok.sql").write_text("SELECT 'é' AS \"naïve\";\n", encoding="utf-8")
    import os

    os.close(os.open(os.fsencode(str(tmp_path)) + b"/\xffbad.sql", os.O_CREAT | os.O_WRONLY))
    code, out, _ = ql(tmp_path, ".")
    assert code == 1
    assert 'données/requête.sql:1:1: QL001 [parse-error] SQL syntax error: syntax error at or near "SELEC"\n' in out
    assert "ok.sql" not in out
