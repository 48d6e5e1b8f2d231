from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.migration import Migration, MigrationFramework, OpKind
from querylint.rule import Example, FileContext, MigrationRule


class IrreversibleMigration(MigrationRule):
    """A Django `RunSQL`/`RunPython` without a reverse, or an Alembic `downgrade()` that does nothing.

    ## Why is this bad?
    When a deploy goes wrong, rolling the schema back is the way out. Django refuses to
    unapply a migration whose `RunSQL` has no `reverse_sql` or whose `RunPython` has no
    `reverse_code` (`IrreversibleError`); an Alembic revision whose `downgrade()` is `pass`
    "succeeds" while leaving the schema as it was, so the next `upgrade` fails.

    ## Example
    ```python
    migrations.RunPython(forwards)
    ```

    ## Use instead
    ```python
    migrations.RunPython(forwards, migrations.RunPython.noop)
    ```

    ## Migration
    Django: give `RunSQL` a `reverse_sql` (or `migrations.RunSQL.noop` when there is nothing
    to undo) and `RunPython` a `reverse_code` (or `migrations.RunPython.noop`). Alembic: write
    the `downgrade()` that undoes `upgrade()`, or raise an explicit error saying it cannot be
    undone.

    ## References
    - [Django: RunPython](https://docs.djangoproject.com/en/stable/ref/migration-operations/#runpython)
    - [Alembic: downgrade](https://alembic.sqlalchemy.org/en/latest/tutorial.html#running-our-first-migration)
    """

    code = "QL430"
    name = "irreversible-migration"
    example_path = "shop/migrations/0002_backfill.py"

    VALID = [
        Example(
            """
            from django.db import migrations


            class Migration(migrations.Migration):
                dependencies = []
                operations = [
                    migrations.RunPython(lambda apps, schema_editor: None, migrations.RunPython.noop),
                    migrations.RunSQL("UPDATE shop_order SET status = 'new'", migrations.RunSQL.noop),
                ]
            """
        ),
        Example(
            '''
            from alembic import op

            revision = "b2"
            down_revision = None


            def upgrade():
                op.drop_column("orders", "legacy")


            def downgrade():
                raise NotImplementedError("the legacy column cannot be restored")
            ''',
            path="alembic/versions/b2_drop.py",
        ),
    ]
    INVALID = [
        Example(
            """
            from django.db import migrations


            class Migration(migrations.Migration):
                dependencies = []
                operations = [
                    migrations.RunPython(lambda apps, schema_editor: None),
                ]
            """,
            line=7,
            message="`RunPython` has no `reverse_code`: this migration cannot be unapplied (Django raises IrreversibleError)",
        ),
        Example(
            '''
            from alembic import op

            revision = "b2"
            down_revision = None


            def upgrade():
                op.add_column("orders", sa.Column("note", sa.Text()))


            def downgrade():
                pass
            ''',
            path="alembic/versions/b2_note.py",
            line=11,
            message="`downgrade()` does nothing: `alembic downgrade` past revision b2 would leave this revision's "
            "schema changes in place",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        if migration.framework is MigrationFramework.DJANGO:
            for op in migration.ops:
                if op.reversible:
                    continue
                if op.kind is OpKind.RUN_PYTHON:
                    what, arg, noop = "RunPython", "reverse_code", "migrations.RunPython.noop"
                elif op.kind is OpKind.RUN_SQL:
                    what, arg, noop = "RunSQL", "reverse_sql", "migrations.RunSQL.noop"
                else:
                    continue
                yield self.diagnostic(
                    op.span,
                    f"`{what}` has no `{arg}`: this migration cannot be unapplied (Django raises IrreversibleError)",
                    help=f"Pass `{arg}=` (or `{noop}` when there is nothing to undo)",
                )
        elif migration.framework is MigrationFramework.ALEMBIC and not migration.has_downgrade:
            if not any(op.kind is not OpKind.OTHER for op in migration.ops):
                return  # an empty (merge) revision has nothing to undo
            yield self.diagnostic(
                migration.downgrade_span or migration.span,
                f"`downgrade()` does nothing: `alembic downgrade` past revision {migration.revision or migration.name} "
                "would leave this revision's schema changes in place",
                help="Write the downgrade that undoes upgrade(), or raise an error that says it cannot be undone",
            )
