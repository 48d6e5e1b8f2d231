"""``--fix`` and ``--diff``: apply the findings' text edits, re-lint, repeat to a fixpoint.

Each round lints the files, takes the fixes that are allowed (SAFE; UNSAFE too with
``--unsafe-fixes``; never DISPLAY_ONLY), and applies per file the ones whose edits do not
overlap an edit already taken (in file order; a fix is all of its edits or none, and its edits
may touch several files, e.g. a query and the model it needs). The new text must still parse — Python with ``ast``, a ``.sql`` file with pglast — or the round's fixes for
that file are retried one by one and the ones that break it are dropped and reported. Rounds
repeat until no fix applies (at most ``MAX_ROUNDS``), so a fix that uncovers another is
applied too, and running ``--fix`` twice changes nothing the second time.

With ``write`` the final text replaces the file atomically (temporary file in the same folder,
then ``os.replace``, keeping the file's mode); ``--diff`` keeps everything in memory.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import itertools
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from querylint.diagnostics import Applicability, Diagnostic, Edit, Fix
from querylint.engine import Engine, RunResult
from querylint.source import Language, SourceFile

MAX_ROUNDS = 10


@dataclass
class FixOutcome:
    result: RunResult  # the findings that remain after fixing
    fixed: int = 0  # findings fixed
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (old, new)
    messages: list[str] = field(default_factory=list)  # fixes discarded, files not written


def allowed(fix: Fix | None, unsafe: bool) -> bool:
    if fix is None or not fix.edits:
        return False
    if fix.applicability is Applicability.SAFE:
        return True
    return unsafe and fix.applicability is Applicability.UNSAFE


def parses(path: str, text: str) -> str | None:
    """None when ``text`` parses as the file's language, else the parser's message."""
    lang = Language.for_path(path) or Language.PYTHON
    try:
        if lang is Language.PYTHON:
            ast.parse(text)
        else:
            import pglast

            pglast.parse_sql(text)
    except SyntaxError as exc:
        return f"Python syntax error: {exc.msg}"
    except Exception as exc:  # pglast.parser.ParseError(message, offset) and friends
        return f"SQL syntax error: {exc.args[0] if exc.args else exc}"
    return None


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply non-overlapping edits (any order) to ``text``."""
    out = []
    pos = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        out.append(text[pos : e.start])
        out.append(e.replacement)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def _choose(diags: Sequence[Diagnostic], unsafe: bool, known: Callable[[str], bool]) -> list[Diagnostic]:
    """Fixable findings whose edits overlap no edit already taken (a fix is all its edits).

    A fix may edit several files (``Edit.path``); every file must be ``known`` (readable).
    """
    taken: list[Diagnostic] = []
    ranges: dict[str, _Ranges] = {}
    seen: set[tuple[tuple[str, int, int, str], ...]] = set()
    for d in sorted(diags, key=lambda d: (d.span.path, d.span.start, d.code)):
        if d.fix is None or not allowed(d.fix, unsafe):
            continue
        edits = d.fix.edits
        if not all(known(e.path) for e in edits):
            continue
        key = tuple(sorted((e.path, e.start, e.end, e.replacement) for e in edits))
        if key in seen:
            continue
        # Two insertions at one point wait for the next round, which re-lints the text with the
        # first one in: two N+1 fixes then extend one ``select_related("a", "b")`` and add
        # ``from sqlalchemy.orm import selectinload`` once, instead of twice.
        if _self_overlapping(edits) or any(e.path in ranges and ranges[e.path].overlaps(e.start, e.end) for e in edits):
            continue
        seen.add(key)
        taken.append(d)
        for e in edits:
            ranges.setdefault(e.path, _Ranges()).add(e.start, e.end)
    return taken


def _self_overlapping(edits: Sequence[Edit]) -> bool:
    """A fix whose own edits overlap cannot be applied (``apply_edits`` takes disjoint edits; two
    insertions at one point are fine)."""
    if len(edits) < 2:
        return False
    spans = sorted((e.path, e.start, e.end) for e in edits)
    return any(p == q and s2 < e1 for (p, _s1, e1), (q, s2, _e2) in itertools.pairwise(spans))


class _Ranges:
    """The edits taken in one file: a new edit overlaps one of them, or is a second insertion at
    its point. Found by bisection (a scan of every taken edit made a file with thousands of fixes
    quadratic: 4,000 Django ``AddIndex`` fixes, 8 million comparisons per round).

    Taken edits never overlap, so sorted by (start, end) their ends never decrease too: of those
    that start before a new edit ends, the last one reaches furthest.
    """

    __slots__ = ("points", "spans")

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []
        self.points: set[int] = set()  # the insertions' offsets

    def overlaps(self, start: int, end: int) -> bool:
        if start == end and start in self.points:
            return True
        i = bisect.bisect_left(self.spans, (end, end))  # the spans before i start before ``end``
        return i > 0 and self.spans[i - 1][1] > start

    def add(self, start: int, end: int) -> None:
        bisect.insort(self.spans, (start, end))
        if start == end:
            self.points.add(start)


