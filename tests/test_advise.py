"""``querylint advise`` without a database: emitted text, model edits, the command."""

from __future__ import annotations

import os
from typing import Any

import pytest
from querylint.advise.cli import main
from querylint.advise.emit_django import DjangoModel, condition_q, index_expr
from querylint.advise.emit_sql import emit_sql
from querylint.advise.model_edit import add_django_index, add_sqlalchemy_index
from querylint.advise.plan import IndexPlan, create_sql
from querylint.diagnostics import IndexKey

PLAN = IndexPlan("orders", (IndexKey("customer_id"), IndexKey("created_at", descending=True)), "status = 'open'",
                 name="orders_customer_id_created_at_abc123_idx", reason="serves 2 queries")


def test_sql_script() -> None:
    assert emit_sql([PLAN]) == (
        "-- querylint advise: 1 index\n"
        "-- Run outside a transaction block: CREATE INDEX CONCURRENTLY cannot run inside one.\n"
        "SET lock_timeout = '5s';\n"
        "\n"
        "-- orders: serves 2 queries\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_created_at_abc123_idx ON orders (customer_id, created_at DESC) WHERE status = 'open';\n"
        "\n"
        "-- Rollback (run each statement on its own):\n"
        "-- DROP INDEX CONCURRENTLY IF EXISTS orders_customer_id_created_at_abc123_idx;\n"
    )
    odd = IndexPlan("user", (IndexKey(expression="lower(email)"),), None, ("id",), name="user_lower_email_idx")
    assert create_sql(odd) == 'CREATE INDEX CONCURRENTLY IF NOT EXISTS user_lower_email_idx ON "user" ((lower(email))) INCLUDE (id);'


def test_django_index_expressions() -> None:
    model = DjangoModel("orders", "Order", "orders/models.py", "orders/migrations", {"customer_id": "customer"})
    code, imports = index_expr(PLAN, model) or ("", [])
    assert code == 'models.Index(fields=["customer", "-created_at"], condition=models.Q(status="open"), name="orders_customer_id_f66675_idx")'
    assert len("orders_customer_id_f66675_idx") <= 30 and imports == []
    lower = IndexPlan("orders", (IndexKey(expression="lower(email)"), IndexKey("created_at", descending=True)), None, name="x")
    assert index_expr(lower, model) == (
        'models.Index(Lower("email"), models.F("created_at").desc(), name="orders_lower_email_98198c_idx")',
        [("django.db.models.functions", "Lower")])
    assert index_expr(IndexPlan("orders", (IndexKey(expression="date_trunc('day', created_at)"),), name="x"), model) is None


def test_condition_q() -> None:
    assert condition_q("deleted_at IS NULL AND is_active AND NOT is_staff AND kind = 'a''b' AND n = 3", {}) == (
        "models.Q(deleted_at__isnull=True, is_active=True, is_staff=False, kind=\"a'b\", n=3)")
    assert condition_q("customer_id IS NOT NULL", {"customer_id": "customer"}) == "models.Q(customer__isnull=False)"
    assert condition_q("a = now()", {}) is None


def test_django_model_edit_creates_meta_and_appends() -> None:
    src = (
        "from django.db import models\n\n\n"
        "class Order(models.Model):\n"
        "    status = models.CharField(max_length=9)\n\n"
        "    class Meta:\n"
        "        ordering = [\"-id\"]\n"
        "        indexes = [\n"
        "            models.Index(fields=[\"status\"], name=\"a\"),\n"
        "        ]\n\n\n"
        "class Item(models.Model):\n"
        "    x = models.IntegerField()\n"
    )
    out = add_django_index(src, "Order", 'models.Index(fields=["x"], name="b")')
    assert out is not None and '            models.Index(fields=["status"], name="a"),\n            models.Index(fields=["x"], name="b"),\n        ]' in out
    out2 = add_django_index(src, "Item", 'models.Index(Lower("x"), name="c")', [("django.db.models.functions", "Lower")])
    assert out2 is not None
    assert out2.endswith('    x = models.IntegerField()\n\n    class Meta:\n        indexes = [models.Index(Lower("x"), name="c")]\n')
    assert "from django.db.models.functions import Lower\n" in out2
    assert add_django_index(src, "Missing", "x") is None
    compute = "from django.db import models\nclass A(models.Model):\n    class Meta:\n        indexes = Base.Meta.indexes + []\n"
    assert add_django_index(compute, "A", "x") is None


