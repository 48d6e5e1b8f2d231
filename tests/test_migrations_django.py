"""Django migrations read statically into MigrationOp records (querylint.migrations.django)."""

from __future__ import annotations

import re
import textwrap

from querylint.engine import parse_file
from querylint.migration import ConstraintKind, Migration, MigrationFramework, OpKind
from querylint.migrations import gather
from querylint.migrations.graph import django_leaf_migrations, django_migrations_folder
from querylint.project import ProjectIndex
from querylint.source import Language, SourceFile


def index(files: dict[str, str]) -> ProjectIndex:
    pfs = {}
    for path, text in files.items():
        lang = Language.for_path(path)
        assert lang is not None
        pfs[path] = parse_file(SourceFile(path, textwrap.dedent(text), lang))
    project = ProjectIndex(root=".", files=pfs)
    gather(project)
    return project


def line(project: ProjectIndex, span_path: str, offset: int) -> int:
    src = project.source(span_path)
    assert src is not None
    return src.location(offset)[0]


def summary(project: ProjectIndex, mig: Migration) -> list[tuple[str, str | None, str | None, int]]:
    return [(op.kind.value, op.table, op.name, line(project, op.span.path, op.span.start)) for op in mig.ops]


INITIAL = '''\
from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Customer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("email", models.EmailField(max_length=254, unique=True)),
            ],
        ),
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("status", models.CharField(default="open", max_length=20)),
                ("total", models.DecimalField(decimal_places=2, max_digits=10)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("customer", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="shop.customer")),
                ("owner", models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "db_table": "orders",
                "indexes": [models.Index(condition=models.Q(("status", "open")), fields=["customer", "-created_at"], name="order_open_idx")],
            },
        ),
    ]
'''


def test_create_model_ops_columns_and_fk_index() -> None:
    project = index({"shop/migrations/0001_initial.py": INITIAL, "shop/migrations/__init__.py": ""})
    (mig,) = project.migrations
    assert mig.framework is MigrationFramework.DJANGO
    assert (mig.app_label, mig.name, mig.atomic) == ("shop", "0001_initial", True)
    assert mig.dependencies == (("auth", "__first__"),)
    assert summary(project, mig) == [
        ("create-table", "shop_customer", None, 15),
        ("add-constraint", "shop_customer", "shop_customer_email_uniq", 15),
        ("create-table", "orders", None, 22),
        ("add-constraint", "orders", "orders_customer_id_fk", 22),
        ("create-index", "orders", "orders_customer_id_idx", 22),
        ("add-constraint", "orders", "orders_owner_id_fk", 22),
        ("create-index", "orders", "order_open_idx", 22),
    ]
    assert all(op.table_is_new and op.in_transaction for op in mig.ops)
    orders = mig.ops[2]
    cols = {c.name: c for c in orders.columns}
    assert list(cols) == ["id", "status", "total", "created_at", "customer_id", "owner_id"]
    assert (cols["id"].type, cols["id"].primary_key, cols["id"].identity) == ("bigint", True, True)
    assert (cols["total"].type, cols["total"].nullable) == ("numeric(10,2)", False)
    assert cols["created_at"].type == "timestamptz"
    assert (cols["customer_id"].type, cols["customer_id"].references) == ("bigint", ("shop_customer", "id"))
    assert (cols["owner_id"].type, cols["owner_id"].nullable, cols["owner_id"].references) == ("integer", True, ("auth_user", "id"))
    idx = mig.ops[6].index
    assert idx is not None
    assert [k.text for k in idx.keys] == ["customer_id", "created_at DESC"]
    assert idx.predicate == "status = 'open'"
    fk = mig.ops[3]
    assert (fk.constraint, fk.constraint_columns, fk.ref_table, fk.not_valid) == (ConstraintKind.FOREIGN_KEY, ("customer_id",), "shop_customer", False)


SECOND = '''\
from django.db import migrations, models
import django.utils.timezone
import uuid


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="paid_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(model_name="order", name="note", field=models.TextField()),
        migrations.AddField(model_name="order", name="token", field=models.UUIDField(default=uuid.uuid4)),
        migrations.AddField(model_name="order", name="seen", field=models.BooleanField(db_default=False)),
        migrations.AlterField(model_name="order", name="status", field=models.CharField(max_length=50)),
        migrations.AlterField(model_name="order", name="owner", field=models.ForeignKey(on_delete=models.SET_NULL, to="auth.user")),
        migrations.AddIndex(model_name="order", index=models.Index(fields=["paid_at"], name="order_paid_idx")),
        migrations.RemoveField(model_name="order", name="total"),
        migrations.RenameField(model_name="order", old_name="note", new_name="comment"),
        migrations.AddConstraint(model_name="order", constraint=models.CheckConstraint(check=models.Q(total__gte=0), name="order_total_gte_0")),
        migrations.AddConstraint(model_name="customer", constraint=models.UniqueConstraint(fields=["email"], name="uniq_email")),
        migrations.AlterUniqueTogether(name="order", unique_together={("customer", "status")}),
        migrations.RunSQL("CREATE INDEX order_status_idx ON orders (status);", reverse_sql=migrations.RunSQL.noop),
        migrations.RunPython(lambda apps, schema_editor: None),
        migrations.AlterModelOptions(name="order", options={"ordering": ["-created_at"]}),
    ]
'''


