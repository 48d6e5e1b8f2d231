"""The schema built from SQL DDL, Django migrations, Alembic revisions and the models."""

from __future__ import annotations

import textwrap

from querylint.diagnostics import IndexKey
from querylint.engine import parse_file
from querylint.migrations import build_schema, gather
from querylint.models import Framework, Model, ModelRegistry
from querylint.project import ProjectIndex
from querylint.schema import Column, ForeignKey, Index, Schema, Table
from querylint.source import Language, SourceFile, Span


def index(files: dict[str, str], *, facts: dict[str, object] | None = None, models: ModelRegistry | None = None) -> ProjectIndex:
    pfs = {}
    for path, text in files.items():
        lang = Language.for_path(path)
        assert lang is not None
        pfs[path] = parse_file(SourceFile(path, textwrap.dedent(text), lang))
    project = ProjectIndex(root=".", files=pfs)
    if facts:
        project.facts.update(facts)
    if models is not None:
        project.models = models
    gather(project)
    build_schema(project)
    return project


def indexes(project: ProjectIndex, table: str) -> list[tuple[str | None, tuple[str, ...], str | None, bool, bool]]:
    t = project.schema.table(table)
    assert t is not None
    return [(i.name, tuple(k.text for k in i.keys), i.predicate, i.unique, i.implicit) for i in t.indexes]


def line_of(project: ProjectIndex, span: Span | None) -> tuple[str, int]:
    assert span is not None
    src = project.source(span.path)
    assert src is not None
    return span.path, src.location(span.start)[0]


SCHEMA_SQL = """\
CREATE TABLE customers (
    id bigserial PRIMARY KEY,
    email varchar(255) NOT NULL UNIQUE
);

CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    status text NOT NULL DEFAULT 'open',
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE INDEX orders_customer_created ON orders (customer_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX orders_lower_status ON orders USING btree (lower(status)) INCLUDE (id);
"""


def test_plain_sql_schema_file() -> None:
    project = index({"db/schema.sql": SCHEMA_SQL})
    orders = project.schema.table("orders")
    assert orders is not None
    assert {n: (c.type, c.nullable, c.primary_key) for n, c in orders.columns.items()} == {
        "id": ("bigint", False, True),
        "customer_id": ("bigint", False, False),
        "status": ("text", False, False),
        "created_at": ("timestamptz", False, False),
        "deleted_at": ("timestamptz", True, False),
    }
    assert indexes(project, "orders") == [
        ("orders_pkey", ("id",), None, True, True),
        ("orders_customer_created", ("customer_id", "created_at DESC"), "deleted_at IS NULL", False, False),
        ("orders_lower_status", ("(lower(status))",), None, True, False),
    ]
    assert orders.indexes[2].include == ("id",)
    assert indexes(project, "customers") == [
        ("customers_pkey", ("id",), None, True, True),
        ("customers_email_key", ("email",), None, True, True),
    ]
    assert [(f.columns, f.ref_table, f.ref_columns) for f in orders.foreign_keys] == [(("customer_id",), "customers", ("id",))]
    assert line_of(project, orders.indexes[1].provenance) == ("db/schema.sql", 14)
    assert line_of(project, orders.columns["status"].provenance) == ("db/schema.sql", 6)


def test_sql_migrations_applied_in_path_order_with_drops_and_renames() -> None:
    files = {
        "migrations/001_init.sql": "CREATE TABLE items (id int PRIMARY KEY, sku text, price numeric);\nCREATE INDEX items_sku ON items (sku);\n",
        "migrations/002_change.sql": (
            "ALTER TABLE items RENAME COLUMN sku TO code;\n"
            "ALTER TABLE items ADD CONSTRAINT items_code_key UNIQUE (code);\n"
            "ALTER TABLE items DROP COLUMN price;\n"
            "ALTER TABLE items RENAME TO products;\n"
        ),
        "migrations/003_drop.sql": "DROP INDEX items_sku;\n",
    }
    project = index(files)
    assert project.schema.table("items") is None
    products = project.schema.table("products")
    assert products is not None
    assert list(products.columns) == ["id", "code"]
    # PostgreSQL keeps index names on RENAME TABLE
    assert indexes(project, "products") == [
        ("items_pkey", ("id",), None, True, True),
        ("items_code_key", ("code",), None, True, True),
    ]


