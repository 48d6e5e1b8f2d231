"""Loops: which statements and expressions repeat, and whether a loop is bounded.

A loop over a literal collection of a few constants (``for kind in ("a", "b")``,
``range(3)``) runs a fixed, small number of times: a query in it is not a scaling problem,
so it is *bounded* and the round-trip rules skip it.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Callable

from querylint.ir import LoopRef
from querylint.source import Span

#: a literal collection with at most this many items counts as bounded
MAX_BOUNDED_ITEMS = 10

#: (lineno, col_offset) of an ``ast`` node -> character offset in the file
OffsetFn = Callable[[int, int], int]


def is_bounded(iterable: ast.expr) -> bool:
    """``("a", "b")``, ``[1, 2, 3]``, ``range(3)``, ``{"a": 1}.items()``: a few constants."""
    if isinstance(iterable, (ast.Tuple, ast.List, ast.Set)):
        return len(iterable.elts) <= MAX_BOUNDED_ITEMS and all(_is_const(e) for e in iterable.elts)
    if isinstance(iterable, ast.Dict):
        return len(iterable.keys) <= MAX_BOUNDED_ITEMS and all(k is not None and _is_const(k) for k in iterable.keys)
    if isinstance(iterable, ast.Attribute) and iterable.attr == "__members__":
        return True  # an Enum's members: a fixed, small set
    if _is_constant_name(iterable):
        return True  # ``for table in _WORKSPACE_TABLES``: a collection written in the code
    if isinstance(iterable, ast.Call):
        f = iterable.func
        if isinstance(f, ast.Name) and f.id == "range" and len(iterable.args) == 3:
            return True  # range(0, total, batch_size): one round trip per batch is the design
        if isinstance(f, ast.Name) and f.id == "range" and len(iterable.args) == 1 and _is_constant_name(iterable.args[0]):
            return True  # ``range(self.MAX_RETRIES)``: a configured count of attempts
        if isinstance(f, ast.Name) and f.id == "range" and iterable.args:
            last = iterable.args[-1] if len(iterable.args) <= 2 else iterable.args[1]
            return (
                isinstance(last, ast.Constant)
                and isinstance(last.value, int)
                and last.value <= MAX_BOUNDED_ITEMS
                and all(isinstance(a, ast.Constant) for a in iterable.args)
            )
        if isinstance(f, ast.Name) and f.id in ("enumerate", "reversed", "sorted") and iterable.args:
            return is_bounded(iterable.args[0])
        if isinstance(f, ast.Attribute) and f.attr in ("items", "keys", "values") and not iterable.args:
            return (isinstance(f.value, ast.Dict) and is_bounded(f.value)) or _is_constant_name(f.value)
    return False


def _is_constant_name(node: ast.expr) -> bool:
    """``_TABLES``, ``settings.LANGUAGES``, ``self.MAX_RETRIES``: an UPPER_CASE constant."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    bare = name.strip("_")
    return len(bare) > 1 and bare.isupper()


_BATCH = re.compile(r"(^|_)(batch|chunk)(es|s)?(_|$)|^(batched|chunked|chunk_list|chunks)$", re.I)


def name_ids(node: ast.AST) -> list[str]:
    """The ``Name`` ids in ``node``, in ``ast.walk`` (breadth-first) order; a bare name, what
    most loop targets are, without a walk."""
    if type(node) is ast.Name:
        return [node.id]
    out: list[str] = []
    queue = deque([node])
    while queue:
        n = queue.popleft()
        if type(n) is ast.Name:
            out.append(n.id)
            continue
        queue.extend(ast.iter_child_nodes(n))
    return out


def _first_target_name(target: ast.expr | None) -> str:
    """``batch`` of ``for batch in ...``, ``i`` of ``for i, row in ...``; "" for none."""
    names = name_ids(target) if target is not None else []
    return names[0] if names else ""


def last_name(node: ast.expr) -> str:
    """``chunks`` of ``self.chunks`` / ``chunks``; "" for other expressions."""
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def is_batched(iterable: ast.expr, target: ast.expr | None) -> bool:
    """``for batch in chunk_list(ids, 500)``, ``for id_chunk in chunks``: one query per batch
    of rows is how batching is written, not an N+1."""
    name = _first_target_name(target)
    if name and _BATCH.search(name):
        return True
    return bool(_BATCH.search(last_name(iterable.func if isinstance(iterable, ast.Call) else iterable)))


