"""Migrations: SQL files, Django migrations and Alembic revisions -> MigrationOp; the schema.

Entry points used by the engine (phase one):

* :func:`gather` — read every migration of the project into ``project.migrations``;
* :func:`build_schema` — apply models, migrations (in dependency order) and SQL DDL to
  ``project.schema``.
"""

from __future__ import annotations

from querylint.project import ProjectIndex


def gather(project: ProjectIndex) -> None:
    from querylint.migrations.sql import gather_sql_migrations  # H7: .sql migration files

    gather_sql_migrations(project)


def build_schema(project: ProjectIndex) -> None:
    return None