DJANGO_0001 = '''\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Author",
            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
        ),
        migrations.CreateModel(
            name="Book",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("title", models.CharField(max_length=200)),
                ("author", models.ForeignKey(on_delete=models.CASCADE, to="library.author")),
                ("editor", models.ForeignKey(db_index=False, on_delete=models.CASCADE, related_name="+", to="library.author")),
            ],
            options={"unique_together": {("author", "title")}},
        ),
    ]
'''

DJANGO_0002 = '''\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]
    operations = [
        migrations.AddIndex(
            model_name="book",
            index=models.Index(fields=["title"], name="book_live_title", condition=models.Q(deleted_at__isnull=True)),
        ),
        migrations.RenameField(model_name="book", old_name="title", new_name="name"),
        migrations.RemoveIndex(model_name="book", name="nope"),
    ]
'''


def test_django_migrations_build_tables_fks_and_automatic_indexes() -> None:
    project = index({"library/migrations/0001_initial.py": DJANGO_0001, "library/migrations/0002_idx.py": DJANGO_0002})
    book = project.schema.table("library_book")
    assert book is not None
    assert list(book.columns) == ["id", "name", "author_id", "editor_id"]
    assert indexes(project, "library_book") == [
        ("library_book_pkey", ("id",), None, True, True),
        ("library_book_author_id_idx", ("author_id",), None, False, True),
        ("library_book_author_id_title_uniq", ("author_id", "name"), None, True, True),
        ("book_live_title", ("name",), "deleted_at IS NULL", False, False),
    ]
    assert sorted((f.columns, f.ref_table) for f in book.foreign_keys) == [
        (("author_id",), "library_author"), (("editor_id",), "library_author"),
    ]
    # provenance: the automatic FK index sits on the ForeignKey field, the partial index on its Index()
    assert line_of(project, book.indexes[1].provenance) == ("library/migrations/0001_initial.py", 17)
    assert line_of(project, book.indexes[3].provenance) == ("library/migrations/0002_idx.py", 9)


ALEMBIC = '''\
from alembic import op
import sqlalchemy as sa

revision = "r1"
down_revision = None


def upgrade():
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("kind", sa.String(20), index=True),
    )
    op.create_index("ix_events_user_kind", "events", ["user_id", "kind"], unique=True, postgresql_using="btree")
    op.drop_index("ix_events_kind", table_name="events")
'''


def test_alembic_chain_builds_schema() -> None:
    project = index({"alembic/versions/r1.py": ALEMBIC})
    assert indexes(project, "events") == [
        ("events_pkey", ("id",), None, True, True),
        ("ix_events_user_kind", ("user_id", "kind"), None, True, False),
    ]
    events = project.schema.table("events")
    assert events is not None and [(f.columns, f.ref_table) for f in events.foreign_keys] == [(("user_id",), "users")]
    assert line_of(project, events.columns["kind"].provenance) == ("alembic/versions/r1.py", 13)


def test_model_overlay_adds_missing_facts_without_duplicates() -> None:
    span = Span("library/models.py", 0, 10)
    ms = Schema()
    ms.tables["library_book"] = Table(
        "library_book",
        columns={"id": Column("id", "bigint", False, primary_key=True, provenance=span),
                 "isbn": Column("isbn", "varchar(13)", provenance=span)},
        indexes=[
            Index("library_book", (IndexKey(column="author_id"),), name="other_name_same_index", provenance=span),
            Index("library_book", (IndexKey(column="isbn"),), unique=True, name="book_isbn", provenance=span),
        ],
        foreign_keys=[ForeignKey("library_book", ("author_id",), "library_author", provenance=span)],
        model="library.Book",
        sources={"django-model"},
    )
    ms.tables["library_shelf"] = Table("library_shelf", columns={"id": Column("id", "bigint", False, True)}, model="library.Shelf")
    reg = ModelRegistry()
    reg.add(Model("library.Author", "Author", Framework.DJANGO, "library_author", "library.models", "library/models.py"))
    project = index({"library/migrations/0001_initial.py": DJANGO_0001}, facts={"model_schema": ms}, models=reg)
    book = project.schema.table("library_book")
    assert book is not None
    assert list(book.columns) == ["id", "title", "author_id", "editor_id", "isbn"]
    assert [i.name for i in book.indexes] == [
        "library_book_pkey", "library_book_author_id_idx", "library_book_author_id_title_uniq", "book_isbn",
    ]
    assert len(book.foreign_keys) == 2
    assert book.model == "library.Book"
    assert project.schema.table("library_shelf") is not None
    author = project.schema.table("library_author")
    assert author is not None and author.model == "library.Author"


