"""Migration-safety rules (QL4xx) beyond their docs examples: fixes, versions, transactions, defaults."""

from __future__ import annotations

import pytest
from querylint.diagnostics import Applicability, Diagnostic
from querylint.registry import all_rules
from querylint.rule import Example, MigrationRule, Rule
from querylint.testing import lint_files

PATH = "migrations/0002_change.sql"


def _lint(sql: str, select: list[str], path: str = PATH, **config: object) -> list[Diagnostic]:
    result = lint_files({path: sql}, select=select, **config)
    return [d for d in result.diagnostics if d.code != "QL001"]


def _found(sql: str, select: list[str], **config: object) -> list[tuple[str, int]]:
    result = lint_files({PATH: sql}, select=select, **config)
    src = result.sources[PATH]
    return [(d.code, src.location(d.span.start)[0]) for d in result.diagnostics]


def _apply(text: str, d: Diagnostic) -> str:
    assert d.fix is not None
    for e in sorted(d.fix.edits, key=lambda e: e.start, reverse=True):
        text = text[: e.start] + e.replacement + text[e.end :]
    return text


def _fixed_examples() -> list[object]:
    out = []
    for r in all_rules():
        if issubclass(r, MigrationRule):
            for ex in r.INVALID:
                if ex.fixed is not None:
                    out.append(pytest.param(r, ex, id=r.name))
    return out


@pytest.mark.parametrize(("rule", "ex"), _fixed_examples())
def test_fix_produces_documented_text_and_silences_rule(rule: type[Rule], ex: Example) -> None:
    path = ex.path or rule.example_path
    result = lint_files({path: ex.text}, select=[rule.code], **dict(ex.config))
    mine = [d for d in result.diagnostics if d.code == rule.code]
    assert _apply(ex.text, mine[0]) == ex.fixed
    again = lint_files({path: ex.fixed or ""}, select=[rule.code], **dict(ex.config))
    assert [d for d in again.diagnostics if d.code == rule.code] == []


def test_migration_rule_codes_and_opt_in_set() -> None:
    codes = {r.code: r for r in all_rules() if r.code.startswith("QL4")}
    assert sorted(codes)[:29] == [f"QL4{n:02d}" for n in range(1, 30)]
    opt_in = {c for c, r in codes.items() if not r.default_enabled}
    assert opt_in == {"QL419", "QL420", "QL421", "QL422", "QL424"}


def test_concurrently_fix_is_unsafe_and_present_only_for_sql() -> None:
    (d,) = _lint("CREATE INDEX i ON orders (a);\n", ["QL401"])
    assert d.fix is not None and d.fix.applicability is Applicability.UNSAFE
    assert d.help == "Use `CREATE INDEX CONCURRENTLY`, outside any transaction block"


def test_unique_index_fix_keeps_unique() -> None:
    sql = "CREATE UNIQUE INDEX i ON orders (a);\n"
    (d,) = _lint(sql, ["QL401"])
    assert _apply(sql, d) == "CREATE UNIQUE INDEX CONCURRENTLY i ON orders (a);\n"


def test_not_valid_fix_is_display_only_inside_a_transaction() -> None:
    sql = "BEGIN;\nALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id);\nCOMMIT;\n"
    (d,) = _lint(sql, ["QL406"])
    assert d.fix is not None and d.fix.applicability is Applicability.DISPLAY_ONLY


def test_not_valid_fix_needs_a_constraint_name() -> None:
    (d,) = _lint("ALTER TABLE orders ADD FOREIGN KEY (c) REFERENCES customers (id);\n", ["QL406"])
    assert d.fix is None


def test_drop_index_fix_skipped_for_cascade() -> None:
    (d,) = _lint("DROP INDEX i CASCADE;\n", ["QL402"])
    assert d.fix is None