def test_operations_against_prior_state() -> None:
    project = index({"shop/migrations/0001_initial.py": INITIAL, "shop/migrations/0002_more.py": SECOND})
    _first, second = project.migrations
    assert second.dependencies == (("shop", "0001_initial"),)
    assert summary(project, second) == [
        ("add-column", "orders", "paid_at", 13),
        ("add-column", "orders", "note", 19),
        ("add-column", "orders", "token", 20),
        ("add-column", "orders", "seen", 21),
        ("alter-column-type", "orders", "status", 22),
        ("set-not-null", "orders", "owner_id", 23),
        ("create-index", "orders", "orders_owner_id_idx", 23),
        ("create-index", "orders", "order_paid_idx", 24),
        ("drop-column", "orders", "total", 25),
        ("rename-column", "orders", "note", 26),
        ("add-constraint", "orders", "order_total_gte_0", 27),
        ("add-constraint", "shop_customer", "uniq_email", 28),
        ("add-constraint", "orders", "orders_customer_id_status_uniq", 29),
        ("run-sql", None, None, 30),
        ("create-index", "orders", "order_status_idx", 30),
        ("run-python", None, None, 31),
    ]
    ops = second.ops
    # a callable default is evaluated once by Django: a constant for the database, not volatile
    paid = ops[0].column
    assert paid is not None and (paid.nullable, paid.default, paid.default_volatile) == (False, "django.utils.timezone.now", False)
    note = ops[1].column
    assert note is not None and (note.type, note.nullable, note.default) == ("text", False, None)
    seen = ops[3].column
    assert seen is not None and (seen.default, seen.default_volatile) == ("false", False)
    assert (ops[4].old_type, ops[4].new_type) == ("varchar(20)", "varchar(50)")
    assert ops[6].index is not None and ops[6].index.implicit and not ops[6].concurrently
    assert ops[9].new_name == "comment"
    assert ops[10].constraint is ConstraintKind.CHECK and not ops[10].not_valid
    assert ops[11].constraint is ConstraintKind.UNIQUE and ops[11].constraint_columns == ("email",)
    assert ops[12].constraint_columns == ("customer_id", "status")
    assert ops[13].reversible and ops[14].sql is not None
    assert not ops[15].reversible
    assert not any(op.table_is_new for op in ops)


def test_atomic_false_and_concurrent_index() -> None:
    src = '''\
    from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
    from django.db import migrations, models


    class Migration(migrations.Migration):
        atomic = False
        dependencies = [("shop", "0001_initial")]
        operations = [
            AddIndexConcurrently(
                model_name="order",
                index=models.Index(models.functions.Lower("status"), name="order_lower_status"),
            ),
            RemoveIndexConcurrently(model_name="order", name="order_open_idx"),
            migrations.RemoveIndex(model_name="order", name="order_paid_idx"),
        ]
    '''
    project = index({"shop/migrations/0001_initial.py": INITIAL, "shop/migrations/0002_conc.py": src})
    mig = project.migrations[1]
    assert not mig.atomic
    assert summary(project, mig) == [
        ("create-index", "orders", "order_lower_status", 9),
        ("drop-index", "orders", "order_open_idx", 13),
        ("drop-index", "orders", "order_paid_idx", 14),
    ]
    assert [(op.concurrently, op.in_transaction) for op in mig.ops] == [(True, False), (True, False), (False, False)]
    idx = mig.ops[0].index
    assert idx is not None and idx.keys[0].expression == "lower(status)"


def test_atomic_migration_with_concurrent_index_stays_in_transaction() -> None:
    src = '''\
    from django.contrib.postgres.operations import AddIndexConcurrently
    from django.db import migrations, models


    class Migration(migrations.Migration):
        dependencies = [("shop", "0001_initial")]
        operations = [
            AddIndexConcurrently(model_name="order", index=models.Index(fields=["status"], name="o_status")),
        ]
    '''
    project = index({"shop/migrations/0001_initial.py": INITIAL, "shop/migrations/0002_conc.py": src})
    op = project.migrations[1].ops[0]
    assert (op.kind, op.concurrently, op.in_transaction) == (OpKind.CREATE_INDEX, True, True)


