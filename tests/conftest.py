"""Shared test fixtures. Tests that need PostgreSQL use the ``pg_dsn`` / ``scratch_db`` fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures")
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pg_available(dsn: str) -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:  # any connection failure means "not reachable"
        return f"PostgreSQL not reachable at {dsn}: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """DSN of the maintenance database; skips (or fails under CI=true) when unreachable."""
    dsn = os.environ.get("QUERYLINT_TEST_DSN", DEFAULT_DSN)
    why = _pg_available(dsn)
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {why}")
        pytest.skip(why)
    return dsn


@pytest.fixture()
def scratch_db(pg_dsn: str) -> Iterator[str]:
    """A fresh database, dropped afterwards; yields its DSN."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"querylint_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(pg_dsn)
    params["dbname"] = name
    try:
        yield make_conninfo(**params)
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True, scope="session")
def _cache_key_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite's cache key lives in a folder of its own, not in the user's ~/.cache/querylint
    (a read-only home would turn the cache off and fail the cache tests); subprocesses inherit it."""
    from querylint.cache import KEY_DIR_ENV

    old = os.environ.get(KEY_DIR_ENV)
    os.environ[KEY_DIR_ENV] = str(tmp_path_factory.mktemp("cache-key") / "querylint")
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(KEY_DIR_ENV, None)
        else:
            os.environ[KEY_DIR_ENV] = old
