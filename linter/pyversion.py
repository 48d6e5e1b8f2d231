"""Why a Python file does not parse: syntax of a later Python than the one querylint runs on.

querylint parses with the running interpreter's ``ast``, so a file that is valid in the
project's Python (3.12 generics and ``type`` aliases, PEP 701 f-strings, 3.14's ``except A, B:``
and template strings) is a syntax error here. :func:`syntax_error_message` turns the
``SyntaxError`` into a message that says which construct needs which Python, which Python
querylint runs on, and which Python the project targets (``requires-python`` in
pyproject.toml, or ruff's ``target-version``) when it says so.

Nothing is imported or run: the constructs are found by scanning the text (a small lexer for
string literals, which the 3.11 tokenizer cannot read when they nest, and ``tokenize`` for the
statements), and only a construct on the line of the error is named, so a plain syntax error is
never blamed on a version.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tokenize
from bisect import bisect_right
from dataclasses import dataclass

from querylint.slotstate import fast_pickle

Version = tuple[int, int]

RUNNING: Version = (sys.version_info[0], sys.version_info[1])


@fast_pickle
@dataclass(frozen=True, slots=True)
class Construct:
    """Syntax of a later Python, found on lines ``first``..``last`` (1-based)."""

    what: str  # e.g. "a `type` alias statement (PEP 695)"
    version: Version
    first: int
    last: int


@fast_pickle
@dataclass(frozen=True, slots=True)
class Target:
    """The lowest Python the project says it runs on, and where it says so."""

    version: Version
    where: str  # e.g. "requires-python in pyproject.toml"


def _v(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def syntax_error_message(text: str, exc: SyntaxError, abspath: str = "", running: Version = RUNNING) -> str:
    """The QL001 message for a Python file that ``ast.parse`` rejected with ``exc``."""
    line = exc.lineno or 1
    target = project_target(os.path.dirname(abspath)) if abspath else None
    try:
        constructs = later_constructs(text, line)
    except (RecursionError, MemoryError):  # literals nested thousands deep: no explanation
        constructs = []
    found = [c for c in constructs if c.first <= line <= c.last and c.version > running]
    if not found:
        msg = f"Python syntax error: {exc.msg}"
        if target is not None and target.version > running:
            msg += (f" (the project targets Python >= {_v(target.version)} ({target.where}) and querylint runs on "
                    f"Python {_v(running)}: if this is newer syntax, run querylint on Python >= {_v(target.version)})")
        return msg
    c = min(found, key=lambda c: (c.first, -c.version[0], -c.version[1]))
    msg = f"this file uses {c.what}, syntax of Python {_v(c.version)}"
    if target is not None:
        if target.version >= c.version:
            msg += f", and the project targets Python >= {_v(target.version)} ({target.where})"
        else:
            msg += f", but the project targets Python >= {_v(target.version)} ({target.where}), where it is a syntax error"
    return msg + (f"; querylint runs on Python {_v(running)}, so the file was not checked "
                  f"(run querylint on Python >= {_v(c.version)})")


def later_constructs(text: str, line: int | None = None) -> list[Construct]:
    """Every construct of a Python later than 3.11 found in ``text``, in no particular order.

    With ``line``, the statements are read only from that line to the end of its statement:
    every statement construct starts on the line Python reports it at, and ``tokenize`` over a
    whole large file costs about what parsing it did.
    """
    if line is None:
        return _string_constructs(text) + _statement_constructs(text)
    lines = text.split("\n")  # as Python counts lines (splitlines also splits at a form feed)
    found = _string_constructs(text)
    if 0 < line <= len(lines) and _KEYWORDS.search(lines[line - 1]):
        found += _statement_constructs("\n".join(lines[line - 1 :]), line - 1, one_statement=True)
    return found


# -- string literals (PEP 701 f-strings, PEP 750 template strings) ------------------------------

_PREFIXES = {"", "r", "u", "b", "br", "rb", "f", "fr", "rf", "t", "tr", "rt"}
_WORD = re.compile(r"\w+")
#: a comment, or a literal's quote with the word before it (its prefix, when it is one); the
#: word is taken whole (not retried from each of its characters: quadratic in a long word).
#: The scan resumes after a literal's closing quote or at a line end, never inside a word.
_NEXT = re.compile(r"#|(?<!\w)\w*['\"]")


class _Strings:
    """A lexer for string literals with Python 3.12's rules (replacement fields nest, and may
    hold any quote, backslashes, comments and line breaks), noting what 3.11 cannot read."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.found: list[Construct] = []
        self.notes: set[str] = set()  # what the outermost literal being read uses

    def line(self, pos: int) -> int:
        return bisect_right(self.starts, pos)

    def scan(self) -> list[Construct]:
        text, i, n = self.text, 0, len(self.text)
        while i < n:
            m = _NEXT.search(text, i)  # the next comment or literal (the code between is skipped)
            if m is None:
                break
            if m.group() == "#":
                j = text.find("\n", m.end())
                i = n if j < 0 else j
                continue
            prefix = m.group()[:-1].lower()
            i = self.literal(m.end() - 1, prefix if prefix in _PREFIXES else "")
        return self.found

    def literal(self, i: int, prefix: str) -> int:
        """Read the literal whose quote starts at ``i``; note its later-Python constructs."""
        self.notes = set()
        start = i - len(prefix)
        end = self.string(i, prefix)
        first, last = self.line(start), self.line(max(start, end - 1))
        if "t" in prefix:
            self.found.append(Construct('a template string literal (`t"..."`, PEP 750)', (3, 14), first, last))
        for what in sorted(self.notes):
            self.found.append(Construct(what, (3, 12), first, last))
        return end

    def string(self, i: int, prefix: str) -> int:
        """The end of the string whose quote starts at ``i`` (its fields read too)."""
        text, n = self.text, len(self.text)
        quote = text[i] * 3 if text.startswith(text[i] * 3, i) else text[i]
        raw, fields = "r" in prefix, "f" in prefix or "t" in prefix
        i += len(quote)
        while i < n:
            if text.startswith(quote, i):
                return i + len(quote)
            c = text[i]
            if c == "\\":
                i += 2 if not raw or text[i + 1 : i + 2] in (quote[0], "\\") else 1
            elif c == "\n" and len(quote) == 1:
                return i  # unterminated: the parser says so
            elif fields and c == "{":
                i = i + 2 if text.startswith("{{", i) else self.field(i + 1, quote)
            else:
                i += 1
        return n

    def field(self, i: int, quote: str) -> int:
        """The end of a replacement field whose expression starts at ``i``."""
        text, n, depth = self.text, len(self.text), 0
        while i < n:
            c = text[i]
            if c in "([{":
                depth += 1
            elif c in ")]":
                depth -= 1
            elif c == "}":
                if depth == 0:
                    return i + 1
                depth -= 1
            elif depth == 0 and (c == ":" or (c == "!" and text[i + 1 : i + 2] != "=")):
                return self.spec(i + 1, quote)
            elif c == "#":
                self.notes.add("a comment inside an f-string's replacement field (PEP 701)")
                j = text.find("\n", i)
                i = n if j < 0 else j
                continue
            elif c == "\\":
                self.notes.add("a backslash inside an f-string's replacement field (PEP 701)")
            elif c == "\n" and len(quote) == 1:
                self.notes.add("a line break inside a single-quoted f-string's replacement field (PEP 701)")
            elif c in "'\"" or (c.isalnum() or c == "_"):
                i = self.nested(i, quote)
                continue
            i += 1
        return n

    def spec(self, i: int, quote: str) -> int:
        """The end of a conversion / format spec (its nested fields read too)."""
        text, n = self.text, len(self.text)
        while i < n:
            c = text[i]
            if c == "}":
                return i + 1
            if c == "{":
                i = self.field(i + 1, quote)
                continue
            if text.startswith(quote, i) or (c == "\n" and len(quote) == 1):
                return i
            i += 1
        return n

    def nested(self, i: int, quote: str) -> int:
        """A name, or a string inside a replacement field: its end."""
        text, n = self.text, len(self.text)
        prefix = ""
        if text[i] not in "'\"":
            m = _WORD.match(text, i)
            end = m.end() if m else i + 1
            if not (end < n and text[end] in "'\"" and text[i:end].lower() in _PREFIXES):
                return end
            prefix, i = text[i:end].lower(), end
        if text.startswith(quote, i) or (len(quote) == 1 and text[i] == quote):
            self.notes.add("an f-string that reuses its own quotes inside a replacement field (PEP 701)")
        end = self.string(i, prefix)
        if "\\" in text[i:end]:
            self.notes.add("a backslash inside an f-string's replacement field (PEP 701)")
        if "t" in prefix:
            self.found.append(Construct('a template string literal (`t"..."`, PEP 750)', (3, 14), self.line(i), self.line(end)))
        return end


