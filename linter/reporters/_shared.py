"""What the machine-readable reporters share: 1-based ranges, rule metadata and docs URLs.

Positions are converted here once, the same way for every format: 1-based lines and columns
(columns count code points), the end exclusive, and a span that ends just after a newline
ends on the line it covers rather than at column 1 of the next one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from querylint.slotstate import fast_pickle

if TYPE_CHECKING:
    from querylint.diagnostics import Diagnostic
    from querylint.engine import RunResult
    from querylint.rule import Rule
    from querylint.source import SourceFile, Span

#: One constant base for every rule's docs page (``docs/rules/<name>.md`` is published there).
DOCS_URL = "https://querylint.readthedocs.io/en/latest/rules/{name}/"
INFORMATION_URI = "https://querylint.readthedocs.io/"


def rule_url(name: str) -> str:
    return DOCS_URL.format(name=name)


@fast_pickle
@dataclass(frozen=True, slots=True)
class Range:
    """A 1-based range; ``end_col`` is exclusive (the column just after the last character)."""

    line: int
    col: int
    end_line: int
    end_col: int

    @property
    def multiline(self) -> bool:
        return self.end_line > self.line


def span_range(span: Span, source: SourceFile | None) -> Range:
    if source is None:
        return Range(1, 1, 1, 1)
    line, col = source.location(span.start)
    end = max(span.start, span.end)
    end_line, end_col = source.location(end)
    if end > span.start and end_col == 1 and end_line > line:
        # ``[start, end)`` ends with the newline: the range ends on the previous line.
        end_line -= 1
        end_col = len(source.line_text(end_line)) + 1
    return Range(line, col, end_line, end_col)


def diagnostic_range(result: RunResult, d: Diagnostic) -> Range:
    return span_range(d.span, result.sources.get(d.span.path))


def display_path(path: str) -> str:
    """Project-relative path with forward slashes, as it is on disk otherwise.

    Only the platform's own separator is turned into ``/`` (on Windows); on POSIX a backslash
    is an ordinary file-name character, and ``back\\slash.sql`` is not ``back/slash.sql``.
    """
    return path.replace(os.sep, "/") if os.sep != "/" else path


def rule_class(code: str) -> type[Rule] | None:
    from querylint import registry

    try:
        cls: type[Rule] | None = registry.find_rule(code)
    except Exception:  # a broken registry must not break a report
        return None
    return cls


def ci_path(path: str, root: str, workspace_var: str) -> str:
    """``path`` relative to the CI checkout when the project root lies inside it.

    GitHub (``GITHUB_WORKSPACE``) and GitLab (``CI_PROJECT_DIR``) attach findings to files by
    their path in the repository; a project whose root is a subfolder must say
    ``backend/app/q.sql``, not ``app/q.sql``. Outside CI the project-relative path is kept.
    """
    rel = display_path(path)
    workspace = os.environ.get(workspace_var)
    if not workspace or os.path.isabs(rel):
        return rel
    full = os.path.normpath(os.path.join(os.path.abspath(root), rel))
    ws = os.path.abspath(workspace)
    if os.path.commonpath([full, ws]) != ws:
        return rel
    return display_path(os.path.relpath(full, ws))
