"""Suppression comments (minimal version; the full grammar lands with the config work).

``# querylint: ignore[select-star, QL102]``, ``# noqa: QL101`` and the SQL ``--`` forms apply to
findings that start on the same line; ``querylint: ignore-file`` anywhere in a comment turns
the file off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from querylint.diagnostics import Diagnostic
from querylint.source import SourceFile, Span

_IGNORE = re.compile(r"(?:#|--)\s*querylint:\s*ignore\[([^\]]*)\]")
_NOQA = re.compile(r"(?:#|--)\s*noqa:\s*((?:QL\d{3}[\s,]*)+)", re.IGNORECASE)
_IGNORE_FILE = re.compile(r"(?:#|--)\s*querylint:\s*ignore-file\b")


@dataclass(frozen=True, slots=True)
class Suppression:
    span: Span
    line: int
    keys: tuple[str, ...]  # codes or names as written
    text: str


def find(source: SourceFile) -> tuple[list[Suppression], bool]:
    out: list[Suppression] = []
    file_off = False
    for lineno in range(1, source.line_count + 1):
        text = source.line_text(lineno)
        if "querylint" not in text and "noqa" not in text.lower():
            continue
        if _IGNORE_FILE.search(text):
            file_off = True
        for rx in (_IGNORE, _NOQA):
            for m in rx.finditer(text):
                keys = tuple(k.strip() for k in re.split(r"[,\s]+", m.group(1)) if k.strip())
                start = source.offset(lineno, m.start() + 1)
                out.append(Suppression(Span(source.path, start, start + len(m.group(0))), lineno, keys, m.group(0)))
    return out, file_off


def apply(source: SourceFile, diagnostics: Sequence[Diagnostic]) -> tuple[list[Diagnostic], list[Suppression]]:
    sups, file_off = find(source)
    if file_off:
        return [], []
    used: set[int] = set()
    kept: list[Diagnostic] = []
    for d in diagnostics:
        line = source.line_of(d.span.start)
        hit = False
        for i, s in enumerate(sups):
            if s.line == line and any(k.upper() == d.code or k.lower() == d.name for k in s.keys):
                used.add(i)
                hit = True
        if not hit:
            kept.append(d)
    unused = [s for i, s in enumerate(sups) if i not in used]
    return kept, unused