def test_sqlalchemy_table_args_edits() -> None:
    src = (
        "import sqlalchemy as sa\n\n\n"
        "class A(Base):\n    __tablename__ = \"a\"\n    id = 1\n\n\n"
        "class B(Base):\n    __tablename__ = \"b\"\n    __table_args__ = (sa.Index(\"x\", \"y\"), {\"schema\": \"s\"})\n\n\n"
        "class C(Base):\n    __tablename__ = \"c\"\n    __table_args__ = {\"schema\": \"s\"}\n"
    )
    out = src
    for cls in "ABC":
        edited = add_sqlalchemy_index(out, cls, 'sa.Index("n", "col")')
        assert edited is not None
        out = edited
    assert '    __tablename__ = "a"\n    __table_args__ = (sa.Index("n", "col"),)\n' in out
    assert '__table_args__ = (sa.Index("x", "y"), sa.Index("n", "col"), {"schema": "s"})' in out
    assert '__table_args__ = (sa.Index("n", "col"), {"schema": "s"})' in out


def _project(tmp_path: Any) -> str:
    (tmp_path / "pyproject.toml").write_text("[tool.querylint]\n")
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE customers (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));\n"
    )
    return str(tmp_path)


def test_cli_prints_and_writes(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path)
    assert main([root, "--format", "sql"]) == 0
    out = capsys.readouterr().out
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);" in out
    assert "-- orders: foreign key orders (customer_id) -> customers" in out
    target = os.path.join(root, "out.sql")
    assert main([root, "--write", "--output", target]) == 0
    assert open(target).read() == out
    assert main([root, "--format", "yaml"]) == 2


def test_cli_nothing_to_add(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.querylint]\n")
    (tmp_path / "schema.sql").write_text("CREATE TABLE t (id bigint PRIMARY KEY);\n")
    assert main([str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err.strip()) == ("", "querylint advise: no index to add")


def test_new_meta_extends_an_abstract_parent_meta(tmp_path: Any) -> None:
    from querylint.advise.cli import load_project
    from querylint.advise.emit_django import emit_django
    from querylint.advise.plan import IndexPlan

    (tmp_path / "pyproject.toml").write_text("[tool.querylint]\n")
    app = tmp_path / "shop"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text(
        "from django.db import models\n\n\n"
        "class Stamped(models.Model):\n    created = models.DateTimeField()\n\n    class Meta:\n        abstract = True\n        ordering = [\"-created\"]\n\n\n"
        "class Note(Stamped):\n    body = models.TextField()\n"
    )
    (app / "migrations" / "0001_initial.py").write_text(
        "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    initial = True\n    dependencies = []\n"
        "    operations = [\n        migrations.CreateModel(name=\"Note\", fields=[(\"id\", models.BigAutoField(primary_key=True)),"
        " (\"created\", models.DateTimeField()), (\"body\", models.TextField())], options={\"ordering\": [\"-created\"], \"abstract\": False}),\n    ]\n"
    )
    project, _ = load_project([str(tmp_path)], config_file=str(tmp_path / "pyproject.toml"))
    res = emit_django(project, [IndexPlan("shop_note", (IndexKey("body"),), name="x")])
    models_out = [f for f in res.files if f.path.endswith("models.py")]
    assert res.skipped == [] and len(models_out) == 1
    assert '    class Meta(Stamped.Meta):\n        indexes = [models.Index(fields=["body"], name="shop_note_body_idx")]\n' in models_out[0].text
    [mig] = [f for f in res.files if f.path.endswith("0002_querylint_indexes.py")]
    assert '("shop", "0001_initial")' in mig.text and 'model_name="note"' in mig.text