def test_graph_order_cross_app_and_squash() -> None:
    a1 = '''\
    from django.db import migrations, models
    class Migration(migrations.Migration):
        dependencies = [("billing", "0001_initial")]
        operations = [migrations.AddField(model_name="order", name="invoice", field=models.ForeignKey(on_delete=models.CASCADE, to="billing.invoice"))]
    '''
    b1 = '''\
    from django.db import migrations, models
    class Migration(migrations.Migration):
        initial = True
        operations = [migrations.CreateModel(name="Invoice", fields=[("id", models.AutoField(primary_key=True))])]
    '''
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_invoice.py": a1.replace('("billing", "0001_initial")', '("shop", "0001_initial"), ("billing", "__first__")'),
        "billing/migrations/0001_initial.py": b1,
    }
    project = index(files)
    assert [m.path for m in project.migrations] == [
        "billing/migrations/0001_initial.py",
        "shop/migrations/0001_initial.py",
        "shop/migrations/0002_invoice.py",
    ]
    add = project.migrations[2].ops[0]
    assert add.column is not None and (add.column.name, add.column.type, add.column.references) == ("invoice_id", "integer", ("billing_invoice", "id"))
    assert [m.name for m in django_leaf_migrations(project, "shop")] == ["0002_invoice"]

    squash = '''\
    from django.db import migrations, models
    class Migration(migrations.Migration):
        replaces = [("billing", "0001_initial"), ("billing", "0002_x")]
        operations = [migrations.CreateModel(name="Invoice", fields=[("id", models.BigAutoField(primary_key=True))])]
    '''
    b2 = '''\
    from django.db import migrations
    class Migration(migrations.Migration):
        dependencies = [("billing", "0001_initial")]
        operations = []
    '''
    files.update({"billing/migrations/0001_squashed_0002_x.py": squash, "billing/migrations/0002_x.py": b2})
    project = index(files)
    names = [(m.app_label, m.name) for m in project.migrations]
    assert ("billing", "0001_initial") not in names and ("billing", "0002_x") not in names
    assert names.index(("billing", "0001_squashed_0002_x")) < names.index(("shop", "0002_invoice"))


def test_not_a_migration_and_unknown_operations() -> None:
    weird = '''\
    from django.db import migrations
    class Migration(migrations.Migration):
        dependencies = []
        operations = [
            migrations.CreateModel(name="Thing", fields=[("id", models.AutoField(primary_key=True))]),
            MyCustomOperation("x"),
            migrations.AlterModelOptions(name="thing", options={}),
        ]
    '''
    project = index({
        "shop/migrations/0001_weird.py": weird,
        "shop/models.py": "class Migration:\n    pass\n",
        "shop/migrations/helpers.py": "x = 1\n",
    })
    (mig,) = project.migrations
    assert [op.kind for op in mig.ops] == [OpKind.CREATE_TABLE]
    assert project.facts["migration_unknown_ops"] == {"shop/migrations/0001_weird.py": ["MyCustomOperation"]}


def test_separate_database_and_state_and_rename_model() -> None:
    src = '''\
    from django.db import migrations, models
    class Migration(migrations.Migration):
        dependencies = [("shop", "0001_initial")]
        operations = [
            migrations.SeparateDatabaseAndState(
                state_operations=[migrations.RenameModel("Customer", "Client")],
                database_operations=[migrations.RunSQL("ALTER TABLE shop_customer RENAME TO shop_client", migrations.RunSQL.noop)],
            ),
            migrations.AddField(model_name="client", name="vip", field=models.BooleanField(default=False)),
            migrations.RenameModel(old_name="Order", new_name="Purchase"),
            migrations.DeleteModel(name="Client"),
        ]
    '''
    project = index({"shop/migrations/0001_initial.py": INITIAL, "shop/migrations/0002_sep.py": src})
    mig = project.migrations[1]
    assert summary(project, mig) == [
        ("run-sql", None, None, 7),
        ("rename-table", "shop_customer", "shop_customer", 7),
        ("add-column", "shop_client", "vip", 9),
        ("drop-table", "shop_client", "shop_client", 11),
    ]
    # Order has db_table="orders": RenameModel does not touch the database
    add = mig.ops[2].column
    assert add is not None and (add.default, add.nullable) == ("false", False)


