"""``json``: the shape of ruff's JSON output, so tools that read ruff's read ours.

A list of objects with ``code``, ``message``, ``filename`` (absolute, as ruff writes it),
``location`` / ``end_location`` (``{row, column}``, 1-based, end exclusive), ``fix`` (``null`` or
``{applicability, message, edits: [{content, location, end_location}]}``), ``url`` (the rule's
docs page), ``noqa_row`` (the line a suppression comment goes on) and ``cell`` (always
``null``), plus querylint's own ``name``, ``severity``, ``help`` and ``confidence``. Keys are
sorted and indented by two, like ruff's.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from querylint.reporters._escape import json_text
from querylint.reporters._shared import display_path, rule_url, span_range

if TYPE_CHECKING:
    from querylint.diagnostics import Diagnostic
    from querylint.engine import RunResult
    from querylint.reporters import ReportContext
    from querylint.source import SourceFile


def render(result: RunResult, ctx: ReportContext) -> str:
    root = os.path.abspath(ctx.root)
    items = [_item(d, result, root) for d in result.diagnostics]
    return json_text(json.dumps(items, indent=2, sort_keys=True, ensure_ascii=False)) + "\n"


def _item(d: Diagnostic, result: RunResult, root: str) -> dict[str, Any]:
    r = span_range(d.span, result.sources.get(d.span.path))
    fix: dict[str, Any] | None = None
    if d.fix is not None:
        edits = []
        for e in d.fix.edits:
            er = _edit_range(e.start, e.end, result.sources.get(e.path))
            edits.append({"content": e.replacement, "location": er[0], "end_location": er[1]})
        fix = {"applicability": d.fix.applicability.value, "message": d.fix.title, "edits": edits}
    return {
        "cell": None,
        "code": d.code,
        "name": d.name,
        "severity": d.severity.value,
        "confidence": d.confidence.value,
        "message": d.message,
        "help": d.help,
        "filename": _absolute(root, d.span.path),
        "location": {"row": r.line, "column": r.col},
        "end_location": {"row": r.end_line, "column": r.end_col},
        "fix": fix,
        "url": rule_url(d.name),
        "noqa_row": r.line,
    }


def _edit_range(start: int, end: int, src: SourceFile | None) -> tuple[dict[str, int], dict[str, int]]:
    """Edit positions are exact (an edit may end at column 1 of the next line)."""
    if src is None:
        return {"row": 1, "column": 1}, {"row": 1, "column": 1}
    line, col = src.location(start)
    eline, ecol = src.location(end)
    return {"row": line, "column": col}, {"row": eline, "column": ecol}


def _absolute(root: str, path: str) -> str:
    full = path if os.path.isabs(path) else os.path.join(root, path)
    return display_path(os.path.normpath(full))
