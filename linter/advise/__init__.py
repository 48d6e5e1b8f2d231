"""``querylint advise``: merged index suggestions written as SQL, Django or Alembic migrations.

The reasoning lives in :mod:`querylint.indexing`; this package turns its merged suggestions into
files: :mod:`.emit_sql`, :mod:`.emit_django`, :mod:`.emit_alembic`, model edits with libcst
(:mod:`.model_edit`), deterministic names (:mod:`.naming`), and the command (:mod:`.cli`).
"""
