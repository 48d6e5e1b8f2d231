"""SQL text as the parser sees it, mapped back to the file the user edits.

A :class:`SqlFragment` is SQL found in a ``.sql`` file (the whole file) or in Python string
literals (``cursor.execute("...")``, ``RunSQL``...). Placeholders are normalised before parsing
(``%s`` / ``%(name)s`` / ``:name`` / ``?`` become ``$n``), so the parsed text and the file differ;
``segments`` map every parsed offset back to a file offset.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from querylint.slotstate import fast_pickle
from querylint.source import Span


@fast_pickle
@dataclass(frozen=True, slots=True)
class SqlFragment:
    path: str
    sql: str
    # (sql_start, file_start, length): sql[sql_start : sql_start + length] is the file text at
    # file_start. Offsets between segments (a normalised placeholder) map to the segment start.
    segments: tuple[tuple[int, int, int], ...]
    span: Span  # the literal(s) in Python, or the whole .sql file
    context: str = "file"  # "file", "cursor.execute", "RunSQL", "op.execute", "text", ...
    #: what is known of the value bound to each ``$n`` (index n-1) from the call's arguments:
    #: (literal prefix, complete) — ``("%", False)`` for ``f"%{term}%"`` — or None when unknown
    params: tuple[tuple[str, bool] | None, ...] = ()
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(s[0] for s in self.segments))

    @staticmethod
    def whole_file(path: str, text: str) -> SqlFragment:
        return SqlFragment(path, text, ((0, 0, len(text)),), Span(path, 0, len(text)), "file")

    @property
    def in_python(self) -> bool:
        return self.context != "file"

    def file_offset(self, sql_offset: int) -> int:
        if not self.segments:
            return self.span.start
        i = bisect.bisect_right(self._starts, sql_offset) - 1
        if i < 0:
            return self.segments[0][1]
        s_start, f_start, length = self.segments[i]
        delta = sql_offset - s_start
        if delta > length:
            # inside a normalised placeholder: map to the end of this segment
            return f_start + length
        return f_start + delta

    def file_span(self, sql_start: int, sql_end: int) -> Span:
        start = self.file_offset(sql_start)
        end = self.file_offset(sql_end) if sql_end > sql_start else start
        return Span(self.path, start, max(start, end))


@fast_pickle
@dataclass(frozen=True, slots=True)
class SqlStatement:
    """One parsed statement: the pglast node and its range in ``fragment.sql``."""

    fragment: SqlFragment
    node: Any  # pglast.ast.Node (the RawStmt's stmt)
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.fragment.sql[self.start : self.end]

    @property
    def span(self) -> Span:
        return self.fragment.file_span(self.start, self.end)
