"""``--fix`` and ``--diff``: apply the findings' text edits, re-lint, repeat to a fixpoint.

Each round lints the files, takes the fixes that are allowed (SAFE; UNSAFE too with
``--unsafe-fixes``; never DISPLAY_ONLY), and applies per file the ones whose edits do not
overlap an edit already taken (in file order; a fix is all of its edits or none). The new text
must still parse — Python with ``ast``, a ``.sql`` file with pglast — or the round's fixes for
that file are retried one by one and the ones that break it are dropped and reported. Rounds
repeat until no fix applies (at most ``MAX_ROUNDS``), so a fix that uncovers another is
applied too, and running ``--fix`` twice changes nothing the second time.

With ``write`` the final text replaces the file atomically (temporary file in the same folder,
then ``os.replace``, keeping the file's mode); ``--diff`` keeps everything in memory.
"""

from __future__ import annotations

import ast
import difflib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

from querylint.diagnostics import Applicability, Diagnostic, Edit, Fix
from querylint.engine import Engine, RunResult
from querylint.source import Language

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


def _choose(diags: Sequence[Diagnostic], path: str, unsafe: bool) -> list[Diagnostic]:
    """Fixable findings of ``path`` whose edits do not overlap each other."""
    taken: list[Diagnostic] = []
    ranges: list[tuple[int, int]] = []
    seen: set[tuple[tuple[int, int, str], ...]] = set()
    for d in sorted(diags, key=lambda d: (d.span.start, d.code)):
        if d.fix is None or not allowed(d.fix, unsafe):
            continue
        edits = d.fix.edits
        if any(e.path != path for e in edits):
            continue  # edits in other files are not applied (yet)
        key = tuple(sorted((e.start, e.end, e.replacement) for e in edits))
        if key in seen:
            continue
        if any(not (e.end <= a or e.start >= b) and not (e.start == e.end == a == b) for e in edits for a, b in ranges):
            continue
        seen.add(key)
        taken.append(d)
        ranges.extend((e.start, e.end) for e in edits)
    return taken


def _fix_round(text: str, path: str, chosen: list[Diagnostic], messages: list[str]) -> tuple[str, int]:
    edits = [e for d in chosen for e in (d.fix.edits if d.fix else ())]
    new = apply_edits(text, edits)
    if parses(path, new) is None:
        return new, len(chosen)
    # Some fix breaks the file: keep the ones that do not, one at a time.
    count = 0
    for d in chosen:
        assert d.fix is not None
        trial = apply_edits(text, d.fix.edits)
        err = parses(path, trial)
        if err is None:
            return trial, 1  # the rest are re-tried next round, on the new text
        messages.append(f"{path}: fix for {d.code} [{d.name}] discarded: the result does not parse ({err})")
    return text, count


def fix_paths(engine: Engine, paths: Sequence[str], *, unsafe: bool = False, write: bool = True) -> FixOutcome:
    """Fix ``paths`` to a fixpoint; write the files unless ``write`` is False (``--diff``)."""
    texts: dict[str, str] = {}  # display path -> current text
    originals: dict[str, str] = {}
    abspaths: dict[str, str] = {}
    messages: list[str] = []
    fixed = 0
    discarded: set[tuple[str, str, int]] = set()
    result = engine.run(paths)
    for _round in range(MAX_ROUNDS):
        by_path: dict[str, list[Diagnostic]] = {}
        for d in result.diagnostics:
            if (d.span.path, d.code, d.span.start) in discarded:
                continue
            by_path.setdefault(d.span.path, []).append(d)
        progress = False
        for path, diags in sorted(by_path.items()):
            src = result.sources.get(path)
            if src is None:
                continue
            chosen = _choose(diags, path, unsafe)
            if not chosen:
                continue
            before = len(messages)
            new, n = _fix_round(src.text, path, chosen, messages)
            if len(messages) > before:
                discarded.update((d.span.path, d.code, d.span.start) for d in chosen)
            if n and new != src.text:
                originals.setdefault(path, src.text)
                abspaths[path] = src.abspath
                texts[path] = new
                fixed += n
                progress = True
        if not progress:
            break
        result = engine.run(paths, overrides=texts)
    changes = {p: (originals[p], t) for p, t in texts.items() if t != originals[p]}
    if write:
        for p, (_old, new) in sorted(changes.items()):
            try:
                write_atomic(abspaths[p], new)
            except OSError as exc:
                messages.append(f"{p}: cannot write the fixed file: {exc.strerror or exc}")
    return FixOutcome(result, fixed, changes, messages)


def fix_text(engine: Engine, path: str, text: str, *, unsafe: bool = False) -> tuple[str, int]:
    """Fix one buffer (stdin) to a fixpoint; returns the new text and the number of fixes."""
    fixed = 0
    messages: list[str] = []
    for _round in range(MAX_ROUNDS):
        result = engine.run([], stdin=(path, text))
        disp = next(iter(result.sources), path)
        chosen = _choose([d for d in result.diagnostics if d.span.path == disp], disp, unsafe)
        if not chosen:
            break
        new, n = _fix_round(text, disp, chosen, messages)
        if not n or new == text:
            break
        text, fixed = new, fixed + n
    return text, fixed


def write_atomic(abspath: str, text: str) -> None:
    folder = os.path.dirname(abspath) or "."
    fd, tmp = tempfile.mkstemp(prefix=".querylint-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
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
