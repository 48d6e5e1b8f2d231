"""Suppression comments: which findings a comment turns off, and which comments are unused.

Grammar (``#`` in Python, ``--`` in SQL; both forms work inside SQL strings in Python):

* ``# querylint: ignore[select-star, QL102] optional reason`` — rule names or codes;
* ``# noqa: QL101, QL102`` — only querylint codes count: ``# noqa: E501, QL101`` keeps QL101,
  ``# noqa: E501`` and a bare ``# noqa`` belong to other tools and suppress nothing here;
* ``querylint: ignore-file`` in a comment turns the whole file off;
  ``querylint: ignore-file[QL101, select-star]`` only those rules.

A suppression applies to findings whose span starts on its line. In ``.sql`` files a comment on
the last line of a multi-line statement (after the ``;``, where squawk users put it) also
covers findings that start anywhere in that statement; in Python, a comment after a multi-line
string (the SQL of a ``cursor.execute(''' ... ''')``) covers findings inside the string, as
ruff does for ``# noqa`` and multi-line strings.

Python comments are found with ``tokenize`` (a ``#`` inside a string is not a comment); the
``--`` forms count in Python only inside SQL fragments (strings querylint parses as SQL), so a
docstring that *shows* ``-- noqa`` suppresses nothing.

A suppression that suppresses nothing is reported (``unused-suppression``) — but only for rules
that are enabled for the file: ignoring a rule that is off is not "unused" (as in ruff).
Unknown rule names or codes inside ``ignore[...]`` are always reported.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from querylint.diagnostics import Diagnostic
from querylint.slotstate import fast_pickle
from querylint.source import Language, SourceFile, Span

_IGNORE = re.compile(r"(?:#|--)\s*querylint:\s*ignore\[([^\]]*)\]")
_NOQA = re.compile(r"(?:#|--)\s*noqa\s*:\s*([A-Za-z]+\d+(?:\s*,\s*[A-Za-z]+\d+|\s+[A-Za-z]+\d+)*)", re.IGNORECASE)
_IGNORE_FILE = re.compile(r"(?:#|--)\s*querylint:\s*ignore-file(?:\[([^\]]*)\])?")
_QL_CODE = re.compile(r"QL\d{3}", re.IGNORECASE)
_QL_CODE_LOWER = re.compile(r"ql\d{3}")


def may_hold_suppressions(text: str) -> bool:
    """Can ``text`` hold a suppression of ours? Every form names ``querylint`` or a QL code (a
    ``noqa`` without one belongs to another tool): without either, a file with no finding has
    nothing to suppress and nothing unused to report."""
    # on the lowered text the pattern starts with a literal, which the regex engine scans for
    # three times faster than the case-insensitive one
    return "querylint" in text or _QL_CODE_LOWER.search(text.lower()) is not None


@fast_pickle
@dataclass(frozen=True, slots=True)
class Suppression:
    span: Span
    line: int
    keys: tuple[str, ...]  # codes or names as written (only QL codes for noqa)
    text: str  # the comment as written, e.g. a `noqa: QL101` comment
    last_line_of: tuple[int, int] | None = None  # (first, last) line of the statement it ends


@fast_pickle
@dataclass(frozen=True, slots=True)
class Unused:
    """A suppression (or some of its keys) that suppressed nothing, or names unknown rules."""

    suppression: Suppression
    unused: tuple[str, ...]  # keys that matched no finding
    unknown: tuple[str, ...]  # keys that name no rule

    @property
    def message(self) -> str:
        s = self.suppression
        if self.unknown:
            names = ", ".join(f"`{k}`" for k in self.unknown)
            noun = "rule" if len(self.unknown) == 1 else "rules"
            return f"suppression `{s.text}` names unknown {noun} {names}"
        return f"unused suppression `{s.text}`: no {', '.join(self.unused)} finding on this line"


def _keys(raw: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in re.split(r"[,\s]+", raw) if k.strip())


#: a run of blanks before a character that starts no token (``$``, ``?``, a lone CR, a BOM or
#: other non-word character outside a string): ``tokenize`` (3.11) retries the run from each of
#: its positions, quadratic in its length (a 12 KB file took 11 s). The lookbehind makes the
#: search start once per run. Only Python that does not parse has such a run outside strings.
_SLOW_TO_TOKENIZE = re.compile(r"(?<![ \t\f])[ \t\f]{64,}+(?=[^\w'\"#.+\-*/%&|^~<>=@:;,()\[\]{}\\\n \t\f])")

_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


def _comment_regions(
    source: SourceFile, sql_spans: Sequence[Span], multiline: dict[int, tuple[int, int]]
) -> list[tuple[int, int, bool]]:
    """(start, end, hash_allowed) offset ranges where suppression comments may appear.

    Fills ``multiline`` with last line -> (first, last) of every multi-line Python string.
    """
    if source.language is Language.SQL:
        return [(0, len(source.text), False)]
    regions: list[tuple[int, int, bool]] = [(s.start, s.end, False) for s in sql_spans]
    fstring_starts: list[int] = []
    try:
        if _SLOW_TO_TOKENIZE.search(source.text):
            ast.parse(source.text)  # valid Python: its blank runs are in strings, tokenize as usual
        for tok in tokenize.generate_tokens(io.StringIO(source.text).readline):
            if tok.type == tokenize.COMMENT:
                start = source.offset(tok.start[0], tok.start[1] + 1)
                regions.append((start, start + len(tok.string), True))
            elif tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                multiline[tok.end[0]] = (tok.start[0], tok.end[0])
            elif tok.type == _FSTRING_START:
                fstring_starts.append(tok.start[0])
            elif tok.type == _FSTRING_END and fstring_starts:
                first = fstring_starts.pop()
                if tok.end[0] > first:
                    multiline[tok.end[0]] = (first, tok.end[0])
    except (tokenize.TokenError, SyntaxError, IndentationError, ValueError, RecursionError, MemoryError):
        # Unparseable Python: fall back to every line (only parse errors are reported anyway).
        multiline.clear()
        return [(0, len(source.text), True)]
    return regions


def find(
    source: SourceFile,
    sql_spans: Sequence[Span] = (),
    statement_spans: Sequence[Span] = (),
    file_level: list[Suppression] | None = None,
) -> tuple[list[Suppression], tuple[str, ...] | None]:
    """Suppressions of a file, and the file-level ignore (``()`` = everything, None = none).

    ``file_level`` (when given) receives the ``ignore-file[...]`` comments themselves.
    """
    out: list[Suppression] = []
    file_keys: list[str] | None = None
    text = source.text
    if not may_hold_suppressions(text):  # the `noqa`s of other tools need no tokenizing
        return out, None
    # last line of each multi-line .sql statement -> its line range
    ends: dict[int, tuple[int, int]] = {}
    if source.language is Language.SQL:
        for st in statement_spans:
            first, last = source.line_of(st.start), source.line_of(max(st.start, st.end - 1))
            if last > first:
                ends[last] = (first, last)
    for start, end, hash_ok in _comment_regions(source, sql_spans, ends):
        chunk = text[start:end]
        if "querylint" not in chunk and "noqa" not in chunk.lower():
            continue
        for rx in (_IGNORE_FILE, _IGNORE, _NOQA):
            for m in rx.finditer(chunk):
                if not hash_ok and m.group(0).startswith("#"):
                    continue
                if m.start() > 0 and chunk[m.start() - 1] in "\"'`":
                    continue  # quoted in prose, like: the syntax is "noqa: QL101"
                off = start + m.start()
                line = source.line_of(off)
                if rx is _IGNORE_FILE:
                    if m.group(1) is None:
                        file_keys = []
                    elif file_keys is None or file_keys:
                        file_keys = (file_keys or []) + list(_keys(m.group(1)))
                    if m.group(1) is not None and file_level is not None:
                        fspan = Span(source.path, off, off + len(m.group(0)))
                        file_level.append(Suppression(fspan, line, _keys(m.group(1)), m.group(0).strip()))
                    continue
                if rx is _NOQA:
                    keys = tuple(k.upper() for k in _keys(m.group(1)) if _QL_CODE.fullmatch(k))
                    if not keys:
                        continue  # another tool's noqa
                    shown = m.group(0)
                else:
                    keys = _keys(m.group(1))
                    shown = m.group(0)
                span = Span(source.path, off, off + len(m.group(0)))
                out.append(Suppression(span, line, keys, shown.strip(), ends.get(line)))
    out.sort(key=lambda s: s.span.start)
    return out, (tuple(file_keys) if file_keys is not None else None)


def _matches(key: str, d: Diagnostic) -> bool:
    return bool(key.upper() == d.code or key.lower() == d.name)


def apply(
    source: SourceFile,
    diagnostics: Sequence[Diagnostic],
    *,
    sql_spans: Sequence[Span] = (),
    statement_spans: Sequence[Span] = (),
    resolve: Callable[[str], str | None] | None = None,
    enabled: Collection[str] | None = None,
) -> tuple[list[Diagnostic], list[Unused]]:
    """Drop suppressed findings; return the kept ones and the unused/unknown suppressions.

    ``resolve`` maps a key (code or name) to a rule code (None: unknown rule); ``enabled`` is
    the set of codes enabled for this file (suppressions for other rules are never "unused").
    """
    file_sups: list[Suppression] = []
    sups, file_keys = find(source, sql_spans, statement_spans, file_sups)
    unused: list[Unused] = []
    if file_keys is not None:
        if not file_keys:
            return [], []
        diagnostics = [d for d in diagnostics if not any(_matches(k, d) for k in file_keys)]
        for fs in file_sups:  # only unknown names: a file-level ignore is a standing policy
            unknown = tuple(k for k in fs.keys if resolve is not None and resolve(k) is None)
            if unknown:
                unused.append(Unused(fs, (), unknown))
    used: dict[int, set[str]] = {}
    kept: list[Diagnostic] = []
    for d in diagnostics:
        line = source.line_of(d.span.start)
        hit = False
        for i, s in enumerate(sups):
            on_line = s.line == line or (s.last_line_of is not None and s.last_line_of[0] <= line <= s.last_line_of[1])
            if not on_line:
                continue
            for k in s.keys:
                if _matches(k, d):
                    used.setdefault(i, set()).add(k)
                    hit = True
        if not hit:
            kept.append(d)
    for i, s in enumerate(sups):
        hit_keys = used.get(i, set())
        unknown = tuple(k for k in s.keys if resolve is not None and resolve(k) is None)
        idle = []
        for k in s.keys:
            if k in hit_keys or k in unknown:
                continue
            code = resolve(k) if resolve is not None else k.upper()
            if enabled is not None and code not in enabled:
                continue  # a rule that is off: ruff does not call that unused either
            idle.append(k)
        if unknown or idle:
            unused.append(Unused(s, tuple(idle), unknown))
    return kept, unused
