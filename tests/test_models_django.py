"""Django model gatherer: exact facts on the fixture project and on small inline sources."""

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
from querylint.models import Framework, Model, ModelRegistry, RelationKind
from querylint.project import ProjectIndex
from querylint.schema import Schema
from querylint.testing import lint_files

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
SHOP = os.path.join(FIXTURES, "django_shop")


def _project(files: dict[str, str]) -> ProjectIndex:
    result = lint_files(files, select=["QL001"])
    assert result.project is not None
    return result.project


def _models(files: dict[str, str]) -> ModelRegistry:
    return _project(files).models


def _index_project(root: str) -> ProjectIndex:
    cfg = replace(Config(), root=root, cache=False, select=("QL001",))
    result = Engine(cfg).run([root])
    assert result.project is not None
    return result.project


@pytest.fixture(scope="module")
def shop() -> ProjectIndex:
    return _index_project(SHOP)


def _rel(model: Model, name: str) -> tuple[str, str, str | None, str | None]:
    r = model.relations[name]
    return r.kind.value, r.target, r.column, r.through


# -- the fixture project -----------------------------------------------------------------------------

def test_fixture_models_and_tables(shop: ProjectIndex) -> None:
    got = {k: (m.table, m.abstract, m.proxy) for k, m in shop.models.models.items()}
    assert got == {
        "accounts.TimeStampedModel": ("accounts_timestampedmodel", True, False),
        "accounts.Profile": ("accounts_profile", False, False),
        "catalog.Category": ("catalog_category", False, False),
        "catalog.Tag": ("catalog_tag", False, False),
        "catalog.Product": ("catalog_product", False, False),
        "catalog.ProductTag": ("catalog_producttag", False, False),
        "catalog.Review": ("catalog_review", False, False),
        "catalog.DigitalProduct": ("catalog_digitalproduct", False, False),
        "orders.Customer": ("orders_customer", False, False),
        "orders.Order": ("orders_order", False, False),
        "orders.OpenOrder": ("orders_order", False, True),
        "orders.OrderLine": ("orders_orderline", False, False),
    }
    assert all(m.framework is Framework.DJANGO for m in shop.models.models.values())


def test_fixture_forward_and_reverse_relations(shop: ProjectIndex) -> None:
    reg = shop.models.models
    product, category, tag = reg["catalog.Product"], reg["catalog.Category"], reg["catalog.Tag"]
    assert _rel(product, "category") == ("forward-fk", "catalog.Category", "category_id", None)
    assert _rel(product, "tags") == ("m2m", "catalog.Tag", None, "catalog.ProductTag")
    assert _rel(tag, "products") == ("m2m", "catalog.Product", None, "catalog.ProductTag")
    assert _rel(category, "products") == ("reverse-fk", "catalog.Product", None, None)
    # "self" with related_name="children"
    assert _rel(category, "parent") == ("forward-fk", "catalog.Category", "parent_id", None)
    assert _rel(category, "children") == ("reverse-fk", "catalog.Category", None, None)
    # no related_name: <model>_set, queried by the lower-cased model name
    assert _rel(product, "orderline_set") == ("reverse-fk", "orders.OrderLine", None, None)
    assert product.relations["orderline_set"].query_name == "orderline"
    assert _rel(reg["orders.Order"], "lines") == ("reverse-fk", "orders.OrderLine", None, None)
    # settings.AUTH_USER_MODEL and the o2o reverse on a model we do not read
    assert _rel(reg["accounts.Profile"], "user") == ("forward-o2o", "auth.User", "user_id", None)
    # GenericForeignKey and GenericRelation
    assert reg["catalog.Review"].relations["content_object"].kind is RelationKind.GENERIC_FK
    assert _rel(product, "reviews") == ("reverse-fk", "catalog.Review", None, None)
    assert "content_object_id" not in reg["catalog.Review"].fields
    # reverse FK collections are collections, forward ones are not
    assert category.relations["products"].is_collection and not product.relations["category"].is_collection


