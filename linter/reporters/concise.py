"""``path:line:col: CODE [name] message`` — one line a finding, 1-based, for editors.

The path and the message are the project's text: a line break in either is written ``\\n``
(:mod:`querylint.reporters._escape`), so a problem matcher reads exactly one finding per line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from querylint.reporters._escape import line_start, visible

if TYPE_CHECKING:
    from querylint.engine import RunResult
    from querylint.reporters import ReportContext


def render(result: RunResult, ctx: ReportContext) -> str:
    lines = []
    for d in result.diagnostics:
        src = result.sources.get(d.span.path)
        line, col = src.location(d.span.start) if src else (1, 1)
        lines.append(f"{line_start(d.span.path)}:{line}:{col}: {d.code} [{d.name}] {visible(d.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