def test_volatile_default_detection() -> None:
    sql = (
        "ALTER TABLE orders ADD COLUMN a timestamptz DEFAULT now();\n"
        "ALTER TABLE orders ADD COLUMN b timestamptz DEFAULT clock_timestamp();\n"
        "ALTER TABLE orders ADD COLUMN c uuid DEFAULT uuid_generate_v4();\n"
        "ALTER TABLE orders ADD COLUMN d float DEFAULT random();\n"
        "ALTER TABLE orders ADD COLUMN e int DEFAULT 0;\n"
        "ALTER TABLE orders ADD COLUMN f bigint DEFAULT nextval('s');\n"
    )
    assert _found(sql, ["QL405"]) == [("QL405", 2), ("QL405", 3), ("QL405", 4), ("QL405", 6)]
    assert _found(sql, ["QL405"], postgres_version=10) == [("QL405", n) for n in range(1, 7)]


def test_set_not_null_recipe_is_quiet_only_from_pg12() -> None:
    sql = (
        "ALTER TABLE orders ADD CONSTRAINT nn CHECK (status IS NOT NULL) NOT VALID;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT nn;\n"
        "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n"
    )
    assert _found(sql, ["QL408"]) == []
    assert _found(sql, ["QL408"], postgres_version=11) == [("QL408", 3)]
    # a NOT VALID check that was never validated proves nothing
    assert _found(sql.replace("ALTER TABLE orders VALIDATE CONSTRAINT nn;\n", ""), ["QL408"]) == [("QL408", 2)]
    # a check on another column proves nothing
    assert _found(sql.replace("(status IS", "(total IS"), ["QL408"]) == [("QL408", 3)]


@pytest.mark.parametrize(
    ("old", "new", "flagged"),
    [
        ("varchar(10)", "varchar(20)", False),
        ("varchar(20)", "varchar(10)", True),
        ("varchar(10)", "text", False),
        ("varchar(10)", "varchar", False),
        ("text", "varchar", False),
        ("text", "varchar(10)", True),
        ("numeric(10,2)", "numeric(12,2)", False),
        ("numeric(10,2)", "numeric(12,3)", True),
        ("numeric(10,2)", "numeric", False),
        ("integer", "bigint", True),
        ("cidr", "inet", False),
        ("timestamp", "timestamptz", True),
        ("timestamp(3)", "timestamp(6)", False),
        ("char(5)", "text", True),
    ],
)
def test_type_change_binary_coercible(old: str, new: str, flagged: bool) -> None:
    sql = f"ALTER TABLE orders ADD COLUMN x {old};\nALTER TABLE orders ALTER COLUMN x TYPE {new};\n"
    assert _found(sql, ["QL409"]) == ([("QL409", 2)] if flagged else [])


def test_type_change_with_using_is_flagged() -> None:
    sql = "ALTER TABLE orders ADD COLUMN x varchar(10);\nALTER TABLE orders ALTER COLUMN x TYPE varchar(20) USING trim(x);\n"
    assert _found(sql, ["QL409"]) == [("QL409", 2)]


def test_lock_timeout_tracking() -> None:
    # session SET covers the whole file; LOCAL ends at COMMIT; only once per migration
    assert _found("SET lock_timeout = '2s';\nALTER TABLE a DROP COLUMN x;\n", ["QL416"]) == []
    assert _found("SET lock_timeout = 0;\nALTER TABLE a DROP COLUMN x;\n", ["QL416"]) == [("QL416", 2)]
    assert _found("ALTER TABLE a DROP COLUMN x;\nALTER TABLE b DROP COLUMN y;\n", ["QL416"]) == [("QL416", 1)]
    # SET LOCAL outside a transaction block does nothing
    assert _found("SET LOCAL lock_timeout = '2s';\nALTER TABLE a DROP COLUMN x;\n", ["QL416"]) == [("QL416", 2)]
    # concurrent builds take SHARE UPDATE EXCLUSIVE: they do not make other queries queue
    assert _found("CREATE INDEX CONCURRENTLY i ON a (x);\n", ["QL416"]) == []