def test_fixture_inheritance(shop: ProjectIndex) -> None:
    reg = shop.models.models
    profile = reg["accounts.Profile"]
    # abstract base: its fields are the child's, on the child's table
    assert [n for n in profile.fields if n in ("created_at", "updated_at")] == ["created_at", "updated_at"]
    assert profile.fields["created_at"].db_index
    # multi-table inheritance: a parent_ptr one-to-one is the child's primary key
    digital = reg["catalog.DigitalProduct"]
    assert _rel(digital, "product_ptr") == ("forward-o2o", "catalog.Product", "product_ptr_id", None)
    assert digital.fields["product_ptr_id"].primary_key
    assert _rel(reg["catalog.Product"], "digitalproduct") == ("reverse-o2o", "catalog.DigitalProduct", None, None)
    assert digital.ordering == ("-created_at",)  # ordering is inherited from the concrete parent
    # proxy: the parent's table, fields and relations (reverse ones included)
    proxy = reg["orders.OpenOrder"]
    assert proxy.table == "orders_order"
    assert _rel(proxy, "lines") == ("reverse-fk", "orders.OrderLine", None, None)
    assert proxy.managers == {"objects": "OrderQuerySet"}


def test_fixture_fields_managers_ordering(shop: ProjectIndex) -> None:
    reg = shop.models.models
    product = reg["catalog.Product"]
    f = product.fields
    assert (f["sku"].column, f["sku"].type) == ("sku_code", "CharField")
    assert (f["category_id"].column, f["category_id"].db_index) == ("category_id", True)
    assert (f["id"].primary_key, f["id"].type) == (True, "BigAutoField")
    assert product.ordering == ("-created_at",)
    assert reg["catalog.Category"].ordering == ("name",)
    assert reg["orders.Customer"].managers == {"objects": "Manager", "active": "ActiveCustomerManager"}
    assert reg["orders.Order"].managers == {"objects": "OrderQuerySet"}
    assert reg["orders.Order"].fields["shipped_at"].nullable
    # provenance points at the field call
    src = shop.source("catalog/models.py")
    assert src is not None and f["sku"].provenance is not None
    assert src.text[f["sku"].provenance.start:f["sku"].provenance.end].startswith("models.CharField(max_length=32")


def _indexes(schema: Schema, table: str) -> set[tuple[tuple[str, ...], bool, str | None]]:
    t = schema.table(table)
    assert t is not None
    return {(tuple(k.text for k in i.keys), i.unique, i.predicate) for i in t.indexes}


def test_fixture_model_schema(shop: ProjectIndex) -> None:
    schema: Schema = shop.facts["model_schema"]
    assert _indexes(schema, "catalog_product") == {
        (("id",), True, None),
        (("category_id",), False, None),  # Django's automatic FK index
        (("category_id", "sku_code"), True, None),  # unique_together
        (("category_id", "created_at DESC"), False, None),
        (("name",), False, "is_active = TRUE"),
    }
    assert _indexes(schema, "orders_order") == {
        (("id",), True, None), (("customer_id",), False, None), (("reference",), True, "status = 'open'"),
    }
    assert _indexes(schema, "accounts_profile") == {
        (("id",), True, None), (("user_id",), True, None), (("email",), True, None), (("created_at",), False, None),
        (("(lower(email))",), False, None),
        (("email varchar_pattern_ops",), False, None),  # Django's "_like" index on PostgreSQL
    }
    product = schema.table("catalog_product")
    assert product is not None
    assert [(fk.columns, fk.ref_table, fk.ref_columns) for fk in product.foreign_keys] == [
        (("category_id",), "catalog_category", ("id",))]
    assert product.columns["category_id"].type == "bigint"
    assert product.columns["price"].type == "numeric(10,2)"
    auto = [i for i in product.indexes if i.keys[0].column == "category_id" and len(i.keys) == 1]
    assert auto[0].implicit and auto[0].provenance is not None
    # the proxy has no table of its own; the MTI child does
    assert sorted(schema.tables) == sorted([
        "accounts_profile", "catalog_category", "catalog_tag", "catalog_product", "catalog_producttag",
        "catalog_review", "catalog_digitalproduct", "orders_customer", "orders_order", "orders_orderline"])


def _pg_indexes(dsn: str, tables: list[str]) -> dict[str, set[tuple[tuple[str, ...], bool, str | None]]]:
    import psycopg

    query = """
        SELECT t.relname, ix.indisunique,
               ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k + 1, true)
                     FROM generate_subscripts(ix.indkey, 1) AS k ORDER BY k),
               pg_get_expr(ix.indpred, ix.indrelid), ix.indoption::int2[]
        FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid
        WHERE t.relname = ANY(%s)"""
    out: dict[str, set[tuple[tuple[str, ...], bool, str | None]]] = {t: set() for t in tables}
    with psycopg.connect(dsn) as conn:
        for rel, unique, cols, pred, options in conn.execute(query, (tables,)):
            keys = tuple(c + (" DESC" if opt & 1 else "") for c, opt in zip(cols, options, strict=True))
            keys = tuple(f"({k.replace('::text', '')})" if k.startswith("lower(") else k for k in keys)
            out[rel].add((keys, unique, pred))
    return out


