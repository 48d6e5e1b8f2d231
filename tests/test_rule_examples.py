"""Every rule's VALID / INVALID examples run as tests: the docs are tested code."""

from __future__ import annotations

import pytest
from querylint.registry import all_rules
from querylint.rule import Example, Rule
from querylint.testing import lint_files


def _cases(kind: str) -> list[tuple[type[Rule], Example]]:
    out = []
    for r in all_rules():
        for ex in getattr(r, kind):
            out.append(pytest.param(r, ex, id=f"{r.name}-{len(out)}"))
    return out


def _run(rule: type[Rule], ex: Example):
    path = ex.path or rule.example_path
    files = {path: ex.text, **{k: v for k, v in ex.files.items()}}
    return lint_files(
        files,
        select=[rule.code],
        rule_options={rule.name: ex.options} if ex.options else None,
        check=[path],
        **dict(ex.config),
    )


@pytest.mark.parametrize(("rule", "ex"), _cases("VALID"))
def test_valid_example_is_quiet(rule: type[Rule], ex: Example) -> None:
    result = _run(rule, ex)
    found = [(d.code, d.message) for d in result.diagnostics if d.code == rule.code]
    assert found == []
    errors = [d for d in result.diagnostics if d.code == "QL000"]
    assert errors == []


@pytest.mark.parametrize(("rule", "ex"), _cases("INVALID"))
def test_invalid_example_fires(rule: type[Rule], ex: Example) -> None:
    assert ex.line is not None and ex.message is not None, "INVALID examples state line and message"
    result = _run(rule, ex)
    mine = [d for d in result.diagnostics if d.code == rule.code]
    assert mine, f"{rule.name} did not fire on:\n{ex.text}"
    first = mine[0]
    src = result.sources[first.span.path]
    assert (src.location(first.span.start)[0], first.message) == (ex.line, ex.message)


def test_every_rule_has_examples() -> None:
    from querylint.rule import InternalErrorRule

    for r in all_rules():
        if issubclass(r, InternalErrorRule):
            continue
        assert r.VALID, f"{r.name} has no VALID example"
        assert r.INVALID, f"{r.name} has no INVALID example"
