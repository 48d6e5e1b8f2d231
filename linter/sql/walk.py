"""A breadth-first walk over a pglast tree, in the order of ``pglast.visitors.Visitor``.

pglast's ``Visitor.iterate`` takes each list's items with ``list.pop(0)``, so a walk is
quadratic in the length of a list (an ``IN`` list of 64k values took ~1 s), and every
``Visitor()(node)`` call looks its ``visit_*`` methods up with ``inspect.getmembers``. This walk
yields the same ``(ancestors, node)`` pairs in the same order, with pglast's own ``Ancestor``
chain (what :func:`querylint.sql.helpers.clause_of` reads), in time linear in the tree's size.
It never modifies the tree.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any


def walk(root: Any) -> Iterator[tuple[Any, Any]]:
    """Every ``pglast.ast.Node`` under ``root`` (itself included) with its ancestors."""
    from pglast import ast
    from pglast.visitors import Ancestor

    node_type = ast.Node
    todo: deque[tuple[Any, Any]] = deque([(Ancestor(), root)])
    while todo:
        ancestors, node = todo.popleft()
        if isinstance(node, tuple):
            for index, sub in enumerate(node):
                sub_ancestors = ancestors / (node, index)
                if isinstance(sub, node_type):
                    yield sub_ancestors, sub
                    _children(sub, sub_ancestors, todo, node_type)
                elif isinstance(sub, tuple):
                    for sub_index, value in enumerate(sub):
                        if isinstance(value, (tuple, node_type)):
                            todo.append((sub_ancestors / (sub, sub_index), value))
        elif isinstance(node, node_type):
            yield ancestors, node
            _children(node, ancestors, todo, node_type)


def _children(node: Any, ancestors: Any, todo: deque[tuple[Any, Any]], node_type: type) -> None:
    for member in node:
        value = getattr(node, member)
        if isinstance(value, (tuple, node_type)):
            todo.append((ancestors / (node, member), value))