def test_model_schema_matches_postgresql_after_migrate(scratch_db: str, tmp_path: Any, shop: ProjectIndex) -> None:
    """The indexes read from models.py are the ones ``manage.py migrate`` creates (predicates aside)."""
    from psycopg.conninfo import conninfo_to_dict

    root = os.path.join(str(tmp_path), "django_shop")
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns("__pycache__", ".querylint_cache"))
    p = conninfo_to_dict(scratch_db)
    url = f"postgresql://{p.get('user', 'postgres')}@{p.get('host', '127.0.0.1')}:{p.get('port', 5432)}/{p['dbname']}"
    env = {**os.environ, "QUERYLINT_TEST_DSN": url, "PYTHONPATH": root}
    proc = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    schema: Schema = shop.facts["model_schema"]
    tables = sorted(schema.tables)
    real = _pg_indexes(scratch_db, tables)
    for table in tables:
        # PostgreSQL prints predicates its own way: compare predicate presence, keys and uniqueness
        # (pg_get_indexdef per column omits the opclass of Django's "_like" indexes)
        ours = {(tuple(k.split(" ")[0] if "pattern_ops" in k else k for k in keys), u, p is not None)
                for keys, u, p in _indexes(schema, table)}
        theirs = {(k, u, p is not None) for k, u, p in real[table]}
        assert ours == theirs, table


# -- inline sources ------------------------------------------------------------------------------------

def test_import_styles_and_targets() -> None:
    reg = _models({
        "blog/__init__.py": "",
        "blog/models.py": (
            "from django.db.models import Model, ForeignKey, CharField, CASCADE\n"
            "import django.db.models as m\n"
            "from authors.models import Author\n"
            "import swapper\nfrom django.contrib.auth import get_user_model\n"
            "class Post(Model):\n"
            "    title = CharField(max_length=10)\n"
            "    author = ForeignKey(Author, on_delete=CASCADE)\n"
            "    editor = m.ForeignKey('authors.Author', on_delete=m.CASCADE, related_name='+')\n"
            "    owner = ForeignKey(get_user_model(), on_delete=CASCADE, related_name='+')\n"
            "    page = ForeignKey(swapper.get_model_name('authors', 'Author'), on_delete=CASCADE, related_name='+')\n"
            "    reviewer = ForeignKey('authors.Author', on_delete=CASCADE, related_name='reviewed_%(class)ss',\n"
            "                          null=True, db_index=False, db_column='rev')\n"
            "    class Meta:\n"
            "        db_table = 'posts'\n"
        ),
        "authors/__init__.py": "",
        "authors/models.py": "from django.db import models\nclass Author(models.Model):\n    name = models.TextField()\n",
    }).models
    post, author = reg["blog.Post"], reg["authors.Author"]
    assert post.table == "posts"
    assert _rel(post, "author") == ("forward-fk", "authors.Author", "author_id", None)
    assert _rel(post, "reviewer") == ("forward-fk", "authors.Author", "rev", None)
    assert _rel(post, "owner") == ("forward-fk", "auth.User", "owner_id", None)
    assert _rel(post, "page") == ("forward-fk", "authors.Author", "page_id", None)
    assert post.fields["reviewer_id"].db_index is False and post.fields["reviewer_id"].nullable
    assert sorted(author.relations) == ["post_set", "reviewed_posts"]  # editor: related_name="+"
    assert author.relations["post_set"].query_name == "post"


def test_app_label_from_models_package_and_meta() -> None:
    reg = _models({
        "shop/__init__.py": "",
        "shop/billing/__init__.py": "",
        "shop/billing/models/__init__.py": "from .invoice import Invoice\n",
        "shop/billing/models/invoice.py": (
            "from django.db import models\n"
            "class Invoice(models.Model):\n    number = models.IntegerField(unique=True)\n"
            "class Legacy(models.Model):\n    class Meta:\n        app_label = 'old'\n"
        ),
        "shop/billing/apps.py": "",
    }).models
    assert sorted(reg) == ["billing.Invoice", "old.Legacy"]
    assert reg["billing.Invoice"].table == "billing_invoice"
    assert reg["billing.Invoice"].module == "shop.billing.models.invoice"
    assert reg["old.Legacy"].table == "old_legacy"


