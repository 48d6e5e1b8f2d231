"""SQLAlchemy model gatherer: exact facts on the fixture project and on small inline sources."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest
from querylint.config import Config
from querylint.engine import Engine
from querylint.models import Framework, Model, ModelRegistry
from querylint.project import ProjectIndex
from querylint.python.models_sqlalchemy import flask_tablename
from querylint.schema import Schema
from querylint.testing import lint_files

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
APP = os.path.join(FIXTURES, "sqlalchemy_app")


def _project(files: dict[str, str]) -> ProjectIndex:
    result = lint_files(files, select=["QL001"])
    assert result.project is not None
    return result.project


def _models(files: dict[str, str]) -> ModelRegistry:
    return _project(files).models


@pytest.fixture(scope="module")
def app() -> ProjectIndex:
    cfg = replace(Config(), root=APP, cache=False, select=("QL001",))
    result = Engine(cfg).run([APP])
    assert result.project is not None
    return result.project


def _rel(model: Model, name: str) -> tuple[str, str, str | None, str, str | None]:
    r = model.relations[name]
    return r.kind.value, r.target, r.column, r.lazy, r.through


def _indexes(schema: Schema, table: str) -> set[tuple[tuple[str, ...], bool, str | None]]:
    t = schema.table(table)
    assert t is not None
    return {(tuple(k.text for k in i.keys), i.unique, i.predicate) for i in t.indexes}


# -- the fixture project ---------------------------------------------------------------------------------

def test_fixture_models(app: ProjectIndex) -> None:
    reg = app.models.models
    assert {k: (m.table, m.framework) for k, m in reg.items()} == {
        "User": ("users", Framework.SQLALCHEMY), "Post": ("posts", Framework.SQLALCHEMY),
        "Tag": ("tags", Framework.SQLALCHEMY), "Comment": ("comments", Framework.SQLALCHEMY)}
    post, user, comment = reg["Post"], reg["User"], reg["Comment"]
    assert _rel(post, "author") == ("sa-many-to-one", "User", "author_id", "select", None)
    assert _rel(user, "posts") == ("sa-collection", "Post", None, "select", None)
    assert _rel(user, "comments") == ("sa-collection", "Comment", None, "selectin", None)
    assert _rel(post, "tags") == ("sa-collection", "Tag", None, "select", "post_tags")
    assert _rel(comment, "post") == ("sa-many-to-one", "Post", "post_id", "joined", None)
    assert _rel(comment, "user") == ("sa-many-to-one", "User", "user_id", "select", None)
    assert post.fields["body"].deferred and not post.fields["title"].deferred
    assert (post.fields["status"].db_index, user.fields["email"].unique) == (True, True)
    assert comment.fields["user_id"].nullable and not comment.fields["post_id"].nullable
    assert (post.fields["title"].type, post.fields["author_id"].type) == ("varchar(200)", "integer")


def test_fixture_schema(app: ProjectIndex) -> None:
    schema: Schema = app.facts["model_schema"]
    assert _indexes(schema, "posts") == {
        (("id",), True, None), (("status",), False, None), (("author_id", "created_at"), False, None)}
    assert _indexes(schema, "comments") == {(("id",), True, None), (("user_id",), False, None)}  # post_id: none
    assert _indexes(schema, "post_tags") == {(("post_id", "tag_id"), True, None)}
    comments = schema.table("comments")
    assert comments is not None
    assert sorted((fk.columns, fk.ref_table, fk.ref_columns) for fk in comments.foreign_keys) == [
        (("post_id",), "posts", ("id",)), (("user_id",), "users", ("id",))]


def _pg_indexes(dsn: str, tables: list[str]) -> dict[str, set[tuple[tuple[str, ...], bool]]]:
    import psycopg

    query = """
        SELECT t.relname, ix.indisunique,
               ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k + 1, true)
                     FROM generate_subscripts(ix.indkey, 1) AS k ORDER BY k)
        FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid WHERE t.relname = ANY(%s)"""
    out: dict[str, set[tuple[tuple[str, ...], bool]]] = {t: set() for t in tables}
    with psycopg.connect(dsn) as conn:
        for rel, unique, cols in conn.execute(query, (tables,)):
            out[rel].add((tuple(cols), unique))
    return out


def test_model_schema_matches_postgresql_after_alembic(scratch_db: str, tmp_path: Any, app: ProjectIndex) -> None:
    from psycopg.conninfo import conninfo_to_dict

    root = os.path.join(str(tmp_path), "sqlalchemy_app")
    shutil.copytree(APP, root, ignore=shutil.ignore_patterns("__pycache__", ".querylint_cache"))
    p = conninfo_to_dict(scratch_db)
    url = f"postgresql://{p.get('user', 'postgres')}@{p.get('host', '127.0.0.1')}:{p.get('port', 5432)}/{p['dbname']}"
    env = {**os.environ, "QUERYLINT_TEST_DSN": url, "PYTHONPATH": root}
    for cmd in (["upgrade", "head"], ["check"]):
        proc = subprocess.run([sys.executable, "-m", "alembic", *cmd], cwd=root, env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    schema: Schema = app.facts["model_schema"]
    tables = sorted(schema.tables)
    real = _pg_indexes(scratch_db, tables)
    for table in tables:
        ours = {(k, u) for k, u, _ in _indexes(schema, table)}
        assert ours == real[table], table


# -- inline sources ------------------------------------------------------------------------------------

def test_declarative_base_backref_and_uselist() -> None:
    reg = _models({
        "m/__init__.py": "",
        "m/base.py": "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n",
        "m/models.py": (
            "import sqlalchemy as sa\nfrom sqlalchemy.orm import relationship, backref\nfrom m.base import Base\n"
            "class Parent(Base):\n"
            "    __tablename__ = 'parent'\n"
            "    id = sa.Column(sa.Integer, primary_key=True)\n"
            "    children = relationship('Child', backref=backref('parent', lazy='joined'), lazy='dynamic')\n"
            "    profile = relationship('Profile', uselist=False, backref='owner')\n"
            "class Child(Base):\n"
            "    __tablename__ = 'child'\n"
            "    id = sa.Column(sa.Integer, primary_key=True)\n"
            "    parent_id = sa.Column('parent_ref', sa.ForeignKey('parent.id'), nullable=False, index=True)\n"
            "class Profile(Base):\n"
            "    __tablename__ = 'profile'\n"
            "    id = sa.Column(sa.Integer, primary_key=True)\n"
            "    parent_id = sa.Column(sa.Integer, sa.ForeignKey('parent.id'), unique=True)\n"
        ),
    }).models
    parent, child, profile = reg["Parent"], reg["Child"], reg["Profile"]
    assert _rel(parent, "children") == ("sa-collection", "Child", None, "dynamic", None)
    assert _rel(child, "parent") == ("sa-many-to-one", "Parent", "parent_ref", "joined", None)
    assert _rel(parent, "profile") == ("sa-many-to-one", "Profile", None, "select", None)
    assert _rel(profile, "owner") == ("sa-many-to-one", "Parent", "parent_id", "select", None)
    assert child.fields["parent_id"].column == "parent_ref"


def test_flask_sqlalchemy_default_tablenames_and_mixins() -> None:
    project = _project({
        "app/__init__.py": "",
        "app/ext.py": "from flask_sqlalchemy import SQLAlchemy\ndb = SQLAlchemy()\n",
        "app/models.py": (
            "from app.ext import db\n"
            "class TimestampMixin:\n"
            "    created_at = db.Column(db.DateTime, index=True)\n"
            "class UserAccount(TimestampMixin, db.Model):\n"
            "    id = db.Column(db.Integer, primary_key=True)\n"
            "    email = db.Column(db.String(120), unique=True, nullable=False)\n"
            "    posts = db.relationship('BlogPost', backref='author', lazy=True)\n"
            "class BlogPost(db.Model):\n"
            "    id = db.Column(db.Integer, primary_key=True)\n"
            "    user_account_id = db.Column(db.Integer, db.ForeignKey('user_account.id'))\n"
        ),
    })
    reg = project.models.models
    assert (reg["UserAccount"].table, reg["BlogPost"].table) == ("user_account", "blog_post")
    assert _rel(reg["UserAccount"], "posts") == ("sa-collection", "BlogPost", None, "select", None)
    assert _rel(reg["BlogPost"], "author") == ("sa-many-to-one", "UserAccount", "user_account_id", "select", None)
    assert reg["UserAccount"].fields["created_at"].db_index  # from the mixin
    assert "TimestampMixin" not in reg
    schema: Schema = project.facts["model_schema"]
    assert _indexes(schema, "user_account") == {
        (("id",), True, None), (("email",), True, None), (("created_at",), False, None)}
    assert _indexes(schema, "blog_post") == {(("id",), True, None)}


def test_table_args_standalone_index_core_table_and_registry() -> None:
    project = _project({
        "s/__init__.py": "",
        "s/models.py": (
            "from typing import Optional\n"
            "from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, UniqueConstraint, func, text\n"
            "from sqlalchemy.orm import Mapped, column_property, mapped_column, registry, relationship\n"
            "reg = registry()\nBase = reg.generate_base()\nmetadata = MetaData()\n"
            "audit = Table('audit', metadata, Column('id', Integer, primary_key=True),\n"
            "              Column('account_id', ForeignKey('account.id')), Index('ix_audit_acc', 'account_id'))\n"
            "class Account(Base):\n"
            "    __tablename__ = 'account'\n"
            "    __table_args__ = (Index('ix_acc_email_lower', func.lower('email')),\n"
            "                      Index('ix_live', 'owner_id', postgresql_where=text('deleted_at IS NULL')),\n"
            "                      UniqueConstraint('owner_id', 'name'), {'schema': None})\n"
            "    id: Mapped[int] = mapped_column(primary_key=True)\n"
            "    name: Mapped[str] = mapped_column(String(50))\n"
            "    email: Mapped[Optional[str]]\n"
            "    owner_id: Mapped[int | None] = mapped_column(ForeignKey('account.id'))\n"
            "    name_upper = column_property(func.upper(name))\n"
            "    owner: Mapped[Optional['Account']] = relationship(remote_side=[id])\n"
            "    events: Mapped[list['Event']] = relationship(lazy='raise')\n"
            "class Event(Base):\n"
            "    __tablename__ = 'event'\n"
            "    id: Mapped[int] = mapped_column(primary_key=True)\n"
            "    account_id: Mapped[int] = mapped_column(ForeignKey('account.id'))\n"
            "    kind: Mapped[str]\n"
            "Index('ix_event_kind', Event.kind.desc(), Event.account_id)\n"
        ),
    })
    reg = project.models.models
    acc = reg["Account"]
    assert _rel(acc, "owner") == ("sa-many-to-one", "Account", "owner_id", "select", None)
    assert _rel(acc, "events") == ("sa-collection", "Event", None, "raise", None)
    assert (acc.fields["email"].nullable, acc.fields["name"].nullable, acc.fields["owner_id"].nullable) == (True, False, True)
    assert "name_upper" in acc.fields
    schema: Schema = project.facts["model_schema"]
    assert _indexes(schema, "account") == {
        (("id",), True, None), (("(lower('email'))",), False, None), (("owner_id",), False, "deleted_at IS NULL"),
        (("owner_id", "name"), True, None)}
    assert "name_upper" not in schema.tables["account"].columns
    assert _indexes(schema, "event") == {(("id",), True, None), (("kind DESC", "account_id"), False, None)}
    assert _indexes(schema, "audit") == {(("id",), True, None), (("account_id",), False, None)}


def test_single_table_inheritance_and_abstract_base() -> None:
    reg = _models({
        "p/__init__.py": "",
        "p/models.py": (
            "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n"
            "class Base(DeclarativeBase):\n    pass\n"
            "class Stamped(Base):\n    __abstract__ = True\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
            "class Employee(Stamped):\n    __tablename__ = 'employee'\n    type: Mapped[str]\n"
            "class Manager(Employee):\n    budget: Mapped[int | None] = mapped_column(nullable=True)\n"
        ),
    }).models
    assert sorted(reg) == ["Employee", "Manager"]
    assert (reg["Employee"].table, reg["Manager"].table) == ("employee", "employee")
    assert reg["Employee"].fields["id"].primary_key


def test_flask_tablename() -> None:
    assert [flask_tablename(n) for n in ("User", "UserAccount", "HTTPRequest", "OAuth2Token")] == [
        "user", "user_account", "http_request", "o_auth2_token"]


def test_broken_sqlalchemy_sources_do_not_crash() -> None:
    reg = _models({
        "b/__init__.py": "",
        "b/models.py": (
            "from sqlalchemy.orm import declarative_base, relationship\nfrom sqlalchemy import Column, Index\n"
            "Base = declarative_base()\n"
            "class A(Base):\n"
            "    __tablename__ = get_name()\n"
            "    __table_args__ = make_args()\n"
            "    x = Column()\n"
            "    r = relationship()\n"
            "    s = relationship(lambda: B, lazy=compute())\n"
            "Index()\nIndex('i', unknown.thing)\n"
        ),
    }).models
    assert list(reg) == ["A"]


def test_composite_foreign_key_constraint_and_foreign_keys_argument() -> None:
    reg = _models({
        "r/__init__.py": "",
        "r/models.py": (
            "from sqlalchemy import Column, ForeignKeyConstraint, String, PrimaryKeyConstraint\n"
            "from sqlalchemy.orm import declarative_base, relationship, backref\n"
            "Base = declarative_base()\n"
            "class Registered(Base):\n"
            "    __tablename__ = 'registered_models'\n"
            "    workspace = Column(String(63), primary_key=True)\n"
            "    name = Column(String(256), primary_key=True)\n"
            "class Tag(Base):\n"
            "    __tablename__ = 'tags'\n"
            "    workspace = Column(String(63))\n"
            "    name = Column(String(256))\n"
            "    key = Column(String(250))\n"
            "    registered = relationship('Registered', backref=backref('tags', cascade='all'))\n"
            "    __table_args__ = (ForeignKeyConstraint(['workspace', 'name'],\n"
            "                                           ['registered_models.workspace', 'registered_models.name']),\n"
            "                      PrimaryKeyConstraint('workspace', 'key', 'name'))\n"
            "class Alias(Base):\n"
            "    __tablename__ = 'aliases'\n"
            "    id = Column(String(10), primary_key=True)\n"
            "    workspace = Column(String(63))\n"
            "    name = Column(String(256))\n"
            "    registered = relationship('Registered', foreign_keys=[workspace, name],\n"
            "                              primaryjoin='and_(Alias.workspace == Registered.workspace)')\n"
        ),
    }).models
    assert _rel(reg["Tag"], "registered") == ("sa-many-to-one", "Registered", "workspace", "select", None)
    assert _rel(reg["Registered"], "tags") == ("sa-collection", "Tag", None, "select", None)
    assert _rel(reg["Alias"], "registered") == ("sa-many-to-one", "Registered", "workspace", "select", None)


def test_migration_copies_get_qualified_keys_and_resolve_in_their_module() -> None:
    model = (
        "from sqlalchemy import Column, ForeignKey, Integer\nfrom sqlalchemy.orm import declarative_base, relationship\n"
        "Base = declarative_base()\n"
        "class Run(Base):\n    __tablename__ = 'runs'\n    id = Column(Integer, primary_key=True)\n"
        "class Metric(Base):\n    __tablename__ = 'metrics'\n    id = Column(Integer, primary_key=True)\n"
        "    run_id = Column(Integer, ForeignKey('runs.id'))\n    run = relationship('Run', backref='metrics')\n"
    )
    reg = _models({
        "store/__init__.py": "", "store/models.py": model,
        "store/migrations/__init__.py": "", "store/migrations/versions/__init__.py": "",
        "store/migrations/versions/abc_copy.py": model,
    }).models
    assert sorted(reg) == ["Metric", "Run", "store.migrations.versions.abc_copy.Metric",
                           "store.migrations.versions.abc_copy.Run"]
    assert reg["Run"].path == "store/models.py"
    assert _rel(reg["Metric"], "run")[1] == "Run"
    assert _rel(reg["store.migrations.versions.abc_copy.Metric"], "run")[1] == "store.migrations.versions.abc_copy.Run"
    assert _rel(reg["Run"], "metrics") == ("sa-collection", "Metric", None, "select", None)


def test_library_bases_and_tablename_on_unseen_base() -> None:
    reg = _models({
        "f/__init__.py": "",
        "f/models.py": (
            "from flask_appbuilder import Model\nfrom sqlalchemy import Column, Integer, String\n"
            "from other_pkg.models import CoreThing\n"
            "class Report(Model):\n    __tablename__ = 'report'\n    id = Column(Integer, primary_key=True)\n"
            "class Thing(CoreThing):\n    __tablename__ = 'things'\n    label = Column(String(10))\n"
            "class NotMapped(CoreThing):\n    label = Column(String(10))\n"
        ),
    }).models
    assert {k: m.table for k, m in reg.items()} == {"Report": "report", "Thing": "things"}


def test_index_name_as_fstring_and_text_keys() -> None:
    project = _project({
        "i/__init__.py": "",
        "i/models.py": (
            "import sqlalchemy as sa\nfrom sqlalchemy import Column, Index, Integer\n"
            "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
            "class Version(Base):\n"
            "    __tablename__ = 'versions'\n"
            "    id = Column(Integer, primary_key=True)\n"
            "    major = Column(Integer)\n    minor = Column(Integer)\n"
            "    __table_args__ = (Index(f'index_{__tablename__}_major', 'major'),\n"
            "                      Index(None, sa.text('major DESC'), sa.text('minor')))\n"
        ),
    })
    schema: Schema = project.facts["model_schema"]
    assert _indexes(schema, "versions") == {
        (("id",), True, None), (("major",), False, None), (("major DESC", "minor"), False, None)}
