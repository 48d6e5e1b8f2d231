"""``querylint advise [PATHS] --format sql|django|alembic [--write]``.

Indexes the project like ``check`` does (no database), gathers every index suggestion of the
QL301/302/303/304/306 logic, merges them project-wide (:mod:`querylint.advise.plan`), and
prints the migration — or with ``--write`` writes it (and the model edits). Exit codes: 0 done
(with or without suggestions), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from querylint.indexing import DEFAULT_MAX_KEYS

if TYPE_CHECKING:
    from querylint.advise.emit_django import EmitResult
    from querylint.advise.plan import IndexPlan
    from querylint.project import ProjectIndex


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="querylint advise", description="Write the indexes your queries need as migrations.")
    p.add_argument("paths", nargs="*", default=["."])
    p.add_argument("--format", choices=("sql", "django", "alembic"), default="sql", dest="fmt")
    p.add_argument("--write", action="store_true", help="write the migration (and model edits) instead of printing them")
    p.add_argument("--output", help="with --format sql --write: the file to write (default querylint_indexes.sql)")
    p.add_argument("--lock-timeout", default="5s")
    p.add_argument("--config", help="the config file to use")
    p.add_argument("--isolated", action="store_true", help="ignore configuration files")
    return p


def load_project(paths: Sequence[str], *, config_file: str | None = None, isolated: bool = False) -> tuple[ProjectIndex, int]:
    from dataclasses import replace

    from querylint.config import load_config
    from querylint.engine import Engine

    cfg = load_config(paths, config_file=config_file, isolated=isolated)
    cfg = replace(cfg, cache=False)
    result = Engine(cfg, rules=[]).run(list(paths))
    assert result.project is not None
    opts = cfg.rule_options.get("missing-index", {})
    max_keys = int(opts.get("max-keys", DEFAULT_MAX_KEYS))
    return result.project, max_keys


def render(project: ProjectIndex, plans: Sequence[IndexPlan], fmt: str, *, lock_timeout: str = "5s") -> tuple[str, EmitResult | None]:
    """The text ``advise`` prints without ``--write`` (and the emit result for django/alembic)."""
    from querylint.advise.emit_alembic import emit_alembic
    from querylint.advise.emit_django import emit_django
    from querylint.advise.emit_sql import emit_sql
    from querylint.advise.model_edit import unified_diff
    from querylint.advise.quoting import py_comment

    if fmt == "sql":
        return emit_sql(plans, lock_timeout=lock_timeout, locate=_locations(project, plans)), None
    res = emit_django(project, plans) if fmt == "django" else emit_alembic(project, plans)
    out: list[str] = []
    for f in res.files:
        if f.old_text is None:
            out.append(f"{py_comment('--- new file: ' + f.path)}\n{f.text}")
        else:
            out.append(unified_diff(f.path, f.old_text, f.text))
    for note in res.skipped:
        out.append(f"{py_comment('skipped: ' + note)}\n")
    return "\n".join(out), res


def _locations(project: ProjectIndex, plans: Sequence[IndexPlan]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in plans:
        for sp in p.serves:
            src = project.source(sp.path)
            if src is not None:
                line, col = src.location(sp.start)
                out[f"{sp.path}:{sp.start}"] = f"{sp.path}:{line}:{col}"
    return out


def write(project: ProjectIndex, plans: Sequence[IndexPlan], fmt: str, *, output: str | None = None, lock_timeout: str = "5s", log: TextIO = sys.stderr) -> list[str]:
    """Write the migration (and model edits); returns the absolute paths written."""
    from querylint.reporters._escape import visible

    written: list[str] = []
    text, res = render(project, plans, fmt, lock_timeout=lock_timeout)
    if res is None:
        path = os.path.abspath(output or os.path.join(project.root, "querylint_indexes.sql"))
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        written.append(path)
    else:
        for f in res.files:
            path = os.path.join(project.root, f.path)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(f.text)
            written.append(path)
        for note in res.skipped:
            print(f"querylint advise: skipped: {visible(note)}", file=log)
    for path in written:
        print(f"querylint advise: wrote {visible(os.path.relpath(path))}", file=log)
    return written


def main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    from querylint.advise.plan import build_plan
    from querylint.config import ConfigError

    try:
        project, max_keys = load_project(args.paths, config_file=args.config, isolated=args.isolated)
    except ConfigError as exc:
        print(f"querylint: error: {exc}", file=sys.stderr)
        return 2
    plans = build_plan(project, max_keys)
    if not plans:
        print("querylint advise: no index to add", file=sys.stderr)
        return 0
    if args.write:
        write(project, plans, args.fmt, output=args.output, lock_timeout=args.lock_timeout)
        return 0
    text, _ = render(project, plans, args.fmt, lock_timeout=args.lock_timeout)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