def test_app_config_label_wins() -> None:
    reg = _models({
        "pkg/__init__.py": "",
        "pkg/apps.py": "from django.apps import AppConfig\nclass C(AppConfig):\n    name = 'pkg'\n    label = 'shopping'\n",
        "pkg/models.py": "from django.db import models\nclass Cart(models.Model):\n    pass\n",
    }).models
    assert list(reg) == ["shopping.Cart"]
    assert reg["shopping.Cart"].table == "shopping_cart"


def test_managers_and_querysets() -> None:
    reg = _models({
        "a/__init__.py": "",
        "a/models.py": (
            "from django.db import models\n"
            "class BookQS(models.QuerySet):\n    pass\n"
            "class BookManager(models.Manager):\n    pass\n"
            "class Book(models.Model):\n"
            "    objects = BookManager.from_queryset(BookQS)()\n"
            "    published = BookQS.as_manager()\n"
            "    plain = BookManager()\n"
        ),
    }).models
    assert reg["a.Book"].managers == {"objects": "BookQS", "published": "BookQS", "plain": "BookManager"}
    assert "a.BookQS" not in reg and "a.BookManager" not in reg


def test_abstract_base_across_files_with_related_name_placeholders() -> None:
    reg = _models({
        "core/__init__.py": "",
        "core/models.py": (
            "from django.db import models\n"
            "class Owned(models.Model):\n"
            "    owner = models.ForeignKey('auth.User', models.CASCADE, related_name='%(app_label)s_%(class)s_owned')\n"
            "    class Meta:\n        abstract = True\n        ordering = ['-id']\n"
        ),
        "notes/__init__.py": "",
        "notes/models.py": "from core.models import Owned\nclass Note(Owned):\n    pass\n",
    }).models
    note = reg["notes.Note"]
    assert (note.table, note.ordering) == ("notes_note", ("-id",))
    assert _rel(note, "owner") == ("forward-fk", "auth.User", "owner_id", None)
    assert reg["core.Owned"].abstract


def test_non_models_are_not_models() -> None:
    reg = _models({
        "x/__init__.py": "",
        "x/forms.py": "from django import forms\nclass F(forms.Form):\n    name = forms.CharField()\n",
        "x/models.py": "class Plain:\n    pass\nclass Mixin:\n    def f(self): ...\n",
    }).models
    assert reg == {}


def test_meta_indexes_constraints_and_index_together() -> None:
    project = _project({
        "inv/__init__.py": "",
        "inv/models.py": (
            "from django.db import models\nfrom django.db.models import Q, UniqueConstraint\n"
            "from django.db.models.functions import Lower\n"
            "class Item(models.Model):\n"
            "    sku = models.CharField(max_length=20, db_index=True)\n"
            "    name = models.CharField(max_length=20)\n"
            "    deleted_at = models.DateTimeField(null=True)\n"
            "    parent = models.ForeignKey('self', models.CASCADE, db_index=False, null=True)\n"
            "    tags = models.ManyToManyField('Tag')\n"
            "    related = models.ManyToManyField('self')\n"
            "    follows = models.ManyToManyField('self', symmetrical=False, related_name='followers')\n"
            "    class Meta:\n"
            "        index_together = [['name', 'sku']]\n"
            "        indexes = [models.Index(Lower('name'), name='item_lower_name'),\n"
            "                   models.Index(fields=['name'], name='item_live', condition=Q(deleted_at__isnull=True),\n"
            "                                opclasses=['varchar_pattern_ops'])]\n"
            "        constraints = [UniqueConstraint(fields=['sku'], condition=Q(deleted_at=None), name='u_live_sku'),\n"
            "                       models.CheckConstraint(check=Q(sku__gt=''), name='c')]\n"
            "class Tag(models.Model):\n    pass\n"
        ),
    })
    schema: Schema = project.facts["model_schema"]
    assert _indexes(schema, "inv_item") == {
        (("id",), True, None),
        (("sku",), False, None),
        (("sku varchar_pattern_ops",), False, None),
        (("name", "sku"), False, None),
        (("(lower(name))",), False, None),
        (("name varchar_pattern_ops",), False, "deleted_at IS NULL"),
        (("sku",), True, "deleted_at IS NULL"),
    }  # parent: db_index=False gives no index
    # the automatic many-to-many table
    assert _indexes(schema, "inv_item_tags") == {
        (("id",), True, None), (("item_id", "tag_id"), True, None), (("item_id",), False, None),
        (("tag_id",), False, None)}
    item = project.models.models["inv.Item"]
    assert sorted(r for r in item.relations if item.relations[r].kind is RelationKind.M2M) == [
        "followers", "follows", "related", "tags"]
    assert _indexes(schema, "inv_item_related") >= {(("from_item_id", "to_item_id"), True, None)}
    t = schema.table("inv_item_tags")
    assert t is not None and sorted((fk.columns, fk.ref_table) for fk in t.foreign_keys) == [
        (("item_id",), "inv_item"), (("tag_id",), "inv_tag")]


