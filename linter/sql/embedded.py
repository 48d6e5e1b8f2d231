"""SQL inside Python string literals: find it, rebuild it, and map every character back.

Only strings in a *certain* SQL position are taken: the SQL argument of ``cursor.execute`` /
``executemany``, SQLAlchemy ``text()``, ``Model.objects.raw``, ``RawSQL``, ``.extra(where=...)``,
``migrations.RunSQL`` (forward and reverse, lists too) and Alembic ``op.execute``. The SQL may
be a literal, an implicit concatenation, a ``+`` of literals, an f-string whose interpolations
all sit where a value goes (each becomes a placeholder), or a name assigned once in the same
function. Anything else (``%`` formatting, ``.format``, unknown pieces) is skipped, not guessed.

Placeholders (``%s``, ``%(name)s``, ``:name``, ``?``) become ``$n`` and ``%%`` becomes ``%``
before pglast sees the text; :attr:`SqlFragment.segments` map each parsed character back to the
exact Python source character, through escapes (``\\n``, ``\\'``, ``\\N{...}``), raw and
triple-quoted strings and non-ASCII text.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from querylint.astwalk import child_nodes
from querylint.source import SourceFile, Span
from querylint.sqlsource import SqlFragment

#: A rebuilt character: (char, file offset). Interpolations are ``(None, offset)``.
Item = tuple[str | None, int]

_SQL_START = re.compile(
    r"\s*(\(\s*)*(SELECT|WITH|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE|GRANT|REVOKE|COMMENT|"
    r"REFRESH|REINDEX|VACUUM|ANALYZE|EXPLAIN|SET|BEGIN|COMMIT|DO|LOCK|VALUES|MERGE|COPY)\b",
    re.IGNORECASE,
)
_CURSORISH = re.compile(r"(^|_)(cursor|cur|curs|c|conn|connection|cnx|db|session|engine|con)$", re.IGNORECASE)
_TEXT_NAMES = {"sa.text", "sqlalchemy.text", "sql.text", "expression.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"}
#: words after which an interpolation stands where a value goes
_VALUE_WORDS = {"IN", "LIKE", "ILIKE", "LIMIT", "OFFSET", "BETWEEN", "VALUES", "THEN", "ELSE", "WHEN", "IS", "ANY", "ALL"}


#: names of other databases: SQL written for them is not PostgreSQL's to judge
_OTHER_DIALECTS = re.compile(
    r"mysql|mariadb|sqlite|mssql|sql_?server|oracle|snowflake|bigquery|databricks|clickhouse|trino|presto|"
    r"hive|redshift|duckdb|db2|sybase|firebird|teradata|impala|athena|spark",
    re.IGNORECASE,
)
#: syntax only other databases accept (MySQL backticks and @@variables, SQLite PRAGMA, ...)
_FOREIGN_SYNTAX = re.compile(
    r"`|@@|\bPRAGMA\b|\bMODIFY\b|\bAUTO_?INCREMENT\b|\bENGINE\s*=|\bIDENTITY_INSERT\b|\bNVARCHAR\b|\bTOP\s+\d",
    re.IGNORECASE,
)


def looks_like_sql(text: str) -> bool:
    return bool(_SQL_START.match(text))


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    if isinstance(node, ast.Call):
        return dotted(node.func) + "()"
    return ""


# -- string literal decoding with offsets ---------------------------------------------------

_SIMPLE_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


class _Unsupported(Exception):
    pass


def _decode_literal_tokens(text: str, start: int, end: int) -> list[Item]:
    """Decode the string token(s) in ``text[start:end]`` (implicit concatenation allowed).

    Returns characters with their file offsets; an f-string interpolation yields one
    ``(None, offset_of_brace)`` item. Raises :class:`_Unsupported` on anything unexpected.
    """
    out: list[Item] = []
    pos = start
    while pos < end:
        ch = text[pos]
        if ch in " \t\r\n\f()":
            pos += 1
            continue
        if ch == "\\" and text[pos + 1 : pos + 2] in ("\n", "\r"):
            pos += 2
            continue
        if ch == "#":
            nl = text.find("\n", pos)
            pos = end if nl == -1 else nl + 1
            continue
        m = re.match(r"[rRbBuUfF]{0,2}", text[pos:])
        prefix = m.group(0).lower() if m else ""
        if "b" in prefix:
            raise _Unsupported("bytes")
        pos += len(prefix)
        q = text[pos : pos + 3]
        if q in ('"""', "'''"):
            quote = q
        elif text[pos : pos + 1] in ('"', "'"):
            quote = text[pos]
        else:
            raise _Unsupported(f"unexpected {text[pos:pos + 10]!r}")
        pos += len(quote)
        pos = _decode_body(text, pos, end, quote, raw="r" in prefix, fstring="f" in prefix, out=out)
    return out