def _string_constructs(text: str) -> list[Construct]:
    return _Strings(text).scan()


# -- statements (PEP 695 / 696 type parameters and aliases, PEP 758 except) ---------------------

_STATEMENT_START = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
_KEYWORDS = re.compile(r"\b(?:def|class|type|except)\b")


def _tokens(text: str, one_statement: bool = False) -> list[tokenize.TokenInfo]:
    """The tokens ``tokenize`` reads before it gives up (it does on an unclosed bracket), up to
    the end of the first statement with ``one_statement``."""
    out: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type not in (tokenize.COMMENT, tokenize.NL):
                out.append(tok)
            if one_statement and tok.type == tokenize.NEWLINE:
                break
    except (tokenize.TokenError, SyntaxError):
        pass
    return out


def _bracket_end(toks: list[tokenize.TokenInfo], i: int) -> tuple[int, bool]:
    """For the ``[`` at ``i``: the index after its ``]``, and whether a ``=`` is at its top level."""
    depth, default = 0, False
    while i < len(toks):
        s = toks[i].string if toks[i].type == tokenize.OP else ""
        if s in ("(", "[", "{"):
            depth += 1
        elif s in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return i + 1, default
        elif s == "=" and depth == 1:
            default = True
        i += 1
    return i, default


def _type_params(what: str, default: bool, first: int, last: int) -> Construct:
    if default:
        return Construct("a type parameter default (PEP 696)", (3, 13), first, last)
    return Construct(what, (3, 12), first, last)


