"""Fuzzing (issue 13): mutated Python and SQL through the engine, every rule on, and the fix loop.

A short seeded slice of ``bench/fuzz.py`` (the long-run harness, which holds the corpus and the
mutations): no exception escapes, no QL000, every fixed file re-parses. Timing is not asserted
(the team's rule); only a stall guard, a very generous bound per input, stated as such. The
harness itself is tested too, so that a check that cannot fail would show.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: a stall guard, not a timing assert: an input of the short run that takes this long is stuck
STALL_SECONDS = 30.0
SEED = 13
COUNT = 600


def _harness() -> ModuleType:
    name = "querylint_bench_fuzz"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


fz = _harness()

def test_seeded_fuzz_run() -> None:
    failures: list[str] = []

    def on_failure(seed: Any, data: bytes, o: Any) -> None:
        failures.append(f"{seed.name} {seed.target} {data[:300]!r}\n{o.exception or ''}{o.internal_errors}{o.unparsable}")

    # lines up to 10,000 bytes long and nestings up to 1,000 deep here (the long run: 100,000 and
    # 3,000), so that the slice stays short on CI
    stats = fz.fuzz(SEED, COUNT, on_failure=on_failure, huge_sizes=(1000, 10000), depths=fz.DEPTHS[:-1])
    assert failures == []
    assert stats.inputs == COUNT
    # the slice covers what it claims to: both languages, all three kinds of project, findings and fixes
    assert set(stats.by_language) == {"python", "sql"}
    assert set(stats.by_scope) == {"single-file", "whole-project", "example"}
    assert set(stats.by_mutation) == set(fz.MUTATIONS)
    assert stats.findings > COUNT and stats.fixed > 0
    stalled = [(size, seconds) for size, seconds in stats.samples if seconds > STALL_SECONDS]
    assert stalled == []


def test_the_inputs_are_deterministic() -> None:
    seeds = fz.corpus()

    def first(n: int) -> list[bytes]:
        gen = fz.inputs(random.Random(SEED), seeds, 0.2)
        return [next(gen)[2] for _ in range(n)]

    assert first(50) == first(50)


# -- the harness catches what it looks for ----------------------------------------------------


def _project(tmp_path: Path, target: str = "q.sql", text: bytes = b"SELECT id FROM t;\n") -> Any:
    seed = fz.Seed("t", {target: text}, target, whole=False)
    return fz.Project(str(tmp_path), seed, whole=True)


def test_harness_reports_an_internal_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from querylint.rules.order_by_random import OrderByRandom

    def boom(self: Any, *a: Any, **kw: Any) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(OrderByRandom, "visit_SelectStmt", boom, raising=False)
    o = fz.run_one(_project(tmp_path), b"SELECT id FROM t ORDER BY random();\n")
    assert (o.exception, o.unparsable) == (None, [])
    assert [e.splitlines()[0] for e in o.internal_errors] == [
        "q.sql: internal error in rule order-by-random on q.sql: ValueError: boom"
    ]


def test_harness_reports_an_escaping_exception(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from querylint.engine import Engine

    def boom(self: Any, *a: Any, **kw: Any) -> Any:
        raise RuntimeError("escaped")

    monkeypatch.setattr(Engine, "run", boom)
    o = fz.run_one(_project(tmp_path), b"SELECT 1;\n")
    assert o.exception is not None and o.exception.splitlines()[-1] == "RuntimeError: escaped"


def test_harness_reports_a_fix_that_breaks_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from querylint import fix as fixmod

    real = fixmod.fix_paths

    def breaking(*a: Any, **kw: Any) -> Any:
        out = real(*a, **kw)
        out.changes["q.sql"] = ("SELECT 1;\n", "SELEC 1;\n")
        return out

    monkeypatch.setattr(fixmod, "fix_paths", breaking)
    o = fz.run_one(_project(tmp_path), b"SELECT 1;\n")
    assert [u.splitlines()[0] for u in o.unparsable] == ['q.sql: ParseError: syntax error at or near "SELEC", at index 0']


# -- exact inputs the fuzzer found ---------------------------------------------------------------


@pytest.mark.parametrize(("nesting", "column"), [(0, 24998), (2, 33329)])
def test_subqueries_nested_3000_deep_are_one_parse_error(tmp_path: Path, nesting: int, column: int) -> None:
    """Found as a QL000 (RecursionError in SQL -> IR); fixed in linter/sql by its owner."""
    from querylint.testing import lint_files

    sql = fz.SQL_NESTINGS[nesting](3000)
    result = lint_files({"q.sql": sql}, select=["ALL"])
    found = [(d.code, result.sources[d.span.path].location(d.span.start), d.message) for d in result.diagnostics]
    near = "*" if nesting == 0 else "("
    assert found == [("QL001", (1, column), f'SQL nested deeper than PostgreSQL\'s parser allows (memory exhausted at or near "{near}"): not checked')]


@pytest.mark.parametrize("nesting", [0, 2])
def test_subqueries_nested_300_deep_are_one_parse_error(nesting: int) -> None:
    """Found as a QL000 (RecursionError in SQL -> IR, 500 levels); fixed in linter/sql by its owner."""
    from querylint.testing import lint_files

    result = lint_files({"q.sql": fz.SQL_NESTINGS[nesting](300)}, select=["ALL"])
    found = [(d.code, result.sources[d.span.path].location(d.span.start), d.message) for d in result.diagnostics]
    assert found == [("QL001", (1, 1), "SQL nested deeper than 100 levels: not checked")]


# -- the fix loop with thousands of fixes in one file ----------------------------------------


def _diag(*edits: Any) -> Any:
    from querylint.diagnostics import Diagnostic, Fix
    from querylint.source import Span

    first = edits[0]
    return Diagnostic("QL999", "test", Span(first.path, first.start, first.end), "m", fix=Fix("f", tuple(edits)))


def _overlaps_by_scan(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    """The rule the fixer keeps: a new edit may not overlap a taken one, nor be a second
    insertion at one point (the next round takes it, on the new text)."""
    return any(not (end <= a or start >= b) or start == end == a == b for a, b in taken)


def test_choose_takes_the_same_fixes_as_a_scan_of_every_taken_edit() -> None:
    """Random fixes (one or two edits, insertions among them) against the rule written as a scan."""
    from querylint import fix as fixmod
    from querylint.diagnostics import Edit

    rng = random.Random(5)
    for _ in range(300):
        diags = []
        for _i in range(rng.randrange(1, 30)):
            edits = []
            for _k in range(rng.choice((1, 1, 2))):
                start = rng.randrange(40)
                end = start + rng.choice((0, 0, 1, 2, 5))
                edits.append(Edit(rng.choice(("a.py", "b.sql")), start, end, "x"))
            diags.append(_diag(*edits))
        expected: list[Any] = []
        taken: dict[str, list[tuple[int, int]]] = {}
        for d in sorted(diags, key=lambda d: (d.span.path, d.span.start, d.code)):
            own = [(e.path, e.start, e.end) for e in d.fix.edits]
            if any(not (e <= a or s >= b) for i, (p, s, e) in enumerate(own) for q, a, b in own[:i] if q == p):
                continue  # a fix whose own edits overlap cannot be applied: never taken
            if any(_overlaps_by_scan(taken.get(e.path, []), e.start, e.end) for e in d.fix.edits):
                continue
            if any(d.fix.edits == x.fix.edits for x in expected):  # the same fix twice
                continue
            expected.append(d)
            for e in d.fix.edits:
                taken.setdefault(e.path, []).append((e.start, e.end))
        assert fixmod._choose(diags, False, lambda p: True) == expected


def test_choose_reads_each_edit_a_bounded_number_of_times() -> None:
    """Found by the fuzzer's scaling probe: a Django migration of 4,000 ``AddIndex`` operations
    (4,000 fixes) spent 8 million comparisons per round choosing them, each new edit against
    every edit taken. Counted, not timed: the reads of the edits' bounds grow with their number."""
    from querylint import fix as fixmod
    from querylint.diagnostics import Edit

    class CountingEdit(Edit):
        __slots__ = ()
        reads = 0

        def __getattribute__(self, name: str) -> Any:
            if name in ("start", "end"):
                CountingEdit.reads += 1
            return object.__getattribute__(self, name)

    n = 2000
    diags = [_diag(CountingEdit("a.py", 10 * i, 10 * i + 5, "x")) for i in range(n)]
    CountingEdit.reads = 0
    chosen = fixmod._choose(diags, False, lambda p: True)
    assert len(chosen) == n
    assert CountingEdit.reads < 20 * n


