"""Baseline files: adopt querylint on legacy code by recording today's findings and hiding them.

``--write-baseline FILE`` records every current finding; ``--baseline FILE`` then reports only
findings that are not in it. A finding is matched by ``(path, code, fingerprint)``, where the
fingerprint hashes the whitespace-normalised text of the line the finding starts on and of the
flagged code itself, so inserting lines above it (or re-indenting it) keeps it matched, while
editing the offending code makes it new again. The flagged text matters: in a Django migration
forty findings start on an identical ``migrations.AddField(`` line, and only the operation's
own text tells them apart. Matching counts: two identical findings recorded once leave the
second one reported. Internal errors (``QL000``) are bugs in querylint, not debt; they are
never recorded.

The file is JSON with a version, sorted, one entry per finding, so it diffs well in review::

    {"version": 1, "tool": "querylint", "findings": [
        {"path": "app/q.sql", "code": "QL101", "name": "select-star", "line": 3,
         "fingerprint": "5d41402abc4b2a76", "message": "..."}]}
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from querylint.config import ConfigError
from querylint.diagnostics import Diagnostic
from querylint.slotstate import fast_pickle
from querylint.source import SourceFile

VERSION = 1
_NOT_RECORDED = frozenset({"QL000"})


def normalize_line(text: str) -> str:
    """The line without its indentation, trailing blanks, line ending or inner whitespace runs."""
    return " ".join(text.split())


#: characters of the flagged text that count (a whole statement can be long)
_SPAN_CHARS = 2000


def text_fingerprint(line: str, flagged: str = "") -> str:
    """16 hex digits of SHA-256 over the normalised line and flagged text."""
    basis = normalize_line(line) + "\0" + normalize_line(flagged[:_SPAN_CHARS])
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def fingerprint(d: Diagnostic, source: SourceFile | None) -> str:
    """Fingerprint of ``d``: its first line and its text (empty for files that could not be read)."""
    if source is None:
        return text_fingerprint("")
    return text_fingerprint(source.line_text(source.line_of(d.span.start)), source.text[d.span.start : d.span.end])


@fast_pickle
@dataclass(frozen=True, slots=True)
class Entry:
    path: str
    code: str
    fingerprint: str
    name: str = ""
    line: int = 0
    message: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.path, self.code, self.fingerprint)


@fast_pickle
@dataclass(frozen=True, slots=True)
class Baseline:
    entries: tuple[Entry, ...]

    def counts(self) -> Counter[tuple[str, str, str]]:
        return Counter(e.key for e in self.entries)


@fast_pickle
@dataclass(frozen=True, slots=True)
class Outcome:
    """What applying a baseline did: the findings still reported, how many it hid, and the
    recorded entries that matched nothing any more (fixed, or their line was edited)."""

    kept: list[Diagnostic]
    matched: int
    unmatched: int


def entries_for(diagnostics: Iterable[Diagnostic], sources: dict[str, SourceFile]) -> list[Entry]:
    out = []
    for d in diagnostics:
        if d.code in _NOT_RECORDED:
            continue
        src = sources.get(d.span.path)
        line = src.line_of(d.span.start) if src is not None else 1
        out.append(Entry(_posix(d.span.path), d.code, fingerprint(d, src), d.name, line, d.message))
    out.sort(key=lambda e: (e.path, e.line, e.code, e.fingerprint, e.message))
    return out


def dumps(entries: Sequence[Entry]) -> str:
    data = {
        "version": VERSION,
        "tool": "querylint",
        "findings": [
            {"path": e.path, "code": e.code, "name": e.name, "line": e.line, "fingerprint": e.fingerprint, "message": e.message}
            for e in entries
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write(path: str, diagnostics: Iterable[Diagnostic], sources: dict[str, SourceFile]) -> int:
    """Record the findings in ``path`` (created or replaced); returns how many were recorded."""
    entries = entries_for(diagnostics, sources)
    text = dumps(entries)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ConfigError(f"cannot write baseline {path}: {exc.strerror or exc}") from None
    return len(entries)


def loads(text: str, *, origin: str = "baseline") -> Baseline:
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{origin} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or "findings" not in data:
        raise ConfigError(f"{origin} is not a querylint baseline (no `findings`)")
    version = data.get("version")
    if version != VERSION:
        raise ConfigError(f"{origin} has baseline version {version!r}; this querylint reads version {VERSION}")
    findings = data["findings"]
    if not isinstance(findings, list):
        raise ConfigError(f"{origin}: `findings` must be a list")
    entries = []
    for i, item in enumerate(findings):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("path", "code", "fingerprint")):
            raise ConfigError(f"{origin}: finding #{i + 1} needs string `path`, `code` and `fingerprint`")
        line = item.get("line", 0)
        entries.append(
            Entry(
                _posix(item["path"]), item["code"].upper(), item["fingerprint"],
                str(item.get("name", "")), line if isinstance(line, int) else 0, str(item.get("message", "")),
            )
        )
    return Baseline(tuple(entries))


def load(path: str) -> Baseline:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise ConfigError(f"baseline file {path} not found (create it with --write-baseline {path})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read baseline {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return loads(text, origin=f"baseline {path}")


def apply(baseline: Baseline, diagnostics: Iterable[Diagnostic], sources: dict[str, SourceFile]) -> Outcome:
    """Drop the findings recorded in ``baseline``; order of the rest is kept."""
    remaining = baseline.counts()
    kept: list[Diagnostic] = []
    matched = 0
    for d in diagnostics:
        key = (_posix(d.span.path), d.code, fingerprint(d, sources.get(d.span.path)))
        if d.code not in _NOT_RECORDED and remaining[key] > 0:
            remaining[key] -= 1
            matched += 1
            continue
        kept.append(d)
    return Outcome(kept, matched, sum(remaining.values()))


def _posix(path: str) -> str:
    """The path with ``/`` for the platform's separator; a backslash on POSIX is part of a name."""
    return path.replace(os.sep, "/") if os.sep != "/" else path
