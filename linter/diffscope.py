"""Diff scope: report only findings on lines a branch changed ("only what this PR changed").

``changed_lines(base, root)`` asks git which lines differ between the merge base of ``base``
and ``HEAD`` and the *working tree* (``git diff --unified=0 <merge-base>``): in CI the
working tree is ``HEAD``, so this is exactly ``git diff BASE...HEAD``; locally it also covers
staged and unstaged edits, with line numbers of the files as they are linted. Untracked files
(not ignored) count as entirely new. Paths are relative to ``root`` (the project root), like
the display paths of findings; changes outside ``root`` are left out.

``filter_diagnostics`` keeps a finding when its span overlaps a changed line, or spans the
place where lines were deleted (a statement that lost its ``LIMIT`` line is in scope), or when
its file changed and could not be read at all. Files the diff does not touch keep nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

from querylint.config import ConfigError
from querylint.diagnostics import Diagnostic
from querylint.source import SourceFile

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass
class FileChanges:
    """Changed lines of one file: inclusive 1-based ranges, and deletion points (lines were
    removed between line ``c`` and ``c + 1``). ``whole`` marks new (untracked) files."""

    ranges: list[tuple[int, int]] = field(default_factory=list)
    deletions: list[int] = field(default_factory=list)
    whole: bool = False

    def overlaps(self, first: int, last: int) -> bool:
        if self.whole:
            return True
        if any(first <= b and last >= a for a, b in self.ranges):
            return True
        return any(first <= c and last >= c + 1 for c in self.deletions)


def _unquote(path: str) -> str:
    """Undo git's C-style quoting of unusual file names (``"b/caf\\303\\251.sql"``)."""
    if not (len(path) >= 2 and path[0] == path[-1] == '"'):
        return path
    body = path[1:-1]
    out = bytearray()
    i = 0
    simple = {"n": b"\n", "t": b"\t", '"': b'"', "\\": b"\\", "a": b"\a", "b": b"\b", "f": b"\f", "r": b"\r", "v": b"\v"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in simple:
                out += simple[nxt]
                i += 2
                continue
            if body[i + 1 : i + 4].isdigit():
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
        out += ch.encode("utf-8")
        i += 1
    return out.decode("utf-8", "replace")


def parse_diff(text: str) -> dict[str, FileChanges]:
    """Changed lines per new-side path from ``git diff --unified=0`` output (prefix ``b/``)."""
    out: dict[str, FileChanges] = {}
    current: FileChanges | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            name = _unquote(line[4:].rstrip("\t"))
            if name == "/dev/null":
                current = None  # a deleted file: nothing to lint there
                continue
            if name.startswith("b/"):
                name = name[2:]
            current = out.setdefault(name, FileChanges())
            continue
        if current is None or not line.startswith("@@"):
            continue
        m = _HUNK.match(line)
        if m is None:
            continue
        start = int(m.group(1))
        count = int(m.group(2)) if m.group(2) is not None else 1
        if count == 0:
            current.deletions.append(start)
        else:
            current.ranges.append((start, start + count - 1))
    return out


def _git(args: list[str], cwd: str) -> str:
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=cwd, capture_output=True, check=False,
        )
    except FileNotFoundError:
        raise ConfigError("the diff scope needs git, and git was not found on PATH") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigError(f"git {' '.join(args[:2])} failed: {err[0] if err else f'exit code {proc.returncode}'}")
    return proc.stdout.decode("utf-8", "replace")


def changed_lines(base: str, root: str = ".") -> dict[str, FileChanges]:
    """Changed lines per file (paths relative to ``root``) since the merge base of ``base``."""
    root = os.path.abspath(root)
    try:
        _git(["rev-parse", "--is-inside-work-tree"], root)
    except ConfigError:
        raise ConfigError(f"the diff scope needs a git repository, and {root} is not inside one") from None
    if base.startswith("-"):  # git would read it as an option, not a revision
        raise ConfigError(f"--diff-base: `{base}` is not a revision")
    try:
        merge_base = _git(["merge-base", base, "HEAD"], root).strip()
    except ConfigError as exc:
        raise ConfigError(
            f"cannot find the merge base of `{base}` and HEAD ({exc}); in CI, fetch the base branch "
            "(actions/checkout with `fetch-depth: 0`)"
        ) from None
    diff = _git(["diff", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv", "--relative", "--src-prefix=a/", "--dst-prefix=b/", merge_base, "--"], root)
    changes = parse_diff(diff)
    for name in _git(["ls-files", "--others", "--exclude-standard", "-z"], root).split("\0"):
        if name:
            changes[name] = FileChanges(whole=True)
    return changes


def filter_diagnostics(
    diagnostics: Iterable[Diagnostic], sources: dict[str, SourceFile], changes: dict[str, FileChanges]
) -> list[Diagnostic]:
    """The findings whose span touches a changed line (see the module docs)."""
    kept = []
    for d in diagnostics:
        # git names files with ``/``; only the platform's separator differs (a backslash on
        # POSIX is part of the name: ``back\\slash.sql`` is not ``back/slash.sql``)
        path = d.span.path.replace(os.sep, "/") if os.sep != "/" else d.span.path
        fc = changes.get(path)
        if fc is None:
            continue
        src = sources.get(d.span.path)
        if src is None:
            kept.append(d)
            continue
        first = src.line_of(d.span.start)
        end = max(d.span.start, d.span.end)
        # a span ending just after a newline does not touch the next line
        last = src.line_of(end - 1) if end > d.span.start else first
        if fc.overlaps(first, last):
            kept.append(d)
    return kept
