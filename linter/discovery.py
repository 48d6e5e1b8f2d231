"""File discovery: which files to check, and which files make up the project index.

Folders are walked for ``.py`` / ``.sql`` files. Skipped while walking: the default excludes
(``.git``, virtualenvs, ``node_modules``, build output...; ``exclude`` replaces that list,
``extend-exclude`` adds to it), files matched by ``.gitignore`` files (with
``respect-gitignore``, via pathspec's ``GitIgnoreSpec``, nested ``.gitignore`` files included).
Exclude patterns are gitignore-style and relative to the project root.

A file named on the command line is always checked (like ruff), unless ``force-exclude`` is on
(pre-commit passes every changed file by name) — then the exclude patterns apply to it too.
A missing path is still yielded: the engine reports it as a ``parse-error`` finding ("file not
found"), as ruff reports ``E902 No such file or directory``, so the exit code is 1.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from querylint.config import Config
from querylint.slotstate import fast_pickle
from querylint.source import Language

DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".svn", ".mypy_cache", ".nox",
    ".pants.d", ".pytest_cache", ".pytype", ".ruff_cache", ".querylint_cache", ".tox", ".venv",
    ".vscode", "__pycache__", "__pypackages__", "_build", "buck-out", "build", "dist",
    "node_modules", "site-packages", "venv",
)  # fmt: skip


@fast_pickle
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


#: a gitignore pattern that is a file or folder name and nothing else (no slash, wildcard,
#: negation, escape, comment or surrounding blank)
_PLAIN_NAME = re.compile(r"[^/*?\[\]!\\#\s][^/*?\[\]\\\s]*")


def glob_error(pattern: str) -> str | None:
    """Why ``pattern`` can match nothing as a glob (a reversed character range, a ``[`` never
    closed, a lone trailing backslash), or None. pathspec raises on some of these and fnmatch
    silently matches nothing, so every glob key is checked with this up front."""
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 == n:
                return "it ends with a lone backslash (write `\\\\` for a literal one)"
            i += 2
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":  # a `]` first in the class is literal
                j += 1
            while j < n and pattern[j] != "]":
                if j + 2 < n and pattern[j + 1] == "-" and pattern[j + 2] != "]":
                    lo, hi = pattern[j], pattern[j + 2]
                    if lo > hi:
                        return f"the character range `{lo}-{hi}` is empty (`{lo}` sorts after `{hi}`)"
                    j += 3
                else:
                    j += 1
            if j >= n:
                return "its `[` is never closed (write `[[]` for a literal `[`)"
            i = j + 1
        else:
            i += 1
    return None


def exclude_pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid gitignore-style exclude pattern, or None."""
    if _PLAIN_NAME.fullmatch(pattern):
        return None  # no need for pathspec (a twentieth of a second to import)
    problem = glob_error(pattern)
    if problem is not None:
        return problem
    import warnings

    from pathspec import GitIgnoreSpec

    try:
        with warnings.catch_warnings():  # `[[` is a "possible nested set" to re: still valid
            warnings.simplefilter("ignore")
            GitIgnoreSpec.from_lines([pattern])
    except (ValueError, re.error):
        return "it is not a valid gitignore-style pattern"
    return None


def _git_top(folder: str) -> str | None:
    d = folder
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _relpath(path: str, start: str) -> str:
    """``os.path.relpath`` for absolute paths, fast when ``path`` is under ``start``."""
    start = start.rstrip(os.sep)
    if path.startswith(start + os.sep):
        return path[len(start) + 1 :]
    return os.path.relpath(path, start)


class Matcher:
    """Exclude patterns and ``.gitignore`` files, both gitignore-style."""

    def __init__(self, config: Config) -> None:
        self.root = os.path.abspath(config.root)
        # .gitignore files count from the git work tree's top down (as git does), even when
        # the project root is a subfolder of the repository
        self.top = _git_top(self.root) or self.root
        self.respect_gitignore = config.respect_gitignore
        patterns = list(config.exclude or DEFAULT_EXCLUDE) + list(config.extend_exclude)
        self._patterns = patterns
        self._exclude: Any = None
        #: the patterns, when all are plain names (the default ones are): a set lookup then
        #: answers for a walked path what matching every pattern would (and pathspec, a
        #: twentieth of a second to import, is imported only for a .gitignore file)
        self._names = frozenset(patterns) if all(_PLAIN_NAME.fullmatch(p) for p in patterns) else None
        self._gitignores: dict[str, Any] = {}  # folder -> spec (or None)
        self._chains: dict[str, list[tuple[str, Any]]] = {}  # folder -> specs up to the top

    @property
    def exclude(self) -> Any:
        """The exclude patterns as a pathspec ``GitIgnoreSpec`` (built when first needed)."""
        if self._exclude is None:
            from pathspec import GitIgnoreSpec

            self._exclude = GitIgnoreSpec.from_lines(self._patterns)
        return self._exclude

    def _rel(self, abspath: str, is_dir: bool, base: str | None = None) -> str | None:
        rel = _relpath(abspath, base or self.root)
        if rel == "." or rel.startswith(".."):
            return None
        rel = rel.replace(os.sep, "/")
        return rel + "/" if is_dir else rel

    def is_excluded(self, abspath: str, is_dir: bool, base: str | None = None, *, walked: bool = False) -> bool:
        """Excluded by ``exclude`` / ``extend-exclude`` (itself or any parent folder).

        Patterns are relative to the root, or to ``base``: an excluded folder named on the
        command line is walked with its own folder as the base, so naming it checks it (as
        naming an excluded file does), while e.g. ``__pycache__`` inside it stays excluded.
        ``walked``: the parent folders were already admitted by the walk; check only the path.
        """
        names = self._names
        if names is not None and walked:
            # only plain names: a pattern matches a path whose last part is that name (the
            # parents were admitted), whatever the base
            return os.path.basename(abspath.rstrip(os.sep)) in names
        rel = self._rel(abspath, is_dir, base)
        if names is not None:  # ... or any of its folders
            parts = rel.rstrip("/").split("/") if rel is not None else [os.path.basename(abspath.rstrip(os.sep))]
            return any(part in names for part in parts)
        if rel is None:
            # Outside the project root: match the path's own name against the patterns.
            name = os.path.basename(abspath.rstrip(os.sep))
            return bool(name) and self.exclude.match_file(name + ("/" if is_dir else ""))
        parts = rel.rstrip("/").split("/")
        for i in range(len(parts) if walked else 1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if self.exclude.match_file(sub + ("/" if i < len(parts) or is_dir else "")):
                return True
        return False

    def _spec(self, folder: str) -> Any:
        if folder not in self._gitignores:
            spec = None
            gi = os.path.join(folder, ".gitignore")
            if os.path.isfile(gi):
                from pathspec import GitIgnoreSpec

                try:
                    with open(gi, encoding="utf-8", errors="replace") as fh:
                        lines = fh.read().splitlines()
                except OSError:
                    lines = []
                try:
                    spec = GitIgnoreSpec.from_lines(lines)
                except (ValueError, re.error):
                    # git skips a pattern it cannot read (`[z-a]`, a lone `\`): so do we
                    spec = GitIgnoreSpec.from_lines(
                        line for line in lines if exclude_pattern_error(line) is None
                    )
            self._gitignores[folder] = spec
        return self._gitignores[folder]

    def is_gitignored(self, abspath: str, is_dir: bool) -> bool:
        """Ignored by a ``.gitignore`` between the git work tree's top (or the root) and the path."""
        if not self.respect_gitignore:
            return False
        rel = self._rel(abspath, is_dir)
        if rel is None:
            return False
        # deepest .gitignore wins (its negations re-include), as git does
        for folder, spec in self._chain(os.path.dirname(abspath.rstrip(os.sep))):
            sub = _relpath(abspath, folder).replace(os.sep, "/") + ("/" if is_dir else "")
            res = spec.check_file(sub)
            if res.include is not None:
                return bool(res.include)
        return False

    def _chain(self, folder: str) -> list[tuple[str, Any]]:
        """The ``.gitignore`` specs from ``folder`` up to the work tree's top, deepest first
        (worked out once per folder: every file of a folder shares it)."""
        got = self._chains.get(folder)
        if got is None:
            spec = self._spec(folder)
            last = folder == self.top or os.path.dirname(folder) == folder
            got = ([(folder, spec)] if spec is not None else []) + ([] if last else self._chain(os.path.dirname(folder)))
            self._chains[folder] = got
        return got

    def skip(self, abspath: str, is_dir: bool, base: str | None = None) -> bool:
        return self.is_excluded(abspath, is_dir, base, walked=True) or self.is_gitignored(abspath, is_dir)


def _walk(top: str, matcher: Matcher, root: str) -> Iterator[Candidate]:
    base = top if matcher.is_excluded(top, True) else None
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not matcher.skip(os.path.join(dirpath, d), True, base))
        for f in sorted(filenames):
            if Language.for_path(f) is None:
                continue
            fp = os.path.join(dirpath, f)
            if os.path.isfile(fp) and not matcher.skip(fp, False, base):  # no FIFOs, sockets
                yield Candidate(fp, display_path(fp, root), False)


def is_force_excluded(abspath: str, config: Config, matcher: Matcher | None = None) -> bool:
    """Whether an explicitly named path is excluded under ``--force-exclude``."""
    if not config.force_exclude:
        return False
    m = matcher or Matcher(config)
    return m.is_excluded(abspath, os.path.isdir(abspath))


def discover(paths: Sequence[str], config: Config, *, warn: Any = None) -> Iterator[Candidate]:
    """The files to check. ``warn(message)`` is told about skipped explicit files."""
    root = os.path.abspath(config.root)
    matcher = Matcher(config)
    for p in paths:
        ap = os.path.abspath(p)
        if is_force_excluded(ap, config, matcher):
            continue
        if os.path.isdir(ap):
            yield from _walk(ap, matcher, root)
        elif os.path.exists(ap) and Language.for_path(ap) is None:
            if warn is not None:
                warn(f"{p}: not a .py or .sql file; skipped")
        elif os.path.exists(ap) and not os.path.isfile(ap):
            if warn is not None:
                warn(f"{p}: not a regular file; skipped")
        else:
            yield Candidate(ap, display_path(ap, root), True)


def project_files(config: Config, exclude: set[str]) -> Iterator[Candidate]:
    """Every .py/.sql file under the project root (for the index), minus those already read."""
    root = os.path.abspath(config.root)
    for c in _walk(root, Matcher(config), root):
        if c.path not in exclude:
            yield c