def _decode_body(text: str, pos: int, end: int, quote: str, *, raw: bool, fstring: bool, out: list[Item]) -> int:
    while True:
        if pos >= end:
            raise _Unsupported("unterminated")
        if text.startswith(quote, pos):
            return pos + len(quote)
        ch = text[pos]
        if ch == "\\":
            nxt = text[pos + 1 : pos + 2]
            if raw:
                out.append(("\\", pos))
                if nxt:
                    out.append((nxt, pos + 1))
                pos += 2
                continue
            pos = _decode_escape(text, pos, out)
            continue
        if fstring and ch in "{}":
            if text[pos + 1 : pos + 2] == ch:
                out.append((ch, pos))
                pos += 2
                continue
            if ch == "}":
                raise _Unsupported("single }")
            out.append((None, pos))
            pos = _skip_interpolation(text, pos, end)
            continue
        if ch == "\r":
            out.append(("\n", pos))
            pos += 2 if text[pos + 1 : pos + 2] == "\n" else 1
            continue
        out.append((ch, pos))
        pos += 1


def _decode_escape(text: str, pos: int, out: list[Item]) -> int:
    nxt = text[pos + 1 : pos + 2]
    if nxt == "\n":
        return pos + 2
    if nxt == "\r":
        return pos + (3 if text[pos + 2 : pos + 3] == "\n" else 2)
    if nxt in _SIMPLE_ESCAPES:
        out.append((_SIMPLE_ESCAPES[nxt], pos))
        return pos + 2
    if nxt in ("x", "u", "U"):
        n = {"x": 2, "u": 4, "U": 8}[nxt]
        digits = text[pos + 2 : pos + 2 + n]
        out.append((chr(int(digits, 16)), pos))
        return pos + 2 + n
    if nxt == "N" and text[pos + 2 : pos + 3] == "{":
        close = text.find("}", pos)
        import unicodedata

        out.append((unicodedata.lookup(text[pos + 3 : close]), pos))
        return close + 1
    if nxt and nxt in "01234567":
        m = re.match(r"[0-7]{1,3}", text[pos + 1 :])
        assert m is not None
        out.append((chr(int(m.group(0), 8)), pos))
        return pos + 1 + len(m.group(0))
    out.append(("\\", pos))  # an unknown escape keeps its backslash
    return pos + 1


def _skip_interpolation(text: str, pos: int, end: int) -> int:
    """``pos`` is at ``{``; return the offset after the matching ``}``."""
    depth = 0
    i = pos
    while i < end:
        c = text[i]
        if c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
            if depth == 0:
                return i + 1
        elif c in "'\"":
            close = text.find(c, i + 1)
            if close == -1:
                raise _Unsupported("quote in interpolation")
            i = close
        i += 1
    raise _Unsupported("unterminated interpolation")


# -- rebuilding the SQL of an argument --------------------------------------------------------


@dataclass
class _Scope:
    assigned: dict[str, list[ast.expr]]
    #: the module's scope, for module-level constants (``SQL = "..."``) used in a function
    outer: _Scope | None = None


