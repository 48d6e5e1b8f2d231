"""The Python ORM front end: Django and SQLAlchemy models, query sites, loops, call graph.

Entry points used by the engine (phase one):

* :func:`index_models` — fill ``project.models`` (and the model facts of ``project.schema``)
  from every Python file's ``ast`` tree;
* :func:`index_queries` — fill ``project.queries`` with the ORM / DB-API accesses, their
  loops, and ``project.facts["python"]`` with function summaries and the call graph.
"""

from __future__ import annotations

from querylint.project import ProjectIndex


def index_models(project: ProjectIndex) -> None:
    return None


def index_queries(project: ProjectIndex) -> None:
    """Query sites, loops and calls of every Python file; facts for the QL2xx rules."""
    from querylint.python import analyzer, callgraph

    facts = analyzer.analyze(project)
    callgraph.build_graph(facts)
