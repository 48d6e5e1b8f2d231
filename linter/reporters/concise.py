"""``path:line:col: CODE [name] message`` — one line a finding, 1-based, for editors."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from querylint.engine import RunResult
    from querylint.reporters import ReportContext


def render(result: RunResult, ctx: ReportContext) -> str:
    lines = []
    for d in result.diagnostics:
        src = result.sources.get(d.span.path)
        line, col = src.location(d.span.start) if src else (1, 1)
        lines.append(f"{d.span.path}:{line}:{col}: {d.code} [{d.name}] {d.message}")
    return "\n".join(lines) + ("\n" if lines else "")