class _Builder:
    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.text = source.text

    def span(self, node: ast.AST) -> Span:
        start = self.source.offset_from_ast(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.source.offset_from_ast(node.end_lineno or node.lineno, node.end_col_offset or 0)  # type: ignore[attr-defined]
        return Span(self.source.path, start, max(start, end))

    def items(self, node: ast.expr, scope: _Scope, depth: int = 0) -> tuple[list[Item], Span] | None:
        """The characters of a string expression, or None when it cannot be rebuilt."""
        if depth > 5:
            return None
        if isinstance(node, (ast.Constant, ast.JoinedStr)):
            if isinstance(node, ast.Constant) and not isinstance(node.value, str):
                return None
            sp = self.span(node)
            try:
                its = _decode_literal_tokens(self.text, sp.start, sp.end)
            except (_Unsupported, ValueError, KeyError, IndexError):
                its = []
                if isinstance(node, ast.JoinedStr):
                    return None
            if isinstance(node, ast.Constant) and "".join(c for c, _ in its if c is not None) != node.value:
                # the source did not decode as expected: map every character to the literal start
                its = [(c, sp.start) for c in str(node.value)]
            return its, sp
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.items(node.left, scope, depth + 1)
            right = self.items(node.right, scope, depth + 1)
            if left is None or right is None:
                return None
            return left[0] + right[0], self.span(node)
        if isinstance(node, ast.Name):
            values = scope.assigned.get(node.id)
            if values is None and scope.outer is not None:
                scope = scope.outer
                values = scope.assigned.get(node.id)
            if values is None or len(values) != 1:
                return None
            return self.items(values[0], scope, depth + 1)
        return None


def _collect_assignments(scope_node: ast.AST, outer: _Scope | None = None) -> _Scope:
    assigned: dict[str, list[ast.expr]] = {}
    if isinstance(scope_node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = scope_node.args
        for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, *([a.vararg] if a.vararg else []), *([a.kwarg] if a.kwarg else [])]:
            marker = ast.Name(arg.arg)
            assigned[arg.arg] = [marker, marker]  # a parameter: never resolved
    for node in _walk_scope(scope_node):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            # never resolved, wherever the statement stands (two values or more: ambiguous)
            for name in node.names:
                assigned.setdefault(name, []).extend([ast.Name(name), ast.Name(name)])
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    assigned.setdefault(t.id, []).append(node.value)
                else:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            assigned.setdefault(n.id, []).extend([node.value, node.value])
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            assigned.setdefault(node.target.id, []).append(node.value)
        elif isinstance(node, (ast.AugAssign, ast.For, ast.With, ast.NamedExpr)):
            targets = [node.target] if isinstance(node, (ast.AugAssign, ast.For, ast.NamedExpr)) else [i.optional_vars for i in node.items if i.optional_vars]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        assigned.setdefault(n.id, []).extend([n, n])  # rebound: never resolved
    return _Scope(assigned, outer)


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.Module)


def _walk_scope(scope_node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a scope, nested scopes' own nodes left out (a nested scope itself is in)."""
    stack = child_nodes(scope_node)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _SCOPES):
            continue
        stack.extend(child_nodes(node))


# -- call sites -------------------------------------------------------------------------------


@dataclass
class _Site:
    arg: ast.expr
    context: str
    style: str  # "pyformat" (%s, %(name)s), "named" (:name), "any"
    certain: bool
    prefix: str = ""  # wrapper text before the SQL (extra(where=...), RawSQL expressions)
    params: ast.expr | None = None  # the call's parameters (a list, tuple or dict literal)


def _params_arg(call: ast.Call) -> ast.expr | None:
    if len(call.args) > 1:
        return call.args[1]
    return next((k.value for k in call.keywords if k.arg in ("params", "parameters", "vars", "args")), None)