FIXTURES = __import__("pathlib").Path(__file__).resolve().parent.parent / "fixtures"


def fixture_index(name: str) -> ProjectIndex:
    from querylint.config import Config
    from querylint.engine import Engine

    root = FIXTURES / name
    project = Engine(Config(root=str(root), cache=False), rules=[]).build_index([str(root)])
    # other front ends' failures are their tests' business; ours must not fail
    assert [e for e in project.facts["index_errors"] if e.startswith(("migrations", "schema"))] == []
    return project


def test_django_shop_fixture_schema() -> None:
    project = fixture_index("django_shop")
    order = project.schema.table("orders_order")
    assert order is not None
    by_name = {i.name: i for i in order.indexes}
    partial = by_name["order_open_reference_uniq"]
    assert ([k.column for k in partial.keys], partial.predicate, partial.unique) == (["reference"], "status = 'open'", True)
    fk_index = by_name["orders_order_customer_id_idx"]
    assert ([k.column for k in fk_index.keys], fk_index.implicit) == (["customer_id"], True)
    assert [(f.columns, f.ref_table) for f in order.foreign_keys] == [(("customer_id",), "orders_customer")]
    assert order.columns["customer_id"].type == "bigint"
    category = project.schema.table("catalog_category")
    assert category is not None and category.columns["parent_id"].type == "bigint"  # a "self" FK
    # the initial migrations create every table they touch: nothing runs on an existing table
    django = [m for m in project.migrations if m.framework.value == "django"]
    assert {m.app_label for m in django} >= {"accounts", "catalog", "orders"}
    initial = [m for m in django if m.name == "0001_initial"]
    assert all(op.table_is_new for m in initial for op in m.ops)
    assert project.facts["migration_unknown_ops"] == {}


def test_sqlalchemy_app_fixture_schema() -> None:
    project = fixture_index("sqlalchemy_app")
    comments = project.schema.table("comments")
    assert comments is not None
    assert [(i.name, tuple(k.column for k in i.keys)) for i in comments.indexes] == [
        ("comments_pkey", ("id",)), ("ix_comments_user_id", ("user_id",)),
    ]
    assert sorted((f.columns, f.ref_table) for f in comments.foreign_keys) == [(("post_id",), "posts"), (("user_id",), "users")]
    revisions = [m for m in project.migrations if m.framework.value == "alembic"]
    assert revisions[0].revision == "1a2b3c4d5e6f" and revisions[0].down_revision == ()


def test_django_many_to_many_through_table_and_field_provenance() -> None:
    src = '''\
    from django.db import migrations, models


    class Migration(migrations.Migration):
        initial = True
        dependencies = []
        operations = [
            migrations.CreateModel(name="Tag", fields=[("id", models.BigAutoField(primary_key=True))]),
            migrations.CreateModel(
                name="Post",
                fields=[
                    ("id", models.BigAutoField(primary_key=True)),
                    ("title", models.CharField(max_length=100)),
                    ("tags", models.ManyToManyField(to="blog.tag")),
                    ("related", models.ManyToManyField(to="blog.post")),
                ],
            ),
        ]
    '''
    project = index({"blog/migrations/0001_initial.py": src})
    through = project.schema.table("blog_post_tags")
    assert through is not None
    assert {n: c.type for n, c in through.columns.items()} == {"id": "bigint", "post_id": "bigint", "tag_id": "bigint"}
    assert sorted((f.columns, f.ref_table) for f in through.foreign_keys) == [(("post_id",), "blog_post"), (("tag_id",), "blog_tag")]
    assert indexes(project, "blog_post_tags") == [
        ("blog_post_tags_pkey", ("id",), None, True, True),
        ("blog_post_tags_post_id_tag_id_uniq", ("post_id", "tag_id"), None, True, True),
        ("blog_post_tags_post_id_idx", ("post_id",), None, False, True),
        ("blog_post_tags_tag_id_idx", ("tag_id",), None, False, True),
    ]
    self_rel = project.schema.table("blog_post_related")
    assert self_rel is not None and list(self_rel.columns) == ["id", "from_post_id", "to_post_id"]
    post = project.schema.table("blog_post")
    assert post is not None and list(post.columns) == ["id", "title"]
    assert line_of(project, post.columns["title"].provenance) == ("blog/migrations/0001_initial.py", 13)
    assert all(op.table_is_new for op in project.migrations[0].ops)