def test_validate_in_separate_transactions_is_quiet() -> None:
    sql = (
        "BEGIN;\nALTER TABLE o ADD CONSTRAINT c CHECK (t > 0) NOT VALID;\nCOMMIT;\n"
        "BEGIN;\nALTER TABLE o VALIDATE CONSTRAINT c;\nCOMMIT;\n"
    )
    assert _found(sql, ["QL418"]) == []
    # the runner's wrapping transaction holds both statements
    plain = "ALTER TABLE o ADD CONSTRAINT c CHECK (t > 0) NOT VALID;\nALTER TABLE o VALIDATE CONSTRAINT c;\n"
    assert _found(plain, ["QL418"]) == []
    assert _found(plain, ["QL418"], sql_migrations_in_transaction=True) == [("QL418", 2)]


def test_transaction_nesting_begin_inside_begin() -> None:
    sql = "BEGIN;\nBEGIN;\nALTER TABLE o ADD COLUMN n text;\nCOMMIT;\nCOMMIT;\n"
    assert _found(sql, ["QL427"]) == [("QL427", 2)]


def test_concurrent_index_in_explicit_transaction_block_after_commit_is_fine() -> None:
    sql = "BEGIN;\nALTER TABLE o ADD COLUMN n text;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON o (n);\n"
    assert _found(sql, ["QL403"]) == []


def test_detach_partition_depends_on_version() -> None:
    sql = "ALTER TABLE m DETACH PARTITION m_2020;\n"
    assert _found(sql, ["QL429"]) == [("QL429", 1)]
    assert _found(sql, ["QL429"], postgres_version=13) == []


def test_robust_statements_quiet_inside_transaction_and_fix_text() -> None:
    sql = "DROP TABLE t;\nALTER TABLE o DROP COLUMN x;\n"
    ds = _lint(sql, ["QL424"])
    assert [_apply(sql, d) for d in ds] == [
        "DROP TABLE IF EXISTS t;\nALTER TABLE o DROP COLUMN x;\n",
        "DROP TABLE t;\nALTER TABLE o DROP COLUMN IF EXISTS x;\n",
    ]
    assert _lint(sql, ["QL424"], sql_migrations_in_transaction=True) == []


def test_default_set_excludes_opt_in_rules() -> None:
    sql = "CREATE TABLE t (id serial, name varchar(10), at timestamp);\n"
    result = lint_files({PATH: sql})
    assert [d.code for d in result.diagnostics] == []
    codes = sorted({d.code for d in lint_files({PATH: sql}, extend_select=("QL419", "QL420", "QL421", "QL422")).diagnostics})
    assert codes == ["QL419", "QL420", "QL421", "QL422"]


def test_identifier_length_counts_bytes() -> None:
    name = "é" * 32  # 64 bytes, 32 characters
    (d,) = _lint(f"CREATE TABLE t ({name} int);\n", ["QL423"])
    assert d.message.startswith(f"identifier `{name}` is 64 bytes")


def test_no_findings_outside_migration_files() -> None:
    assert _lint("CREATE INDEX i ON orders (a);\nDROP TABLE x;\n", ["QL4"], path="db/schema.sql") == []


def test_django_fixes_reach_a_fixpoint_without_duplicate_edits(tmp_path: object) -> None:
    import os
    from dataclasses import replace

    from querylint.config import Config
    from querylint.engine import Engine
    from querylint.fix import fix_paths
    from querylint.registry import instantiate

    root = str(tmp_path)
    path = os.path.join(root, "shop", "migrations", "0002_indexes.py")
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(
            "from django.db import migrations, models\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = []\n\n"
            "    operations = [\n"
            '        migrations.AddIndex(model_name="order", index=models.Index(fields=["a"], name="order_a")),\n'
            '        migrations.RemoveIndex(model_name="order", name="order_b"),\n'
            "    ]\n"
        )
    cfg = replace(Config(), root=root, cache=False, select=("QL401", "QL402", "QL403"))
    cwd = os.getcwd()
    try:
        os.chdir(root)
        outcome = fix_paths(Engine(cfg, instantiate(cfg)), [path], unsafe=True)
    finally:
        os.chdir(cwd)
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    assert text == (
        "from django.db import migrations, models\n"
        "from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    atomic = False\n"
        "    dependencies = []\n\n"
        "    operations = [\n"
        '        AddIndexConcurrently(model_name="order", index=models.Index(fields=["a"], name="order_a")),\n'
        '        RemoveIndexConcurrently(model_name="order", name="order_b"),\n'
        "    ]\n"
    )
    assert [d.code for d in outcome.result.diagnostics] == []


