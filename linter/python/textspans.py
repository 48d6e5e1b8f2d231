"""Spans of ``ast`` nodes in a file's text, with the line split done only when first asked for.

The model gatherers read every file of a project but most files define no model, so they
must not pay for splitting lines up front. ``ast`` columns count UTF-8 bytes; spans count
characters.
"""

from __future__ import annotations

import ast
from functools import cached_property

from querylint.source import Span, char_column, line_starts_of


class LazySpans:
    """Mixin: ``self.path`` and ``self.text`` give ``offset(lineno, col)`` and ``span(node)``."""

    path: str
    text: str

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @cached_property
    def line_starts(self) -> list[int]:
        return line_starts_of(self.lines)

    def offset(self, lineno: int, col: int) -> int:
        if lineno < 1 or lineno > len(self.line_starts):
            return len(self.text)
        return self.line_starts[lineno - 1] + char_column(self.lines[lineno - 1], col)

    def span(self, node: ast.AST) -> Span:
        start = self.offset(getattr(node, "lineno", 1), getattr(node, "col_offset", 0))
        end_line = getattr(node, "end_lineno", None)
        end_col = getattr(node, "end_col_offset", None)
        end = self.offset(end_line, end_col) if end_line is not None and end_col is not None else start
        return Span(self.path, start, max(start, end))