def test_add_field_defaults_follow_django_effective_default() -> None:
    src = '''\
    from django.db import migrations, models
    import myproject.fields


    class Migration(migrations.Migration):
        dependencies = [("shop", "0001_initial")]
        operations = [
            migrations.AddField(model_name="order", name="notes", field=models.TextField(blank=True)),
            migrations.AddField(model_name="order", name="seen_at", field=models.DateTimeField(auto_now_add=True)),
            migrations.AddField(model_name="order", name="code", field=myproject.fields.NullCharField(max_length=20)),
            migrations.AddField(model_name="order", name="ref", field=models.CharField(max_length=20)),
            migrations.AddField(model_name="order", name="qty", field=models.IntegerField(blank=True)),
        ]
    '''
    project = index({"shop/migrations/0001_initial.py": INITIAL, "shop/migrations/0002_defaults.py": src})
    cols = [op.column for op in project.migrations[1].ops]
    assert [(c.name, c.nullable, c.default) for c in cols if c is not None] == [
        ("notes", False, "''"),  # blank string fields are added with DEFAULT ''
        ("seen_at", False, "timezone.now()"),  # auto_now_add: Django fills existing rows with now
        ("code", True, None),  # a field class Django does not ship: nullability unknown, not claimed
        ("ref", False, None),  # NOT NULL without a default: fails on a table with rows
        ("qty", False, None),  # blank=True gives '' only to string fields
    ]


def test_leaf_migrations_and_folders_for_the_advisor() -> None:
    b = '''\
    from django.db import migrations
    class Migration(migrations.Migration):
        dependencies = [("shop", "0001_initial")]
        operations = []
    '''
    project = index({
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_a.py": b,
        "shop/migrations/0002_b.py": b,
        "src/billing/apps.py": "from django.apps import AppConfig\nclass BillingConfig(AppConfig):\n    name = 'src.billing'\n    label = 'payments'\n",
    })
    assert [m.name for m in django_leaf_migrations(project, "shop")] == ["0002_a", "0002_b"]  # needs a merge
    assert django_migrations_folder(project, "shop") == "shop/migrations"
    assert django_migrations_folder(project, "payments") == "src/billing/migrations"
    assert django_migrations_folder(project, "nope") is None


def test_run_sql_forms_and_unknown_prior_state() -> None:
    src = '''\
    from django.db import migrations, models


    class Migration(migrations.Migration):
        dependencies = [("shop", "0001_initial")]
        operations = [
            migrations.RunSQL(
                [("UPDATE orders SET status = %s WHERE status IS NULL", ["open"]), "CREATE INDEX CONCURRENTLY o_s ON orders (status)"],
                reverse_sql=None,
            ),
            migrations.RunSQL(sql="not sql at all ((", reverse_sql="SELECT 1"),
            migrations.AlterField(model_name="user", name="email", field=models.EmailField(max_length=300)),
        ]
    '''
    project = index({"shop/migrations/0001_initial.py": INITIAL, "shop/migrations/0002_sql.py": src})
    mig = project.migrations[1]
    assert summary(project, mig) == [
        ("run-sql", None, None, 7),
        ("other", None, None, 7),  # the UPDATE
        ("create-index", "orders", "o_s", 7),
        ("run-sql", None, None, 11),  # unparseable SQL: only the wrapper
    ]
    assert [op.reversible for op in mig.ops] == [False, True, True, True]
    assert mig.ops[2].concurrently and mig.ops[2].in_transaction
    # AlterField on a model whose history we never saw (shop.user): no change is claimed
    assert project.facts["migration_unknown_ops"] == {}


def test_every_add_index_of_a_migration_gets_the_same_shared_edits() -> None:
    """The import and ``atomic = False`` edits are computed once per migration (a search of the
    whole file per operation was quadratic) and are the same for each of its operations."""
    from querylint.testing import lint_files

    ops = "".join(f"        migrations.AddIndex(model_name='order', index=models.Index(fields=['f{i}'], name='order_f{i}_idx')),\n"
                  for i in range(3))
    text = ("from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_initial')]\n    operations = [\n" + ops + "    ]\n")
    result = lint_files({"shop/__init__.py": "", "shop/migrations/__init__.py": "", "shop/migrations/0002_idx.py": text},
                        select=["QL401"])
    fixes = [d.fix for d in result.diagnostics]
    assert [d.span.start for d in result.diagnostics] == [m.start() for m in re.finditer(r"migrations\.AddIndex\(", text)]
    shared = {(e.start, e.end, e.replacement) for f in fixes if f is not None for e in f.edits[1:]}
    assert shared == {
        (text.index("\n", 0), text.index("\n", 0) + 1,
         "\nfrom django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently\n"),
        (text.index(":\n") + 1, text.index(":\n") + 2, "\n    atomic = False\n"),
    }
    assert [f.edits[0].replacement for f in fixes if f is not None] == ["AddIndexConcurrently"] * 3
