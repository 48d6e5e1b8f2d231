"""Spans of ``ast`` nodes in a file's text, with the line split done only when first asked for.

The model gatherers read every file of a project but most files define no model, so they
must not pay for splitting lines up front. ``ast`` columns count UTF-8 bytes; spans count
characters.
"""

from __future__ import annotations

import ast
from functools import cached_property
from itertools import accumulate, repeat
from operator import add

from querylint.source import Span


class LazySpans:
    """Mixin: ``self.path`` and ``self.text`` give ``offset(lineno, col)`` and ``span(node)``."""

    path: str
    text: str

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @cached_property
    def line_starts(self) -> list[int]:
        # each line's length plus its newline, summed: all in C (no Python call per line)
        return list(accumulate(map(add, map(len, self.lines[:-1]), repeat(1)), initial=0))

    def offset(self, lineno: int, col: int) -> int:
        if lineno < 1 or lineno > len(self.line_starts):
            return len(self.text)
        line = self.lines[lineno - 1]
        if line.isascii():  # a byte per character
            return self.line_starts[lineno - 1] + min(col, len(line))
        return self.line_starts[lineno - 1] + len(line.encode("utf-8", "surrogatepass")[:col].decode("utf-8", "ignore"))

    def span(self, node: ast.AST) -> Span:
        start = self.offset(getattr(node, "lineno", 1), getattr(node, "col_offset", 0))
        end_line = getattr(node, "end_lineno", None)
        end_col = getattr(node, "end_col_offset", None)
        end = self.offset(end_line, end_col) if end_line is not None and end_col is not None else start
        return Span(self.path, start, max(start, end))
