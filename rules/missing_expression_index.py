from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.indexing import DEFAULT_MAX_KEYS, Status, add_help, analyze, related_spans
from querylint.ir import Origin, Query
from querylint.rule import Example, FileContext, QueryRule
from querylint.source import RelatedSpan

_SCHEMA = """\
CREATE TABLE users (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    created_at timestamptz NOT NULL
);
"""


class MissingExpressionIndex(QueryRule):
    """A function on a column defeats every plain index, and no expression index serves it.

    ## Why is this bad?
    `WHERE lower(email) = $1` cannot use an index on `email`: the index stores `email`, not
    `lower(email)`, so PostgreSQL scans the table and computes the function on every row
    (`non-sargable predicate`). When the function is what the application means (a
    case-insensitive lookup), an index on the expression itself serves the query as it is.

    A date or time taken from a `timestamptz` (`created_at::date`, `EXTRACT(month FROM
    created_at)`, Django's `created_at__date`) depends on the session's time zone, so
    PostgreSQL refuses to index it (its functions are not `IMMUTABLE`): the finding then
    suggests no index and asks for a range on the bare column instead
    (`created_at >= $1 AND created_at < $2`), which an index on `created_at` serves.

    ## Example
    ```sql
    SELECT * FROM users WHERE lower(email) = lower($1);
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY users_lower_email_idx ON users ((lower(email)));
    ```
    Or rewrite the predicate so it compares the bare column (see `QL104`), or use a `citext`
    column.

    ## References
    - [PostgreSQL: Indexes on Expressions](https://www.postgresql.org/docs/current/indexes-expressional.html)
    """

    code = "QL306"
    name = "missing-expression-index"
    options = {"max-keys": DEFAULT_MAX_KEYS}
    example_path = "queries.sql"

    VALID = [
        Example(
            "SELECT * FROM users WHERE lower(email) = lower($1);\n",
            files={"schema.sql": _SCHEMA + "CREATE INDEX users_lower_email_idx ON users (lower(email));\n"},
        ),
        Example("SELECT * FROM users WHERE email = $1;\n", files={"schema.sql": _SCHEMA + "CREATE UNIQUE INDEX users_email_key ON users (email);\n"}),
    ]
    INVALID = [
        Example(
            "SELECT * FROM users WHERE lower(email) = lower($1);\n",
            files={"schema.sql": _SCHEMA + "CREATE UNIQUE INDEX users_email_key ON users (email);\n"},
            line=1,
            message="`users` is filtered on lower(email), which no index serves: an index on email cannot be used through the function",
        ),
    ]

    def check_query(self, query: Query, ctx: FileContext) -> Iterator[Diagnostic]:
        analysis = analyze(ctx.project, int(self.opts["max-keys"]))
        for r in analysis.for_query(query):
            s = r.suggestion
            if r.status is not Status.MISSING or not r.need.has_expression:
                continue
            exprs = [k.expression for k in (*r.need.equality, *([r.need.range] if r.need.range else [])) if k.expression]
            cols = sorted({p.column for p in query.predicates if p.expression is not None and p.expression and p.column})
            if r.need.not_indexable:
                # an expression index would be refused: the bare column, compared with a range, is the fix
                col = cols[0] if len(cols) == 1 else "the column"
                django = query.origin is Origin.DJANGO
                yield self.diagnostic(
                    query.span,
                    f"`{r.need.table}` is filtered on {', '.join(exprs)}, which no index serves: {r.need.not_indexable}",
                    help=f"Filter on a range of the bare column instead ({col}__gte=start, {col}__lt=end)" if django else
                         f"Compare the bare column with a range instead ({col} >= start AND {col} < end)",
                    confidence=r.need.confidence,
                )
                continue
            if s is None:
                continue
            yield self.diagnostic(
                query.span,
                f"`{r.need.table}` is filtered on {', '.join(exprs)}, which no index serves: an index on {', '.join(cols) or 'the column'} cannot be used through the function",
                help=add_help(s),
                related=[RelatedSpan(sp, label) for sp, label in related_spans(s, ctx.project.schema, query)],
                suggestion=s.to_suggestion(),
                confidence=r.need.confidence,
            )
