"""Source files, spans and position conversion.

Positions are stored as character offsets into ``SourceFile.text`` and converted at the edges:
1-based line/column (text, GitHub, SARIF), 0-based line with UTF-16 column (LSP), and the
UTF-8 byte columns the stdlib ``ast`` module reports.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field
from enum import Enum
from itertools import accumulate, repeat
from operator import add

from querylint.slotstate import fast_pickle


class Language(Enum):
    PYTHON = "python"
    SQL = "sql"

    @staticmethod
    def for_path(path: str) -> Language | None:
        lower = path.lower()
        if lower.endswith((".py", ".pyi")):
            return Language.PYTHON
        if lower.endswith(".sql"):
            return Language.SQL
        return None


def line_starts_of(lines: list[str]) -> list[int]:
    """The offsets of the first characters of ``lines``, a text split at ``\\n``: each line's
    length plus its newline, summed, all in C (no Python call per line)."""
    return list(accumulate(map(add, map(len, lines[:-1]), repeat(1)), initial=0))


def char_column(line: str, byte_col: int) -> int:
    """The character column in ``line`` of a UTF-8 byte column (what ``ast`` counts)."""
    if line.isascii():  # a byte per character: no encode/decode round trip
        return min(byte_col, len(line))
    return len(line.encode("utf-8", "surrogatepass")[:byte_col].decode("utf-8", "ignore"))


@fast_pickle
@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file's text. ``path`` is the display path (relative to the project root, posix)."""

    path: str
    text: str
    language: Language
    abspath: str = ""
    digest: str = field(init=False, repr=False, compare=False)
    #: offsets of the lines' first characters, computed when first asked for (most files of a
    #: project, tests for one, never need a position)
    _line_starts: tuple[int, ...] | None = field(init=False, repr=False, compare=False, default=None)
    #: ``text.isascii()``, when first asked for by offset_from_ast
    _ascii: bool | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "digest", hashlib.blake2b(self.text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        )

    @property
    def line_starts(self) -> tuple[int, ...]:
        starts = self._line_starts
        if starts is None:
            starts = tuple(line_starts_of(self.text.split("\n")))
            object.__setattr__(self, "_line_starts", starts)
        return starts

    # the position methods below run for every span: they read ``_line_starts`` directly once
    # computed, and call the property only the first time

    # -- offsets <-> positions -------------------------------------------------------------
    def line_of(self, offset: int) -> int:
        """1-based line of a character offset."""
        return bisect.bisect_right(self._line_starts or self.line_starts, offset)

    def location(self, offset: int) -> tuple[int, int]:
        """1-based (line, column); columns count characters (code points)."""
        offset = max(0, min(offset, len(self.text)))
        line = self.line_of(offset)
        return line, offset - (self._line_starts or self.line_starts)[line - 1] + 1

    def offset(self, line: int, column: int) -> int:
        """Character offset of a 1-based (line, column)."""
        starts = self._line_starts or self.line_starts
        line = max(1, min(line, len(starts)))
        return min(starts[line - 1] + column - 1, len(self.text))

    def line_text(self, line: int) -> str:
        starts = self._line_starts or self.line_starts
        start = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def offset_from_ast(self, lineno: int, col_offset: int) -> int:
        """Character offset of an ``ast`` position (1-based line, UTF-8 *byte* column)."""
        starts = self._line_starts or self.line_starts
        if 0 < lineno <= len(starts):
            ascii_text = self._ascii
            if ascii_text is None:
                ascii_text = self.text.isascii()
                object.__setattr__(self, "_ascii", ascii_text)
            if ascii_text:
                # one byte per character: the byte column is the character column, unless it
                # points past the line (or into its trailing ``\r``), which is clamped below
                start = starts[lineno - 1]
                end = starts[lineno] - 1 if lineno < len(starts) else len(self.text)
                if start + col_offset <= end and (col_offset == 0 or self.text[start + col_offset - 1] != "\r"):
                    return start + col_offset
        line = self.line_text(lineno) if 1 <= lineno <= len(starts) else ""
        return self.offset(lineno, char_column(line, col_offset) + 1)

    def utf16_position(self, offset: int) -> tuple[int, int]:
        """0-based (line, UTF-16 column), as the Language Server Protocol counts."""
        line, col = self.location(offset)
        prefix = self.line_text(line)[: col - 1]
        return line - 1, len(prefix.encode("utf-16-le", "surrogatepass")) // 2


@fast_pickle
@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range ``[start, end)`` in the file at ``path``."""

    path: str
    start: int
    end: int


@fast_pickle
@dataclass(frozen=True, slots=True)
class RelatedSpan:
    span: Span
    label: str