def test_django_fix_is_display_only_when_the_migration_does_more() -> None:
    files = {
        "shop/migrations/0002_x.py": (
            "from django.db import migrations, models\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = []\n"
            "    operations = [\n"
            '        migrations.AddField(model_name="order", name="n", field=models.TextField(null=True)),\n'
            '        migrations.AddIndex(model_name="order", index=models.Index(fields=["n"], name="order_n")),\n'
            "    ]\n"
        )
    }
    result = lint_files(files, select=["QL401"])
    (d,) = result.diagnostics
    assert d.fix is not None and d.fix.applicability is Applicability.DISPLAY_ONLY


ALEMBIC_DIALECT = '''
from alembic import op

revision = "b2"
down_revision = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.create_index("ix_a", "orders", ["a"])
    else:
        op.create_index("ix_b", "orders", ["b"])
    if op.get_bind().dialect.name != "postgresql":
        op.create_index("ix_c", "orders", ["c"])
    if not isinstance(bind.dialect, MySQLDialect):
        op.create_index("ix_d", "orders", ["d"])
    if bind.dialect.name in ("sqlite", "postgresql"):
        op.create_index("ix_e", "orders", ["e"])


def downgrade():
    pass
'''


def test_operations_in_non_postgres_branches_are_ignored() -> None:
    path = "alembic/versions/b2_dialects.py"
    result = lint_files({path: ALEMBIC_DIALECT.lstrip("\n")}, select=["QL401"])
    src = result.sources[path]
    lines = [src.location(d.span.start)[0] for d in result.diagnostics]
    # ix_a (sqlite only) and ix_c (not postgresql) are dropped; ix_b, ix_d and ix_e stay
    assert lines == [12, 16, 18]


def test_lock_timeout_set_in_alembic_env_or_django_settings_is_trusted() -> None:
    revision = (
        "from alembic import op\n\nrevision = 'b2'\ndown_revision = None\n\n\n"
        "def upgrade():\n    op.drop_column('orders', 'legacy')\n\n\ndef downgrade():\n    pass\n"
    )
    path = "alembic/versions/b2_drop.py"
    assert [d.code for d in lint_files({path: revision}, select=["QL416"]).diagnostics] == ["QL416"]
    env = "from alembic import context\n\ncontext.configure(connection=conn)\nconn.execute(text(\"SET lock_timeout = '5s'\"))\n"
    assert lint_files({path: revision, "alembic/env.py": env}, select=["QL416"], check=[path]).diagnostics == []
    django = (
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = []\n"
        "    operations = [migrations.RemoveField(model_name='order', name='legacy')]\n"
    )
    dpath = "shop/migrations/0002_drop.py"
    assert [d.code for d in lint_files({dpath: django}, select=["QL416"]).diagnostics] == ["QL416"]
    settings = "DATABASES = {'default': {'OPTIONS': {'options': '-c lock_timeout=5000'}}}\n"
    assert lint_files({dpath: django, "proj/settings.py": settings}, select=["QL416"], check=[dpath]).diagnostics == []


def test_alembic_execute_concurrently_is_moved_into_autocommit_block() -> None:
    path = "alembic/versions/b2_idx.py"
    text = (
        "from alembic import op\n\nrevision = 'b2'\ndown_revision = None\n\n\n"
        "def upgrade():\n"
        '    op.execute("CREATE INDEX CONCURRENTLY ix ON orders (a)")\n\n\n'
        "def downgrade():\n    pass\n"
    )
    result = lint_files({path: text}, select=["QL403"])
    (d,) = result.diagnostics
    assert result.sources[path].location(d.span.start)[0] == 8
    assert _apply(text, d) == text.replace(
        '    op.execute("CREATE INDEX CONCURRENTLY ix ON orders (a)")\n',
        "    with op.get_context().autocommit_block():\n"
        '        op.execute("CREATE INDEX CONCURRENTLY ix ON orders (a)")\n',
    )


