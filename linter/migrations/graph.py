"""Migration ordering: the Django dependency graph and the Alembic revision chain.

Django: one node per migration ``(app_label, name)``; an edge from each dependency to the
migration that needs it, cross-app edges included. ``__first__`` is the app's first migration,
``__latest__`` its leaf; ``swappable_dependency(settings.AUTH_USER_MODEL)`` is read as the
user model's app (``auth`` unless the settings say otherwise). A squashed migration
(``replaces = [...]``) stands for the migrations it replaces, as on a fresh database:
they are dropped and edges to them point at the squash. Dependencies on migrations outside
the project (``django.contrib``) are ignored. Order: topological, ties broken by
``(app_label, name)``, so the order is stable.

Alembic: one node per revision, an edge from each ``down_revision`` (several at a merge point);
heads are the revisions nothing revises. Order: topological, ties by file path.

The graphs are small and only ever sorted, so they are a plain :class:`DiGraph` here, with
networkx's ``lexicographical_topological_sort`` (Kahn's algorithm over a heap) rewritten in a
few lines: importing networkx costs a fifth of a second, which every run on a project with
migrations paid (the function call graph still uses networkx, built only when asked for).

Helpers for the advisor: :func:`django_leaf_migrations`, :func:`alembic_heads`,
:func:`alembic_versions_folder`.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from querylint.migration import Migration, MigrationFramework

if TYPE_CHECKING:
    from querylint.migrations.alembic import AlembicFile
    from querylint.migrations.django import DjangoFile
    from querylint.project import ProjectIndex


class Cycle(Exception):
    """The graph has a cycle: no topological order."""


class DiGraph:
    """Nodes in insertion order, each with a payload; edges in insertion order, no duplicates."""

    def __init__(self) -> None:
        self.nodes: dict[Any, Any] = {}
        self.succ: dict[Any, dict[Any, None]] = {}

    def add_node(self, node: Any, payload: Any) -> None:
        if node not in self.nodes:
            self.succ[node] = {}
        self.nodes[node] = payload

    def add_edge(self, u: Any, v: Any) -> None:
        self.succ[u][v] = None

    def successors(self, node: Any) -> list[Any]:
        return list(self.succ[node])

    def lexicographical_topological_sort(self, key: Callable[[Any], str]) -> list[Any]:
        """networkx's algorithm: of the nodes with no pending predecessor, the smallest key
        first (ties: insertion order); :class:`Cycle` when some node is never free."""
        ids = {n: i for i, n in enumerate(self.nodes)}
        indegree: dict[Any, int] = {}
        for n in self.nodes:
            for child in self.succ[n]:
                indegree[child] = indegree.get(child, 0) + 1
        heap = [(key(n), ids[n], n) for n in self.nodes if n not in indegree]
        heapq.heapify(heap)
        out: list[Any] = []
        while heap:
            _k, _i, node = heapq.heappop(heap)
            for child in self.succ[node]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    del indegree[child]
                    heapq.heappush(heap, (key(child), ids[child], child))
            out.append(node)
        if indegree:
            raise Cycle
        return out


def django_graph(files: Sequence[DjangoFile]) -> DiGraph:
    """The graph of the migrations (nodes ``(app_label, name)``, payload the file)."""
    by_key = {df.key: df for df in files}
    replaced_by: dict[tuple[str, str], tuple[str, str]] = {}
    for df in files:
        for r in df.replaces:
            replaced_by[r] = df.key
    g = DiGraph()
    for df in files:
        if df.key in replaced_by and replaced_by[df.key] in by_key:
            continue
        g.add_node(df.key, df)

    def first(app: str) -> tuple[str, str] | None:
        cands = sorted(k for k in g.nodes if k[0] == app)
        return cands[0] if cands else None

    def resolve(dep: tuple[str, str]) -> tuple[str, str] | None:
        app, name = dep
        if name == "__first__":
            return first(app)
        if name == "__latest__":
            leaves = sorted(k for k in g.nodes if k[0] == app and not any(s[0] == app for s in g.successors(k)))
            return leaves[-1] if leaves else None
        seen = 0
        while dep in replaced_by and seen < 50:
            dep = replaced_by[dep]
            seen += 1
        return dep if dep in g.nodes else None

    # __latest__ needs intra-app edges first
    pending: list[tuple[tuple[str, str], tuple[str, str]]] = []
    for key in list(g.nodes):
        df = g.nodes[key]
        for dep in df.dependencies:
            if dep[1] == "__latest__":
                pending.append((dep, key))
                continue
            src = resolve(dep)
            if src is not None and src != key:
                g.add_edge(src, key)
    for dep, key in pending:
        src = resolve(dep)
        if src is not None and src != key:
            g.add_edge(src, key)
    return g


def django_order(files: Sequence[DjangoFile]) -> list[DjangoFile]:
    """The migrations in an order Django could apply them (squashed ones replaced)."""
    g = django_graph(files)
    try:
        keys = g.lexicographical_topological_sort(key=lambda k: f"{k[0]}\x00{k[1]}")
    except Cycle:  # fall back to name order
        keys = sorted(g.nodes)
    return [g.nodes[k] for k in keys]


def alembic_graph(files: Sequence[AlembicFile]) -> DiGraph:
    g = DiGraph()
    for af in files:
        if af.revision in g.nodes:
            continue  # two files claim one revision id: keep the first (path order)
        g.add_node(af.revision, af)
    for af in files:
        for down in af.down_revisions:
            if down in g.nodes and down != af.revision:
                g.add_edge(down, af.revision)
    return g


def alembic_order(files: Sequence[AlembicFile]) -> list[AlembicFile]:
    g = alembic_graph(files)
    try:
        keys = g.lexicographical_topological_sort(key=lambda r: g.nodes[r].parsed.source.path)
    except Cycle:
        keys = sorted(g.nodes)
    return [g.nodes[k] for k in keys]


def alembic_heads_of(files: Sequence[AlembicFile]) -> list[str]:
    g = alembic_graph(files)
    return sorted(n for n in g.nodes if not g.succ[n])


# -- helpers for the advisor ------------------------------------------------------------------


def django_leaf_migrations(project: ProjectIndex, app_label: str) -> list[Migration]:
    """The app's leaf migrations (no later migration of the same app depends on them).

    One leaf is the normal case; several mean the app needs a merge migration.
    """
    migs = [m for m in project.migrations if m.framework is MigrationFramework.DJANGO and m.app_label == app_label]
    names = {m.name for m in migs}
    depended = {dep[1] for m in migs for dep in m.dependencies if dep[0] == app_label and dep[1] in names}
    return sorted((m for m in migs if m.name not in depended), key=lambda m: m.name)


def alembic_heads(project: ProjectIndex) -> list[str]:
    """The Alembic head revision ids (one, unless the history has unmerged branches)."""
    migs = [m for m in project.migrations if m.framework is MigrationFramework.ALEMBIC and m.revision]
    revs = {m.revision for m in migs}
    downs = {d for m in migs for d in m.down_revision if d in revs}
    return sorted(r for r in revs if r is not None and r not in downs)


def alembic_versions_folder(project: ProjectIndex) -> str | None:
    """The folder holding the head revision (``.../versions``), or None without Alembic."""
    heads = set(alembic_heads(project))
    for m in project.migrations:
        if m.framework is MigrationFramework.ALEMBIC and m.revision in heads:
            return str(os.path.dirname(m.path))
    return None


def django_migrations_folder(project: ProjectIndex, app_label: str) -> str | None:
    """The app's ``migrations/`` folder: where its migrations are, else next to its ``apps.py``."""
    for m in project.migrations:
        if m.framework is MigrationFramework.DJANGO and m.app_label == app_label:
            return str(os.path.dirname(m.path))
    from querylint.migrations.django import app_labels

    for folder, label in sorted(app_labels(project).items()):
        if label == app_label:
            return f"{folder}/migrations" if folder else "migrations"
    return None