_LANGUAGE = re.compile(r"(^|_)lang(uage)?s?(_|$)|languages", re.I)
#: Django sites (``django.contrib.sites``, wagtail's and django CMS's) are configuration: a
#: handful per installation, like languages
_SITE_TARGET = re.compile(r"^site(_id|_pk)?$", re.I)
_SITES = re.compile(r"(^|_)sites(_|$)", re.I)
#: an object's translations: one row per configured language (django CMS's page contents)
_TRANSLATIONS = re.compile(r"(^|_)translations$", re.I)


def is_configured_few(iterable: ast.expr, target: ast.expr | None) -> bool:
    """A loop over the configured languages (``for language in get_languages()``), an object's
    translations, or the sites (``for site in get_sites()``): a handful set in settings, not
    rows; one query per language is how i18n code is written."""
    name = _first_target_name(target)
    if name and (_LANGUAGE.search(name) or _SITE_TARGET.match(name)):
        return True
    node = iterable.func if isinstance(iterable, ast.Call) else iterable
    if isinstance(node, ast.Attribute) and node.attr in ("items", "keys", "values"):
        node = node.value  # ``possible_sites.items()``
    last = last_name(node)
    receiver = node.value if isinstance(iterable, ast.Call) and isinstance(node, ast.Attribute) else None
    owner = last_name(receiver) if receiver is not None else ""
    # ``translations.current_content()``, ``page.translations.all()``
    return bool(_LANGUAGE.search(last) or _SITES.search(last) or _TRANSLATIONS.search(last) or _TRANSLATIONS.search(owner))


def _names(node: ast.AST) -> set[str]:
    return set(name_ids(node))


def varying_names(node: ast.AST) -> frozenset[str]:
    """The names whose value changes with each iteration of loop ``node``: its target, and what
    its body assigns from them (``child = get_table(conn, entry[0])``), to a fixpoint."""
    target = getattr(node, "target", None)
    out = _names(target) if target is not None else set()
    body = getattr(node, "body", None)
    if not isinstance(body, list) or not out:
        return frozenset(out)
    assigns: list[tuple[list[ast.expr], ast.expr]] = []
    stack: list[ast.stmt] = list(body)
    while stack:
        st = stack.pop()
        if isinstance(st, ast.Assign):
            assigns.append((st.targets, st.value))
        elif isinstance(st, (ast.AnnAssign, ast.AugAssign)) and st.value is not None:
            assigns.append(([st.target], st.value))
        elif isinstance(st, (ast.For, ast.AsyncFor)):
            assigns.append(([st.target], st.iter))
        if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody"):
            sub = getattr(st, name, None)
            if isinstance(sub, list):
                stack.extend(x for x in sub if isinstance(x, ast.stmt))
        for h in getattr(st, "handlers", ()):
            stack.extend(h.body)
    grew = True
    while grew:
        grew = False
        for targets, value in assigns:
            if _names(value) & out:
                new = set().union(*(_names(t) for t in targets)) - out
                if new:
                    out |= new
                    grew = True
    return frozenset(out)


def _tests_found(test: ast.expr, name: str) -> bool:
    """``if entry:`` / ``if entry is not None:``: the branch taken when ``name`` holds a hit."""
    if isinstance(test, ast.Name):
        return test.id == name
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == name
            and len(test.ops) == 1 and isinstance(test.ops[0], ast.IsNot)
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None)


