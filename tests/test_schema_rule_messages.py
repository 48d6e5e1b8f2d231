"""Issue 4: the wording of QL406 when a name is unknown, and QL306 on Django ``__date`` lookups."""

from __future__ import annotations

from querylint.indexing import _not_indexable, norm_expression
from querylint.schema import Column, Table
from querylint.testing import lint_files

MODELS = '''\
from sqlalchemy import Column, ForeignKey, Integer
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class SqlExperiment(Base):
    __tablename__ = "experiments"
    experiment_id = Column(Integer, primary_key=True)


class SqlRun(Base):
    __tablename__ = "runs"
    run_id = Column(Integer, primary_key=True)
    experiment_id = Column(Integer, ForeignKey("experiments.experiment_id"))
'''

REVISION = '''\
from alembic import op

from app.{module} import SqlExperiment, SqlRun

revision = "b2"
down_revision = "a1"


def upgrade():
    op.drop_constraint("fk_runs_experiment", SqlRun.__tablename__, type_="foreignkey")
    op.create_foreign_key("fk_runs_experiment", SqlRun.__tablename__, {referent}, ["experiment_id"], ["experiment_id"])


def downgrade():
    pass
'''


def _lines(r: object) -> list[tuple[str, int, str]]:
    from querylint.engine import RunResult

    assert isinstance(r, RunResult)
    return [(d.code, r.sources[d.span.path].location(d.span.start)[0], d.message) for d in r.diagnostics]


def test_foreign_key_not_valid_names_no_unknown_table() -> None:
    files = {"app/__init__.py": "", "app/models.py": MODELS,
             "migrations/versions/b2.py": REVISION.format(module="models", referent="get_experiment_table()")}
    r = lint_files(files, select=["QL406"])
    assert _lines(r) == [("QL406", 11, "`ALTER TABLE ... ADD FOREIGN KEY` takes a SHARE ROW EXCLUSIVE lock on `runs` and on "
                                       "the referenced table: writes to both are blocked while every row of `runs` is validated")]


def test_foreign_key_referent_model_resolved_through_the_import() -> None:
    # two classes named SqlExperiment: the revision's import says which one
    files = {"app/__init__.py": "", "app/models.py": MODELS,
             "app/initial_models.py": MODELS.replace('"experiments"', '"old_experiments"').replace('"runs"', '"old_runs"'),
             "migrations/versions/b2.py": REVISION.format(module="models", referent="SqlExperiment.__tablename__")}
    r = lint_files(files, select=["QL406"])
    assert _lines(r) == [("QL406", 11, "`ALTER TABLE ... ADD FOREIGN KEY` takes a SHARE ROW EXCLUSIVE lock on `runs` and on "
                                       "`experiments`: writes to both are blocked while every row of `runs` is validated")]
    files["migrations/versions/b2.py"] = REVISION.format(module="initial_models", referent="SqlExperiment.__tablename__")
    r = lint_files(files, select=["QL406"])
    assert [m for _, _, m in _lines(r)] == ["`ALTER TABLE ... ADD FOREIGN KEY` takes a SHARE ROW EXCLUSIVE lock on `old_runs` and "
                                            "on `old_experiments`: writes to both are blocked while every row of `old_runs` is validated"]


# -- QL306 on date/time transforms --------------------------------------------------------------------

DJANGO_MODELS = '''\
from django.db import models


class Order(models.Model):
    created_at = models.DateTimeField()
    day = models.DateField()
    email = models.EmailField()
'''

DJANGO_VIEWS = '''\
from shop.models import Order


def on_day(d):
    return list(Order.objects.filter(created_at__date=d))


def in_month(m):
    return list(Order.objects.filter(created_at__month=m))


def in_year(y):
    return list(Order.objects.filter(day__year=y))
'''


def test_django_date_transform_on_timestamptz_has_no_index_suggestion() -> None:
    r = lint_files({"shop/__init__.py": "", "shop/models.py": DJANGO_MODELS, "shop/views.py": DJANGO_VIEWS},
                   select=["QL301", "QL306"])
    got = [(d.code, r.sources[d.span.path].location(d.span.start)[0], d.message, d.help, d.suggestion) for d in r.diagnostics]
    assert got == [
        ("QL306", 5, "`shop_order` is filtered on created_at::date, which no index serves: created_at is a timestamptz, "
                     "so created_at::date depends on the time zone and PostgreSQL cannot index it as written",
         "Filter on a range of the bare column instead (created_at__gte=start, created_at__lt=end)", None),
        ("QL306", 9, "`shop_order` is filtered on extract(month from created_at), which no index serves: created_at is a "
                     "timestamptz, so extract(month from created_at) depends on the time zone and PostgreSQL cannot index "
                     "it as written",
         "Filter on a range of the bare column instead (created_at__gte=start, created_at__lt=end)", None),
        # Django sends ``day__year=y`` as ``day BETWEEN ...``: a plain index on day serves it
        ("QL301", 13, "`shop_order` is filtered on (day), but no index serves it", "Add index shop_order (day)",
         r.diagnostics[2].suggestion),
    ]
    assert r.diagnostics[2].suggestion is not None


SQL_SCHEMA = """\
CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, local_at timestamp NOT NULL);
"""


def test_sql_date_cast_suggestion_only_where_postgres_can_index_it(scratch_db: str) -> None:
    import psycopg

    queries = "SELECT id FROM events WHERE local_at::date = $1;\nSELECT id FROM events WHERE at::date = $1;\n"
    r = lint_files({"db/schema.sql": SQL_SCHEMA, "app/queries.sql": queries}, select=["QL306"])
    got = [(r.sources[d.span.path].location(d.span.start)[0], d.message, d.help) for d in r.diagnostics]
    assert got == [
        (1, "`events` is filtered on local_at::date, which no index serves: an index on local_at cannot be used through the function",
         "Add index events ((local_at::date)) INCLUDE (id)"),
        (2, "`events` is filtered on at::date, which no index serves: at is a timestamptz, so at::date depends on the time "
            "zone and PostgreSQL cannot index it as written",
         "Compare the bare column with a range instead (at >= start AND at < end)"),
    ]
    suggestion = r.diagnostics[0].suggestion
    assert suggestion is not None and [k.expression for k in suggestion.keys] == ["local_at::date"]
    assert r.diagnostics[1].suggestion is None
    # the premise, on a real PostgreSQL: the suggested index is created, the timestamptz one is refused
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        conn.execute(SQL_SCHEMA)
        conn.execute("CREATE INDEX events_local_day ON events ((local_at::date)) INCLUDE (id)")
        for expression in ("at::date", "extract(month from at)", "age(local_at)", "local_at + (now() - now())"):
            assert _not_indexable(norm_expression(expression), TABLE)
            try:
                conn.execute(f"CREATE INDEX refused ON events (({expression}))")
            except psycopg.errors.InvalidObjectDefinition as exc:
                assert "IMMUTABLE" in str(exc)
            else:
                raise AssertionError(f"PostgreSQL indexed {expression}")
        for expression in ("local_at::date", "(at at time zone 'UTC')::date", "extract(month from local_at)",
                           "date_trunc('day', local_at)"):
            assert _not_indexable(norm_expression(expression), TABLE) == ""
            conn.execute(f"CREATE INDEX accepted ON events (({expression}))")
            conn.execute("DROP INDEX accepted")


TABLE = Table("events", columns={"id": Column("id", "bigint"), "at": Column("at", "timestamptz"),
                                 "local_at": Column("local_at", "timestamp")})
