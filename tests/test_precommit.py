"""The real pre-commit hook: ``pre-commit try-repo`` of this checkout against a scratch repository.

Slow (pre-commit builds a virtualenv and pip-installs this repository), so it is one test; it
runs by default (deselect with ``-m "not slow"``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_hook_definitions() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert sorted(hooks) == ["querylint", "querylint-fix"]
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "sql"]
        assert hook["require_serial"] is True
        assert hook["minimum_pre_commit_version"] == "3.0.0"
    assert hooks["querylint"]["entry"] == "querylint check --force-exclude"
    assert hooks["querylint-fix"]["entry"] == "querylint check --force-exclude --fix"


@pytest.mark.slow
def test_pre_commit_try_repo_fails_on_bad_sql(tmp_path: Path) -> None:
    if shutil.which("pre-commit") is None or shutil.which("git") is None:
        pytest.skip("pre-commit and git are needed (pip install -e '.[dev]')")
    repo = tmp_path / "scratch"
    repo.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)

    git("init", "-q")
    git("config", "user.email", "test@example.com")
    git("config", "user.name", "test")
    (repo / "db").mkdir()
    (repo / "db" / "bad.sql").write_text("SELEC id FROM users;\n", encoding="utf-8")
    (repo / "db" / "good.sql").write_text("SELECT id FROM users;\n", encoding="utf-8")
    (repo / "README.md").write_text("not checked\n", encoding="utf-8")
    git("add", ".")
    git("commit", "-q", "-m", "init")

    # try-repo of the checkout as it is now: tracked and untracked (not ignored) files, since
    # pre-commit's own shadow repo leaves untracked files out
    hook_repo = tmp_path / "hook-repo"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (hook_repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, hook_repo / rel)
    for args in (["init", "-q"], ["add", "."], ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *args], cwd=hook_repo, check=True, capture_output=True, env=env)

    proc = subprocess.run(
        ["pre-commit", "try-repo", str(hook_repo), "querylint", "--all-files", "--color", "never"],
        cwd=repo, capture_output=True, text=True, env=env, timeout=900,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "- exit code: 1" in output, output
    assert 'db/bad.sql:1:1: QL001 [parse-error] SQL syntax error: syntax error at or near "SELEC"' in output
    assert "good.sql" not in output and "Traceback" not in output
