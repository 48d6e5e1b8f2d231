"""Positions: ``ast`` (line, UTF-8 byte column) -> character offsets."""

from __future__ import annotations

import ast

import pytest
from querylint.source import Language, SourceFile

TEXTS = [
    "def f(x):\n    return g(x)\n",
    "def f(x):\r\n    return g(x)\r\n",  # CRLF: a column never lands on the \r
    "s = 'café'\nt = g(s)\n",  # non-ASCII: byte columns differ from character columns
    "x = 1",  # no final newline
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_ascii_shortcut_gives_the_general_answer(text: str) -> None:
    fast = SourceFile("m.py", text, Language.PYTHON)
    slow = SourceFile("m.py", text, Language.PYTHON)
    object.__setattr__(slow, "_ascii", False)  # the UTF-8 path for every position
    lines = text.split("\n")
    for lineno in range(0, len(lines) + 2):
        for col in range(0, max(len(x) for x in lines) + 3):
            assert fast.offset_from_ast(lineno, col) == slow.offset_from_ast(lineno, col), (lineno, col)


def test_node_offsets() -> None:
    text = "def f(x):\r\n    return g(x)\r\ns = 'café'; t = g(s)\n"
    src = SourceFile("m.py", text, Language.PYTHON)
    calls = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call)]
    got = [text[src.offset_from_ast(c.lineno, c.col_offset):src.offset_from_ast(c.end_lineno or 0, c.end_col_offset or 0)] for c in calls]
    assert sorted(got) == ["g(s)", "g(x)"]
    assert src.offset_from_ast(1, 99) == text.index("\r")  # past the line: its end
