"""`querylint check --write-baseline / --baseline / --diff-base`: adopting querylint on old code."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from querylint.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", "--isolated", "--no-cache", "--output-format", "concise", *args])
    out, err = capsys.readouterr()
    return code, out, err


OLD = "SELECT * FROM users;\nSELECT id FROM orders ORDER BY random();\n"


def test_write_baseline_then_only_new_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("q.sql").write_text(OLD, encoding="utf-8")
    code, out, err = run(capsys, "--write-baseline", "ql-baseline.json", "q.sql")
    assert (code, out) == (0, "")
    assert err == "Recorded 2 findings in ql-baseline.json.\n"
    data = json.loads(Path("ql-baseline.json").read_text(encoding="utf-8"))
    assert [(f["path"], f["code"], f["line"]) for f in data["findings"]] == [("q.sql", "QL101", 1), ("q.sql", "QL105", 2)]

    # nothing new: clean, and stderr says what the baseline hid
    code, out, err = run(capsys, "--baseline", "ql-baseline.json", "q.sql")
    assert (code, out) == (0, "")
    assert err == "querylint: 2 findings hidden by the baseline ql-baseline.json\n"

    # a line inserted above keeps the old findings matched; the new query is reported
    Path("q.sql").write_text("SELECT * FROM accounts;\n" + OLD, encoding="utf-8")
    code, out, err = run(capsys, "--baseline", "ql-baseline.json", "q.sql")
    assert code == 1
    assert out.splitlines()[0].startswith("q.sql:1:8: QL101 [select-star]")
    assert len(out.splitlines()) == 1

    # fixing an old finding: reported as gone
    Path("q.sql").write_text("SELECT id FROM users;\nSELECT id FROM orders ORDER BY random();\n", encoding="utf-8")
    code, out, err = run(capsys, "--baseline", "ql-baseline.json", "q.sql")
    assert (code, out) == (0, "")
    assert err == "querylint: 1 finding hidden by the baseline ql-baseline.json; 1 recorded finding is gone\n"


def test_missing_baseline_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("q.sql").write_text(OLD, encoding="utf-8")
    code, out, err = run(capsys, "--baseline", "nope.json", "q.sql")
    assert (code, out) == (2, "")
    assert err == "querylint: error: baseline file nope.json not found (create it with --write-baseline nope.json)\n"


def test_write_baseline_with_fix_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("q.sql").write_text(OLD, encoding="utf-8")
    code, _out, err = run(capsys, "--write-baseline", "b.json", "--fix", "q.sql")
    assert code == 2
    assert err.endswith("querylint: error: --write-baseline cannot be combined with --baseline, --fix or --diff\n")
    assert not Path("b.json").exists()


def git(repo: Path, *args: str) -> None:
    env = {
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(repo), "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_base_reports_only_changed_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    git(tmp_path, "init", "-q", "-b", "main")
    Path("q.sql").write_text(OLD, encoding="utf-8")
    Path("other.sql").write_text("SELECT * FROM logs;\n", encoding="utf-8")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "old")
    git(tmp_path, "checkout", "-q", "-b", "feature")
    Path("q.sql").write_text(OLD + "SELECT * FROM payments;\n", encoding="utf-8")
    git(tmp_path, "commit", "-q", "-am", "new query")

    code, out, _err = run(capsys, ".")
    assert code == 1 and len(out.splitlines()) == 4  # everything, without the scope

    code, out, _err = run(capsys, "--diff-base", "main", ".")
    assert code == 1
    assert [line.split(" [")[0] for line in out.splitlines()] == ["q.sql:3:8: QL101"]

    code, out, err = run(capsys, "--diff-base", "no-such-branch", ".")
    assert (code, out) == (2, "")
    assert err.startswith("querylint: error: cannot find the merge base of `no-such-branch` and HEAD")
