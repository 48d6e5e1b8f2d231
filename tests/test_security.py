"""querylint reads the project as data: it imports and runs none of it, and connects nowhere.

Every Python file of two realistic projects (a Django shop, a SQLAlchemy + Alembic app) is
booby-trapped: importing or running it creates a marker file. Every command that reads the
project — check with every rule and the fix loop, schema, advise in each format — runs over
them, in this process and in the worker processes it forks, with every way of opening a
connection also booby-trapped. No marker may appear.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = ("django_shop", "sqlalchemy_app", "migrations_alembic", "migrations_django")


def _trap(marker: Path, what: str) -> str:
    return f"__import__('pathlib').Path({str(marker / what)!r}).touch()\n"


@pytest.fixture()
def trapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    marker = tmp_path / "markers"
    marker.mkdir()
    project = tmp_path / "project"
    for name in PROJECTS:
        shutil.copytree(ROOT / "fixtures" / name, project / name, ignore=shutil.ignore_patterns(".querylint_cache"))
    (project / "pyproject.toml").write_text("[tool.querylint]\n")
    n = 0
    for py in sorted(project.rglob("*.py")):
        text = py.read_text(encoding="utf-8")
        # after a leading docstring / __future__ import would be nicer, but first is simplest:
        # a module that runs at all runs this line
        if "from __future__" in text:
            lines = text.splitlines(keepends=True)
            last = max(i for i, line in enumerate(lines) if line.startswith("from __future__"))
            lines.insert(last + 1, _trap(marker, f"import-{n}"))
            text = "".join(lines)
        else:
            text = _trap(marker, f"import-{n}") + text
        py.write_text(text, encoding="utf-8")
        n += 1
    # what an interpreter would run on its own: site hooks and settings
    (project / "sitecustomize.py").write_text(_trap(marker, "sitecustomize"))
    (project / "conftest.py").write_text(_trap(marker, "conftest"))
    assert n > 20

    def refuse(*args: object, **kwargs: object) -> None:
        (marker / "connect").touch()
        raise OSError("querylint must not connect anywhere")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.chdir(project)
    monkeypatch.delenv("QUERYLINT_DSN", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(project))
    return project, marker


def test_no_command_imports_runs_or_connects(trapped: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from querylint.advise.cli import main as advise
    from querylint.cli import main
    from querylint.schema_cmd import main as schema

    project, marker = trapped
    assert main(["check", "--select", "ALL", "--output-format", "json", "."]) == 1
    assert main(["check", "--select", "ALL", "--output-format", "json", "."]) == 1  # warm: from the cache
    assert main(["check", "--select", "ALL", "--fix", "--unsafe-fixes", "--exit-zero", "."]) == 0
    assert schema(["."]) == 0
    for fmt in ("sql", "django", "alembic"):
        assert advise([".", "--format", fmt]) == 0
    capsys.readouterr()
    assert sorted(os.listdir(marker)) == []
    # the traps are live: running one trapped module (as importing it would) leaves its marker
    import runpy

    runpy.run_path(str(project / "conftest.py"))
    assert sorted(os.listdir(marker)) == ["conftest"]