def _apply(texts: Mapping[str, str], fixes: Sequence[Diagnostic]) -> dict[str, str]:
    by_path: dict[str, list[Edit]] = {}
    for d in fixes:
        for e in d.fix.edits if d.fix else ():
            by_path.setdefault(e.path, []).append(e)
    return {p: apply_edits(texts[p], edits) for p, edits in by_path.items()}


def _fix_round(texts: Mapping[str, str], chosen: list[Diagnostic], messages: list[str], discarded: set[Any]) -> tuple[dict[str, str], int]:
    """Apply the chosen fixes; those that leave a file unparseable are dropped and reported."""
    new = _apply(texts, chosen)
    if all(parses(p, t) is None for p, t in new.items()):
        return new, len(chosen)
    # Some fix breaks a file: test them one at a time, keep the first that does not.
    for d in chosen:
        trial = _apply(texts, [d])
        errors = [(p, err) for p, t in trial.items() if (err := parses(p, t)) is not None]
        if not errors:
            return trial, 1  # the rest are re-tried next round, on the new text
        p, err = errors[0]
        messages.append(f"{p}: fix for {d.code} [{d.name}] discarded: the result does not parse ({err})")
        discarded.add(_fix_key(d))
    return {}, 0


def _fix_key(d: Diagnostic) -> tuple[str, str, int, str]:
    return (d.span.path, d.code, d.span.start, d.message)


def fix_paths(engine: Engine, paths: Sequence[str], *, unsafe: bool = False, write: bool = True) -> FixOutcome:
    """Fix ``paths`` to a fixpoint; write the files unless ``write`` is False (``--diff``).

    Fixes may also edit project files that are not being checked (a model next to a query).
    """
    texts: dict[str, str] = {}  # display path -> current (fixed) text
    originals: dict[str, str] = {}
    abspaths: dict[str, str] = {}
    messages: list[str] = []
    fixed = 0
    discarded: set[Any] = set()
    result = engine.run(paths)
    for _round in range(MAX_ROUNDS):

        def source_of(path: str, r: RunResult = result) -> SourceFile | None:
            src = r.sources.get(path)
            if src is None and r.project is not None:
                src = r.project.source(path)
            return src

        diags = [d for d in result.diagnostics if _fix_key(d) not in discarded]
        chosen = _choose(diags, unsafe, lambda p: source_of(p) is not None)
        if not chosen:
            break
        current: dict[str, str] = {}
        for d in chosen:
            for e in d.fix.edits if d.fix else ():
                src = source_of(e.path)
                assert src is not None
                current[e.path] = src.text
                abspaths.setdefault(e.path, src.abspath)
        before = len(discarded)
        new, n = _fix_round(current, chosen, messages, discarded)
        changed = {p: t for p, t in new.items() if t != current[p]}
        if not changed:
            if len(discarded) > before:
                continue  # fixes were discarded: try the others again
            break
        for p, t in changed.items():
            originals.setdefault(p, current[p])
            texts[p] = t
        fixed += n
        result = engine.run(paths, overrides=texts)
    changes = {p: (originals[p], t) for p, t in texts.items() if t != originals[p]}
    if write:
        for p, (_old, new_text) in sorted(changes.items()):
            try:
                write_atomic(abspaths[p], new_text)
            except OSError as exc:
                messages.append(f"{p}: cannot write the fixed file: {exc.strerror or exc}")
    return FixOutcome(result, fixed, changes, messages)


def fix_text(engine: Engine, path: str, text: str, *, unsafe: bool = False) -> tuple[str, int]:
    """Fix one buffer (stdin) to a fixpoint; returns the new text and the number of fixes.

    Only edits to the buffer itself are applied (stdin has nowhere to write other files).
    """
    fixed = 0
    messages: list[str] = []
    discarded: set[Any] = set()
    for _round in range(MAX_ROUNDS):
        result = engine.run([], stdin=(path, text))
        disp = next(iter(result.sources), path)
        diags = [d for d in result.diagnostics if d.span.path == disp and _fix_key(d) not in discarded]
        chosen = _choose(diags, unsafe, {disp}.__contains__)
        if not chosen:
            break
        before = len(discarded)
        new, n = _fix_round({disp: text}, chosen, messages, discarded)
        if new.get(disp, text) != text:
            text, fixed = new[disp], fixed + n
        elif len(discarded) == before:
            break
    return text, fixed


def write_atomic(abspath: str, text: str) -> None:
    folder = os.path.dirname(abspath) or "."
    try:
        with open(abspath, "rb") as fh:
            bom = fh.read(3) == b"\xef\xbb\xbf"  # the reader dropped it; keep it
    except OSError:
        bom = False
    fd, tmp = tempfile.mkstemp(prefix=".querylint-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
            fh.write(text)
        try:
            os.chmod(tmp, os.stat(abspath).st_mode & 0o7777)
        except OSError:
            pass
        os.replace(tmp, abspath)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def unified_diff(path: str, old: str, new: str) -> str:
    if old == new:
        return ""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"a/{path}", tofile=f"b/{path}"
    )
    out = []
    for ln in lines:
        out.append(ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n")
    return "".join(out)
