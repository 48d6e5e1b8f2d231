from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from querylint.diagnostics import Diagnostic
from querylint.rule import Example, SqlContext, SqlRule
from querylint.sql.helpers import (
    const_string,
    find_in_statement,
    in_filter,
    in_migration,
    text_span,
)

_OPS = {"~~": "LIKE", "~~*": "ILIKE"}


class LeadingWildcardLike(SqlRule):
    """`LIKE` / `ILIKE` with a pattern that starts with `%` cannot use a btree index.

    ## Why is this bad?
    A btree index finds strings by their prefix. `name LIKE '%phone'` has no fixed prefix, so
    PostgreSQL reads every row of the table and tests the pattern on each: fine on a small
    table, a sequential scan on every search of a large one.
    SQL that a migration runs once (`RunSQL`, `op.execute`, migration `.sql` files) is not checked.

    ## Example
    ```sql
    SELECT id, name FROM products WHERE name ILIKE '%phone%';
    ```

    ## Use instead
    A trigram index serves infix and suffix patterns:
    ```sql
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX CONCURRENTLY products_name_trgm ON products USING gin (name gin_trgm_ops);
    ```
    or full-text search (`to_tsvector(...) @@ websearch_to_tsquery($1)`) for word searches, or
    a prefix pattern (`name LIKE 'phone%'`, with `text_pattern_ops`) when that is what is meant.

    ## References
    - [PostgreSQL: pg_trgm index support](https://www.postgresql.org/docs/current/pgtrgm.html#PGTRGM-INDEX)
    - [PostgreSQL: operator classes (text_pattern_ops)](https://www.postgresql.org/docs/current/indexes-opclass.html)
    """

    code = "QL102"
    name = "leading-wildcard-like"
    example_path = "queries.sql"

    VALID = [
        Example("SELECT id FROM products WHERE name LIKE 'phone%';\n"),
        Example("SELECT id FROM products WHERE name LIKE $1;\n"),
        Example("SELECT name LIKE '%phone' AS is_phone FROM products;\n"),
    ]
    INVALID = [
        Example(
            "SELECT id, name\nFROM products\nWHERE name ILIKE '%phone%';\n",
            line=3,
            message="`name ILIKE '%phone%'` starts with a wildcard, so no btree index can serve it and every row of the table is tested",
        ),
    ]

    def visit_A_Expr(self, node: Any, ctx: SqlContext) -> Iterator[Diagnostic]:
        if in_migration(ctx):
            return
        from pglast import ast

        op = _OPS.get(node.name[-1].sval if node.name else "")
        if op is None or not in_filter(ctx.ancestors):
            return
        found = const_string(node.rexpr)
        bound = None
        if found is None and isinstance(node.rexpr, ast.ParamRef) and ctx.statement is not None:
            # SQL in Python: the call's arguments may show the pattern (`[f"%{term}%"]`)
            hints = ctx.statement.fragment.params
            n = node.rexpr.number or 0
            found = hints[n - 1] if 1 <= n <= len(hints) else None
            if found is not None:
                found = (found[0], not found[1])
                bound = node.rexpr
        if found is None:
            return
        pattern, concatenated = found
        if not pattern.startswith("%") or not (pattern.strip("%") or concatenated):
            return  # a bare '%' matches every non-NULL value: nothing to index
        if not isinstance(node.lexpr, (ast.ColumnRef, ast.FuncCall, ast.TypeCast)):
            return
        from querylint.sql.to_ir import sql_text

        left = sql_text(node.lexpr)
        start = getattr(node.lexpr, "location", None)
        loc = node.location if isinstance(node.location, int) else None
        if not isinstance(start, int) or loc is None:
            span = ctx.statement_span()
        else:
            m = find_in_statement(ctx, rf"{op}\s+('(?:[^']|'')*'(\s*\|\|\s*[$\w]+\s*\|\|\s*'(?:[^']|'')*')?)?", loc)
            span = text_span(ctx, start, m.end() if m else loc + len(op))
        bare = re.sub(r"^\w+\.", "", left)
        shown = pattern if len(pattern) <= 40 else pattern[:37] + "..."
        if bound is None:
            subject = f"`{left} {op} '{shown}'" + (" || ...`" if concatenated else "`")
        else:
            pspan = ctx.node_span(bound)
            pm = re.match(r"%\(\w+\)s|%s|\?|:\w+|\$\d+", ctx.source.text[pspan.start : pspan.start + 40])
            placeholder = pm.group(0) if pm else f"${bound.number}"
            subject = f"`{left} {op} {placeholder}` (bound to `'{shown}{'...' if concatenated else ''}'`)"
            span = type(span)(span.path, span.start, max(span.end, pspan.start + len(placeholder)))
        yield self.diagnostic(
            span,
            f"{subject} starts with a wildcard, so no btree index can serve it and every row of the table is tested",
            help=f"Add a trigram index (`CREATE EXTENSION pg_trgm; CREATE INDEX ... USING gin ({bare} gin_trgm_ops)`), use full-text search, or anchor the pattern at the start",
        )
