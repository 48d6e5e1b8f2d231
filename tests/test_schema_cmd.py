"""``querylint schema``: the inferred schema as text and JSON, with provenance."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from querylint.schema_cmd import main

MIGRATION = '''\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Ticket",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("state", models.CharField(max_length=10, default="new")),
                ("opened_at", models.DateTimeField()),
            ],
            options={"indexes": [models.Index(fields=["-opened_at"], name="ticket_new", condition=models.Q(state="new"))]},
        ),
    ]
'''

SCHEMA_SQL = "CREATE TABLE audit (id bigint PRIMARY KEY, ticket_id bigint REFERENCES app_ticket (id));\n"


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "app" / "migrations").mkdir(parents=True)
    (tmp_path / "app" / "migrations" / "0001_initial.py").write_text(MIGRATION)
    (tmp_path / "app" / "migrations" / "__init__.py").write_text("")
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "schema.sql").write_text(SCHEMA_SQL)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_text_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--isolated"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "app_ticket  app/migrations/0001_initial.py:8",
        "  columns:",
        "    id         bigint       not null, primary key  app/migrations/0001_initial.py:11",
        "    state      varchar(10)  not null  app/migrations/0001_initial.py:12",
        "    opened_at  timestamptz  not null  app/migrations/0001_initial.py:13",
        "  indexes:",
        "    app_ticket_pkey (id) [primary, implicit]  app/migrations/0001_initial.py:8",
        "    ticket_new (opened_at DESC) WHERE state = 'new'  app/migrations/0001_initial.py:15",
        "",
        "audit  db/schema.sql:1",
        "  columns:",
        "    id         bigint  not null, primary key  db/schema.sql:1",
        "    ticket_id  bigint  null  db/schema.sql:1",
        "  indexes:",
        "    audit_pkey (id) [primary, implicit]  db/schema.sql:1",
        "  foreign keys:",
        "    (ticket_id) -> app_ticket (id)  db/schema.sql:1",
    ]


def test_json_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--isolated", "--output-format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["version"] == 1 and data["errors"] == []
    assert [t["name"] for t in data["tables"]] == ["app_ticket", "audit"]
    ticket = data["tables"][0]
    assert ticket["sources"] == ["django-migration"]
    assert [(c["name"], c["type"], c["nullable"]) for c in ticket["columns"]] == [
        ("id", "bigint", False), ("state", "varchar(10)", False), ("opened_at", "timestamptz", False),
    ]
    assert ticket["indexes"][1] == {
        "name": "ticket_new",
        "keys": [{"column": "opened_at", "expression": None, "descending": True, "nulls_first": None, "opclass": None}],
        "unique": False, "primary": False, "implicit": False, "predicate": "state = 'new'", "method": "btree",
        "include": [],
        "provenance": {"path": "app/migrations/0001_initial.py", "line": 15, "column": 34},
    }
    assert data["tables"][1]["foreign_keys"] == [{
        "name": None, "columns": ["ticket_id"], "ref_table": "app_ticket", "ref_columns": ["id"],
        "provenance": {"path": "db/schema.sql", "line": 1, "column": 1},
    }]


def test_paths_limit_the_schema_and_empty_project(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--isolated", "db"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit  db/schema.sql:1\n") and "app_ticket  " not in out
    os.remove(project / "db" / "schema.sql")
    assert main(["--isolated", "db"]) == 0
    assert capsys.readouterr().out == "No tables found (no models, migrations or SQL DDL under the given paths).\n"


def test_bad_arguments_exit_2(project: Path) -> None:
    assert main(["--output-format", "xml"]) == 2


def test_text_keeps_hostile_names_on_their_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A table or column name with a newline (or a file name with one) cannot add a line of its own."""
    (tmp_path / "pyproject.toml").write_text("[tool.querylint]\n")
    (tmp_path / "db\nFAKE.sql").write_text('CREATE TABLE "Evil\nfake_table (id)" (id bigint PRIMARY KEY, "c\n::error::x" text);\n')
    monkeypatch.chdir(tmp_path)
    assert main(["."]) == 0
    assert capsys.readouterr().out.splitlines() == [
        'Evil\\nfake_table (id)  db\\nFAKE.sql:1',
        "  columns:",
        "    id            bigint  not null, primary key  db\\nFAKE.sql:1",
        "    c\\n::error::x  text    null  db\\nFAKE.sql:1",
        "  indexes:",
        "    Evil\\nfake_table (id)_pkey (id) [primary, implicit]  db\\nFAKE.sql:1",
    ]


def test_a_cache_dir_that_is_not_its_own_folder_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.querylint]\ncache-dir = "db"\n')
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "schema.sql").write_text(SCHEMA_SQL)
    monkeypatch.chdir(tmp_path)
    assert main(["."]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("querylint: error: `cache-dir` = 'db': db is a folder that holds files that are not querylint's cache "
                   "(e.g. 'schema.sql'): querylint would write its cache among them; set `cache-dir` to a folder of its own "
                   '(the default is ".querylint_cache")\n')
