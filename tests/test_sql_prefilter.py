"""The text prefilter of SQL in Python: a callee name then `(`, as the regex it replaces says."""

from __future__ import annotations

import random
import re
from pathlib import Path

from querylint.sql.embedded import _SITE_ATTRS, _has_call, may_hold_sql

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = re.compile(r"\b(?:" + "|".join(sorted(_SITE_ATTRS)) + r")\b(?:[\s\\]|#[^\n]*\n)*\(")
WORDS = tuple(sorted(_SITE_ATTRS))


def test_callee_names_at_edges_inside_identifiers_and_after_prefixes() -> None:
    assert _has_call("execute(", WORDS)
    assert _has_call("x.executemany(q, rows)", WORDS)
    assert _has_call("db.session.execute(\n    text  (  'SELECT 1'))", WORDS)
    assert _has_call("cur.execute \\\n  ('SELECT 1')", WORDS)  # a line continuation
    assert _has_call("f(cur.execute  # run it\n  ('SELECT 1'))", WORDS)  # a comment inside brackets
    assert not _has_call("from sqlalchemy import text\n", WORDS)  # imported, never called
    assert not _has_call("context = get_context()\n", WORDS)  # 'text' inside an identifier
    assert not _has_call("text_field(1); raw_id(2); executed(3); RawSQLish(4)", WORDS)
    assert not _has_call("data['raw'] = text; extra = [execute]", WORDS)  # words, no calls
    assert _has_call("context(1), text(2)", WORDS)  # a later occurrence after one inside a word
    assert not _has_call("", WORDS) and not _has_call("execute", WORDS)


def test_same_answer_as_the_regex_on_random_and_real_texts() -> None:
    rng = random.Random(7)
    alphabet = ["execute", "many", "text", "con", "raw", "RawSQL", "extra", "RunSQL", "_", "a", "1", " ", ".", "(", "\n", "#", "\\", ")"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(5000)]
    texts += [p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("fixtures/**/*.py"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("linter/**/*.py"))]
    mismatches = [t for t in texts if _has_call(t, WORDS) != (REFERENCE.search(t) is not None)]
    assert mismatches == []
    assert 30 < sum(may_hold_sql(t) for t in texts) < len(texts) - 1000


def test_non_ascii_text_is_folded_first() -> None:
    # NFKC folds the fullwidth letters to ASCII, as Python does with identifiers
    fullwidth = "".join(chr(ord(c) - ord("a") + 0xFF41) for c in "execute")
    assert may_hold_sql(f"cursor.{fullwidth}('SELECT 1')\n")
    assert not may_hold_sql("données = 1\n")


def test_call_lines_are_the_lines_of_the_callee_names() -> None:
    from querylint.sql.embedded import _call_lines

    text = "a = 1\ncur.execute(\n  'SELECT 1')\nx = text\ny = text  (2)\ncur.execute \\\n ('x')\n"
    assert _call_lines(text, WORDS) == [2, 5, 6]
    assert _call_lines("", WORDS) == [] and _call_lines("execute", WORDS) == []


def test_sql_is_found_where_the_walk_is_pruned_to_the_callee_lines() -> None:
    import ast

    from querylint.source import Language, SourceFile
    from querylint.sql.embedded import find_sql_in_python

    filler = "".join(f"def helper_{i}(x):\n    return [y for y in x if y]\n\n\n" for i in range(50))
    text = (
        "from sqlalchemy import text\n\n\n"
        "@register(text('SELECT 1 FROM decorated'))\n"
        "def f(cur):\n    return 1\n\n\n"
        + filler +
        "class Repo:\n    def g(self, cur):\n        if cur:\n            for _ in range(3):\n"
        "                cur.execute(\n                    'SELECT 2 FROM nested'\n                )\n\n\n"
        "def h(cur):\n    return f\"{cur.execute('SELECT 3 FROM fstring')}\"\n"
    )
    src = SourceFile("m.py", text, Language.PYTHON)
    found = [f.sql for f in find_sql_in_python(src, ast.parse(text))]
    assert found == ["SELECT 1 FROM decorated", "SELECT 2 FROM nested", "SELECT 3 FROM fstring"]



def _found(text: str) -> list[tuple[str, str]]:
    """(the text at the fragment's start, its SQL) of each fragment found."""
    import ast

    from querylint.source import Language, SourceFile
    from querylint.sql.embedded import find_sql_in_python

    src = SourceFile("m.py", text, Language.PYTHON)
    return [(text[f.span.start : f.span.start + 12], f.sql) for f in find_sql_in_python(src, ast.parse(text))]


def test_the_walk_is_pruned_to_the_callee_lines_in_non_ascii_and_cr_texts_too() -> None:
    """The lines are found in the text as Python reads it: identifiers folded (NFKC) and a lone
    ``\\r`` ending a line, so the pruned walk still reaches every call."""
    fullwidth = "".join(chr(ord(c) - ord("a") + 0xFF41) for c in "execute")
    filler = "".join(f"def helper_{i}(x):\n    return 'données'\n\n\n" for i in range(20))
    text = (
        "# café\n" + filler
        + "class Repo:\n    def g(self, cur):\n        label = 'é'\n"
        f"        cur.{fullwidth}('SELECT 1 FROM folded')\n"
        "        cur.execute('SELECT 2 FROM plain')\n"
    )
    assert _found(text) == [("'SELECT 1 FR", "SELECT 1 FROM folded"), ("'SELECT 2 FR", "SELECT 2 FROM plain")]
    old_mac = "x = 1\rdef f(cur):\r    y = 2\r    z = 3\r    cur.execute('SELECT 3 FROM t')\r"
    assert _found(old_mac.replace("\r", "\r\n")) == [("'SELECT 3 FR", "SELECT 3 FROM t")]
    # (spans in a text whose lines end in a lone \r are not right: SourceFile counts \n only)
    assert [sql for _at, sql in _found(old_mac)] == ["SELECT 3 FROM t"]


def test_a_name_declared_global_is_never_resolved() -> None:
    assert _found("Q = 'SELECT 1 FROM t'\n\n\ndef f(cur):\n    cur.execute(Q)\n") == [("'SELECT 1 FR", "SELECT 1 FROM t")]
    assert _found("Q = 'SELECT 1 FROM t'\n\n\ndef f(cur):\n    global Q\n    cur.execute(Q)\n") == []
    assert _found("def f(cur):\n    cur.execute(Q)\n    global Q\n\n\nQ = 'SELECT 1 FROM t'\n") == []
