"""The default output: each finding with a code frame, the span underlined, help and notes.

```
db/q.sql:1:8: QL101 [select-star] `SELECT *` ...
  |
1 | SELECT * FROM users;
  |        ^
  |
  = help: List the columns the application reads
  = note: loop starts here
     --> app/views.py:10:5
  = fix available (unsafe): Expand `*` to the columns of `users`
```

Underlines are computed in display columns: tabs expand to the next multiple of 4, wide
(East Asian) characters take two columns and combining marks none, so the carets sit under
the span in a terminal. Colour (ANSI) only when ``ReportContext.color`` is set; the CLI sets it
for a tty and honours ``NO_COLOR`` / ``FORCE_COLOR``. The last line is the summary.

Every piece of the project's text is escaped for a log read line by line
(:mod:`querylint.reporters._escape`): paths, messages, labels and titles show a line break as
``\\n``; in the code frame a control character is shown as its Unicode control picture
(``␍`` for a lone CR, which editors and GitHub's runner read as a line end) or, when it is not
a C0 control, as its escape, and the carets follow the shown text. The default format is what
CI logs get, so no line starts with ``::`` and none holds ``##[``.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from querylint.diagnostics import Applicability, Diagnostic, Severity
from querylint.reporters._escape import char_escape, command_marks, line_start, line_text, visible

if TYPE_CHECKING:
    from querylint.engine import RunResult
    from querylint.reporters import ReportContext
    from querylint.source import SourceFile

TAB = 4
MAX_LINES = 4  # longer spans show the first two and the last line
#: a longer line is shown as a window around the span (characters): a finding on a generated
#: one-line file must not print the whole line, once per finding (quadratic in the output)
MAX_WIDTH = 200
CONTEXT = 60  # characters shown on each side of the span in a window
ELLIPSIS = "\u2026"
SUMMARY_PREFIXES = ("Found ", "All checks passed!")


class _Style:
    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.on and text else text


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _shown(ch: str) -> str:
    """How a character that is not printable appears in the frame (never as itself)."""
    cp = ord(ch)
    if cp < 0x20:
        return chr(0x2400 + cp)  # the control pictures: ␍ ␊ ␛ ...
    if cp == 0x7F:
        return "\u2421"  # ␡
    return char_escape(ch)


def _expand(line: str) -> tuple[str, list[int]]:
    """Display text of a line and the display column where each character starts (+ the end)."""
    out: list[str] = []
    cols: list[int] = []
    col = 0
    marks = command_marks(line)
    for i, ch in enumerate(line):
        cols.append(col)
        if ch == "\t":
            w = TAB - col % TAB
            out.append(" " * w)
        elif i in marks:
            out.append("\\x23")  # ``##[`` would be a GitHub runner command anywhere in a line
            w = 4
        elif not ch.isprintable():
            shown = _shown(ch)
            out.append(shown)
            w = len(shown)
        else:
            w = _char_width(ch)
            out.append(ch)
        col += w
    cols.append(col)
    return "".join(out), cols


def _frame(src: SourceFile, d: Diagnostic, style: _Style) -> list[str]:
    start_line, start_col = src.location(d.span.start)
    end_line, end_col = src.location(max(d.span.start, d.span.end))
    if end_line > start_line and end_col == 1:  # span ends right after a newline
        end_line, end_col = end_line - 1, len(src.line_text(end_line - 1)) + 1
    lines = list(range(start_line, end_line + 1))
    if len(lines) > MAX_LINES:
        lines = [*lines[:2], -1, lines[-1]]
    gutter = len(str(end_line))
    bar = style(" " * gutter + " |", "1;34")
    out = [bar]
    color = "1;31" if d.severity is Severity.ERROR else "1;33"
    for ln in lines:
        if ln == -1:
            out.append(style("...", "1;34"))
            continue
        text = src.line_text(ln)
        a = start_col - 1 if ln == start_line else len(text) - len(text.lstrip())
        b = end_col - 1 if ln == end_line else len(text)
        a, b = min(a, len(text)), min(b, len(text))
        lo, hi = 0, len(text)
        if hi > MAX_WIDTH:
            lo = max(0, a - CONTEXT)
            hi = min(len(text), max(b, a + 1) + CONTEXT, lo + MAX_WIDTH)
        shown, cols = _expand(text[lo:hi])
        before = ELLIPSIS if lo > 0 else ""
        if before or hi < len(text):
            shown = before + shown + (ELLIPSIS if hi < len(text) else "")
        out.append(style(f"{ln:>{gutter}} |", "1;34") + (" " + shown if shown else ""))
        a, b = min(a, hi) - lo, min(b, hi) - lo
        ca, cb = cols[a] + len(before), cols[b] + len(before)
        width = max(1, cb - ca)
        out.append(bar + " " + " " * ca + style("^" * width, color))
    out.append(bar)
    return out


def render_one(d: Diagnostic, result: RunResult, ctx: ReportContext) -> str:
    style = _Style(ctx.color)
    src = result.sources.get(d.span.path)
    line, col = src.location(d.span.start) if src else (1, 1)
    color = "1;31" if d.severity is Severity.ERROR else "1;33"
    head = f"{style(line_start(d.span.path), '1')}:{line}:{col}: {style(d.code, color)} [{d.name}] {visible(d.message)}"
    out = [head]
    if src is not None and src.text:
        out.extend(_frame(src, d, style))
    if d.help:
        # a help text of several lines keeps them; each is escaped and none can start a command
        for i, h in enumerate(d.help.splitlines()):
            out.append(f"  = {style('help', '1;36')}: {visible(h)}" if i == 0 else f"          {line_text(h)}")
    for rel in d.related:
        rsrc = result.sources.get(rel.span.path)
        if rsrc is None and result.project is not None:
            rsrc = result.project.source(rel.span.path)
        rl, rc = rsrc.location(rel.span.start) if rsrc else (1, 1)
        out.append(f"  = {style('note', '1;32')}: {visible(rel.label)}")
        out.append(f"     --> {visible(rel.span.path)}:{rl}:{rc}")
    if d.confidence.value != "high":
        out.append(f"  = confidence: {d.confidence.value}")
    if d.fix is not None:
        kind = {Applicability.SAFE: "", Applicability.UNSAFE: " (unsafe)", Applicability.DISPLAY_ONLY: " (display only)"}
        out.append(f"  = fix available{kind[d.fix.applicability]}: {visible(d.fix.title)}")
        if ctx.show_fixes:
            for e in d.fix.edits:
                esrc = result.sources.get(e.path)
                el, ec = esrc.location(e.start) if esrc else (1, 1)
                out.append(f"      {line_start(e.path)}:{el}:{ec}: replace with {visible(repr(e.replacement))}")
    return "\n".join(out)


def summary(result: RunResult) -> str:
    n = len(result.diagnostics)
    if n == 0:
        return "All checks passed!"
    safe = sum(1 for d in result.diagnostics if d.fix is not None and d.fix.applicability is Applicability.SAFE)
    unsafe = sum(1 for d in result.diagnostics if d.fix is not None and d.fix.applicability is Applicability.UNSAFE)
    text = f"Found {n} problem{'s' if n != 1 else ''}"
    extras = []
    if safe:
        extras.append(f"{safe} fixable with --fix")
    if unsafe:
        extras.append(f"{unsafe} {'more' if safe else 'fixable'} with --fix --unsafe-fixes")
    return text + (f" ({', '.join(extras)})." if extras else ".")


def render(result: RunResult, ctx: ReportContext) -> str:
    blocks = [render_one(d, result, ctx) for d in result.diagnostics]
    body = "\n\n".join(blocks)
    return (body + "\n\n" if body else "") + summary(result) + "\n"


def without_summary(report: str) -> str:
    """The report minus its summary line (for ``--quiet``)."""
    lines = report.rstrip("\n").split("\n")
    if lines and lines[-1].startswith(SUMMARY_PREFIXES):
        lines.pop()
    text = "\n".join(lines).rstrip("\n")
    return text + "\n" if text else ""