def test_sql_table_level_constraints() -> None:
    sql = """\
CREATE TABLE line_items (
    order_id bigint NOT NULL,
    line_no int NOT NULL,
    sku text,
    PRIMARY KEY (order_id, line_no),
    CONSTRAINT line_items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id),
    UNIQUE (order_id, sku)
);
"""
    project = index({"db/schema.sql": sql})
    assert indexes(project, "line_items") == [
        ("line_items_order_id_sku_key", ("order_id", "sku"), None, True, True),
        ("line_items_pkey", ("order_id", "line_no"), None, True, True),
    ]
    t = project.schema.table("line_items")
    assert t is not None
    assert [(f.name, f.columns, f.ref_table, f.ref_columns) for f in t.foreign_keys] == [
        ("line_items_order_fk", ("order_id",), "orders", ("id",)),
    ]
    assert t.columns["order_id"].primary_key and t.columns["line_no"].primary_key


# -- primary keys are indexes (issue 4) -------------------------------------------------------------


def schema_of(files: dict[str, str]) -> Schema:
    """The schema of a whole project (models gathered too), built the way ``querylint check`` builds it."""
    from querylint.testing import lint_files

    r = lint_files({p: textwrap.dedent(t) for p, t in files.items()}, select=["QL304"])
    assert r.project is not None
    assert r.project.facts.get("index_errors", []) == []
    return r.project.schema


def keys_of(schema: Schema, table: str) -> list[tuple[str | None, tuple[str, ...], bool, bool]]:
    t = schema.table(table)
    assert t is not None, table
    return [(i.name, tuple(k.text for k in i.keys), i.unique, i.primary) for i in t.indexes]


def test_sql_primary_key_added_later_and_named() -> None:
    sql = """\
CREATE TABLE orders (id bigint PRIMARY KEY);
CREATE TABLE order_items (order_id bigint NOT NULL REFERENCES orders (id), line int NOT NULL);
ALTER TABLE order_items ADD PRIMARY KEY (order_id, line);
CREATE TABLE notes (order_id bigint NOT NULL, n int NOT NULL, CONSTRAINT notes_pk PRIMARY KEY (order_id, n));
CREATE TABLE tags (id bigint CONSTRAINT tags_pk PRIMARY KEY);
ALTER TABLE tags DROP CONSTRAINT tags_pk;
ALTER TABLE tags ADD CONSTRAINT tags_id_pk PRIMARY KEY (id);
"""
    project = index({"db/schema.sql": sql})
    # PostgreSQL names an unnamed primary key <table>_pkey, whatever its columns
    assert indexes(project, "order_items") == [("order_items_pkey", ("order_id", "line"), None, True, True)]
    assert indexes(project, "notes") == [("notes_pk", ("order_id", "n"), None, True, True)]
    assert indexes(project, "tags") == [("tags_id_pk", ("id",), None, True, True)]
    t = project.schema.table("order_items")
    assert t is not None and t.columns["order_id"].primary_key and not t.columns["order_id"].nullable


