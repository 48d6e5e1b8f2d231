"""The query-site analysis walked in forked workers gives the facts of a walk in one process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from querylint.engine import index_project, parse_file
from querylint.python import analyzer
from querylint.source import Language, SourceFile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _index(root: Path) -> Any:
    files = {}
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).as_posix()
        files[rel] = parse_file(SourceFile(rel, p.read_text(encoding="utf-8"), Language.PYTHON, str(p)))
    errors: list[str] = []
    project = index_project(files, str(root), lambda where, exc: errors.append(f"{where}: {exc}"))
    assert errors == []
    return project


@pytest.mark.parametrize("fixture", ["django_shop", "sqlalchemy_app"])
def test_forked_walk_gives_the_same_facts(fixture: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyzer, "WORKERS", 0)
    serial = _index(FIXTURES / fixture)

    walked: list[tuple[int, int]] = []
    real = analyzer._walk_parallel

    def spy(a: analyzer.Analysis, jobs: list[Any]) -> dict[int, Any]:
        out = real(a, jobs)
        walked.append((len(out), len(jobs)))
        return out

    monkeypatch.setattr(analyzer, "WORKERS", 2)
    monkeypatch.setattr(analyzer, "PARALLEL_MIN_JOBS", 0)
    monkeypatch.setattr(analyzer, "_walk_parallel", spy)
    forked = _index(FIXTURES / fixture)

    # every job came back (none left to the fallback in this process)
    assert len(walked) == 1 and walked[0][0] == walked[0][1] > 3
    s, f = serial.facts["python"], forked.facts["python"]
    assert f.events == s.events and list(f.events) == list(s.events)
    assert f.functions == s.functions and list(f.functions) == list(s.functions)
    assert f.errors == s.errors
    assert forked.queries == serial.queries and len(serial.queries) > 0
    assert any(s.events.values())
