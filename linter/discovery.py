"""File discovery: which files to check, and which files make up the project index.

(Minimal version: walks folders for .py/.sql, skipping hidden folders and virtualenvs.
Honouring .gitignore, exclude/extend-exclude and --force-exclude lands with the config work.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from querylint.config import Config
from querylint.source import Language

SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", "venv", ".tox", ".nox",
             ".mypy_cache", ".ruff_cache", ".pytest_cache", ".querylint_cache", "build", "dist", "site-packages"}


@dataclass(frozen=True, slots=True)
class Candidate:
    abspath: str
    path: str  # display path, relative to the project root when inside it
    explicit: bool  # named on the command line


def display_path(abspath: str, root: str) -> str:
    rel = os.path.relpath(abspath, root)
    if rel.startswith(".."):
        rel = abspath
    return rel.replace(os.sep, "/")


def discover(paths: Sequence[str], config: Config) -> Iterator[Candidate]:
    root = os.path.abspath(config.root)
    for p in paths:
        ap = os.path.abspath(p)
        if os.path.isdir(ap):
            for dirpath, dirnames, filenames in os.walk(ap):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
                for f in sorted(filenames):
                    if Language.for_path(f) is not None:
                        fp = os.path.join(dirpath, f)
                        yield Candidate(fp, display_path(fp, root), False)
        else:
            yield Candidate(ap, display_path(ap, root), True)


def project_files(config: Config, exclude: set[str]) -> Iterator[Candidate]:
    """Every .py/.sql file of the project (for the index), minus those already read."""
    root = os.path.abspath(config.root)
    for c in discover([root], config):
        if c.path not in exclude:
            yield c
