"""Every querylint rule, one module each. ``ALL`` is the one explicit list the engine loads.

Keep each family in its own block, sorted by code; a test proves every module in this package
is listed and that codes and names are unique.
"""

from __future__ import annotations

from querylint.rule import Rule

# QL0xx: tool
from querylint.rules.internal_error import InternalError
from querylint.rules.parse_error import ParseError
from querylint.rules.unused_suppression import UnusedSuppression

# QL1xx: query shape (SQL front end)
# QL2xx: round trips (ORM front end)
# QL3xx: indexes
# QL4xx: migration safety

ALL: tuple[type[Rule], ...] = (
    # QL0xx
    InternalError,
    ParseError,
    UnusedSuppression,
    # QL1xx
    # QL2xx
    # QL3xx
    # QL4xx
)

__all__ = ["ALL"]