def test_sql_composite_primary_key_serves_its_leading_foreign_key() -> None:
    from querylint.testing import lint_files

    ddl = (
        "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
        "CREATE TABLE products (id bigint PRIMARY KEY);\n"
        "CREATE TABLE order_items (\n"
        "    order_id bigint NOT NULL REFERENCES orders (id),\n"
        "    product_id bigint NOT NULL REFERENCES products (id),\n"
        "    qty int NOT NULL\n"
        ");\n"
        "ALTER TABLE order_items ADD PRIMARY KEY (order_id, product_id);\n"
    )
    r = lint_files({"db/schema.sql": ddl}, select=["QL304"])
    assert [(d.code, r.sources[d.span.path].location(d.span.start)[0], d.message) for d in r.diagnostics] == [
        ("QL304", 3, "Foreign key `order_items` (product_id) -> `products` has no index leading with product_id: "
                     "deletes on `products` and joins from it scan `order_items`"),
    ]


ALEMBIC_PK = '''\
from alembic import op
import sqlalchemy as sa

revision = "r1"
down_revision = None


def upgrade():
    op.create_table("orders", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_table(
        "order_items",
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
    )
    op.create_primary_key("pk_order_items", "order_items", ["order_id", "line"])
    op.create_table(
        "links",
        sa.Column("a", sa.Integer(), nullable=False),
        sa.Column("b", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["b"], ["orders.id"]),
        sa.PrimaryKeyConstraint("b", "a", name="links_pk"),
    )
    op.create_table(
        "pairs",
        sa.Column("x", sa.Integer(), sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("y", sa.Integer(), primary_key=True),
    )
    op.drop_constraint("links_pk", "links", type_="primary")
    op.create_primary_key("links_pkey", "links", ["a", "b"])
'''


def test_alembic_primary_keys() -> None:
    project = index({"alembic/versions/r1.py": ALEMBIC_PK})
    assert indexes(project, "order_items") == [("pk_order_items", ("order_id", "line"), None, True, True)]
    assert indexes(project, "pairs") == [("pairs_pkey", ("x", "y"), None, True, True)]
    # the named key was dropped by its name, then re-created in another order
    assert indexes(project, "links") == [("links_pkey", ("a", "b"), None, True, True)]
    # a foreign key of create_table points at its own ForeignKeyConstraint / Column, not the whole call
    links, items = project.schema.table("links"), project.schema.table("order_items")
    assert links is not None and items is not None
    assert line_of(project, links.foreign_keys[0].provenance) == ("alembic/versions/r1.py", 20)
    assert line_of(project, items.foreign_keys[0].provenance) == ("alembic/versions/r1.py", 12)


SA_MODELS = '''\
from sqlalchemy import Column, ForeignKey, Integer, MetaData, PrimaryKeyConstraint, Table
from sqlalchemy.orm import Mapped, declarative_base, mapped_column

Base = declarative_base()
metadata = MetaData()


class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)


class OrderItem(Base):
    __tablename__ = "order_items"
    order_id = Column(Integer, ForeignKey("orders.id"))
    line = Column(Integer)
    __table_args__ = (PrimaryKeyConstraint("order_id", "line"),)


class Note(Base):
    __tablename__ = "notes"
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    n: Mapped[int] = mapped_column()
    __table_args__ = (PrimaryKeyConstraint(n, order_id),)


class Pair(Base):
    __tablename__ = "pairs"
    order_id = Column(Integer, ForeignKey("orders.id"), primary_key=True)
    other = Column(Integer, primary_key=True)


links = Table(
    "links",
    metadata,
    Column("order_id", Integer, ForeignKey("orders.id")),
    Column("tag", Integer),
    PrimaryKeyConstraint("tag", "order_id"),
)
'''


def test_sqlalchemy_composite_primary_keys() -> None:
    from querylint.testing import lint_files

    schema = schema_of({"app/models.py": SA_MODELS})
    assert keys_of(schema, "order_items") == [("order_items_pkey", ("order_id", "line"), True, True)]
    assert keys_of(schema, "notes") == [("notes_pkey", ("n", "order_id"), True, True)]  # the constraint's order
    assert keys_of(schema, "pairs") == [("pairs_pkey", ("order_id", "other"), True, True)]
    assert keys_of(schema, "links") == [("links_pkey", ("tag", "order_id"), True, True)]
    notes = schema.table("notes")
    assert notes is not None and notes.columns["order_id"].primary_key and not notes.columns["order_id"].nullable
    r = lint_files({"app/models.py": SA_MODELS}, select=["QL304"])
    assert sorted((r.sources[d.span.path].location(d.span.start)[0], d.message) for d in r.diagnostics) == [
        (22, "Foreign key `notes` (order_id) -> `orders` has no index leading with order_id: deletes on `orders` and joins from it scan `notes`"),
        (36, "Foreign key `links` (order_id) -> `orders` has no index leading with order_id: deletes on `orders` and joins from it scan `links`"),
    ]


