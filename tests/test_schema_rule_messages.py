"""Issue 4: the wording of QL406 when a name is unknown, and QL306 on Django ``__date`` lookups."""

from __future__ import annotations

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