def _statement_constructs(text: str, offset: int = 0, *, one_statement: bool = False) -> list[Construct]:
    """The statement constructs of ``text``, whose first line is line ``offset + 1``."""
    toks = _tokens(text, one_statement)
    out: list[Construct] = []
    start = True
    for i, tok in enumerate(toks):
        at_start, start = start, tok.type in _STATEMENT_START or (tok.type == tokenize.OP and tok.string == ";")
        if tok.type != tokenize.NAME or i + 2 >= len(toks):
            continue
        nxt, after = toks[i + 1], toks[i + 2]
        if tok.string in ("def", "class") and nxt.type == tokenize.NAME and after.string == "[":
            end, default = _bracket_end(toks, i + 2)
            what = "a generic function (`def f[T]()`, PEP 695)" if tok.string == "def" else "a generic class (`class C[T]`, PEP 695)"
            out.append(_type_params(what, default, offset + tok.start[0], offset + toks[end - 1].end[0]))
        elif tok.string == "type" and at_start and nxt.type == tokenize.NAME:
            end, default = _bracket_end(toks, i + 2) if after.string == "[" else (i + 2, False)
            if end < len(toks) and toks[end].string == "=":
                out.append(_type_params("a `type` alias statement (PEP 695)", default, offset + tok.start[0], offset + toks[end].end[0]))
        elif tok.string == "except":
            j, depth, comma = i + 1, 0, False
            if nxt.string == "*":
                j += 1
            while j < len(toks) and toks[j].type not in (tokenize.NEWLINE, tokenize.ENDMARKER):
                s = toks[j].string
                if toks[j].type == tokenize.OP and s in ("(", "[", "{"):
                    depth += 1
                elif toks[j].type == tokenize.OP and s in (")", "]", "}"):
                    depth -= 1
                elif depth == 0 and toks[j].type == tokenize.OP and s == ":":
                    break
                elif depth == 0 and (toks[j].type == tokenize.OP and s == ","):
                    comma = True
                elif depth == 0 and toks[j].type == tokenize.NAME and s == "as":
                    comma = False
                    break
                j += 1
            if comma:
                last = toks[min(j, len(toks) - 1)].end[0]
                out.append(Construct("`except A, B:` without parentheses (PEP 758)", (3, 14), offset + tok.start[0], offset + last))
    return out