def _literal_prefix(node: ast.expr | None) -> tuple[str, bool] | None:
    """(leading literal text, complete) of a parameter value expression, or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, True
    if isinstance(node, ast.JoinedStr) and node.values:
        head = node.values[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str):
            return head.value, len(node.values) == 1
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _literal_prefix(node.left)
        return (left[0], False) if left is not None else None
    return None


def _param_hints(params: ast.expr | None, keys: list[int | str | None]) -> tuple[tuple[str, bool] | None, ...]:
    if params is None or not keys:
        return ()
    if isinstance(params, (ast.List, ast.Tuple)):
        return tuple(_literal_prefix(params.elts[k]) if isinstance(k, int) and k < len(params.elts) else None for k in keys)
    if isinstance(params, ast.Dict):
        named = {k.value: v for k, v in zip(params.keys, params.values, strict=True) if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        return tuple(_literal_prefix(named.get(k)) if isinstance(k, str) else None for k in keys)
    return ()


def _sqlalchemy_text_imported(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sqlalchemy"):
            if any(a.name == "text" and a.asname is None for a in node.names):
                return True
    return False


def _sites(call: ast.Call, text_imported: bool) -> list[_Site]:
    func = call.func
    name = dotted(func)
    last = name.rsplit(".", 1)[-1]
    first = call.args[0] if call.args else None
    out: list[_Site] = []
    if isinstance(func, ast.Attribute) and last in ("execute", "executemany"):
        arg = first or next((k.value for k in call.keywords if k.arg in ("sql", "statement", "query", "operation")), None)
        if arg is None or isinstance(arg, ast.Call):
            return []  # execute(text("...")): the text() call is its own site
        receiver = dotted(func.value)
        if receiver == "op" or receiver.endswith(".op"):
            return [_Site(arg, "op.execute", "named", True)]  # Alembic wraps a string in text()
        cursorish = bool(_CURSORISH.search(receiver.rsplit(".", 1)[-1].rstrip("()"))) or receiver.endswith("cursor()")
        return [_Site(arg, "cursor.execute", "any", cursorish, params=_params_arg(call))]
    if (name == "text" and text_imported) or name in _TEXT_NAMES:
        if first is not None:
            out.append(_Site(first, "text", "named", True))
    elif isinstance(func, ast.Attribute) and last == "raw" and first is not None:
        receiver = dotted(func.value)
        out.append(_Site(first, "raw", "pyformat", receiver.endswith("objects") or receiver.endswith("objects()"), params=_params_arg(call)))
    elif last == "RawSQL" and first is not None:
        out.append(_Site(first, "RawSQL", "pyformat", True, prefix="SELECT "))
    elif isinstance(func, ast.Attribute) and last == "extra":
        for kw in call.keywords:
            if kw.arg == "where" and isinstance(kw.value, (ast.List, ast.Tuple)):
                out.extend(_Site(e, "extra", "pyformat", True, prefix="SELECT 1 WHERE ") for e in kw.value.elts)
    elif last == "RunSQL":
        args = list(call.args[:2]) + [k.value for k in call.keywords if k.arg in ("sql", "reverse_sql")]
        for a in args:
            elts = a.elts if isinstance(a, (ast.List, ast.Tuple)) else [a]
            for e in elts:
                if isinstance(e, (ast.List, ast.Tuple)) and e.elts:
                    e = e.elts[0]  # (sql, params)
                out.append(_Site(e, "RunSQL", "pyformat", True))
    return out


# -- placeholders -----------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*$")


def _value_position(before: str, after: str) -> bool:
    """Is an interpolation between ``before`` and ``after`` (SQL text) where a value goes?"""
    b = before.rstrip()
    if after[:1].isalnum() or after[:1] in ("_", ".", '"', "'"):
        return False
    if b[-1:] and b[-1] in "=<>(,+-*/":
        return True
    m = _WORD.search(b)
    return bool(m and m.group(0).upper() in _VALUE_WORDS)


def normalise(items: list[Item], style: str, keys: list[int | str | None] | None = None) -> list[Item] | None:
    """Placeholders -> ``$n``, ``%%`` -> ``%``; None when an interpolation is not a value.

    ``keys`` receives, for each ``$n``, the parameter it stands for: a position (``%s``, ``?``),
    a name (``%(name)s``, ``:name``) or None (an f-string interpolation).
    """
    out: list[Item] = []
    n = 0
    positional = 0
    keys = keys if keys is not None else []
    i = 0
    quote: str | None = None  # ' or " or "--" or "/*"
    text = "".join(c if c is not None else "\x00" for c, _ in items)

    def emit_param(off: int, key: int | str | None = None) -> None:
        nonlocal n
        n += 1
        keys.append(key)
        # `IN :ids` / `IN %s`: an expanding parameter (a list) -> `IN ($n)`
        before = "".join(x for x, _ in out[-8:] if x is not None).rstrip().upper()
        expanding = before.endswith(" IN") or before == "IN"
        for c in ("(" if expanding else "") + f"${n}" + (")" if expanding else ""):
            out.append((c, off))

    while i < len(items):
        c, off = items[i]
        nxt = text[i + 1 : i + 2]
        if c is None:
            if quote is not None:
                return None  # inside a string or comment: its content is unknown
            before = "".join(x for x, _ in out if x is not None)
            if not _value_position(before, text[i + 1 :]):
                return None
            emit_param(off)
            i += 1
            continue
        if quote is not None:
            if (quote in ("'", '"') and c == quote) or (quote == "--" and c == "\n") or (quote == "/*" and c == "*" and nxt == "/"):
                if quote == "/*":
                    out.append((c, off))
                    i += 1
                    c, off = items[i]
                quote = None
            elif c == "%" and nxt == "%" and style != "named":
                out.append(("%", off))
                i += 2
                continue
            out.append((c, off))
            i += 1
            continue
        if c in ("'", '"'):
            quote = c
        elif c == "-" and nxt == "-":
            quote = "--"
        elif c == "/" and nxt == "*":
            quote = "/*"
        elif style != "named" and c == "%":
            if nxt == "%":
                out.append(("%", off))
                i += 2
                continue
            if nxt == "s":
                emit_param(off, positional)
                positional += 1
                i += 2
                continue
            m = re.match(r"%\((\w+)\)s", text[i:])
            if m:
                emit_param(off, m.group(1))
                i += len(m.group(0))
                continue
        elif c == ":" and style != "pyformat":
            prev = text[i - 1 : i]
            m = re.match(r":([A-Za-z_]\w*)", text[i:])
            if m and prev != ":" and not prev.isalnum() and prev not in ("_", "]", ")"):
                emit_param(off, m.group(1))
                i += len(m.group(0))
                continue
        elif c == "?" and style == "any":
            prev = text[:i].rstrip()[-1:]
            if nxt not in ("|", "&") and (prev == "" or prev in "=<>(," or text[:i].rstrip().upper().endswith(tuple(f" {w}" for w in _VALUE_WORDS))):
                emit_param(off, positional)
                positional += 1
                i += 1
                continue
        out.append((c, off))
        i += 1
    return out


def _segments(items: list[Item]) -> tuple[tuple[int, int, int], ...]:
    segs: list[list[int]] = []
    for sql_i, (_c, off) in enumerate(items):
        if segs:
            s = segs[-1]
            if s[0] + s[2] == sql_i and s[1] + s[2] == off:
                s[2] += 1
                continue
        segs.append([sql_i, off, 1])
    return tuple((a, b, c) for a, b, c in segs)


#: the names a call must end with to be a site of :func:`_sites` (``x.execute(...)``, ``text(...)``)
_SITE_ATTRS = frozenset({"execute", "executemany", "text", "raw", "RawSQL", "extra", "RunSQL"})
_SITE_NAMES = frozenset({"text", "RawSQL", "RunSQL"})
_SITE_WORD_LIST = tuple(sorted(_SITE_ATTRS))


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def _call_offsets(text: str, names: tuple[str, ...], first: bool = False) -> list[int]:
    r"""Offsets of the ``names`` that stand as a word followed by ``(`` (blanks, line
    continuations and comments may come between, as Python allows inside brackets): for ASCII
    text, the starts of ``re.finditer(r"\b(?:n1|n2|...)\b(?:[\s\\]|#[^\n]*\n)*\(", text)``,
    several times faster: ``str.find`` runs in C at memory speed, while the regex tries its
    alternation at every position. A call site's callee name always has its ``(`` after it like
    this; the words alone (``text`` as a variable, ``raw`` as a key) are common, the calls are
    not. ``first``: stop at the first one found."""
    n = len(text)
    out: list[int] = []
    for name in names:
        i = text.find(name)
        while i != -1:
            j = i + len(name)
            if (i == 0 or not _is_word_char(text[i - 1])) and (j == n or not _is_word_char(text[j])):
                while j < n:
                    c = text[j]
                    if c in " \t\r\n\f\v\\":
                        j += 1
                    elif c == "#":
                        eol = text.find("\n", j)
                        j = n if eol == -1 else eol
                    else:
                        break
                if j < n and text[j] == "(":
                    out.append(i)
                    if first:
                        return out
            i = text.find(name, i + 1)
    return out


def _has_call(text: str, names: tuple[str, ...]) -> bool:
    """Whether :func:`_call_offsets` finds one."""
    return bool(_call_offsets(text, names, first=True))


def _call_lines(text: str, names: tuple[str, ...]) -> list[int]:
    """The 1-based lines, sorted, of the callee names :func:`_call_offsets` finds."""
    lines: list[int] = []
    line, prev = 1, 0
    for off in sorted(_call_offsets(text, names)):
        line += text.count("\n", prev, off)
        prev = off
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


def _line_text(text: str) -> str | None:
    r"""The text to find the callee names' lines in (:func:`_call_lines`): the module's text
    with its identifiers as Python reads them (NFKC, for a non-ASCII text) and every line
    ending a ``\n`` (Python also ends a line at a lone ``\r``). None when folding changed the
    number of lines (then the lines would not be the tree's)."""
    if not text.isascii():
        import unicodedata

        folded = unicodedata.normalize("NFKC", text)
        if folded.count("\n") != text.count("\n") or folded.count("\r") != text.count("\r"):
            return None
        text = folded
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _may_hold_sites(text: str) -> bool:
    """A cheap text test: False when no call in the module can be a site of :func:`_sites`.

    Python folds identifiers with NFKC, so a non-ASCII file is normalised before the search.
    """
    if text.isascii():
        return _has_call(text, _SITE_WORD_LIST)
    import unicodedata

    folded = unicodedata.normalize("NFKC", text)
    return any(w in folded for w in _SITE_ATTRS)


def may_hold_sql(text: str) -> bool:
    """False when :func:`find_sql_in_python` surely finds nothing in this module's text."""
    return _may_hold_sites(text)


def _touches(node: ast.AST, lines: list[int]) -> bool:
    """Whether ``node`` spans one of ``lines`` (decorators sit above a definition's own line);
    nodes without a position (``comprehension``, ``withitem``...) always."""
    first = getattr(node, "lineno", None)
    if first is None:
        return True
    last = getattr(node, "end_lineno", None) or first
    for d in getattr(node, "decorator_list", ()):
        first = min(first, d.lineno)
    i = bisect_left(lines, first)
    return i < len(lines) and lines[i] <= last


def _scan(tree: ast.Module, lines: list[int] | None) -> tuple[list[ast.Call], dict[int, ast.AST], list[ast.AST]]:
    """The candidate calls (whose callee could make them a site), every visited node's parent
    (by id), and the scope nodes (the module first) in the breadth-first order of
    ``ast.walk``: one pass over ``_fields``, as ``ast.iter_child_nodes`` reads them.

    ``lines``: the lines where a callee name stands before ``(`` in the text; a subtree that
    spans none of them holds no candidate and is not entered (its ancestors are, so a
    candidate's parents, up to the module, are all known). None: everything is walked."""
    candidates: list[ast.Call] = []
    parents: dict[int, ast.AST] = {}
    scopes: list[ast.AST] = []
    queue: deque[ast.AST] = deque([tree])
    node_type = ast.AST
    unpruned = (ast.JoinedStr, ast.FormattedValue)  # positions inside f-strings: not trusted
    while queue:
        node = queue.popleft()
        if type(node) is ast.Call:
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in _SITE_ATTRS) or (isinstance(func, ast.Name) and func.id in _SITE_NAMES):
                candidates.append(node)
        elif isinstance(node, _SCOPES):
            scopes.append(node)
        prune = lines is not None and type(node) not in unpruned
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                if not prune or _touches(value, lines):  # type: ignore[arg-type]
                    parents[id(value)] = node
                    queue.append(value)
            elif type(value) is list:
                for item in value:
                    if isinstance(item, node_type) and (not prune or _touches(item, lines)):  # type: ignore[arg-type]
                        parents[id(item)] = node
                        queue.append(item)
    return candidates, parents, scopes


def find_sql_in_python(source: SourceFile, tree: ast.Module) -> list[SqlFragment]:
    # Most modules hold no SQL at all: a text test (the lines where a callee name stands
    # before `(`), then one walk into the statements on those lines, and the scope-by-scope
    # pass below only for the modules that have a candidate call.
    text = source.text
    lines: list[int] | None = None
    searched = _line_text(text)
    if searched is not None:
        lines = _call_lines(searched, _SITE_WORD_LIST)
        if not lines:
            return []
    elif not _may_hold_sites(text):
        return []
    candidates, parents, scope_order = _scan(tree, lines)
    if not candidates:
        return []
    builder = _Builder(source)
    # `text` alone is SQLAlchemy's only when imported from it; look only when it is called
    needs_import = any(isinstance(c.func, ast.Name) and c.func.id == "text" for c in candidates)
    text_imported = needs_import and _sqlalchemy_text_imported(tree)
    candidate_ids = {id(c) for c in candidates}
    # only the scopes that hold a candidate are walked, in ``ast.walk`` order (a large module
    # has a few such functions)
    holding: set[int] = set()
    for c in candidates:
        up = parents.get(id(c))
        while up is not None and not isinstance(up, _SCOPES):
            up = parents.get(id(up))
        holding.add(id(up if up is not None else tree))
    foreign_file = bool(_OTHER_DIALECTS.search(source.path))
    found: list[tuple[int, SqlFragment]] = []
    seen: set[tuple[int, int, str]] = set()
    module_scope: _Scope | None = None
    scopes = [n for n in scope_order if id(n) in holding]
    for scope_node in scopes:
        scope: _Scope | None = None
        for node in _walk_scope(scope_node):
            if id(node) not in candidate_ids:
                continue
            assert isinstance(node, ast.Call)
            sites = _sites(node, text_imported)
            if not sites:
                continue
            guard = _dialect_guard(node, parents, source.text, builder)
            if guard == "other":
                continue  # a branch for another database (`if dialect == "sqlite":`)
            if scope is None:
                if module_scope is None:
                    module_scope = _collect_assignments(tree)
                is_function = isinstance(scope_node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                scope = module_scope if scope_node is tree else _collect_assignments(scope_node, module_scope if is_function else None)
            for site in sites:
                if guard == "maybe" or foreign_file:
                    site.certain = False
                frag = _fragment(builder, site, scope)
                if frag is None:
                    continue
                key = (frag.span.start, frag.span.end, frag.sql)
                if key not in seen:
                    seen.add(key)
                    found.append((frag.span.start, frag))
    found.sort(key=lambda t: t[0])
    return [f for _, f in found]


def _dialect_guard(node: ast.AST, parents: dict[int, ast.AST], text: str, builder: _Builder) -> str | None:
    """``other`` inside an ``if`` for another database; ``maybe`` in a function named after one."""
    child: ast.AST = node
    parent = parents.get(id(node))
    while parent is not None:
        if isinstance(parent, (ast.If, ast.IfExp)) and child is not parent.test:
            in_body = child in parent.body if isinstance(parent, ast.If) else child is parent.body
            sp = builder.span(parent.test)
            test = text[sp.start : sp.end]
            if in_body and _OTHER_DIALECTS.search(test) and not re.search(r"postgres|psycopg|\bpg\b", test, re.IGNORECASE):
                return "other"
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _OTHER_DIALECTS.search(parent.name):
            return "maybe"
        child, parent = parent, parents.get(id(parent))
    return None


def _fragment(builder: _Builder, site: _Site, scope: _Scope) -> SqlFragment | None:
    got = builder.items(site.arg, scope)
    if got is None:
        return None
    items, span = got
    value = "".join(c or "" for c, _ in items)
    if not value.strip():
        return None
    statement = looks_like_sql(value)
    if not statement and (not site.certain or site.context == "text"):
        # text() also holds SQL expressions (server_default=text("now()"), order_by(text("x desc")))
        return None
    certain = site.certain and not _FOREIGN_SYNTAX.search(value)
    prefix = site.prefix
    if site.context == "RawSQL":
        # RawSQL holds an expression or a sub-select; an expression is parsed as `SELECT <expr>`
        prefix = "" if statement else prefix
        certain = statement
    keys: list[int | str | None] = []
    norm = normalise(items, site.style, keys)
    if norm is None:
        return None
    interpolated = any(c is None for c, _ in items)
    full: list[Item] = [(c, span.start) for c in prefix] + norm
    sql = "".join(c or "" for c, _ in full)
    segs = _segments(full)
    frag = SqlFragment(builder.source.path, sql, segs, span, site.context, _param_hints(site.params, keys))
    placeholders = len(norm) != len(items) or any(c == "$" for c, _ in norm)
    if interpolated or not certain or placeholders:
        from pglast import parse_sql

        try:
            parse_sql(sql)
        except Exception:
            if interpolated or not certain:
                return None  # a rebuilt f-string, or SQL-looking text in an uncertain call
            # a bind rendered inline (`COMMIT PREPARED :xid` with literal_execute): valid with a
            # literal where PostgreSQL takes no parameter, so not an error; nothing to check
            try:
                parse_sql(re.sub(r"\$\d+", "'0'", sql))
            except Exception:
                return frag  # invalid either way: the parse error is real
            return None
    return frag
