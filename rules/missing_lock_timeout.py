from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Applicability, Confidence, Diagnostic, Edit, Fix
from querylint.locks import LockMode, by_framework, existing_table, lock_for, lock_phrase
from querylint.migration import Migration, MigrationFramework, MigrationOp, OpKind
from querylint.rule import Example, FileContext, FixAvailability, MigrationRule

#: modes that make every later query on the table queue behind a waiting migration
_QUEUEING = (LockMode.ACCESS_EXCLUSIVE, LockMode.EXCLUSIVE, LockMode.SHARE_ROW_EXCLUSIVE, LockMode.SHARE)


class MissingLockTimeout(MigrationRule):
    """A migration takes a strong lock on an existing table without a `lock_timeout`.

    ## Why is this bad?
    A statement that needs ACCESS EXCLUSIVE (or SHARE) waits for every running transaction on
    the table — and while it waits, every new query on the table queues behind it. One slow
    report query turns a millisecond `ALTER TABLE` into an outage. `SET lock_timeout` makes the
    migration give up (and be retried) instead.

    ## Example
    ```sql
    ALTER TABLE orders ADD COLUMN note text;
    ```

    ## Use instead
    ```sql
    SET lock_timeout = '5s';
    ALTER TABLE orders ADD COLUMN note text;
    ```

    ## Migration
    Django: `migrations.RunSQL("SET lock_timeout = '5s'", migrations.RunSQL.noop)` as the first
    operation (or `"OPTIONS": {"options": "-c lock_timeout=5s"}` in the database settings used
    for migrations). Alembic: `op.execute("SET lock_timeout = '5s'")` at the top of `upgrade()`,
    or set it once in `env.py`. When a settings module (Django) or `env.py` (Alembic) of the
    project mentions `lock_timeout`, the rule trusts it and stays quiet for that framework.

    ## Fix safety
    Unsafe: with a timeout, the migration can now fail (to be retried) instead of waiting.

    ## References
    - [lock_timeout](https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT)
    - [squawk: require-timeout-settings](https://squawkhq.com/docs/require-timeout-settings)
    """

    code = "QL416"
    name = "missing-lock-timeout"
    fix_availability = FixAvailability.SOMETIMES
    example_path = "migrations/0008_note.sql"

    VALID = [
        Example("SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;\n"),
        Example("BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;\n"),
        Example("CREATE TABLE orders (id bigint);\nCREATE INDEX orders_id ON orders (id);\n"),
    ]
    INVALID = [
        Example(
            "ALTER TABLE orders ADD COLUMN note text;\n",
            line=1,
            message="`ALTER TABLE ... ADD COLUMN` takes an ACCESS EXCLUSIVE lock on `orders` with no `lock_timeout` "
            "set: while it waits for running transactions, every new query on `orders` queues behind it",
            fixed="SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;\n",
        ),
        Example(
            "BEGIN;\nSET LOCAL lock_timeout = '5s';\nCOMMIT;\nALTER TABLE orders ADD COLUMN note text;\n",
            line=4,
            message="`ALTER TABLE ... ADD COLUMN` takes an ACCESS EXCLUSIVE lock on `orders` with no `lock_timeout` "
            "set: while it waits for running transactions, every new query on `orders` queues behind it",
        ),
        Example(
            """
                from django.db import migrations, models


                class Migration(migrations.Migration):
                    dependencies = [("shop", "0001_initial")]

                    operations = [
                        migrations.RemoveField(model_name="order", name="legacy_code"),
                    ]
            """,
            path="shop/migrations/0002_change.py",
            line=8,
            message="`ALTER TABLE ... DROP COLUMN` takes an ACCESS EXCLUSIVE lock on `shop_order` with no `lock_timeout` set: while it waits for running transactions, every new query on `shop_order` queues behind it",
        ),
    ]

    def check_migration(self, migration: Migration, ctx: FileContext) -> Iterator[Diagnostic]:
        if migration.framework is not MigrationFramework.SQL and _set_by_project(ctx, migration.framework):
            return
        session = local = False
        for op in migration.ops:
            if op.kind is OpKind.SET and op.setting == "lock_timeout":
                on = (op.value or "0").strip("'\" ") not in ("0", "0s", "0ms", "default")
                if op.name == "local":
                    local = on and op.in_transaction
                else:
                    session = on
                continue
            if op.kind in (OpKind.COMMIT, OpKind.ROLLBACK):
                local = False
                continue
            info = lock_for(op)
            if info is None or info.mode not in _QUEUEING or not existing_table(op) or session or local:
                continue
            yield self.diagnostic(
                op.span,
                f"{lock_phrase(op)} with no `lock_timeout` set: while it waits for running transactions, every new "
                f"query on {'`' + op.table + '`' if op.table else 'the table'} queues behind it",
                help=by_framework(
                    op.framework,
                    sql="Start the migration with `SET lock_timeout = '5s';` and retry it when it times out",
                    django="Add `migrations.RunSQL(\"SET lock_timeout = '5s'\", migrations.RunSQL.noop)` as the first operation",
                    alembic="Call `op.execute(\"SET lock_timeout = '5s'\")` first in `upgrade()` (or set it in env.py)",
                ),
                fix=_prepend(op),
                # a timeout may be set outside the migration (role settings, env.py, DATABASES options)
                confidence=Confidence.HIGH if op.framework is MigrationFramework.SQL else Confidence.MEDIUM,
            )
            return  # once per migration: one SET fixes them all


def _set_by_project(ctx: FileContext, framework: MigrationFramework) -> bool:
    """The project sets lock_timeout for every migration: Alembic's env.py, Django settings."""
    cache: dict[MigrationFramework, bool] = ctx.project.facts.setdefault("lock_timeout_set_by_project", {})
    if framework not in cache:
        cache[framework] = _scan(ctx, framework)
    return cache[framework]


def _scan(ctx: FileContext, framework: MigrationFramework) -> bool:
    for path, pf in ctx.project.files.items():
        name = path.rsplit("/", 1)[-1]
        if framework is MigrationFramework.ALEMBIC and name != "env.py":
            continue
        if framework is MigrationFramework.DJANGO and "settings" not in path:
            continue
        if "lock_timeout" in pf.source.text:
            return True
    return False


def _prepend(op: MigrationOp) -> Fix | None:
    if op.framework is not MigrationFramework.SQL:
        return None
    return Fix(
        "Prepend `SET lock_timeout = '5s';`",
        (Edit(op.span.path, op.span.start, op.span.start, "SET lock_timeout = '5s';\n"),),
        Applicability.UNSAFE,
    )