# -- Django: default indexes, *_together forms, AlterField / RemoveField, inheritance (issue 4) ---------

DJANGO_FIELDS_0001 = '''\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Redirect",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("old_path", models.CharField(max_length=255, unique=True, db_index=True)),
                ("slug", models.SlugField()),
                ("plain_slug", models.SlugField(db_index=False)),
                ("code", models.SlugField(unique=True)),
                ("site", models.IntegerField()),
                ("note", models.TextField(db_index=True)),
            ],
            options={"unique_together": set([("site", "slug")]), "index_together": [["site", "code"]]},
        ),
        migrations.CreateModel(
            name="Pair",
            fields=[("id", models.AutoField(primary_key=True)), ("a", models.IntegerField()), ("b", models.IntegerField())],
            options={"unique_together": ("a", "b")},
        ),
    ]
'''

DJANGO_FIELDS_0002 = '''\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("redirects", "0001_initial")]
    operations = [
        migrations.AlterField(
            model_name="redirect", name="old_path", field=models.CharField(max_length=255, db_index=True),
        ),
        migrations.AlterField(model_name="redirect", name="note", field=models.TextField()),
        migrations.AlterField(model_name="redirect", name="site", field=models.IntegerField(unique=True)),
        migrations.RemoveField(model_name="redirect", name="slug"),
    ]
'''


def test_django_default_indexes_and_together_forms() -> None:
    project = index({"redirects/migrations/0001_initial.py": DJANGO_FIELDS_0001})
    assert indexes(project, "redirects_redirect") == [
        ("redirects_redirect_pkey", ("id",), None, True, True),
        ("redirects_redirect_old_path_uniq", ("old_path",), None, True, True),
        ("redirects_redirect_slug_idx", ("slug",), None, False, False),  # SlugField: db_index=True by default
        ("redirects_redirect_code_uniq", ("code",), None, True, True),
        ("redirects_redirect_note_idx", ("note",), None, False, False),
        ("redirects_redirect_site_slug_uniq", ("site", "slug"), None, True, True),  # set([...])
        ("redirects_redirect_site_code_idx", ("site", "code"), None, False, False),
    ]
    assert indexes(project, "redirects_pair") == [
        ("redirects_pair_pkey", ("id",), None, True, True),
        ("redirects_pair_a_b_uniq", ("a", "b"), None, True, True),  # the single-group form ("a", "b")
    ]


def test_django_alter_field_and_remove_field_change_indexes() -> None:
    project = index({"redirects/migrations/0001_initial.py": DJANGO_FIELDS_0001,
                     "redirects/migrations/0002_alter.py": DJANGO_FIELDS_0002})
    assert indexes(project, "redirects_redirect") == [
        ("redirects_redirect_pkey", ("id",), None, True, True),
        ("redirects_redirect_code_uniq", ("code",), None, True, True),
        ("redirects_redirect_site_code_idx", ("site", "code"), None, False, False),
        # unique=True removed (db_index stays): the constraint goes, a plain index comes
        ("redirects_redirect_old_path_idx", ("old_path",), None, False, False),
        ("redirects_redirect_site_uniq", ("site",), None, True, True),
    ]  # note's db_index dropped; slug's index and the (site, slug) unique went with the column


def test_django_unique_dropped_by_alter_field_is_not_redundant() -> None:
    from querylint.testing import lint_files

    r = lint_files({"redirects/migrations/0001_initial.py": DJANGO_FIELDS_0001,
                    "redirects/migrations/0002_alter.py": DJANGO_FIELDS_0002}, select=["QL305"])
    assert r.diagnostics == []


