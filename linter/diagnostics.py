"""What rules report: diagnostics, fixes and index suggestions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from querylint.slotstate import fast_pickle
from querylint.source import RelatedSpan, Span


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Applicability(Enum):
    """How safe a fix is. ``--fix`` applies only SAFE; ``--unsafe-fixes`` adds UNSAFE."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


class Confidence(Enum):
    """How sure a heuristic finding is; precision beats recall."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@fast_pickle
@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``text[start:end]`` of the file at ``path`` by ``replacement``."""

    path: str
    start: int
    end: int
    replacement: str


@fast_pickle
@dataclass(frozen=True, slots=True)
class Fix:
    title: str
    edits: tuple[Edit, ...]
    applicability: Applicability = Applicability.SAFE


@fast_pickle
@dataclass(frozen=True, slots=True)
class IndexKey:
    """One key of an index: a column or an expression, with its sort direction."""

    column: str | None = None
    expression: str | None = None
    descending: bool = False
    nulls_first: bool | None = None
    opclass: str | None = None

    @property
    def text(self) -> str:
        base = self.column if self.column is not None else f"({self.expression})"
        if self.opclass:
            base += f" {self.opclass}"
        if self.descending:
            base += " DESC"
        if self.nulls_first is not None and self.nulls_first != self.descending:
            base += " NULLS FIRST" if self.nulls_first else " NULLS LAST"
        return base


@fast_pickle
@dataclass(frozen=True, slots=True)
class IndexSuggestion:
    """An index that would serve one or more queries (merged project-wide by the advisor)."""

    table: str
    keys: tuple[IndexKey, ...]
    predicate: str | None = None
    include: tuple[str, ...] = ()
    unique: bool = False
    method: str = "btree"
    name: str | None = None
    serves: tuple[Span, ...] = ()
    model: str | None = None  # "app_label.ModelName" or SQLAlchemy class name, when known


@fast_pickle
@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    name: str
    span: Span
    message: str
    severity: Severity = Severity.WARNING
    help: str | None = None
    related: tuple[RelatedSpan, ...] = ()
    fix: Fix | None = None
    suggestion: IndexSuggestion | None = None
    confidence: Confidence = Confidence.HIGH
    details: str | None = None  # e.g. a traceback for internal errors, shown with --verbose