def test_broken_sources_do_not_crash() -> None:
    reg = _models({
        "z/__init__.py": "",
        "z/models.py": (
            "from django.db import models\n"
            "class A(models.Model):\n"
            "    x = models.ForeignKey()\n"  # no target
            "    y = models.ManyToManyField(get_model())\n"
            "    objects = models.Manager.from_queryset()()\n"
            "    class Meta:\n        indexes = [models.Index(fields=[f for f in 'ab'])]\n"
            "        unique_together = 'a'\n"
            "class B(A, B):\n    pass\n"
        ),
        "z/bad.py": "class (:\n",
    }).models
    assert sorted(reg) == ["z.A", "z.B"]


def test_overridable_models_under_if_with_star_imports() -> None:
    """django-oscar's pattern: abstract models elsewhere, concrete ones under ``if not registered``."""
    reg = _models({
        "shop/__init__.py": "",
        "shop/basket/__init__.py": "",
        "shop/basket/abstract_models.py": (
            "from django.db import models\n"
            "class AbstractBasket(models.Model):\n"
            "    owner = models.ForeignKey('auth.User', models.CASCADE, related_name='baskets')\n"
            "    class Meta:\n        abstract = True\n        app_label = 'basket'\n"
        ),
        "shop/basket/models.py": (
            "from shop.core.loading import is_model_registered\n"
            "from shop.basket.abstract_models import *\n"
            "if not is_model_registered('basket', 'Basket'):\n"
            "    class Basket(AbstractBasket):\n        pass\n"
        ),
        "shop/core/__init__.py": "",
        "shop/core/loading.py": "def is_model_registered(app, name):\n    return False\n",
    }).models
    assert sorted(reg) == ["basket.AbstractBasket", "basket.Basket"]
    assert _rel(reg["basket.Basket"], "owner") == ("forward-fk", "auth.User", "owner_id", None)
    assert reg["basket.Basket"].table == "basket_basket"


def test_library_bases_forms_and_builtin_parents() -> None:
    reg = _models({
        "lib/__init__.py": "",
        "lib/fields.py": "from django import forms\nclass PasswordField(forms.CharField):\n    pass\n",
        "lib/forms.py": (
            "from django import forms\nfrom lib.fields import PasswordField\n"
            "class Mixin:\n    pass\n"
            "class BaseForm(forms.Form):\n    pass\n"
            "class ChangeForm(Mixin, BaseForm):\n    old = PasswordField()\n    new = forms.CharField()\n"
        ),
        "lib/models.py": (
            "from django.db import models\nfrom django.contrib.auth.models import User, AbstractUser, UserManager\n"
            "from treebeard.mp_tree import MP_Node\nfrom openid.store import OpenIDStore as OIDStore\n"
            "class Node(MP_Node):\n    name = models.CharField(max_length=5)\n"
            "class Member(AbstractUser):\n    pass\n"
            "class Staff(User):\n    badge = models.IntegerField()\n"
            "class StaffManager(UserManager):\n    pass\n"
            "class Store(OIDStore):\n    pass\n"
            "class OpenIDStore(models.Model):\n    url = models.TextField()\n"
        ),
    }).models
    assert sorted(reg) == ["lib.Member", "lib.Node", "lib.OpenIDStore", "lib.Staff"]
    assert _rel(reg["lib.Staff"], "user_ptr") == ("forward-o2o", "auth.User", "user_ptr_id", None)
    assert reg["lib.Staff"].fields["user_ptr_id"].primary_key and "id" not in reg["lib.Staff"].fields


