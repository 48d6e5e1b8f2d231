"""Alembic revisions read statically into MigrationOp records (querylint.migrations.alembic)."""

from __future__ import annotations

import textwrap

from querylint.engine import parse_file
from querylint.migration import ConstraintKind, MigrationFramework, OpKind
from querylint.migrations import gather
from querylint.migrations.graph import alembic_heads, alembic_versions_folder
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


def rows(project: ProjectIndex, path: str) -> list[tuple[str, str | None, str | None, int, bool]]:
    (mig,) = project.migrations_in(path)
    src = project.source(path)
    assert src is not None
    return [(op.kind.value, op.table, op.name, src.location(op.span.start)[0], op.in_transaction) for op in mig.ops]


INIT = '''\
"""create orders

Revision ID: a1
"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = None


def upgrade():
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(255), nullable=False, unique=True),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False, server_default="open"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_orders_customer_created", "orders", ["customer_id", sa.text("created_at DESC")])


def downgrade():
    op.drop_table("orders")
    op.drop_table("customers")
'''

SECOND = '''\
from alembic import op
import sqlalchemy as sa

revision: str = "b2"
down_revision: str | None = "a1"


def upgrade() -> None:
    op.add_column("orders", sa.Column("token", sa.String(36), server_default=sa.text("gen_random_uuid()"), nullable=False))
    op.add_column("orders", sa.Column("note", sa.Text(), nullable=False))
    op.alter_column("orders", "status", type_=sa.Text(), existing_type=sa.String(20), nullable=False)
    op.alter_column("orders", "created_at", new_column_name="placed_at")
    op.create_index("ix_orders_status", "orders", ["status"])
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_orders_open", "orders", ["customer_id"],
            postgresql_concurrently=True, postgresql_where=sa.text("status = 'open'"),
        )
    op.create_foreign_key("fk_orders_customer", "orders", "customers", ["customer_id"], ["id"])
    op.create_unique_constraint("uq_orders_token", "orders", ["token"])
    op.create_check_constraint("ck_orders_id", "orders", "id > 0")
    with op.batch_alter_table("customers") as batch_op:
        batch_op.drop_column("email")
    op.execute("ALTER TABLE orders ALTER COLUMN note SET DEFAULT ''")
    op.drop_index("ix_orders_status", table_name="orders")
    op.rename_table("customers", "clients")


def downgrade() -> None:
    pass
'''


def test_create_table_and_index() -> None:
    project = index({"alembic/versions/a1_init.py": INIT})
    (mig,) = project.migrations
    assert mig.framework is MigrationFramework.ALEMBIC
    assert (mig.revision, mig.down_revision, mig.has_downgrade) == ("a1", (), True)
    assert rows(project, "alembic/versions/a1_init.py") == [
        ("create-table", "customers", None, 13, True),
        ("add-constraint", "customers", None, 13, True),
        ("create-table", "orders", None, 18, True),
        ("add-constraint", "orders", None, 18, True),
        ("create-index", "orders", "ix_orders_customer_created", 26, True),
    ]
    assert all(op.table_is_new for op in mig.ops)
    cols = {c.name: c for c in mig.ops[2].columns}
    assert (cols["id"].type, cols["id"].primary_key, cols["id"].nullable) == ("bigint", True, False)
    assert cols["customer_id"].references == ("customers", "id")
    assert (cols["status"].type, cols["status"].default) == ("varchar(20)", "'open'")
    # now() is stable (evaluated once per statement): not a volatile default
    assert (cols["created_at"].type, cols["created_at"].default, cols["created_at"].default_volatile) == ("timestamptz", "now()", False)
    idx = mig.ops[4].index
    assert idx is not None and [k.text for k in idx.keys] == ["customer_id", "created_at DESC"]