def search_steps(node: ast.AST) -> frozenset[int]:
    """The ``id`` of each assignment in a loop body whose value ends the loop when it holds
    a hit (``entry = lookup(key)`` then ``if entry: break`` / ``return entry``): the loop
    tries candidates in order of preference until one is found, and the first hit wins."""
    body = getattr(node, "body", None)
    if not isinstance(node, (ast.For, ast.AsyncFor)) or not isinstance(body, list):
        return frozenset()
    # the tests that end the loop on a hit, first: most loops have none
    exits = {i: st for i, st in enumerate(body) if isinstance(st, ast.If) and not st.orelse and isinstance(st.body[-1], (ast.Break, ast.Return))}
    if not exits:
        return frozenset()
    out: set[int] = set()
    for i, st in enumerate(body):
        if not (isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name)):
            continue
        name = st.targets[0].id
        if not any(_tests_found(e.test, name) for e in exits.values()):
            continue
        for j in range(i + 1, len(body)):
            later = body[j]
            if j in exits and _tests_found(exits[j].test, name):
                out.add(id(st))
                break
            if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) for n in ast.walk(later)):
                break  # assigned again before any test
    return frozenset(out)


_COLLECTIONS = frozenset({"list", "List", "set", "Set", "frozenset", "FrozenSet", "tuple", "Tuple", "Sequence",
                          "Iterable", "Collection", "Iterator", "MutableSequence", "AbstractSet"})


def unquoted(ann: ast.expr | None) -> ast.expr | None:
    """A string annotation (``"list[Book]"``) parsed, any other node as it is; None for a
    string that is no expression (whatever the parser raises: ValueError for a NUL on 3.10)."""
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        try:
            return ast.parse(ann.value, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    return ann


def element_annotation(ann: ast.expr | None) -> ast.expr | None:
    """``X`` of ``list[X]`` / ``Sequence[X]`` / ``X | None`` of those / a string annotation."""
    ann = unquoted(ann)
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        return element_annotation(ann.left) or element_annotation(ann.right)
    if isinstance(ann, ast.Subscript):
        head = last_name(ann.value)
        if head == "Optional":
            return element_annotation(ann.slice)
        if head in _COLLECTIONS and not isinstance(ann.slice, ast.Tuple):
            return ann.slice
    return None


def is_few_literals(ann: ast.expr | None) -> bool:
    """``Literal["url", "table"]``: a closed set of a few values."""
    if not isinstance(ann, ast.Subscript):
        return False
    head = last_name(ann.value)
    items = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
    return head == "Literal" and len(items) <= MAX_BOUNDED_ITEMS


def per_table(tables: list[ast.expr], varying: frozenset[str]) -> bool:
    """A statement whose table name comes from the loop (``for table in tables:
    conn.execute(f"SELECT ... FROM {table}")``): each iteration reads or writes another table,
    which no single statement could do, so it is not a round trip per row."""
    return any(_names(t) & varying for t in tables)


def _is_const(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(_is_const(e) for e in node.elts)
    # an enum member or a module constant: ``Status.OPEN``, ``settings.X``
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr.isupper()


def describe(node: ast.AST) -> str:
    """``for order in orders`` / ``while ...`` / the comprehension's ``for``, shortened."""
    if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        prefix = "async for" if isinstance(node, ast.AsyncFor) or getattr(node, "is_async", False) else "for"
        target = _short(node.target)
        if isinstance(node.target, ast.Tuple) and target.startswith("("):
            target = target[1:-1]
        return f"{prefix} {target} in {_short(node.iter)}"
    if isinstance(node, ast.While):
        return f"while {_short(node.test)}"
    return "loop"


def header_span(node: ast.AST, path: str, offset: OffsetFn) -> Span:
    """The loop header: ``for x in xs`` up to the colon, or the comprehension's ``for`` clause."""
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return Span(path, offset(node.lineno, node.col_offset), offset(node.iter.end_lineno or node.iter.lineno, node.iter.end_col_offset or 0))
    if isinstance(node, ast.While):
        return Span(path, offset(node.lineno, node.col_offset), offset(node.test.end_lineno or node.test.lineno, node.test.end_col_offset or 0))
    if isinstance(node, ast.comprehension):
        return Span(path, offset(node.target.lineno, node.target.col_offset), offset(node.iter.end_lineno or node.iter.lineno, node.iter.end_col_offset or 0))
    return Span(path, 0, 0)


def loop_ref(node: ast.AST, path: str, offset: OffsetFn, *, bounded: bool) -> LoopRef:
    return LoopRef(header_span(node, path, offset), describe(node), bounded=bounded)


def _short(node: ast.AST, limit: int = 40) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every parsed tree
        return "..."
    return text if len(text) <= limit else text[: limit - 3] + "..."