def test_alembic_nullable_false_on_a_not_null_column_is_no_scan() -> None:
    path = "alembic/versions/b2_widen.py"
    text = (
        "import sqlalchemy as sa\nfrom alembic import op\n\nrevision = 'b2'\ndown_revision = None\n\n\n"
        "def upgrade():\n"
        "    op.alter_column('params', 'value', existing_type=sa.String(250), type_=sa.String(500),\n"
        "                    existing_nullable=False, nullable=False)\n"
        "    op.alter_column('params', 'key', nullable=False)\n\n\n"
        "def downgrade():\n    pass\n"
    )
    result = lint_files({path: text}, select=["QL408", "QL409"])
    assert [(d.code, result.sources[path].location(d.span.start)[0]) for d in result.diagnostics] == [("QL408", 11)]


def test_django_foreign_key_field_is_added_inline_and_not_validated() -> None:
    migration = (
        "import django.db.models.deletion\nfrom django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n    dependencies = [('shop', '0001_initial')]\n"
        "    operations = [\n"
        "        migrations.AddField(model_name='order', name='customer', field=models.ForeignKey(\n"
        "            null=True, on_delete=django.db.models.deletion.CASCADE, to='shop.customer')),\n"
        "    ]\n"
    )
    initial = (
        "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    initial = True\n"
        "    operations = [\n"
        "        migrations.CreateModel(name='Customer', fields=[('id', models.BigAutoField(primary_key=True))]),\n"
        "        migrations.CreateModel(name='Order', fields=[('id', models.BigAutoField(primary_key=True))]),\n"
        "    ]\n"
    )
    files = {"shop/migrations/0001_initial.py": initial, "shop/migrations/0002_customer.py": migration}
    result = lint_files(files, select=["QL406", "QL401"], check=["shop/migrations/0002_customer.py"])
    # the index Django builds for the FK is still a plain CREATE INDEX
    assert [d.code for d in result.diagnostics] == ["QL401"]
    # the same in SQL as two statements is validated (a full scan), so it is reported
    sql = "ALTER TABLE o ADD COLUMN c bigint;\nALTER TABLE o ADD CONSTRAINT o_c_fk FOREIGN KEY (c) REFERENCES c (id);\n"
    assert _found(sql, ["QL406"]) == [("QL406", 2)]


def test_the_dialect_prefilter_answers_as_the_case_insensitive_pattern() -> None:
    from querylint.migrations.dialect import _ANY_DIALECT, _names_a_dialect

    texts = ["if op.get_bind().dialect.name == 'SQLite':", "isinstance(d, MySQLDialect)", "postgresql_using='gin'",
             "nothing here", "", "MSSQL", "Oracle", "mariadb", "café = 'x'", "café = 'PostgreSQL'", "\u017fqlite"]
    for text in texts:
        assert _names_a_dialect(text) == (_ANY_DIALECT.search(text) is not None), text


def test_identifier_tokens_are_read_as_with_the_plain_character_ranges() -> None:
    """QL423 reads SQL identifiers with negated classes (fast to compile): the same tokens as
    `[A-Za-z_\\x80-\\uffff][\\w$\\x80-\\uffff]*` on text within the BMP."""
    import random
    import re

    from querylint.rules.identifier_too_long import _TOKEN

    plain = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/|\"((?:[^\"]|\"\")+)\"|([A-Za-z_\x80-\uffff][\w$\x80-\uffff]*)", re.DOTALL)
    rng = random.Random(3)
    alphabet = [chr(c) for c in range(0x80)] + ["é", "ß", "中", "\u00a0", "\u2028", "\uff41", "€"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert [m.groups() for m in _TOKEN.finditer(text)] == [m.groups() for m in plain.finditer(text)], text
    assert [m.group(2) for m in _TOKEN.finditer("CREATE INDEX ix_é$1 ON t")] == ["CREATE", "INDEX", "ix_é$1", "ON", "t"]