def test_a_broken_file_with_long_blank_runs_is_not_tokenized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the fuzzer (a huge line of blanks with a BOM inside, CR-only endings): Python's
    ``tokenize`` retries a run of blanks before a character that starts no token from each of its
    positions (this 12 KB file took 11 s in the suppression scan). A file that does not parse
    has its comments found by the line scan; counted, not timed."""
    from querylint import suppressions

    calls: list[str] = []
    real = suppressions.tokenize.generate_tokens

    def counting(readline: Any) -> Any:
        calls.append("tokenize")
        return real(readline)

    monkeypatch.setattr(suppressions.tokenize, "generate_tokens", counting)
    blanks = " " * 6000
    src = f"x = 1  # noqa: QL001\ny = (1,{blanks}${blanks})\n"
    o = fz.run_one(_project(tmp_path, "a.py", src.encode()), src.encode())
    assert (o.exception, o.internal_errors, calls) == (None, [], [])
    from querylint.testing import lint_files

    result = lint_files({"a.py": src}, select=["ALL"])
    assert [(d.code, result.sources["a.py"].location(d.span.start), d.message) for d in result.diagnostics] == [
        ("QL002", (1, 8), "unused suppression `# noqa: QL001`: no QL001 finding on this line"),
        ("QL001", (2, 23), "Python syntax error: invalid syntax"),
    ]
    # valid Python with such a run inside a string is tokenized as before (its comments count)
    calls.clear()
    ok = f"q = '{blanks}$'  # querylint: ignore[select-star]\n"
    lint_files({"a.py": ok}, select=["ALL"])
    assert calls == ["tokenize"]


def test_a_related_name_that_is_no_name_is_django_s_default() -> None:
    """Found by the fuzzer (an expression swap): ``related_name=["-created_at"]`` made linking the
    models a QL000 (TypeError: unhashable type: 'list'); the reverse accessor is Django's default."""
    from querylint.testing import lint_files

    src = (
        "from django.db import models\n\n\n"
        "class Order(models.Model):\n    number = models.CharField(max_length=20)\n\n\n"
        "class Line(models.Model):\n"
        '    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name=["-created_at"])\n\n\n'
        "def lines(orders):\n    for order in Order.objects.all():\n        print(order.line_set.count())\n"
    )
    result = lint_files({"shop/models.py": src, "shop/__init__.py": ""}, select=["ALL"])
    assert [(d.code, result.sources[d.span.path].location(d.span.start), d.message) for d in result.diagnostics] == [
        ("QL202", (14, 15), '`order.line_set.count()` queries `Line` once per order: the queryset iterated at line 13 has no prefetch_related("line_set")'),
    ]
