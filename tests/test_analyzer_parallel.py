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


TEST_SKIP_FILES = {
    "shop/__init__.py": "",
    "shop/models.py": "from django.db import models\n\n\nclass Tag(models.Model):\n    name = models.CharField(max_length=20)\n",
    "shop/views.py": "from shop.models import Tag\n\n\ndef tag_all(names):\n    for n in names:\n        Tag.objects.create(name=n)\n",
    "shop/tests/__init__.py": "",
    "shop/tests/test_tags.py": "from shop.models import Tag\n\n\ndef test_tags():\n    for n in range(50):\n        Tag.objects.create(name=str(n))\n",
}


def test_test_modules_are_not_walked_unless_a_rule_checks_tests() -> None:
    from querylint.testing import lint_files

    msg = "`Tag.objects.create(name={})` writes one row per iteration of `for n in {}`"
    quiet = lint_files(TEST_SKIP_FILES, select=["QL204"])
    assert [(d.code, d.span.path, quiet.sources[d.span.path].line_of(d.span.start)) for d in quiet.diagnostics] == [
        ("QL204", "shop/views.py", 6)]
    assert quiet.diagnostics[0].message == msg.format("n", "names")
    assert quiet.project is not None
    facts = quiet.project.facts["python"]
    assert "shop/tests/test_tags.py" not in facts.events and "shop.tests.test_tags.test_tags" not in facts.functions
    assert "shop.views.tag_all" in facts.functions
    assert {q.span.path for q in quiet.project.queries} == {"shop/views.py"}

    asked = lint_files(TEST_SKIP_FILES, select=["QL204"], rule_options={"write-in-loop": {"check-tests": True}})
    assert [(d.span.path, asked.sources[d.span.path].line_of(d.span.start)) for d in asked.diagnostics] == [
        ("shop/tests/test_tags.py", 6), ("shop/views.py", 6)]
    assert asked.diagnostics[0].message == msg.format("str(n)", "range(50)")
    assert asked.project is not None and "shop.tests.test_tags.test_tags" in asked.project.facts["python"].functions
