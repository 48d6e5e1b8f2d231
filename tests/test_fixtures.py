"""Every fixture project under fixtures/ yields exactly the findings its ``expect:`` markers name.

A marker is a comment on the line where a finding starts: ``# expect: select-star`` in Python,
``-- expect: select-star, order-by-random`` in SQL (rule names, comma-separated). Each folder
directly under ``fixtures/`` is linted as its own project (its ``pyproject.toml``
``[tool.querylint]`` applies when present, else the default configuration), and the set of
(path, line, rule name) findings must equal the set of markers: nothing missing, nothing extra.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from querylint.config import Config, load_config
from querylint.engine import Engine
from querylint.registry import instantiate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MARKER = re.compile(r"(?:#|--)\s*expect:\s*([a-z0-9][a-z0-9-]*(?:\s*,\s*[a-z0-9][a-z0-9-]*)*)")

Finding = tuple[str, int, str]

#: Fixture projects owned by other work in progress whose markers do not yet match; each entry
#: says why. Remove an entry as soon as its project passes (the test then runs strictly).
PENDING: dict[str, str] = {}


def _projects() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def markers(root: Path) -> set[Finding]:
    out: set[Finding] = set()
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".py", ".sql") or not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in MARKER.finditer(line):
                for name in m.group(1).split(","):
                    out.add((rel, lineno, name.strip()))
    return out


def findings(root: Path) -> set[Finding]:
    cwd = os.getcwd()
    try:
        os.chdir(root)
        cfg = load_config([str(root)], cwd=str(root))
        if cfg.config_path is None or os.path.dirname(cfg.config_path) != str(root):
            cfg = Config(root=str(root))  # no config of its own: the defaults, not the repo's
        result = Engine(cfg, instantiate(cfg)).run([str(root)])
    finally:
        os.chdir(cwd)
    out: set[Finding] = set()
    for d in result.diagnostics:
        src = result.sources.get(d.span.path)
        line = src.location(d.span.start)[0] if src is not None else 0
        out.add((d.span.path, line, d.name))
    return out


def _table(rows: set[Finding]) -> str:
    return "\n".join(f"    {p}:{line}: {name}" for p, line, name in sorted(rows)) or "    (none)"


@pytest.mark.parametrize(
    "project",
    [pytest.param(p, marks=pytest.mark.xfail(reason=PENDING[p.name], strict=False)) if p.name in PENDING else p for p in _projects()],
    ids=lambda p: p.name,
)
def test_fixture_findings_match_markers(project: Path) -> None:
    expected = markers(project)
    got = findings(project)
    missing = expected - got
    extra = got - expected
    assert not missing and not extra, (
        f"fixtures/{project.name}: findings differ from `expect:` markers\n"
        f"  marked but not found:\n{_table(missing)}\n"
        f"  found but not marked:\n{_table(extra)}"
    )


def test_marker_syntax() -> None:
    assert {m.group(1) for m in MARKER.finditer("x  # expect: select-star, order-by-random")} == {"select-star, order-by-random"}
    assert {m.group(1) for m in MARKER.finditer("SELECT 1; -- expect: n-plus-one")} == {"n-plus-one"}
    assert MARKER.search("# nothing expected here") is None
