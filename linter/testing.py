"""Helpers for tests and rule examples: lint a small in-memory project."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from querylint.config import Config
from querylint.engine import Engine, RunResult
from querylint.registry import instantiate


def lint_files(
    files: Mapping[str, str],
    *,
    select: Iterable[str] | None = None,
    rule_options: Mapping[str, Mapping[str, Any]] | None = None,
    config: Config | None = None,
    check: Iterable[str] | None = None,
    **config_overrides: Any,
) -> RunResult:
    """Write ``files`` (relative path -> text) to a temporary project and lint it.

    ``check`` limits which files are checked (default: all); ``select`` the rules (codes or
    names; default: the configured default set). The temporary folder is removed afterwards;
    paths in the result are the relative ones given here.
    """
    with tempfile.TemporaryDirectory(prefix="querylint-test-") as tmp:
        for rel, text in files.items():
            full = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        cfg = config or Config()
        cfg = replace(cfg, root=tmp, cache=False, **config_overrides)
        if rule_options:
            cfg = replace(cfg, rule_options={k: dict(v) for k, v in rule_options.items()})
        if select is not None:
            cfg = replace(cfg, select=tuple(select))
        engine = Engine(cfg, instantiate(cfg))
        targets = [os.path.join(tmp, p) for p in (check if check is not None else files)]
        cwd = os.getcwd()
        try:
            os.chdir(tmp)
            return engine.run(targets)
        finally:
            os.chdir(cwd)


def run_in(root: str | os.PathLike[str], paths: Iterable[str] | None = None, **config_overrides: Any) -> RunResult:
    """Run the engine from inside ``root`` (the project root) on ``paths`` (default ``.``), with
    the default configuration changed by ``config_overrides`` (the cache stays on unless told)."""
    cfg = replace(Config(root=str(root)), **config_overrides)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return Engine(cfg).run(list(paths) if paths else ["."])
    finally:
        os.chdir(cwd)


def finding_lines(result: RunResult) -> list[tuple[str, int, str, str]]:
    """``(path, line, code, message)`` of every finding, in the run's order."""
    out = []
    for d in result.diagnostics:
        src = result.sources[d.span.path]
        out.append((d.span.path, src.location(d.span.start)[0], d.code, d.message))
    return out
