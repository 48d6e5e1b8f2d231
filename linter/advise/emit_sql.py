"""The plain-SQL migration: ``CREATE INDEX CONCURRENTLY IF NOT EXISTS`` under a ``lock_timeout``."""

from __future__ import annotations

from collections.abc import Sequence

from querylint.advise.plan import IndexPlan, checked_sql
from querylint.advise.quoting import sql_comment, sql_literal


def _skipped(p: IndexPlan) -> str:
    keys = ", ".join(k.text for k in p.keys)
    return f"skipped: {p.table} ({keys}): its SQL does not stay one CREATE INDEX statement; write this index by hand"


def emit_sql(plans: Sequence[IndexPlan], *, lock_timeout: str = "5s", locate: dict[str, str] | None = None) -> str:
    """The forward script, then the rollback as comments (run each statement on its own).

    No ``BEGIN``: ``CREATE INDEX CONCURRENTLY`` cannot run inside a transaction block. With
    psql, run it as ``psql -f file`` (autocommit); a failed concurrent build leaves an
    INVALID index behind, which ``IF NOT EXISTS`` would then skip: drop it and rerun.

    Names, paths and reasons are the project's text: every comment is escaped onto its one line
    and identifiers are quoted (:mod:`querylint.advise.quoting`); a plan whose SQL text from the
    project would not stay one statement is left out, with a comment that says so.
    """
    checked = [(p, checked_sql(p)) for p in plans]
    n = sum(1 for _, c in checked if c is not None)
    lines = [
        f"-- querylint advise: {n} index{'es' if n != 1 else ''}",
        "-- Run outside a transaction block: CREATE INDEX CONCURRENTLY cannot run inside one.",
        f"SET lock_timeout = {sql_literal(lock_timeout)};",
    ]
    drops: list[str] = []
    for p, sql in checked:
        lines.append("")
        if sql is None:
            lines.append(sql_comment(_skipped(p)))
            continue
        lines.append(sql_comment(f"{p.table}: {p.reason}"))
        for sp in p.serves[:5]:
            where = (locate or {}).get(f"{sp.path}:{sp.start}")
            if where:
                lines.append(sql_comment(f"  {where}"))
        if p.extends is not None and p.extends.name:
            lines.append(sql_comment(f"extends {p.extends.name}, which then becomes redundant"))
        lines.append(sql[0])
        drops.append(sql[1])
    lines.append("")
    lines.append("-- Rollback (run each statement on its own):")
    for drop in drops:
        lines.append(sql_comment(drop))
    return "\n".join(lines) + "\n"


def emit_rollback_sql(plans: Sequence[IndexPlan], *, lock_timeout: str = "5s") -> str:
    drops = [c[1] for c in (checked_sql(p) for p in plans) if c is not None]
    lines = [f"SET lock_timeout = {sql_literal(lock_timeout)};", *drops]
    return "\n".join(lines) + "\n"