def test_upgrade_ops_transaction_state_and_downgrade() -> None:
    project = index({"alembic/versions/a1_init.py": INIT, "alembic/versions/b2_more.py": SECOND})
    assert [m.revision for m in project.migrations] == ["a1", "b2"]
    mig = project.migrations[1]
    assert (mig.down_revision, mig.has_downgrade) == (("a1",), False)
    assert rows(project, "alembic/versions/b2_more.py") == [
        ("add-column", "orders", "token", 9, True),
        ("add-column", "orders", "note", 10, True),
        ("alter-column-type", "orders", "status", 11, True),  # NOT NULL since a1: no SET NOT NULL
        ("rename-column", "orders", "created_at", 12, True),
        ("create-index", "orders", "ix_orders_status", 13, True),
        ("create-index", "orders", "ix_orders_open", 15, False),
        ("add-constraint", "orders", "fk_orders_customer", 19, True),
        ("add-constraint", "orders", "uq_orders_token", 20, True),
        ("add-constraint", "orders", "ck_orders_id", 21, True),
        ("drop-column", "customers", "email", 23, True),
        ("run-sql", None, None, 24, True),
        ("set-default", "orders", "note", 24, True),
        ("drop-index", "orders", "ix_orders_status", 25, True),
        ("rename-table", "customers", "customers", 26, True),
    ]
    ops = mig.ops
    token = ops[0].column
    assert token is not None and (token.default, token.default_volatile, token.nullable) == ("gen_random_uuid()", True, False)
    note = ops[1].column
    assert note is not None and (note.nullable, note.default) == (False, None)
    assert (ops[2].old_type, ops[2].new_type) == ("varchar(20)", "text")
    assert ops[3].new_name == "placed_at"
    assert not ops[4].concurrently
    open_idx = ops[5].index
    assert ops[5].concurrently and open_idx is not None and open_idx.predicate == "status = 'open'"
    assert (ops[6].constraint, ops[6].constraint_columns, ops[6].ref_table, ops[6].ref_columns) == (
        ConstraintKind.FOREIGN_KEY, ("customer_id",), "customers", ("id",))
    assert ops[7].constraint is ConstraintKind.UNIQUE and ops[8].constraint is ConstraintKind.CHECK
    assert ops[13].new_name == "clients"
    assert mig.downgrade_span is not None


def test_heads_merge_points_and_non_revisions() -> None:
    c3 = '''\
    from alembic import op
    revision = "c3"
    down_revision = "a1"
    def upgrade():
        op.drop_table("orders")
    def downgrade():
        op.create_table("orders")
    '''
    merge = '''\
    revision = "d4"
    down_revision = ("b2", "c3")
    def upgrade():
        pass
    def downgrade():
        pass
    '''
    files = {
        "db/versions/a1_init.py": INIT,
        "db/versions/b2_more.py": SECOND,
        "db/versions/c3_drop.py": c3,
        "db/env.py": "from alembic import context\nrevision = 'not a revision'\n",
    }
    project = index(files)
    assert alembic_heads(project) == ["b2", "c3"]
    files["db/versions/d4_merge.py"] = merge
    project = index(files)
    order = [m.revision for m in project.migrations]
    assert order[0] == "a1" and order[-1] == "d4" and set(order) == {"a1", "b2", "c3", "d4"}
    assert alembic_heads(project) == ["d4"]
    assert alembic_versions_folder(project) == "db/versions"
    drop = project.migrations_in("db/versions/c3_drop.py")[0].ops[0]
    assert (drop.kind, drop.table) == (OpKind.DROP_TABLE, "orders")


def test_unknown_calls_are_counted_not_fatal() -> None:
    src = '''\
    from alembic import op
    import sqlalchemy as sa
    revision = "e5"
    down_revision = None
    def upgrade():
        op.create_index("ix", "t", [some_columns()])
        op.exotic_thing("t")
        drop_fks_for_table("t")  # an imported helper: its DDL is not seen, and counted
        log("done")
        local_step("t2")
    def local_step(table):
        op.drop_index("ix_t2", table_name=table)
        op.drop_table("t2")
    def downgrade():
        pass
    '''
    project = index({"versions/e5.py": src})
    (mig,) = project.migrations
    src = project.source("versions/e5.py")
    assert src is not None
    # a function of the revision module called from upgrade() is inlined (its spans are its own lines)
    assert [(op.kind, op.table, op.name, src.location(op.span.start)[0]) for op in mig.ops] == [
        (OpKind.DROP_INDEX, None, "ix_t2", 12),
        (OpKind.DROP_TABLE, "t2", "t2", 13),
    ]
    assert project.facts["migration_unknown_ops"] == {"versions/e5.py": ["create_index (columns)", "exotic_thing", "call drop_fks_for_table()"]}


def test_set_not_null_only_when_the_column_may_hold_nulls() -> None:
    later = '''\
    from alembic import op
    import sqlalchemy as sa
    revision = "c3"
    down_revision = "b2"
    def upgrade():
        op.alter_column("orders", "customer_id", nullable=False)  # NOT NULL since a1: no scan
        op.alter_column("orders", "placed_at", nullable=False)  # nullable until now (renamed in b2)
        op.alter_column("orders", "note", existing_nullable=False, nullable=False)
    def downgrade():
        pass
    '''
    project = index({"v/a1.py": INIT, "v/b2.py": SECOND, "v/c3.py": later})
    assert rows(project, "v/c3.py") == [("set-not-null", "orders", "placed_at", 7, True)]
