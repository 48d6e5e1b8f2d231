"""Migrations: SQL files, Django migrations and Alembic revisions -> MigrationOp; the schema.

Entry points used by the engine (phase one):

* :func:`gather` — read every migration of the project into ``project.migrations``: SQL
  migration files (path order), Django migrations (graph order), Alembic revisions (chain
  order); operations the readers do not understand are listed in
  ``project.facts["migration_unknown_ops"]`` (path -> names);
* :func:`build_schema` — apply SQL DDL, migrations (in dependency order) and the models to
  ``project.schema``.
"""

from __future__ import annotations

from querylint.project import ProjectIndex


def reads_tree(path: str, text: str) -> bool:
    """Whether a reader here reads this Python file's tree: a Django migration, an Alembic
    revision, a settings module or an app config (the engine never gives these to a process
    other than its own: ``querylint.python.split``)."""
    from querylint.migrations.alembic import may_be_revision
    from querylint.migrations.django import (
        is_app_config_path,
        is_django_migration_path,
        is_settings_path,
    )

    return is_django_migration_path(path) or may_be_revision(text) or is_settings_path(path) or is_app_config_path(path)


def gather(project: ProjectIndex) -> None:
    from querylint.migrations.alembic import gather_alembic_migrations
    from querylint.migrations.dialect import drop_non_postgres_ops  # H7: SQLite/MySQL-only branches
    from querylint.migrations.django import gather_django_migrations
    from querylint.migrations.sql import gather_sql_migrations  # H7: .sql migration files

    # one reader failing must not lose the others' migrations; the first error is re-raised
    # afterwards so the engine still reports it
    first: Exception | None = None
    for step in (gather_sql_migrations, gather_django_migrations, gather_alembic_migrations, drop_non_postgres_ops):
        try:
            step(project)
        except Exception as exc:
            first = first or exc
    if first is not None:
        raise first


def build_schema(project: ProjectIndex) -> None:
    from querylint.migrations.schema_builder import build_schema as impl

    impl(project)