# -- the project's Python ---------------------------------------------------------------------

_SPECIFIER = re.compile(r"\s*(>=|>|==|~=|===)\s*(\d+)(?:\.(\d+))?(?:\.(\d+|\*))?\s*$")
_RUFF_TARGET = re.compile(r"py(\d)(\d+)")


def minimum_python(specifier: str) -> Version | None:
    """The lowest Python a ``requires-python`` specifier allows, for the simple forms
    (``>=3.12``, ``>3.11``, ``==3.12.*``, ``~=3.12``, joined by commas); None when unknown."""
    best: Version | None = None
    for clause in specifier.split(","):
        if not clause.strip() or clause.strip().startswith(("<", "!=")):
            continue  # upper bounds and exclusions do not raise the minimum
        m = _SPECIFIER.match(clause)
        if m is None:
            return None
        # `>3.11` allows 3.11.1, so every form's minimum is its major.minor
        found: Version = (int(m.group(2)), int(m.group(3) or 0))
        best = found if best is None else max(best, found)
    return best


def _toml(path: str) -> dict[str, object] | None:
    from querylint.config import _toml_loads

    try:
        with open(path, encoding="utf-8-sig") as fh:
            data: dict[str, object] = _toml_loads(fh.read())
    except (OSError, UnicodeDecodeError, ValueError):
        return None  # not ours to report: the Python file is what is being explained
    return data


def _get(data: dict[str, object] | None, *keys: str) -> object:
    cur: object = data
    for k in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k)
    return cur


def _ruff_target(value: object) -> Version | None:
    m = _RUFF_TARGET.fullmatch(value) if isinstance(value, str) else None
    return (int(m.group(1)), int(m.group(2))) if m else None


def _folder_target(folder: str) -> Target | None:
    for name in ("ruff.toml", ".ruff.toml"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            found = _ruff_target(_get(_toml(path), "target-version"))
            if found is not None:
                return Target(found, f"target-version in {name}")
    path = os.path.join(folder, "pyproject.toml")
    if os.path.isfile(path):
        data = _toml(path)
        spec = _get(data, "project", "requires-python")
        found = minimum_python(spec) if isinstance(spec, str) else None
        if found is not None:
            return Target(found, "requires-python in pyproject.toml")
        found = _ruff_target(_get(data, "tool", "ruff", "target-version"))
        if found is not None:
            return Target(found, "[tool.ruff] target-version in pyproject.toml")
    return None


def project_target(folder: str) -> Target | None:
    """The Python the nearest ``pyproject.toml`` / ``ruff.toml`` above ``folder`` targets (up to
    the git work tree's top), or None. Read afresh each time (a language server outlives edits
    of pyproject.toml): asked once a run for the cache key, and by each file that does not parse."""
    d = os.path.abspath(folder)
    while True:
        found = _folder_target(d)
        if found is not None:
            return found
        parent = os.path.dirname(d)
        if parent == d or os.path.exists(os.path.join(d, ".git")):
            return None
        d = parent