DJANGO_MTI = '''\
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Page",
            fields=[("id", models.AutoField(auto_created=True, primary_key=True, serialize=False)),
                    ("title", models.CharField(max_length=100))],
        ),
        migrations.CreateModel(
            name="BlogPage",
            fields=[
                ("page_ptr", models.OneToOneField(auto_created=True, on_delete=django.db.models.deletion.CASCADE,
                                                  parent_link=True, primary_key=True, serialize=False, to="blog.page")),
                ("body", models.TextField()),
            ],
            bases=("blog.page",),
        ),
    ]
'''


def test_django_multi_table_inheritance_from_migrations() -> None:
    project = index({"blog/migrations/0001_initial.py": DJANGO_MTI})
    child = project.schema.table("blog_blogpage")
    assert child is not None
    assert {n: (c.type, c.primary_key, c.nullable) for n, c in child.columns.items()} == {
        "page_ptr_id": ("integer", True, False), "body": ("text", False, False)}
    assert indexes(project, "blog_blogpage") == [("blog_blogpage_pkey", ("page_ptr_id",), None, True, True)]
    assert [(f.columns, f.ref_table, f.ref_columns) for f in child.foreign_keys] == [(("page_ptr_id",), "blog_page", ("id",))]


DJANGO_MODELS = '''\
from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models

from blog.fields import AutoSlugField


class Page(models.Model):
    title = models.CharField(max_length=100)
    slug = models.SlugField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE)
    group = models.ForeignKey("auth.Group", on_delete=models.CASCADE, db_index=False)
    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE)
    comments = GenericRelation("Comment")

    class Meta:
        unique_together = ("title", "site")


class BlogPage(Page):
    body = models.TextField()

    class Meta:
        unique_together = set([("body", "page_ptr")])


class Pair(models.Model):
    a = models.IntegerField()
    b = models.IntegerField()
    c = models.IntegerField()

    class Meta:
        unique_together = {("b", "c"), ("a", "b")}
        index_together = [["a", "c"]]


class Comment(models.Model):
    text = models.TextField()


class Tag(models.Model):
    code = AutoSlugField(max_length=30)
'''


FIELDS = "from django.db.models import SlugField\n\n\nclass AutoSlugField(SlugField):\n    pass\n"


def test_django_models_schema_facts() -> None:
    schema = schema_of({"blog/__init__.py": "", "blog/models.py": DJANGO_MODELS, "blog/fields.py": FIELDS})
    page = schema.table("blog_page")
    assert page is not None
    # GenericRelation has no column; built-in targets resolve to their tables and integer keys
    assert {n: c.type for n, c in page.columns.items() if n.endswith("_id") or n == "comments"} == {
        "owner_id": "integer", "content_type_id": "integer", "group_id": "integer", "site_id": "integer"}
    assert sorted((f.columns, f.ref_table, f.ref_columns) for f in page.foreign_keys) == [
        (("content_type_id",), "django_content_type", ("id",)), (("group_id",), "auth_group", ("id",)),
        (("owner_id",), "auth_user", ("id",)), (("site_id",), "django_site", ("id",))]
    assert [k for _, k, _, _ in keys_of(schema, "blog_page")] == [
        ("slug",), ("slug varchar_pattern_ops",), ("owner_id",), ("content_type_id",), ("site_id",), ("id",), ("title", "site_id")]
    assert keys_of(schema, "blog_blogpage") == [
        ("blog_blogpage_pkey", ("page_ptr_id",), True, True), (None, ("body", "page_ptr_id"), True, False)]
    child = schema.table("blog_blogpage")
    assert child is not None and [(f.columns, f.ref_table) for f in child.foreign_keys] == [(("page_ptr_id",), "blog_page")]
    assert [(k, u) for _, k, u, _ in keys_of(schema, "blog_pair")] == [
        (("id",), True), (("a", "b"), True), (("b", "c"), True), (("a", "c"), False)]
    # a SlugField subclass indexes by default too
    assert [k for _, k, _, _ in keys_of(schema, "blog_tag")][:1] == [("code",)]
    # the built-in targets' tables are known by their primary key only
    for table, model in [("auth_user", "auth.User"), ("django_content_type", "contenttypes.ContentType"),
                         ("auth_group", "auth.Group"), ("django_site", "sites.Site")]:
        t = schema.table(table)
        assert t is not None and t.model == model and t.sources == {"django-builtin"}
        assert {n: (c.type, c.primary_key) for n, c in t.columns.items()} == {"id": ("integer", True)}
        assert keys_of(schema, table) == [(f"{table}_pkey", ("id",), True, True)]


