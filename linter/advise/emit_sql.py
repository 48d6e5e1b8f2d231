"""The plain-SQL migration: ``CREATE INDEX CONCURRENTLY IF NOT EXISTS`` under a ``lock_timeout``."""

from __future__ import annotations

from collections.abc import Sequence

from querylint.advise.plan import IndexPlan, create_sql, drop_sql


def emit_sql(plans: Sequence[IndexPlan], *, lock_timeout: str = "5s", locate: dict[str, str] | None = None) -> str:
    """The forward script, then the rollback as comments (run each statement on its own).

    No ``BEGIN``: ``CREATE INDEX CONCURRENTLY`` cannot run inside a transaction block. With
    psql, run it as ``psql -f file`` (autocommit); a failed concurrent build leaves an
    INVALID index behind, which ``IF NOT EXISTS`` would then skip: drop it and rerun.
    """
    lines = [
        f"-- querylint advise: {len(plans)} index{'es' if len(plans) != 1 else ''}",
        "-- Run outside a transaction block: CREATE INDEX CONCURRENTLY cannot run inside one.",
        f"SET lock_timeout = '{lock_timeout}';",
    ]
    for p in plans:
        lines.append("")
        lines.append(f"-- {p.table}: {p.reason}")
        for sp in p.serves[:5]:
            where = (locate or {}).get(f"{sp.path}:{sp.start}")
            if where:
                lines.append(f"--   {where}")
        if p.extends is not None and p.extends.name:
            lines.append(f"-- extends {p.extends.name}, which then becomes redundant")
        lines.append(create_sql(p))
    lines.append("")
    lines.append("-- Rollback (run each statement on its own):")
    for p in plans:
        lines.append(f"-- {drop_sql(p)}")
    return "\n".join(lines) + "\n"


def emit_rollback_sql(plans: Sequence[IndexPlan], *, lock_timeout: str = "5s") -> str:
    lines = [f"SET lock_timeout = '{lock_timeout}';"] + [drop_sql(p) for p in plans]
    return "\n".join(lines) + "\n"
