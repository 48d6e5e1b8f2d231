"""Diff scope: only findings on lines changed since the merge base, in a real scratch git repo."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from querylint import diffscope
from querylint.config import ConfigError
from querylint.diagnostics import Diagnostic
from querylint.source import Language, SourceFile, Span
from querylint.testing import lint_files

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(repo), "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def write(repo: Path, rel: str, text: str) -> None:
    p = repo / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


BASE_SQL = "".join(f"SELECT {i} FROM t{i};\n" for i in range(1, 11))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    write(r, "db/a.sql", BASE_SQL)
    write(r, "db/untouched.sql", "SELECT 1;\n")
    write(r, "app/données.sql", "SELECT 1;\nSELECT 2;\n")
    write(r, ".gitignore", "ignored.sql\n")
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "base")
    git(r, "checkout", "-q", "-b", "feature")
    return r


def test_changed_lines_committed_staged_unstaged_and_untracked(repo: Path) -> None:
    lines = BASE_SQL.splitlines(keepends=True)
    lines[2] = "SELECT * FROM t3;\n"  # line 3 changed (committed)
    del lines[6]  # old line 7 deleted: now a seam between lines 6 and 7
    write(repo, "db/a.sql", "".join(lines))
    git(repo, "commit", "-q", "-am", "feature work")
    git(repo, "checkout", "-q", "main")
    write(repo, "db/untouched.sql", "SELECT 1;\n-- main moved on\n")  # a change on main only
    git(repo, "commit", "-q", "-am", "main work")
    git(repo, "checkout", "-q", "feature")
    write(repo, "app/données.sql", "SELECT 1;\nSELECT 2;\nSELECT 3;\n")  # unstaged: line 3 added
    write(repo, "new.sql", "SELECT 9;\n")  # untracked
    write(repo, "ignored.sql", "SELECT 0;\n")  # ignored

    changes = diffscope.changed_lines("main", str(repo))
    assert set(changes) == {"db/a.sql", "app/données.sql", "new.sql"}
    assert (changes["db/a.sql"].ranges, changes["db/a.sql"].deletions) == ([(3, 3)], [6])
    assert changes["app/données.sql"].ranges == [(3, 3)]
    assert changes["new.sql"].whole


def test_paths_are_relative_to_a_subfolder_root(repo: Path) -> None:
    write(repo, "db/a.sql", BASE_SQL.replace("t5;", "t5 LIMIT 1;"))
    write(repo, "app/données.sql", "SELECT 1;\nSELECT 22;\n")
    changes = diffscope.changed_lines("main", str(repo / "db"))
    assert set(changes) == {"a.sql"}
    assert changes["a.sql"].ranges == [(5, 5)]


def test_filter_keeps_only_findings_touching_changes() -> None:
    text = "".join(f"line {i}\n" for i in range(1, 11))
    src = SourceFile("a.sql", text, Language.SQL)

    def diag(first: int, last: int, *, to_newline: bool = False) -> Diagnostic:
        start = src.offset(first, 1)
        end = src.offset(last + 1, 1) if to_newline else src.offset(last, 3)
        return Diagnostic("QL990", "t", Span("a.sql", start, end), f"{first}-{last}")

    changes = {"a.sql": diffscope.FileChanges(ranges=[(3, 4)], deletions=[7])}
    diags = [diag(1, 2), diag(2, 3), diag(4, 4), diag(5, 6), diag(6, 6), diag(7, 8), diag(6, 7), diag(2, 2, to_newline=True)]
    kept = diffscope.filter_diagnostics(diags, {"a.sql": src}, changes)
    assert [d.message for d in kept] == ["2-3", "4-4", "7-8"]  # 7-8 spans the deletion seam
    other = Diagnostic("QL990", "t", Span("b.sql", 0, 1), "other file")
    unreadable = Diagnostic("QL001", "parse-error", Span("a.sql", 0, 0), "unreadable")
    assert diffscope.filter_diagnostics([other, unreadable], {}, changes) == [unreadable]


def test_parse_diff_quoted_names_new_and_deleted_files() -> None:
    diff = (
        "diff --git a/x.sql b/x.sql\n--- a/x.sql\n+++ b/x.sql\n@@ -2 +2 @@\n-a\n+b\n@@ -5,0 +6,2 @@\n+c\n+d\n"
        'diff --git "a/caf\\303\\251 1.sql" "b/caf\\303\\251 1.sql"\n'
        '--- "a/caf\\303\\251 1.sql"\n+++ "b/caf\\303\\251 1.sql"\n@@ -1,2 +0,0 @@\n-x\n-y\n'
        "diff --git a/gone.sql b/gone.sql\n--- a/gone.sql\n+++ /dev/null\n@@ -1 +0,0 @@\n-z\n"
        "diff --git a/n.sql b/n.sql\nnew file mode 100644\n--- /dev/null\n+++ b/n.sql\n@@ -0,0 +1,3 @@\n+1\n+2\n+3\n"
    )
    changes = diffscope.parse_diff(diff)
    assert set(changes) == {"x.sql", "café 1.sql", "n.sql"}
    assert changes["x.sql"].ranges == [(2, 2), (6, 7)]
    assert changes["café 1.sql"].deletions == [0]
    assert changes["n.sql"].ranges == [(1, 3)]


def test_bad_ref_and_no_repo_are_config_errors(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot find the merge base of `no-such-branch`.*fetch-depth: 0"):
        diffscope.changed_lines("no-such-branch", str(repo))
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ConfigError, match="not inside one"):
        diffscope.changed_lines("main", str(plain))


def test_end_to_end_with_the_engine(repo: Path) -> None:
    write(repo, "db/a.sql", BASE_SQL.replace("SELECT 4 FROM t4;", "SELEC 4 FROM t4;"))
    write(repo, "db/untouched.sql", "SELECT 1;\n")
    changes = diffscope.changed_lines("main", str(repo))
    files = {"db/a.sql": (repo / "db/a.sql").read_text(encoding="utf-8"), "db/old.sql": "SELEC 1;\n"}
    result = lint_files(files, select=["QL001"])
    assert sorted(d.span.path for d in result.diagnostics) == ["db/a.sql", "db/old.sql"]
    kept = diffscope.filter_diagnostics(result.diagnostics, result.sources, changes)
    assert [(d.code, d.span.path) for d in kept] == [("QL001", "db/a.sql")]


def test_a_base_that_reads_as_an_option_is_refused(repo: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--diff-base: `--output=x` is not a revision$"):
        diffscope.changed_lines("--output=x", str(repo))
    assert not (repo / "x").exists()


def test_textconv_drivers_are_not_run(repo: Path) -> None:
    """Lines are those of the files as stored, and no configured diff driver runs for them."""
    marker = repo.parent / "textconv-ran"
    git(repo, "config", "diff.conv.textconv", f"sh -c 'touch {marker}; cat \"$0\"'")
    write(repo, ".gitattributes", "*.sql diff=conv\n")
    lines = BASE_SQL.splitlines(keepends=True)
    lines[4] = "SELECT * FROM t5;\n"
    write(repo, "db/a.sql", "".join(lines))
    changes = diffscope.changed_lines("main", str(repo))
    assert changes["db/a.sql"].ranges == [(5, 5)]
    assert not marker.exists()