def test_builtin_tables_are_quiet_about_columns_they_do_not_know() -> None:
    from querylint.testing import lint_files

    views = (
        "from django.contrib.auth.models import User\n\n\n"
        "def by_email(e):\n    return list(User.objects.filter(email=e))\n\n\n"
        "def by_id(i):\n    return User.objects.get(id=i)\n"
    )
    r = lint_files({"blog/__init__.py": "", "blog/models.py": DJANGO_MODELS, "blog/fields.py": FIELDS, "blog/views.py": views},
                   select=["QL3"])
    assert [d for d in r.diagnostics if d.span.path == "blog/views.py"] == []


def test_stub_model_in_a_migration_does_not_override_the_live_model() -> None:
    live = (
        "from sqlalchemy import Column, Integer, PrimaryKeyConstraint, String\n"
        "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n"
        "class SqlRun(Base):\n    __tablename__ = \"runs\"\n    run_uuid = Column(String(32))\n"
        "    experiment_id = Column(Integer)\n    __table_args__ = (PrimaryKeyConstraint(\"run_uuid\", name=\"run_pk\"),)\n"
    )
    stub = live.replace('"run_uuid", name="run_pk"', '"experiment_id", name="experiment_pk"') + (
        "\n\nrevision = \"b2\"\ndown_revision = \"a1\"\n\n\ndef upgrade():\n    pass\n")
    schema = schema_of({"app/__init__.py": "", "app/models.py": live, "migrations/versions/b2_stub.py": stub})
    assert keys_of(schema, "runs") == [("runs_pkey", ("run_uuid",), True, True)]
    # with no live model, the stub is all we know
    schema = schema_of({"migrations/versions/b2_stub.py": stub})
    assert keys_of(schema, "runs") == [("runs_pkey", ("experiment_id",), True, True)]


def test_constraint_using_an_index_takes_it_over() -> None:
    files = {
        "migrations/001.sql": "CREATE TABLE orders (id bigint NOT NULL, code text NOT NULL);\n",
        "migrations/002.sql": "CREATE UNIQUE INDEX CONCURRENTLY orders_id_idx ON orders (id);\n"
                              "CREATE UNIQUE INDEX CONCURRENTLY orders_code_idx ON orders (code);\n",
        "migrations/003.sql": "ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY USING INDEX orders_id_idx;\n"
                              "ALTER TABLE orders ADD CONSTRAINT orders_code_key UNIQUE USING INDEX orders_code_idx;\n",
    }
    project = index(files)
    # PostgreSQL renames the index to the constraint: one index each, not two
    assert indexes(project, "orders") == [("orders_pkey", ("id",), None, True, True),
                                          ("orders_code_key", ("code",), None, True, True)]
    t = project.schema.table("orders")
    assert t is not None and t.columns["id"].primary_key


def test_model_primary_key_completes_a_table_whose_key_the_migrations_did_not_show() -> None:
    mig = '''\
from alembic import op
import sqlalchemy as sa

from app.utils import create_table

revision = "r1"
down_revision = None


def upgrade():
    create_table("tab_state", sa.Column("id", sa.Integer(), nullable=False), sa.PrimaryKeyConstraint("id"))
    op.create_index(op.f("ix_tab_state_id"), "tab_state", ["id"], unique=True)
'''
    model = (
        "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n\n"
        "Base = declarative_base()\n\n\nclass TabState(Base):\n    __tablename__ = \"tab_state\"\n"
        "    id = Column(Integer, primary_key=True)\n"
    )
    schema = schema_of({"app/__init__.py": "", "app/models.py": model, "alembic/versions/r1.py": mig})
    assert keys_of(schema, "tab_state") == [("ix_tab_state_id", ("id",), True, False), ("tab_state_pkey", ("id",), True, True)]