def test_meta_inherited_from_parent_meta_and_first_abstract_parent() -> None:
    project = _project({
        "t/__init__.py": "",
        "t/models.py": (
            "from django.db import models\n"
            "class Translatable(models.Model):\n"
            "    key = models.UUIDField()\n    locale = models.CharField(max_length=5)\n"
            "    class Meta:\n        abstract = True\n        unique_together = [('key', 'locale')]\n"
            "class Plain(models.Model):\n    class Meta:\n        abstract = True\n        ordering = ['id']\n"
            "class PageMeta(Translatable.Meta):\n    pass\n"
            "class Page(Translatable, Plain):\n    class Meta(PageMeta):\n        verbose_name = 'page'\n"
            "class Snippet(Translatable):\n    pass\n"
            "class Own(Translatable):\n    class Meta:\n        verbose_name = 'own'\n"
        ),
    })
    schema: Schema = project.facts["model_schema"]
    for table, expected in (("t_page", True), ("t_snippet", True), ("t_own", False)):
        assert ((("key", "locale"), True, None) in _indexes(schema, table)) is expected, table


def test_db_table_inherited_from_abstract_meta_and_slug_index() -> None:
    project = _project({
        "c/__init__.py": "",
        "c/models.py": (
            "from django.db import models\n"
            "class AbstractHierarchy(models.Model):\n"
            "    slug = models.SlugField()\n"
            "    class Meta:\n        abstract = True\n        db_table = 'product_hierarchy'\n        managed = False\n"
            "class Hierarchy(AbstractHierarchy):\n    pass\n"
            "class Renamed(AbstractHierarchy):\n    class Meta:\n        verbose_name = 'x'\n"
        ),
    })
    reg = project.models.models
    assert (reg["c.Hierarchy"].table, reg["c.Renamed"].table) == ("product_hierarchy", "c_renamed")
    schema: Schema = project.facts["model_schema"]
    assert _indexes(schema, "c_renamed") == {
        (("id",), True, None), (("slug",), False, None), (("slug varchar_pattern_ops",), False, None)}


def test_namespace_app_folder_and_pydantic_models_are_not_django() -> None:
    reg = _models({
        "proj/streamfield_migrations/apps.py": (
            "from django.apps import AppConfig\nclass C(AppConfig):\n"
            "    name = 'proj.streamfield_migrations'\n    label = 'sf_tests'\n"
        ),
        "proj/streamfield_migrations/models.py": "from django.db import models\nclass Sample(models.Model):\n    pass\n",
        "api/__init__.py": "",
        "api/schemas.py": (
            "from django.db import models\nfrom pydantic import BaseModel, Field\n"
            "class Input(BaseModel):\n    text: str = Field(description='x')\n"
        ),
    }).models
    assert {k: m.table for k, m in reg.items()} == {"sf_tests.Sample": "sf_tests_sample"}


def test_geodjango_models_are_models() -> None:
    """``from django.contrib.gis.db import models`` re-exports django.db.models: its classes are models,
    and a relation read in a loop over them is an N+1 like any other."""
    views = (
        "from places.models import Node\n"
        "\n"
        "\n"
        "def labels():\n"
        "    return [node.group.name for node in Node.objects.filter(active=True)]\n"
    )
    files = {
        "places/__init__.py": "",
        "places/models.py": (
            "from django.contrib.gis.db import models\n"
            "\n"
            "\n"
            "class Group(models.Model):\n"
            "    name = models.TextField()\n"
            "\n"
            "\n"
            "class Node(models.Model):\n"
            "    group = models.ForeignKey(Group, on_delete=models.CASCADE)\n"
            "    active = models.BooleanField(default=True)\n"
            "    where = models.PointField()\n"
        ),
        "places/views.py": views,
    }
    reg = _models(files)
    node = reg.models["places.Node"]
    assert (node.table, _rel(node, "group")) == ("places_node", ("forward-fk", "places.Group", "group_id", None))
    result = lint_files(files, select=["QL202"])
    assert [(d.code, d.span.path, result.sources[d.span.path].line_of(d.span.start), d.message) for d in result.diagnostics] == [
        ("QL202", "places/views.py", 5,
         '`node.group` lazily loads `Group` once per node: the queryset iterated at line 5 has no select_related("group")')]
